// The BGP sections of the configuration file: [bgp], [[bgp.neighbor]], [[bgp.listen_range]],
// [[bgp.network]], [[policy]] and [[policy.term]] (docs/config.md).

#include <toml++/toml.h>

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/config/bgp_config.h"
#include "src/config/config.h"
#include "src/config/reader.h"

namespace strobe::config {

namespace {

constexpr int64_t kMaxUint32 = 4294967295;
constexpr int64_t kMaxAsn = kMaxUint32;      // RFC 6793; 0 is reserved (RFC 7607)
constexpr size_t kMaxMd5PasswordBytes = 80;  // TCP_MD5SIG_MAXKEYLEN (linux/tcp.h)
constexpr int64_t kMaxDelayOpenS = 240;      // FRR's limit for `timers delayopen`
constexpr int64_t kMaxPaths = 256;

constexpr std::string_view kPeerTemplateKeys[] = {
    "bfd_profile",
    "passive",
    "md5_password",
    "ttl_security",
    "multihop_ttl",
    "import",
    "export",
    "hold_time_s",
    "connect_retry_s",
    "delay_open_s",
    "max_prefixes",
    "max_prefixes_action",
    "wait_for_bfd_up",
    "next_hop_self",
    "add_path_receive",
    "graceful_restart",
    "ipv4_unicast",
    "ipv6_unicast",
    "extended_next_hop",
};

std::vector<std::string_view> WithTemplateKeys(std::initializer_list<std::string_view> keys) {
  std::vector<std::string_view> all(keys);
  all.insert(all.end(), std::begin(kPeerTemplateKeys), std::end(kPeerTemplateKeys));
  return all;
}

std::string Quoted(std::string_view key) { return absl::StrCat("\"", std::string(key), "\""); }

// A string array whose entries parse with `parse`; `non_empty` refuses `key = []` (a match list
// that is present must be able to match something; omitting it matches everything).
template <typename T, typename Parse>
std::vector<T> ParsedArray(Reader& r, const toml::table& t, std::string_view key, Parse parse,
                           bool non_empty) {
  std::vector<T> out;
  const auto entries = r.StringArray(t, key);
  if (r.failed()) return out;
  if (non_empty && t.get(key) != nullptr && entries.empty()) {
    r.Fail(t.get(key), absl::StrCat(Quoted(key), " must not be empty (omit it to match all)"));
    return out;
  }
  for (const auto& [text, node] : entries) {
    absl::StatusOr<T> v = parse(text);
    if (!v.ok()) {
      r.Fail(node, absl::StrCat(Quoted(key), ": ", std::string(v.status().message())));
      return {};
    }
    out.push_back(*v);
  }
  return out;
}

std::vector<Community> Communities(Reader& r, const toml::table& t, std::string_view key,
                                   bool non_empty = false) {
  return ParsedArray<Community>(r, t, key, ParseCommunity, non_empty);
}

std::vector<LargeCommunity> LargeCommunities(Reader& r, const toml::table& t, std::string_view key,
                                             bool non_empty = false) {
  return ParsedArray<LargeCommunity>(r, t, key, ParseLargeCommunity, non_empty);
}

// A prefix key (required); nullopt when absent or bad, after failing.
std::optional<IpPrefix> Prefix(Reader& r, const toml::table& t, std::string_view table_name) {
  std::optional<std::string> text = r.String(t, "prefix");
  if (r.failed()) return std::nullopt;
  if (!text) {
    r.Fail(&t, absl::StrCat(std::string(table_name), " needs a \"prefix\""));
    return std::nullopt;
  }
  absl::StatusOr<IpPrefix> prefix = ParseIpPrefix(*text);
  if (!prefix.ok()) {
    r.Fail(t.get("prefix"), absl::StrCat("\"prefix\": ", std::string(prefix.status().message())));
    return std::nullopt;
  }
  return *prefix;
}

std::optional<uint16_t> HoldTime(Reader& r, const toml::table& t) {
  std::optional<int64_t> v = r.Int(t, "hold_time_s", 0, 65535);
  if (v && (*v == 1 || *v == 2)) {
    r.Fail(t.get("hold_time_s"),
           absl::StrCat("\"hold_time_s\" = ", *v, " must be 0 or 3-65535 (RFC 4271 section 4.2)"));
    return std::nullopt;
  }
  if (!v) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

std::optional<uint16_t> ConnectRetry(Reader& r, const toml::table& t) {
  std::optional<int64_t> v = r.Int(t, "connect_retry_s", 1, 65535);
  if (!v) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// ---- [[policy]] ----

std::optional<PolicyAction> Action(Reader& r, const toml::table& t, std::string_view key,
                                   bool allow_next) {
  std::optional<std::string> s = r.String(t, key);
  if (!s) return std::nullopt;
  if (*s == "accept") return PolicyAction::kAccept;
  if (*s == "reject") return PolicyAction::kReject;
  if (*s == "next" && allow_next) return PolicyAction::kNext;
  r.Fail(t.get(key), absl::StrCat(Quoted(key), " must be ",
                                  allow_next ? "\"accept\", \"reject\" or \"next\""
                                             : "\"accept\" or \"reject\""));
  return std::nullopt;
}

void ReadTerm(Reader& r, const toml::table& t, PolicyTerm* term) {
  r.OnlyKeys(t, "[[policy.term]]",
             {"name", "prefix", "as_path_length_min", "as_path_length_max", "community",
              "large_community", "set_local_pref", "set_med", "add_community", "delete_community",
              "add_large_community", "delete_large_community", "action"});
  term->line = LineOf(t);
  if (auto v = r.String(t, "name")) term->name = *v;
  term->prefixes = ParsedArray<PrefixMatch>(r, t, "prefix", ParsePrefixMatch, /*non_empty=*/true);
  if (auto v = r.Int(t, "as_path_length_min", 0, kMaxUint32)) {
    term->as_path_length_min = static_cast<uint32_t>(*v);
  }
  if (auto v = r.Int(t, "as_path_length_max", 0, kMaxUint32)) {
    term->as_path_length_max = static_cast<uint32_t>(*v);
  }
  if (!r.failed() && term->as_path_length_min && term->as_path_length_max &&
      *term->as_path_length_min > *term->as_path_length_max) {
    r.Fail(t.get("as_path_length_max"),
           absl::StrCat("\"as_path_length_max\" = ", *term->as_path_length_max,
                        " is less than \"as_path_length_min\" = ", *term->as_path_length_min));
  }
  term->match_communities = Communities(r, t, "community", /*non_empty=*/true);
  term->match_large_communities = LargeCommunities(r, t, "large_community", /*non_empty=*/true);
  if (auto v = r.Int(t, "set_local_pref", 0, kMaxUint32)) {
    term->set_local_pref = static_cast<uint32_t>(*v);
  }
  if (auto v = r.Int(t, "set_med", 0, kMaxUint32)) term->set_med = static_cast<uint32_t>(*v);
  term->add_communities = Communities(r, t, "add_community");
  term->delete_communities = Communities(r, t, "delete_community");
  term->add_large_communities = LargeCommunities(r, t, "add_large_community");
  term->delete_large_communities = LargeCommunities(r, t, "delete_large_community");
  std::optional<PolicyAction> action = Action(r, t, "action", /*allow_next=*/true);
  if (!r.failed() && !action) {
    r.Fail(&t, "[[policy.term]] needs an \"action\": \"accept\", \"reject\" or \"next\"");
  }
  if (action) term->action = *action;
}

void ReadPolicy(Reader& r, const toml::table& t, PolicyConfig* p) {
  r.OnlyKeys(t, "[[policy]]", {"name", "default_action", "term"});
  p->line = LineOf(t);
  std::optional<std::string> name = r.String(t, "name");
  if (!r.failed() && (!name || name->empty())) r.Fail(&t, "[[policy]] needs a \"name\"");
  if (name) p->name = *name;
  if (auto v = Action(r, t, "default_action", /*allow_next=*/false)) p->default_action = *v;
  if (const toml::array* a = r.TableArray(t, "term", "policy.term")) {
    std::set<std::string> names;
    for (const toml::node& n : *a) {
      PolicyTerm term;
      ReadTerm(r, *n.as_table(), &term);
      if (r.failed()) return;
      if (!term.name.empty() && !names.insert(term.name).second) {
        return r.Fail(&n, absl::StrCat("term \"", term.name, "\" is defined twice in policy \"",
                                       p->name, "\""));
      }
      p->terms.push_back(std::move(term));
    }
  }
}

// ---- [bgp] ----

bool HasPolicy(const Config& config, const std::string& name) {
  for (const PolicyConfig& p : config.policies) {
    if (p.name == name) return true;
  }
  return false;
}

std::vector<std::string> PolicyNames(Reader& r, const toml::table& t, std::string_view key,
                                     const Config& config) {
  std::vector<std::string> names;
  for (const auto& [name, node] : r.StringArray(t, key)) {
    if (!HasPolicy(config, name)) {
      r.Fail(node, absl::StrCat("no [[policy]] named \"", name, "\""));
      return {};
    }
    for (const std::string& seen : names) {
      if (seen == name) {
        r.Fail(node, absl::StrCat("policy \"", name, "\" is listed twice in ", Quoted(key)));
        return {};
      }
    }
    names.push_back(name);
  }
  return names;
}

// The keys a neighbor and a listen range share. hold_time_s and connect_retry_s already hold the
// [bgp] defaults; a key present here replaces them.
void ReadPeerTemplate(Reader& r, const toml::table& t, const Config& config, BgpPeerTemplate* p) {
  if (auto v = r.String(t, "bfd_profile")) {
    bool found = v->empty();
    for (const BfdProfile& profile : config.profiles) found = found || profile.name == *v;
    if (!found) r.Fail(t.get("bfd_profile"), absl::StrCat("no [[bfd.profile]] named \"", *v, "\""));
    p->bfd_profile = *v;
  }
  if (auto v = r.Bool(t, "passive")) p->passive = *v;
  if (auto v = r.String(t, "md5_password")) {
    // The message never repeats the password.
    if (v->empty() || v->size() > kMaxMd5PasswordBytes) {
      r.Fail(t.get("md5_password"),
             absl::StrCat("\"md5_password\" must be 1-", kMaxMd5PasswordBytes,
                          " bytes (TCP_MD5SIG_MAXKEYLEN)"));
    }
    p->md5_password = *v;
  }
  if (auto v = r.Bool(t, "ttl_security")) p->ttl_security = *v;
  if (auto v = r.Int(t, "multihop_ttl", 0, 255)) p->multihop_ttl = static_cast<uint8_t>(*v);
  p->import_policies = PolicyNames(r, t, "import", config);
  p->export_policies = PolicyNames(r, t, "export", config);
  if (auto v = HoldTime(r, t)) p->hold_time_s = *v;
  if (auto v = ConnectRetry(r, t)) p->connect_retry_s = *v;
  if (auto v = r.Int(t, "delay_open_s", 0, kMaxDelayOpenS))
    p->delay_open_s = static_cast<uint16_t>(*v);
  if (auto v = r.Int(t, "max_prefixes", 0, kMaxUint32)) p->max_prefixes = static_cast<uint32_t>(*v);
  if (auto v = r.String(t, "max_prefixes_action")) {
    if (*v == "warning") {
      p->max_prefixes_action = MaxPrefixAction::kWarning;
    } else if (*v == "teardown") {
      p->max_prefixes_action = MaxPrefixAction::kTeardown;
    } else {
      r.Fail(t.get("max_prefixes_action"),
             "\"max_prefixes_action\" must be \"warning\" or \"teardown\"");
    }
  }
  if (auto v = r.Bool(t, "wait_for_bfd_up")) p->wait_for_bfd_up = *v;
  if (auto v = r.Bool(t, "next_hop_self")) p->next_hop_self = *v;
  if (auto v = r.Bool(t, "add_path_receive")) p->add_path_receive = *v;
  if (auto v = r.Bool(t, "graceful_restart")) p->graceful_restart = *v;
  if (auto v = r.Bool(t, "ipv4_unicast")) p->ipv4_unicast = *v;
  if (auto v = r.Bool(t, "ipv6_unicast")) p->ipv6_unicast = *v;
  if (auto v = r.Bool(t, "extended_next_hop")) p->extended_next_hop = *v;
  if (r.failed()) return;
  if (p->ttl_security && p->multihop_ttl > 1) {
    return r.Fail(t.get("ttl_security"),
                  "\"ttl_security\" and \"multihop_ttl\" > 1 are mutually exclusive (GTSM "
                  "requires a directly connected peer)");
  }
  if (p->wait_for_bfd_up && p->bfd_profile.empty()) {
    return r.Fail(t.get("wait_for_bfd_up"), "\"wait_for_bfd_up\" needs a \"bfd_profile\"");
  }
  if (!p->ipv4_unicast && !p->ipv6_unicast) {
    return r.Fail(&t, "\"ipv4_unicast\" and \"ipv6_unicast\" cannot both be false");
  }
}

void ReadNeighbor(Reader& r, const toml::table& t, const Config& config, BgpNeighborConfig* nb) {
  static const std::vector<std::string_view> kKeys =
      WithTemplateKeys({"address", "remote_as", "local_address", "description"});
  r.OnlyKeys(t, "[[bgp.neighbor]]", kKeys);
  nb->line = LineOf(t);
  if (auto a = r.Address(t, "address")) nb->address = *a;
  if (auto v = r.Int(t, "remote_as", 1, kMaxAsn)) nb->remote_as = static_cast<uint32_t>(*v);
  if (auto a = r.Address(t, "local_address")) nb->local_address = *a;
  if (auto v = r.String(t, "description")) nb->description = *v;
  if (r.failed()) return;
  if (nb->address.empty()) return r.Fail(&t, "[[bgp.neighbor]] needs an \"address\"");
  if (nb->address.bytes() == std::array<uint8_t, 16>{}) {
    return r.Fail(t.get("address"), "\"address\" must not be the unspecified address");
  }
  if (nb->remote_as == 0) {
    return r.Fail(&t, "[[bgp.neighbor]] needs a \"remote_as\" (1-4294967295)");
  }
  if (!nb->local_address.empty() && nb->local_address.family() != nb->address.family()) {
    return r.Fail(t.get("local_address"),
                  "\"local_address\" and \"address\" must both be IPv4 or both IPv6");
  }
  ReadPeerTemplate(r, t, config, nb);
}

void ReadListenRange(Reader& r, const toml::table& t, const Config& config,
                     BgpListenRangeConfig* range) {
  static const std::vector<std::string_view> kKeys =
      WithTemplateKeys({"prefix", "remote_as", "max_neighbors"});
  r.OnlyKeys(t, "[[bgp.listen_range]]", kKeys);
  range->line = LineOf(t);
  if (auto p = Prefix(r, t, "[[bgp.listen_range]]")) range->prefix = *p;
  if (r.failed()) return;
  const toml::node* as = t.get("remote_as");
  if (as == nullptr) {
    return r.Fail(&t,
                  "[[bgp.listen_range]] needs a \"remote_as\": an AS number or a range [MIN, MAX]");
  }
  if (as->is_integer()) {
    if (auto v = r.Int(t, "remote_as", 1, kMaxAsn)) {
      range->remote_as_min = range->remote_as_max = static_cast<uint32_t>(*v);
    }
  } else {
    const toml::array* a = as->as_array();
    if (a == nullptr || a->size() != 2) {
      return r.Fail(as, "\"remote_as\" must be an AS number or a range [MIN, MAX]");
    }
    for (const toml::node& e : *a) {
      if (!e.is_integer() || e.as_integer()->get() < 1 || e.as_integer()->get() > kMaxAsn) {
        return r.Fail(&e, "\"remote_as\" range entries must be AS numbers (1-4294967295)");
      }
    }
    range->remote_as_min = static_cast<uint32_t>(a->get(0)->as_integer()->get());
    range->remote_as_max = static_cast<uint32_t>(a->get(1)->as_integer()->get());
    if (range->remote_as_min > range->remote_as_max) {
      return r.Fail(as, absl::StrCat("\"remote_as\" range [", range->remote_as_min, ", ",
                                     range->remote_as_max, "] is empty: MIN must not exceed MAX"));
    }
  }
  if (auto v = r.Int(t, "max_neighbors", 1, kMaxUint32)) {
    range->max_neighbors = static_cast<uint32_t>(*v);
  }
  ReadPeerTemplate(r, t, config, range);
}

void ReadNetwork(Reader& r, const toml::table& t, BgpNetworkConfig* network) {
  r.OnlyKeys(t, "[[bgp.network]]", {"prefix", "communities", "large_communities"});
  network->line = LineOf(t);
  if (auto p = Prefix(r, t, "[[bgp.network]]")) network->prefix = *p;
  network->communities = Communities(r, t, "communities");
  network->large_communities = LargeCommunities(r, t, "large_communities");
}

}  // namespace

void ReadPolicies(Reader& r, const toml::table& root, Config* config) {
  const toml::array* a = r.TableArray(root, "policy", "policy");
  if (a == nullptr) return;
  std::set<std::string> names;
  for (const toml::node& n : *a) {
    PolicyConfig p;
    ReadPolicy(r, *n.as_table(), &p);
    if (r.failed()) return;
    if (!names.insert(p.name).second) {
      return r.Fail(&n, absl::StrCat("policy \"", p.name, "\" is defined twice"));
    }
    config->policies.push_back(std::move(p));
  }
}

void ReadBgp(Reader& r, const toml::table& root, Config* config) {
  const toml::table* t = r.Table(root, "bgp");
  if (t == nullptr) return;
  BgpConfig& bgp = config->bgp;
  bgp.present = true;
  r.OnlyKeys(*t, "[bgp]",
             {"asn", "router_id", "listen", "listen_port", "max_paths", "multipath_relax",
              "hold_time_s", "connect_retry_s", "neighbor", "listen_range", "network"});
  if (auto v = r.Int(*t, "asn", 1, kMaxAsn)) bgp.asn = static_cast<uint32_t>(*v);
  if (r.failed()) return;
  if (bgp.asn == 0) return r.Fail(t, "[bgp] needs an \"asn\" (1-4294967295)");
  if (auto a = r.Address(*t, "router_id")) {
    if (!a->is_v4()) {
      return r.Fail(t->get("router_id"),
                    "\"router_id\" must be an IPv4 address (the BGP Identifier, RFC 6286)");
    }
    if (a->bytes() == std::array<uint8_t, 16>{}) {
      return r.Fail(t->get("router_id"), "\"router_id\" must not be 0.0.0.0");
    }
    bgp.router_id = *a;
  }
  if (r.failed()) return;
  if (bgp.router_id.empty()) return r.Fail(t, "[bgp] needs a \"router_id\" (an IPv4 address)");
  for (const auto& [text, node] : r.StringArray(*t, "listen")) {
    absl::StatusOr<net::IpAddress> a = net::IpAddress::Parse(text);
    if (!a.ok()) {
      return r.Fail(node, absl::StrCat("\"listen\": ", std::string(a.status().message())));
    }
    for (const net::IpAddress& seen : bgp.listen) {
      if (seen == *a) {
        return r.Fail(node, absl::StrCat("\"listen\" lists ", a->ToString(), " twice"));
      }
    }
    bgp.listen.push_back(*a);
  }
  if (auto v = r.Int(*t, "listen_port", 1, 65535)) bgp.listen_port = static_cast<uint16_t>(*v);
  if (auto v = r.Int(*t, "max_paths", 1, kMaxPaths)) bgp.max_paths = static_cast<uint32_t>(*v);
  if (auto v = r.Bool(*t, "multipath_relax")) bgp.multipath_relax = *v;
  if (auto v = HoldTime(r, *t)) bgp.hold_time_s = *v;
  if (auto v = ConnectRetry(r, *t)) bgp.connect_retry_s = *v;

  if (const toml::array* a = r.TableArray(*t, "neighbor", "bgp.neighbor")) {
    std::set<net::IpAddress> addresses;
    for (const toml::node& n : *a) {
      BgpNeighborConfig nb;
      nb.hold_time_s = bgp.hold_time_s;
      nb.connect_retry_s = bgp.connect_retry_s;
      ReadNeighbor(r, *n.as_table(), *config, &nb);
      if (r.failed()) return;
      if (!addresses.insert(nb.address).second) {
        return r.Fail(&n, absl::StrCat("neighbor ", nb.address.ToString(), " is defined twice"));
      }
      bgp.neighbors.push_back(std::move(nb));
    }
  }
  if (const toml::array* a = r.TableArray(*t, "listen_range", "bgp.listen_range")) {
    for (const toml::node& n : *a) {
      BgpListenRangeConfig range;
      range.hold_time_s = bgp.hold_time_s;
      range.connect_retry_s = bgp.connect_retry_s;
      ReadListenRange(r, *n.as_table(), *config, &range);
      if (r.failed()) return;
      for (const BgpListenRangeConfig& seen : bgp.listen_ranges) {
        if (seen.prefix == range.prefix) {
          return r.Fail(&n, absl::StrCat("listen range ", range.prefix.ToString(),
                                         " is defined twice (first at line ", seen.line, ")"));
        }
      }
      bgp.listen_ranges.push_back(std::move(range));
    }
  }
  if (const toml::array* a = r.TableArray(*t, "network", "bgp.network")) {
    for (const toml::node& n : *a) {
      BgpNetworkConfig network;
      ReadNetwork(r, *n.as_table(), &network);
      if (r.failed()) return;
      for (const BgpNetworkConfig& seen : bgp.networks) {
        if (seen.prefix == network.prefix) {
          return r.Fail(&n, absl::StrCat("network ", network.prefix.ToString(),
                                         " is defined twice (first at line ", seen.line, ")"));
        }
      }
      bgp.networks.push_back(std::move(network));
    }
  }
}

}  // namespace strobe::config
