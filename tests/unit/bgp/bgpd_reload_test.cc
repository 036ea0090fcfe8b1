// strobe-bgpd's configuration reload: the diff (config_diff.h) and Speaker::Reload on a speaker
// whose neighbors are passive (no socket is opened: nothing connects, nothing listens).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "controlplane/bgpd/config_diff.h"
#include "controlplane/bgpd/event_loop.h"
#include "controlplane/bgpd/fib_sink.h"
#include "controlplane/bgpd/speaker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/config/config.h"

namespace strobe::bgpd {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

config::Config Parse(const std::string& text) {
  absl::StatusOr<config::Config> c = config::ParseConfig(text, "test.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : config::Config{};
}

// A configuration built from pieces, so that a test changes one thing at a time.
struct Text {
  std::string bgp = "asn = 64512\nrouter_id = \"198.18.0.1\"\n";
  std::string fib = "enabled = false\n";
  std::string profiles =
      "[[bfd.profile]]\nname = \"fast\"\ndesired_min_tx_us = 100000\nrequired_min_rx_us = "
      "100000\n\n[[bfd.profile]]\nname = \"slow\"\ndesired_min_tx_us = 1000000\n"
      "required_min_rx_us = 1000000\n";
  std::string policies =
      "[[policy]]\nname = \"only-vips\"\n[[policy.term]]\nprefix = [\"198.19.0.0/16 le 32\"]\n"
      "action = \"accept\"\n\n[[policy]]\nname = \"all\"\ndefault_action = \"accept\"\n";
  std::map<std::string, std::string> neighbors;  // address -> its extra keys
  std::vector<std::string> ranges;               // whole tables' keys
  std::vector<std::string> networks;             // prefixes

  std::string Render() const {
    // No dataplane: a neighbor with BFD registers nowhere.
    std::string out =
        "[controlplane]\ncontrol_socket = \"/nonexistent/bgpd.sock\"\n\n[dataplane]\n"
        "control_socket = \"/nonexistent/strobe.sock\"\n\n[fib]\n" +
        fib + "\n" + profiles + "\n[bgp]\n" + bgp + "\n";
    for (const auto& [address, keys] : neighbors) {
      out += "[[bgp.neighbor]]\naddress = \"" + address + "\"\nremote_as = 64600\n" +
             "passive = true\n" + keys + "\n";
    }
    for (const std::string& r : ranges) out += "[[bgp.listen_range]]\n" + r + "\n";
    for (const std::string& n : networks) out += "[[bgp.network]]\nprefix = \"" + n + "\"\n\n";
    out += policies;
    return out;
  }
  config::Config Config() const { return Parse(Render()); }
};

std::vector<std::string> Strings(const std::vector<net::IpAddress>& v) {
  std::vector<std::string> out;
  for (const net::IpAddress& a : v) out.push_back(a.ToString());
  return out;
}

// ---- DiffNeighbors ----

TEST(DiffNeighborsTest, ClassifiesAddedRemovedChangedUnchanged) {
  Text old_text;
  old_text.neighbors = {{"198.18.1.2", ""},
                        {"198.18.2.2", ""},
                        {"198.18.3.2", "hold_time_s = 30\n"},
                        {"198.18.4.2", "export = [\"only-vips\"]\n"}};
  Text new_text = old_text;
  new_text.neighbors.erase("198.18.2.2");                   // removed
  new_text.neighbors["198.18.5.2"] = "";                    // added
  new_text.neighbors["198.18.3.2"] = "hold_time_s = 60\n";  // changed: a session setting
  // 198.18.1.2 and 198.18.4.2 are the same, but every line after the removed table moved.
  const NeighborDiff d = DiffNeighbors(old_text.Config(), new_text.Config());
  EXPECT_THAT(Strings(d.added), ElementsAre("198.18.5.2"));
  EXPECT_THAT(Strings(d.removed), ElementsAre("198.18.2.2"));
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].first.ToString(), "198.18.3.2");
  EXPECT_TRUE(d.changed[0].second.session);
  EXPECT_THAT(Strings(d.unchanged), ElementsAre("198.18.1.2", "198.18.4.2"));
}

TEST(DiffNeighborsTest, IdenticalFilesChangeNothing) {
  Text t;
  t.neighbors = {{"198.18.1.2", "bfd_profile = \"fast\"\nimport = [\"all\"]\n"},
                 {"2001:db8:1::2", "md5_password = \"secret\"\n"}};
  const NeighborDiff d = DiffNeighbors(t.Config(), t.Config());
  EXPECT_THAT(d.added, IsEmpty());
  EXPECT_THAT(d.removed, IsEmpty());
  EXPECT_THAT(d.changed, IsEmpty());
  EXPECT_EQ(d.unchanged.size(), 2u);
}

// Which part of a neighbor's settings a change touches.
PeerChange ChangeOf(const std::string& old_keys, const std::string& new_keys,
                    Text old_text = Text(), Text new_text = Text()) {
  old_text.neighbors = {{"198.18.1.2", old_keys}};
  new_text.neighbors = {{"198.18.1.2", new_keys}};
  const NeighborDiff d = DiffNeighbors(old_text.Config(), new_text.Config());
  EXPECT_THAT(d.added, IsEmpty());
  EXPECT_THAT(d.removed, IsEmpty());
  if (d.changed.empty()) return {};
  return d.changed[0].second;
}

TEST(DiffNeighborsTest, SessionSettings) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"", "hold_time_s = 30\n"},
           {"", "md5_password = \"x\"\n"},
           {"", "ttl_security = true\n"},
           {"", "ipv6_unicast = false\n"},
           {"", "max_prefixes = 10\n"},
           {"", "local_address = \"198.18.1.1\"\n"},
           {"", "bfd_profile = \"fast\"\n"},  // BFD on
           {"bfd_profile = \"fast\"\n", ""},  // BFD off
           {"bfd_profile = \"fast\"\n", "bfd_profile = \"fast\"\nwait_for_bfd_up = true\n"},
       }) {
    const PeerChange c = ChangeOf(from, to);
    EXPECT_TRUE(c.session) << from << " -> " << to;
    EXPECT_EQ(c.ToString().rfind("session", 0), 0u) << c.ToString();
  }
  // remote_as is written by Text; change it through the text itself.
  Text old_text;
  old_text.neighbors = {{"198.18.1.2", ""}};
  std::string changed = old_text.Render();
  changed.replace(changed.find("remote_as = 64600"), 17, "remote_as = 64601");
  const NeighborDiff d = DiffNeighbors(old_text.Config(), Parse(changed));
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_TRUE(d.changed[0].second.session);
}

TEST(DiffNeighborsTest, LiveSettingsKeepTheSession) {
  PeerChange c = ChangeOf("", "export = [\"only-vips\"]\n");
  EXPECT_FALSE(c.session);
  EXPECT_TRUE(c.export_rules);
  EXPECT_FALSE(c.import_policy);
  EXPECT_EQ(c.ToString(), "export");

  c = ChangeOf("import = [\"all\"]\n", "import = [\"only-vips\"]\n");
  EXPECT_EQ(c.ToString(), "import");

  c = ChangeOf("", "next_hop_self = false\n");
  EXPECT_EQ(c.ToString(), "export");

  c = ChangeOf("", "description = \"rack 1\"\n");
  EXPECT_EQ(c.ToString(), "description");

  c = ChangeOf("bfd_profile = \"fast\"\n", "bfd_profile = \"slow\"\n");
  EXPECT_EQ(c.ToString(), "bfd");
}

TEST(DiffNeighborsTest, PolicyDefinitionsCountNotTheirLines) {
  const std::string keys = "import = [\"only-vips\"]\nexport = [\"all\"]\n";
  Text old_text;
  Text new_text;
  // The same policies further down the file (a network table before them): unchanged.
  new_text.networks = {"198.19.1.0/24"};
  EXPECT_FALSE(ChangeOf(keys, keys, old_text, new_text).any());
  // A term's prefix differs: the import chain changed, the export chain did not.
  new_text.policies.replace(new_text.policies.find("198.19.0.0/16 le 32"), 19,
                            "198.19.0.0/16 le 24");
  const PeerChange c = ChangeOf(keys, keys, old_text, new_text);
  EXPECT_EQ(c.ToString(), "import");
  // A policy nobody uses changes nothing.
  Text unused = old_text;
  unused.policies += "\n[[policy]]\nname = \"spare\"\n";
  EXPECT_FALSE(ChangeOf(keys, keys, old_text, unused).any());
}

TEST(DiffNeighborsTest, BfdProfileTimers) {
  const std::string keys = "bfd_profile = \"fast\"\n";
  Text new_text;
  new_text.profiles.replace(new_text.profiles.find("desired_min_tx_us = 100000"), 26,
                            "desired_min_tx_us = 50000");
  EXPECT_EQ(ChangeOf(keys, keys, Text(), new_text).ToString(), "bfd");
  // A neighbor without BFD does not care about profiles.
  EXPECT_FALSE(ChangeOf("", "", Text(), new_text).any());
}

TEST(CompareListenRangesTest, MaxNeighborsIsNoChange) {
  Text a;
  a.ranges = {"prefix = \"198.18.64.0/24\"\nremote_as = [64700, 64799]\nmax_neighbors = 10\n"};
  Text b;
  b.ranges = {"prefix = \"198.18.64.0/24\"\nremote_as = [64700, 64799]\nmax_neighbors = 20\n"};
  Text c;
  c.ranges = {"prefix = \"198.18.64.0/24\"\nremote_as = [64700, 64798]\nmax_neighbors = 10\n"};
  Text d;
  d.ranges = {
      "prefix = \"198.18.64.0/24\"\nremote_as = [64700, 64799]\nmax_neighbors = 10\n"
      "export = [\"only-vips\"]\n"};
  const config::Config ca = a.Config(), cb = b.Config(), cc = c.Config(), cd = d.Config();
  const auto& ra = ca.bgp.listen_ranges.at(0);
  EXPECT_FALSE(CompareListenRanges(ca, ra, cb, cb.bgp.listen_ranges.at(0)).any());
  EXPECT_TRUE(CompareListenRanges(ca, ra, cc, cc.bgp.listen_ranges.at(0)).session);
  EXPECT_EQ(CompareListenRanges(ca, ra, cd, cd.bgp.listen_ranges.at(0)).ToString(), "export");
}

TEST(RestartRequiredTest, NamesTheSettingsAndKeepsTheirRunningValues) {
  Text a;
  Text b;
  b.bgp = "asn = 64513\nrouter_id = \"198.18.0.1\"\nmax_paths = 4\n";
  b.fib = "enabled = false\ntable = 100\n";
  std::string text = b.Render();
  text.replace(text.find("/nonexistent/bgpd.sock"), 22, "/nonexistent/other.sock");
  const config::Config running = a.Config();
  config::Config next = Parse(text);
  EXPECT_THAT(RestartRequired(running, next),
              ElementsAre("bgp.asn", "bgp.max_paths", "controlplane.control_socket", "fib.table"));
  EXPECT_THAT(RestartRequired(running, running), IsEmpty());
  KeepRestartOnlySettings(running, &next);
  EXPECT_THAT(RestartRequired(running, next), IsEmpty());
  EXPECT_EQ(next.bgp.asn, 64512u);
}

TEST(DiffNetworksTest, AddedRemovedChanged) {
  auto net = [](const char* p, std::vector<uint32_t> communities) {
    const bgp::RibPrefix prefix = *bgp::RibPrefix::Parse(p);
    return std::make_pair(prefix, LocalNetwork{prefix, std::move(communities), {}});
  };
  absl::btree_map<bgp::RibPrefix, LocalNetwork> a{
      net("198.19.1.0/24", {}), net("198.19.2.0/24", {1}), net("198.19.3.0/24", {})};
  absl::btree_map<bgp::RibPrefix, LocalNetwork> b{
      net("198.19.1.0/24", {}), net("198.19.2.0/24", {2}), net("2001:db8:5::/48", {})};
  const NetworkDiff d = DiffNetworks(a, b);
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].ToString(), "2001:db8:5::/48");
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0].ToString(), "198.19.3.0/24");
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].ToString(), "198.19.2.0/24");
  EXPECT_TRUE(DiffNetworks(a, a).empty());
}

// ---- Speaker::Reload ----

class SpeakerReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "bgpd_reload_test_" + std::to_string(getpid()) + ".toml";
    text_.neighbors = {{"198.18.1.2", ""},
                       {"198.18.2.2", ""},
                       {"198.18.3.2", ""},
                       {"198.18.4.2", "export = [\"all\"]\n"}};
    text_.networks = {"198.19.1.0/24"};
    Write(text_);
    absl::StatusOr<config::Config> c = config::LoadConfigFile(path_);
    ASSERT_TRUE(c.ok()) << c.status();
    absl::StatusOr<std::unique_ptr<Speaker>> s =
        Speaker::Create(&loop_, *std::move(c), SpeakerOptions{}, &fib_);
    ASSERT_TRUE(s.ok()) << s.status();
    speaker_ = *std::move(s);
    ASSERT_TRUE(speaker_->Start().ok());
  }
  void TearDown() override {
    speaker_.reset();
    loop_.RunOnce(0);
    unlink(path_.c_str());
  }

  void Write(const Text& t) { std::ofstream(path_) << t.Render(); }

  std::map<std::string, const Peer*> PeersByAddress() const {
    std::map<std::string, const Peer*> out;
    for (const Peer* p : speaker_->Peers()) out[p->address().ToString()] = p;
    return out;
  }
  std::vector<std::string> Networks() const {
    std::vector<std::string> out;
    for (const auto& [prefix, n] : speaker_->networks()) out.push_back(prefix.ToString());
    return out;
  }

  absl::StatusOr<json> Reload(const Text& t) {
    Write(t);
    absl::StatusOr<json> r = speaker_->HandleCommand("config reload", json::object());
    loop_.RunOnce(0);  // deferred deletions and exports
    return r;
  }

  EventLoop loop_;
  LoggingFibSink fib_;
  std::unique_ptr<Speaker> speaker_;
  std::string path_;
  Text text_;
};

TEST_F(SpeakerReloadTest, AppliesOnlyTheDifference) {
  const std::map<std::string, const Peer*> before = PeersByAddress();
  Text next = text_;
  next.neighbors.erase("198.18.2.2");                           // removed
  next.neighbors["198.18.5.2"] = "";                            // added
  next.neighbors["198.18.3.2"] = "hold_time_s = 30\n";          // session setting
  next.neighbors["198.18.4.2"] = "export = [\"only-vips\"]\n";  // live setting
  next.networks = {"198.19.2.0/24", "2001:db8:2::/48"};         // one gone, two new
  absl::StatusOr<json> r = Reload(next);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, json::parse(R"({
    "config": ")" + path_ + R"(",
    "neighbors_added": ["198.18.5.2"],
    "neighbors_removed": ["198.18.2.2"],
    "neighbors_changed": ["198.18.3.2", "198.18.4.2"],
    "neighbors_reset": ["198.18.3.2"],
    "neighbors_unchanged": 1,
    "dynamic_neighbors_closed": [],
    "networks_added": ["198.19.2.0/24", "2001:db8:2::/48"],
    "networks_removed": ["198.19.1.0/24"],
    "networks_changed": [],
    "restart_required": []})"));

  const std::map<std::string, const Peer*> after = PeersByAddress();
  ASSERT_EQ(after.size(), 4u);
  EXPECT_FALSE(after.contains("198.18.2.2"));
  // Untouched: the same object, still waiting for its neighbor.
  EXPECT_EQ(after.at("198.18.1.2"), before.at("198.18.1.2"));
  EXPECT_STREQ(after.at("198.18.1.2")->StateName(), "active");
  // Reconfigured in place.
  EXPECT_EQ(after.at("198.18.4.2"), before.at("198.18.4.2"));
  EXPECT_EQ(after.at("198.18.4.2")->config().settings.export_policies,
            std::vector<std::string>{"only-vips"});
  // Created again with the new settings, and started.
  EXPECT_EQ(after.at("198.18.3.2")->config().settings.hold_time_s, 30);
  EXPECT_STREQ(after.at("198.18.3.2")->StateName(), "active");
  EXPECT_STREQ(after.at("198.18.5.2")->StateName(), "active");
  EXPECT_THAT(Networks(), ElementsAre("198.19.2.0/24", "2001:db8:2::/48"));

  // The same file again: nothing to do.
  r = Reload(next);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT((*r)["neighbors_added"], IsEmpty());
  EXPECT_THAT((*r)["neighbors_removed"], IsEmpty());
  EXPECT_THAT((*r)["neighbors_changed"], IsEmpty());
  EXPECT_EQ((*r)["neighbors_unchanged"], 4);
  EXPECT_EQ(PeersByAddress(), after);
}

TEST_F(SpeakerReloadTest, RefusedFileChangesNothing) {
  const std::map<std::string, const Peer*> before = PeersByAddress();
  // A syntax error: the parser's FILE:LINE comes back.
  Text broken = text_;
  broken.neighbors.erase("198.18.1.2");
  broken.bgp += "listen_port = \n";
  absl::StatusOr<json> r = Reload(broken);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(path_ + ":"));
  // An unknown policy, with the neighbor's line.
  Text unknown = text_;
  unknown.neighbors.erase("198.18.1.2");
  unknown.neighbors["198.18.3.2"] = "import = [\"nope\"]\n";
  r = Reload(unknown);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(path_ + ":"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("nope"));
  // An unknown BFD profile.
  Text profile = text_;
  profile.neighbors["198.18.3.2"] = "bfd_profile = \"nope\"\n";
  r = Reload(profile);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(path_ + ":"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("\"nope\""));

  EXPECT_EQ(PeersByAddress(), before);
  EXPECT_THAT(Networks(), ElementsAre("198.19.1.0/24"));
  EXPECT_TRUE(speaker_->config().bgp.neighbors.size() == 4);
  // A missing file too.
  unlink(path_.c_str());
  r = speaker_->HandleCommand("config reload", json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PeersByAddress(), before);
}

TEST_F(SpeakerReloadTest, RestartOnlySettingsAreListedAndKept) {
  const std::map<std::string, const Peer*> before = PeersByAddress();
  Text next = text_;
  next.bgp = "asn = 64999\nrouter_id = \"198.18.0.9\"\n";
  next.neighbors["198.18.5.2"] = "";
  absl::StatusOr<json> r = Reload(next);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["restart_required"], json({"bgp.asn", "bgp.router_id"}));
  EXPECT_EQ((*r)["neighbors_added"], json({"198.18.5.2"}));  // the rest is applied
  EXPECT_EQ((*r)["neighbors_unchanged"], 4);
  EXPECT_EQ(speaker_->local_as(), 64512u);
  EXPECT_EQ(speaker_->config().bgp.asn, 64512u);
  EXPECT_EQ(speaker_->router_id(), 0xC6120001u);
  for (const auto& [address, peer] : before) EXPECT_EQ(PeersByAddress().at(address), peer);
  // Still pending after another reload of the same file.
  r = Reload(next);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["restart_required"], json({"bgp.asn", "bgp.router_id"}));
  EXPECT_EQ((*r)["neighbors_unchanged"], 5);
}

TEST_F(SpeakerReloadTest, BfdProfileChangesKeepTheSession) {
  Text next = text_;
  next.neighbors["198.18.1.2"] = "bfd_profile = \"fast\"\n";
  absl::StatusOr<json> r = Reload(next);  // BFD on: the session starts again
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["neighbors_reset"], json({"198.18.1.2"}));
  const Peer* peer = PeersByAddress().at("198.18.1.2");
  ASSERT_TRUE(peer->config().bfd.has_value());
  EXPECT_EQ(peer->config().bfd->desired_min_tx_us, 100000u);

  next.profiles.replace(next.profiles.find("desired_min_tx_us = 100000"), 26,
                        "desired_min_tx_us = 200000");
  r = Reload(next);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["neighbors_changed"], json({"198.18.1.2"}));
  EXPECT_EQ((*r)["neighbors_reset"], json::array());
  EXPECT_EQ(PeersByAddress().at("198.18.1.2"), peer);
  EXPECT_EQ(peer->config().bfd->desired_min_tx_us, 200000u);

  next.neighbors["198.18.1.2"] = "bfd_profile = \"slow\"\n";
  r = Reload(next);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["neighbors_reset"], json::array());
  EXPECT_EQ(PeersByAddress().at("198.18.1.2"), peer);
  EXPECT_EQ(peer->config().bfd->name, "slow");
  EXPECT_EQ(peer->config().bfd->desired_min_tx_us, 1000000u);

  next.neighbors["198.18.1.2"] = "";
  r = Reload(next);  // BFD off
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["neighbors_reset"], json({"198.18.1.2"}));
  EXPECT_FALSE(PeersByAddress().at("198.18.1.2")->uses_bfd());
}

TEST_F(SpeakerReloadTest, ReloadWithAConfigObject) {
  Text next = text_;
  next.neighbors.clear();
  config::Config c = next.Config();
  c.path.clear();  // keeps the running file's path
  absl::StatusOr<json> r = speaker_->Reload(std::move(c));
  loop_.RunOnce(0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["config"], path_);
  EXPECT_EQ((*r)["neighbors_removed"].size(), 4u);
  EXPECT_TRUE(speaker_->Peers().empty());
}

}  // namespace
}  // namespace strobe::bgpd
