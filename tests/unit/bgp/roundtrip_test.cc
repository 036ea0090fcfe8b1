// Randomized round trips and a fuzz-style loop over every decoder.
#include <random>
#include <variant>

#include "controlplane/bgp/message.h"
#include "gtest/gtest.h"
#include "tests/unit/bgp/golden_vectors.h"
#include "tests/unit/bgp/test_util.h"

namespace strobe::bgp {
namespace {

using testing::FromHex;

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  uint32_t U(uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_);
  }
  bool Coin() { return U(0, 1) == 1; }
  std::vector<uint8_t> Bytes(size_t n) {
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = static_cast<uint8_t>(U(0, 255));
    return b;
  }

  Prefix RandomPrefix(uint16_t afi, bool add_path) {
    auto addr = Bytes(16);
    return MakePrefix(afi, addr, static_cast<uint8_t>(U(0, afi == kAfiIpv6 ? 128 : 32)),
                      add_path ? U(0, 0xffffffff) : 0);
  }
  std::vector<Prefix> Prefixes(uint16_t afi, bool add_path, uint32_t max) {
    std::vector<Prefix> v(U(0, max));
    for (auto& p : v) p = RandomPrefix(afi, add_path);
    return v;
  }
  std::vector<AsPathSegment> Path(bool four_octet, bool allow_confed) {
    std::vector<AsPathSegment> path(U(0, 3));
    for (auto& seg : path) {
      seg.type = static_cast<uint8_t>(U(1, allow_confed ? 4 : 2));
      seg.asns.resize(U(1, 8));
      for (auto& asn : seg.asns) asn = four_octet ? U(1, 0xffffffff) : U(1, 0xffff);
    }
    return path;
  }

  Update RandomUpdate(const CodecOptions& o) {
    Update u;
    u.withdrawn = Prefixes(kAfiIpv4, o.AddPath(kIpv4Unicast), 5);
    u.nlri = Prefixes(kAfiIpv4, o.AddPath(kIpv4Unicast), 5);
    PathAttributes& a = u.attributes;
    bool has_mp_reach = Coin();
    bool any_nlri = !u.nlri.empty() || has_mp_reach;
    if (any_nlri || Coin()) {
      a.origin = static_cast<uint8_t>(U(0, 2));
      a.as_path = Path(o.four_octet_as, true);
    }
    if (!u.nlri.empty() || Coin()) {
      a.next_hop = std::array<uint8_t, 4>{static_cast<uint8_t>(U(1, 223)), 0, 0, 1};
    }
    if (Coin()) a.med = U(0, 0xffffffff);
    if (Coin()) a.local_pref = U(0, 0xffffffff);
    a.atomic_aggregate = Coin();
    if (Coin()) {
      a.aggregator = Aggregator{o.four_octet_as ? U(0, 0xffffffff) : U(0, 0xffff), {1, 2, 3, 4}};
    }
    if (Coin()) {
      std::vector<uint32_t> c(U(1, 70));  // Sometimes > 255 octets: extended length.
      for (auto& x : c) x = U(0, 0xffffffff);
      a.communities = c;
    }
    if (Coin()) {
      std::vector<LargeCommunity> lc(U(1, 3));
      for (auto& x : lc) x = {U(0, 0xffffffff), U(0, 0xffffffff), U(0, 0xffffffff)};
      a.large_communities = lc;
    }
    if (has_mp_reach) {
      MpReach mp;
      mp.afi_safi = Coin() ? kIpv6Unicast : kIpv4Unicast;
      if (mp.afi_safi.afi == kAfiIpv6) {
        mp.next_hop = Bytes(Coin() ? 16 : 32);
      } else {
        mp.next_hop = Bytes(o.extended_next_hop && Coin() ? 16 : 4);
      }
      mp.nlri = Prefixes(mp.afi_safi.afi, o.AddPath(mp.afi_safi), 5);
      if (mp.nlri.empty()) mp.nlri.push_back(RandomPrefix(mp.afi_safi.afi, o.AddPath(mp.afi_safi)));
      a.mp_reach = mp;
    }
    if (Coin()) {
      MpUnreach mp;
      mp.afi_safi = Coin() ? kIpv6Unicast : kIpv4Unicast;
      mp.withdrawn = Prefixes(mp.afi_safi.afi, o.AddPath(mp.afi_safi), 5);
      a.mp_unreach = mp;
    }
    if (!o.four_octet_as && Coin()) {
      a.as4_path = Path(true, false);
      a.as4_aggregator = Aggregator{U(0, 0xffffffff), {9, 9, 9, 9}};
    }
    for (uint8_t type : {uint8_t{99}, uint8_t{200}}) {
      if (Coin()) a.unknown.push_back({0xe0, type, Bytes(U(0, 20))});
    }
    return u;
  }

  Open RandomOpen() {
    Capabilities c;
    for (uint32_t i = U(0, 3); i > 0; --i) {
      c.multiprotocol.push_back({static_cast<uint16_t>(U(1, 2)), static_cast<uint8_t>(U(1, 2))});
    }
    c.route_refresh = Coin();
    c.enhanced_route_refresh = Coin();
    if (Coin()) c.four_octet_as = U(0, 0xffffffff);
    if (Coin()) {
      GracefulRestartCapability gr{Coin(), Coin(), static_cast<uint16_t>(U(0, 4095)), {}};
      for (uint32_t i = U(0, 2); i > 0; --i) gr.families.push_back({kIpv6Unicast, Coin()});
      c.graceful_restart = gr;
    }
    if (Coin()) c.extended_next_hop.push_back({kAfiIpv4, kSafiUnicast, kAfiIpv6});
    c.extended_message = Coin();
    if (Coin()) c.add_path.push_back({kIpv4Unicast, static_cast<uint8_t>(U(1, 3))});
    if (Coin()) c.unknown.push_back({static_cast<uint8_t>(U(128, 200)), Bytes(U(0, 10))});
    Open open;
    open.my_as = static_cast<uint16_t>(U(0, 0xffff));
    open.hold_time = static_cast<uint16_t>(Coin() ? 0 : U(3, 0xffff));
    open.bgp_identifier = U(0, 0xffffffff);
    open.capabilities = c;
    return open;
  }

  CodecOptions RandomOptions() {
    CodecOptions o;
    o.four_octet_as = Coin();
    o.extended_next_hop = Coin();
    if (Coin()) o.add_path.push_back(kIpv4Unicast);
    if (Coin()) o.add_path.push_back(kIpv6Unicast);
    o.max_length = kMaxExtendedMessageLength;
    return o;
  }

 private:
  std::mt19937 rng_;
};

template <typename T>
T Body(const std::variant<MessageBody, BgpError>& decoded) {
  EXPECT_TRUE(std::holds_alternative<MessageBody>(decoded));
  if (!std::holds_alternative<MessageBody>(decoded)) return T{};
  return std::get<T>(std::get<MessageBody>(decoded));
}

TEST(BgpRoundTripTest, RandomUpdates) {
  Gen gen(1234);
  for (int i = 0; i < 2000; ++i) {
    CodecOptions o = gen.RandomOptions();
    Update u = gen.RandomUpdate(o);
    auto bytes = EncodeUpdate(u, o);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    auto result = Body<UpdateDecodeResult>(DecodeMessage(*bytes, o));
    ASSERT_EQ(result.action, UpdateDecodeResult::kOk) << i << " " << testing::ToHex(*bytes);
    ASSERT_EQ(result.update, u) << i << " " << testing::ToHex(*bytes);
  }
}

TEST(BgpRoundTripTest, RandomOpens) {
  Gen gen(99);
  for (int i = 0; i < 2000; ++i) {
    Open open = gen.RandomOpen();
    auto bytes = EncodeOpen(open);
    ASSERT_TRUE(bytes.ok());
    ASSERT_EQ(Body<Open>(DecodeMessage(*bytes, {})), open) << testing::ToHex(*bytes);
  }
}

TEST(BgpRoundTripTest, RandomNotificationsAndRouteRefresh) {
  Gen gen(7);
  for (int i = 0; i < 1000; ++i) {
    Notification n{static_cast<uint8_t>(gen.U(0, 255)), static_cast<uint8_t>(gen.U(0, 255)),
                   gen.Bytes(gen.U(0, 100))};
    ASSERT_EQ(Body<Notification>(DecodeMessage(EncodeNotification(n), {})), n);
    RouteRefresh rr{{static_cast<uint16_t>(gen.U(0, 0xffff)), static_cast<uint8_t>(gen.U(0, 255))},
                    static_cast<uint8_t>(gen.U(0, 255))};
    ASSERT_EQ(Body<RouteRefresh>(DecodeMessage(EncodeRouteRefresh(rr), {})), rr);
  }
}

// Found by tests/fuzz/bgp_message_fuzzer.cc: ADD-PATH and extended next hop lists received in
// several capabilities were re-encoded into one whose length octet wrapped (504 octets written
// as 248): the OPEN did not decode. They go in instances of at most 255 octets (RFC 5492 s4).
TEST(BgpRoundTripTest, LongCapabilityListsSpanSeveralInstances) {
  Open open = MakeOpen(65001, 90, 0x0a000001, {});
  for (uint16_t i = 0; i < 126; ++i) {
    open.capabilities.add_path.push_back({{kAfiIpv4, static_cast<uint8_t>(i)}, kAddPathBoth});
  }
  for (uint16_t i = 0; i < 50; ++i) {
    open.capabilities.extended_next_hop.push_back({kAfiIpv4, i, kAfiIpv6});
  }
  const absl::StatusOr<std::vector<uint8_t>> bytes = EncodeOpen(open);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(Body<Open>(DecodeMessage(*bytes, {})), open);
  // Instances of 63 + 63 ADD-PATH entries and 42 + 8 extended next hops.
  std::vector<uint8_t> lengths;
  const std::vector<uint8_t> caps = EncodeCapabilities(open.capabilities);
  for (size_t i = 0; i + 1 < caps.size(); i += 2 + caps[i + 1]) {
    if (caps[i] == kCapAddPath || caps[i] == kCapExtendedNextHop) lengths.push_back(caps[i + 1]);
  }
  EXPECT_EQ(lengths, (std::vector<uint8_t>{252, 48, 252, 252}));
}

// One Graceful Restart capability holds at most 63 families: EncodeOpen says so, it does not
// write a wrong length.
TEST(BgpRoundTripTest, EncodeRejectsWhatCannotFitInOneCapability) {
  Open open = MakeOpen(65001, 90, 0x0a000001, {});
  open.capabilities.graceful_restart.emplace();
  open.capabilities.graceful_restart->families.resize(63);
  EXPECT_TRUE(EncodeOpen(open).ok());
  open.capabilities.graceful_restart->families.resize(64);
  EXPECT_FALSE(EncodeOpen(open).ok());
  open.capabilities.graceful_restart.reset();
  open.capabilities.unknown.push_back({200, std::vector<uint8_t>(256, 1)});
  EXPECT_FALSE(EncodeOpen(open).ok());
}

TEST(BgpRoundTripTest, EncodeRejectsOversizedUpdate) {
  Update u;
  u.attributes.communities = std::vector<uint32_t>(1100, 1);
  auto small = EncodeUpdate(u, {});
  EXPECT_FALSE(small.ok());
  CodecOptions ext;
  ext.max_length = kMaxExtendedMessageLength;
  auto big = EncodeUpdate(u, ext);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(Body<UpdateDecodeResult>(DecodeMessage(*big, ext)).update, u);
}

// Checks the invariants of any decode outcome; must never crash.
void Exercise(const std::vector<uint8_t>& bytes, const CodecOptions& o) {
  auto decoded = DecodeMessage(bytes, o);
  if (auto* body = std::get_if<MessageBody>(&decoded)) {
    if (auto* upd = std::get_if<UpdateDecodeResult>(body)) {
      EXPECT_NE(upd->action, UpdateDecodeResult::kSessionReset);
      EXPECT_FALSE(upd->notification.has_value());
      if (upd->action == UpdateDecodeResult::kOk) {
        EXPECT_TRUE(upd->discarded_types.empty());
      }
      if (upd->action == UpdateDecodeResult::kAttributeDiscard) {
        EXPECT_FALSE(upd->discarded_types.empty());
      }
      (void)EncodeUpdate(upd->update, o);
    } else if (auto* open = std::get_if<Open>(body)) {
      auto re = EncodeOpen(*open);
      if (re.ok()) {
        EXPECT_EQ(Body<Open>(DecodeMessage(*re, o)), *open);
      }
    } else if (auto* n = std::get_if<Notification>(body)) {
      (void)ShutdownCommunication(*n);
      (void)NotificationName(n->code, n->subcode);
    }
  } else {
    const BgpError& e = std::get<BgpError>(decoded);
    EXPECT_GE(e.code, 1);
    EXPECT_LE(e.code, 7);
  }
  (void)FrameLength(bytes, o.max_length);
  if (bytes.size() >= kHeaderLength) {
    std::span<const uint8_t> body(bytes.begin() + kHeaderLength, bytes.end());
    (void)DecodeOpenBody(body);
    (void)DecodeNotificationBody(body);
    UpdateDecodeResult r = DecodeUpdateBody(body, o);
    EXPECT_EQ(r.action == UpdateDecodeResult::kSessionReset, r.notification.has_value());
  }
}

TEST(BgpFuzzTest, RandomTruncatedAndMutatedInputsNeverCrash) {
  Gen gen(42);
  std::vector<std::vector<uint8_t>> seeds = {
      FromHex(golden::kGoldenOpenHex),
      FromHex(golden::kGoldenKeepaliveHex),
      FromHex(golden::kGoldenUpdateIpv4Hex),
      FromHex(golden::kGoldenUpdateMpIpv6Hex),
      FromHex(golden::kGoldenUpdateIpv4OverIpv6Hex),
      FromHex(golden::kGoldenNotificationCeaseBfdDownHex),
      FromHex(golden::kGoldenRouteRefreshHex),
  };
  for (int i = 0; i < 200; ++i) {
    CodecOptions o = gen.RandomOptions();
    seeds.push_back(*EncodeUpdate(gen.RandomUpdate(o), o));
    seeds.push_back(*EncodeOpen(gen.RandomOpen()));
  }
  for (int i = 0; i < 50000; ++i) {
    CodecOptions o = gen.RandomOptions();
    if (gen.Coin()) o.max_length = kMaxMessageLength;
    std::vector<uint8_t> bytes = seeds[gen.U(0, static_cast<uint32_t>(seeds.size() - 1))];
    switch (gen.U(0, 4)) {
      case 0:  // Pure random body behind a valid marker.
        bytes = testing::Framed(static_cast<uint8_t>(gen.U(0, 6)), gen.Bytes(gen.U(0, 80)));
        break;
      case 1:  // Truncate, keeping the header length consistent half of the time.
        bytes.resize(gen.U(0, static_cast<uint32_t>(bytes.size())));
        if (bytes.size() >= kHeaderLength && gen.Coin()) {
          bytes[16] = static_cast<uint8_t>(bytes.size() >> 8);
          bytes[17] = static_cast<uint8_t>(bytes.size());
        }
        break;
      default:  // Flip a few bytes past the marker.
        for (uint32_t n = gen.U(1, 4); n > 0 && bytes.size() > 16; --n) {
          bytes[gen.U(16, static_cast<uint32_t>(bytes.size() - 1))] =
              static_cast<uint8_t>(gen.U(0, 255));
        }
        break;
    }
    Exercise(bytes, o);
  }
  for (int i = 0; i < 2000; ++i) Exercise(gen.Bytes(gen.U(0, 64)), gen.RandomOptions());
}

}  // namespace
}  // namespace strobe::bgp
