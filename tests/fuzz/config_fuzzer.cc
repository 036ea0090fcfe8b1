// libFuzzer target: the TOML configuration loader (src/config: config.h for the dataplane's
// sections and bgp_config.h / bgp_reader.cc for [bgp] and [[policy]]) from a string, as
// `strobe-dataplane --check`, `strobectl config check` and both daemons' reloads read it; and the
// text forms of addresses, prefixes, prefix-list entries and communities on every string value
// of the file.
//
// Input: the file's text.
//
// Checked: an error names the file ("fuzz.toml:LINE: ..." or "fuzz.toml: ..."); an accepted
// file holds what the loader promises (sessions name existing profiles, values in range, keys of
// the right length); every text form that parses prints back to a text that parses to the same
// value.

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "src/bfd/auth.h"
#include "src/bfd/packet.h"
#include "src/config/bgp_config.h"
#include "src/config/config.h"
#include "src/net/ip_address.h"
#include "tests/fuzz/fuzz_util.h"

namespace strobe::config {
namespace {

constexpr std::string_view kSource = "fuzz.toml";
constexpr size_t kMaxTextForms = 256;  // per input: the forms are cheap, the count is not

void CheckTextForms(std::string_view s) {
  if (absl::StatusOr<net::IpAddress> a = net::IpAddress::Parse(s); a.ok()) {
    const absl::StatusOr<net::IpAddress> b = net::IpAddress::Parse(a->ToString());
    FUZZ_CHECK(b.ok() && *b == *a, "address \"%s\" prints as \"%s\"", std::string(s).c_str(),
               a->ToString().c_str());
  }
  if (absl::StatusOr<IpPrefix> p = ParseIpPrefix(s); p.ok()) {
    const absl::StatusOr<IpPrefix> q = ParseIpPrefix(p->ToString());
    FUZZ_CHECK(q.ok() && *q == *p, "prefix \"%s\" prints as \"%s\"", std::string(s).c_str(),
               p->ToString().c_str());
    FUZZ_CHECK(p->Contains(p->address), "%s does not contain its own address",
               p->ToString().c_str());
  }
  if (absl::StatusOr<PrefixMatch> m = ParsePrefixMatch(s); m.ok()) {
    const int width = m->prefix.address.is_v4() ? 32 : 128;
    FUZZ_CHECK(m->prefix.length <= m->ge && m->ge <= m->le && m->le <= width,
               "\"%s\": %d <= ge %d <= le %d <= %d", std::string(s).c_str(), m->prefix.length,
               m->ge, m->le, width);
    const std::string text =
        m->prefix.ToString() + " ge " + std::to_string(m->ge) + " le " + std::to_string(m->le);
    const absl::StatusOr<PrefixMatch> n = ParsePrefixMatch(text);
    FUZZ_CHECK(n.ok() && *n == *m, "prefix match \"%s\" is not \"%s\"", std::string(s).c_str(),
               text.c_str());
  }
  if (absl::StatusOr<Community> c = ParseCommunity(s); c.ok()) {
    const absl::StatusOr<Community> d = ParseCommunity(CommunityToString(*c));
    FUZZ_CHECK(d.ok() && *d == *c, "community \"%s\" prints as \"%s\"", std::string(s).c_str(),
               CommunityToString(*c).c_str());
  }
  if (absl::StatusOr<LargeCommunity> c = ParseLargeCommunity(s); c.ok()) {
    const absl::StatusOr<LargeCommunity> d = ParseLargeCommunity(LargeCommunityToString(*c));
    FUZZ_CHECK(d.ok() && *d == *c, "large community \"%s\"", std::string(s).c_str());
  }
  if (std::optional<bfd::AuthType> t = bfd::AuthTypeFromName(s)) {
    FUZZ_CHECK(bfd::AuthTypeName(*t) == s, "auth type name");
  }
}

// Every string value of the document (keys too), depth first.
void VisitStrings(const toml::node& node, size_t* budget) {
  if (*budget == 0) return;
  if (const toml::value<std::string>* s = node.as_string()) {
    --*budget;
    CheckTextForms(s->get());
  } else if (const toml::table* t = node.as_table()) {
    for (const auto& [key, value] : *t) {
      if (*budget == 0) return;
      --*budget;
      CheckTextForms(key.str());
      VisitStrings(value, budget);
    }
  } else if (const toml::array* a = node.as_array()) {
    for (const toml::node& e : *a) VisitStrings(e, budget);
  }
}

void CheckAccepted(const Config& config) {
  FUZZ_CHECK(!config.dataplane.workers.empty() && config.dataplane.workers.size() <= kMaxWorkers,
             "%zu workers", config.dataplane.workers.size());
  for (const BfdProfile& p : config.profiles) {
    FUZZ_CHECK(!p.name.empty() && p.detect_mult >= 1, "profile");
    FUZZ_CHECK(p.desired_min_tx_us >= 1'000 && p.desired_min_tx_us <= 60'000'000 &&
                   p.required_min_rx_us >= 1'000 && p.required_min_rx_us <= 60'000'000,
               "profile %s: intervals %u/%u us", p.name.c_str(), p.desired_min_tx_us,
               p.required_min_rx_us);
    if (p.auth) {
      const size_t max = bfd::AuthDigestLength(p.auth->type) == 20 ? 20 : 16;
      FUZZ_CHECK(p.auth->type != bfd::AuthType::kNone && !p.auth->secret.empty() &&
                     p.auth->secret.size() <= max,
                 "profile %s: a %zu-byte secret for %s", p.name.c_str(), p.auth->secret.size(),
                 std::string(bfd::AuthTypeName(p.auth->type)).c_str());
    }
  }
  for (const BfdSessionConfig& s : config.sessions) {
    FUZZ_CHECK(!s.peer.empty() && s.peer.family() == s.local.family(), "session addresses");
    FUZZ_CHECK(s.multihop || !s.interface.empty(), "a single-hop session without interface");
    FUZZ_CHECK(s.interface.size() < 16, "interface name of %zu bytes", s.interface.size());
    const BfdProfile& p = config.ProfileFor(s);
    FUZZ_CHECK(s.profile.empty() || p.name == s.profile, "session profile \"%s\" not found",
               s.profile.c_str());
  }
}

}  // namespace
}  // namespace strobe::config

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strobe::config;  // NOLINT: a fuzz entry point
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const absl::StatusOr<Config> config = ParseConfig(text, kSource);
  if (config.ok()) {
    CheckAccepted(*config);
  } else {
    const std::string message(config.status().message());
    FUZZ_CHECK(message.starts_with("fuzz.toml:") && message.size() > kSource.size() + 2,
               "an error that does not name the file: %s", message.c_str());
  }

  size_t budget = kMaxTextForms;
  try {
    const toml::table root = toml::parse(text, kSource);
    VisitStrings(root, &budget);
  } catch (const toml::parse_error&) {
    // Not TOML: the text forms get the lines instead.
    size_t start = 0;
    while (start < text.size() && budget > 0) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      CheckTextForms(text.substr(start, end - start));
      --budget;
      start = end + 1;
    }
  }
  return 0;
}
