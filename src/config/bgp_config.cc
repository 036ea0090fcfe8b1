// The text forms of prefixes, prefix-list entries and communities (bgp_config.h). Knows no TOML:
// the control plane's policy engine links it without the parser. The tables themselves are read
// by bgp_reader.cc.

#include "src/config/bgp_config.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace strobe::config {
namespace {

constexpr uint64_t kMaxUint32 = 4294967295;

struct NamedCommunity {
  std::string_view name;
  Community value;
};
constexpr NamedCommunity kWellKnownCommunities[] = {
    {"no-export", kCommunityNoExport},
    {"no-advertise", kCommunityNoAdvertise},
    {"no-export-subconfed", kCommunityNoExportSubconfed},
    {"blackhole", kCommunityBlackhole},
    {"graceful-shutdown", kCommunityGracefulShutdown},
};

int Width(const net::IpAddress& a) { return a.is_v4() ? 32 : 128; }

// A strict unsigned decimal: digits only (no sign, no spaces), at most `max`.
std::optional<uint64_t> ParseDecimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// `bytes` with the bits from `length` on cleared.
std::array<uint8_t, 16> Masked(std::array<uint8_t, 16> bytes, int length) {
  for (int bit = length; bit < 128; ++bit) {
    bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  return bytes;
}

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) fields.push_back(s.substr(i, j - i));
    i = j;
  }
  return fields;
}

absl::Status Invalid(std::string_view text, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", std::string(text), "\" ", std::string(what)));
}

}  // namespace

// ---- Text forms ----

bool IpPrefix::Contains(const net::IpAddress& other) const {
  if (other.empty() || other.family() != address.family()) return false;
  return Masked(other.bytes(), length) == address.bytes();
}

std::string IpPrefix::ToString() const {
  return absl::StrCat(address.ToString(), "/", static_cast<int>(length));
}

absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Invalid(text, "is not a prefix (ADDRESS/LENGTH)");
  }
  absl::StatusOr<net::IpAddress> address = net::IpAddress::Parse(text.substr(0, slash));
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(text), "\": ", std::string(address.status().message())));
  }
  const int width = Width(*address);
  const std::optional<uint64_t> length =
      ParseDecimal(text.substr(slash + 1), static_cast<uint64_t>(width));
  if (!length) {
    return Invalid(text, absl::StrCat("has a bad prefix length: 0-", width, " for ",
                                      address->is_v4() ? "IPv4" : "IPv6"));
  }
  const std::array<uint8_t, 16> network = Masked(address->bytes(), static_cast<int>(*length));
  if (network != address->bytes()) {
    std::array<uint8_t, 16> host{};
    for (size_t i = 0; i < host.size(); ++i) host[i] = address->bytes()[i] ^ network[i];
    const int family = address->is_v4() ? 4 : 6;
    return Invalid(
        text,
        absl::StrCat("has host bits set beyond /", *length, " (",
                     net::IpAddress::FromBytes(host.data(), family).ToString(), "); the prefix is ",
                     net::IpAddress::FromBytes(network.data(), family).ToString(), "/", *length));
  }
  return IpPrefix{.address = *address, .length = static_cast<uint8_t>(*length)};
}

absl::StatusOr<PrefixMatch> ParsePrefixMatch(std::string_view text) {
  const std::vector<std::string_view> fields = SplitFields(text);
  if (fields.empty()) return Invalid(text, "is not a prefix (ADDRESS/LENGTH [ge N] [le M])");
  absl::StatusOr<IpPrefix> prefix = ParseIpPrefix(fields[0]);
  if (!prefix.ok()) return prefix.status();
  const int width = Width(prefix->address);
  std::optional<int> ge;
  std::optional<int> le;
  for (size_t i = 1; i < fields.size(); i += 2) {
    const std::string keyword(fields[i]);
    if (keyword != "ge" && keyword != "le") {
      return Invalid(text, absl::StrCat("has \"", keyword,
                                        "\" where \"ge N\" or \"le M\" may follow the prefix"));
    }
    std::optional<int>& bound = keyword == "ge" ? ge : le;
    if (bound) return Invalid(text, absl::StrCat("has \"", keyword, "\" twice"));
    const std::optional<uint64_t> v =
        i + 1 < fields.size() ? ParseDecimal(fields[i + 1], 255) : std::nullopt;
    if (!v) return Invalid(text, absl::StrCat("needs a prefix length after \"", keyword, "\""));
    bound = static_cast<int>(*v);
  }
  const int length = prefix->length;
  const int resolved_ge = ge.value_or(length);
  const int resolved_le = le.value_or(ge ? width : length);
  if (resolved_ge < length || resolved_le < resolved_ge || resolved_le > width) {
    return Invalid(text, absl::StrCat("needs length <= ge <= le <= ", width, ": here ", length,
                                      " <= ", resolved_ge, " <= ", resolved_le, " <= ", width,
                                      " does not hold"));
  }
  return PrefixMatch{.prefix = *prefix,
                     .ge = static_cast<uint8_t>(resolved_ge),
                     .le = static_cast<uint8_t>(resolved_le)};
}

absl::StatusOr<Community> ParseCommunity(std::string_view text) {
  for (const NamedCommunity& c : kWellKnownCommunities) {
    if (text == c.name) return c.value;
  }
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    const std::optional<uint64_t> high = ParseDecimal(text.substr(0, colon), 65535);
    const std::optional<uint64_t> low = ParseDecimal(text.substr(colon + 1), 65535);
    if (high && low) return static_cast<Community>(*high << 16 | *low);
  }
  return Invalid(text,
                 "is not a community: ASN:VALUE with each 0-65535, or one of no-export, "
                 "no-advertise, no-export-subconfed, blackhole, graceful-shutdown");
}

absl::StatusOr<LargeCommunity> ParseLargeCommunity(std::string_view text) {
  const size_t first = text.find(':');
  const size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second != std::string_view::npos) {
    const std::optional<uint64_t> global = ParseDecimal(text.substr(0, first), kMaxUint32);
    const std::optional<uint64_t> local1 =
        ParseDecimal(text.substr(first + 1, second - first - 1), kMaxUint32);
    const std::optional<uint64_t> local2 = ParseDecimal(text.substr(second + 1), kMaxUint32);
    if (global && local1 && local2) {
      return LargeCommunity{.global = static_cast<uint32_t>(*global),
                            .local1 = static_cast<uint32_t>(*local1),
                            .local2 = static_cast<uint32_t>(*local2)};
    }
  }
  return Invalid(text, "is not a large community: GLOBAL:LOCAL1:LOCAL2 with each 0-4294967295");
}

std::string CommunityToString(Community community) {
  for (const NamedCommunity& c : kWellKnownCommunities) {
    if (community == c.value) return std::string(c.name);
  }
  return absl::StrCat(community >> 16, ":", community & 0xFFFF);
}

std::string LargeCommunityToString(const LargeCommunity& community) {
  return absl::StrCat(community.global, ":", community.local1, ":", community.local2);
}

const BgpListenRangeConfig* BgpConfig::FindListenRange(const net::IpAddress& address) const {
  const BgpListenRangeConfig* best = nullptr;
  for (const BgpListenRangeConfig& r : listen_ranges) {
    if (r.prefix.Contains(address) && (best == nullptr || r.prefix.length > best->prefix.length)) {
      best = &r;
    }
  }
  return best;
}

}  // namespace strobe::config
