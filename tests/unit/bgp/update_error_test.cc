// RFC 7606 revised error handling: one case per action class and per attribute.
#include <string>
#include <variant>

#include "controlplane/bgp/message.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/bgp/test_util.h"

namespace strobe::bgp {
namespace {

using ::testing::ElementsAre;
using testing::FromHex;

constexpr char kOrigin[] = "40010100";
constexpr char kAsPath4[] = "40020602010000fde9";
constexpr char kAsPath2[] = "4002040201fde9";
constexpr char kNextHop[] = "4003040a000001";
constexpr char kNlri[] = "18c00002";  // 192.0.2.0/24

// UPDATE body from hex pieces: withdrawn routes, attributes, NLRI.
std::vector<uint8_t> Body(const std::string& withdrawn, const std::string& attrs,
                          const std::string& nlri) {
  auto w = FromHex(withdrawn);
  auto a = FromHex(attrs);
  auto n = FromHex(nlri);
  std::vector<uint8_t> b{static_cast<uint8_t>(w.size() >> 8), static_cast<uint8_t>(w.size())};
  b.insert(b.end(), w.begin(), w.end());
  b.push_back(static_cast<uint8_t>(a.size() >> 8));
  b.push_back(static_cast<uint8_t>(a.size()));
  b.insert(b.end(), a.begin(), a.end());
  b.insert(b.end(), n.begin(), n.end());
  return b;
}

CodecOptions As4() {
  CodecOptions o;
  o.four_octet_as = true;
  return o;
}

UpdateDecodeResult Decode(const std::string& attrs, const std::string& nlri = kNlri,
                          const CodecOptions& options = As4()) {
  return DecodeUpdateBody(Body("", attrs, nlri), options);
}

std::string Base() { return std::string(kOrigin) + kAsPath4 + kNextHop; }

TEST(BgpUpdate7606Test, WellFormedIsOk) {
  auto r = Decode(Base());
  EXPECT_EQ(r.action, UpdateDecodeResult::kOk);
  EXPECT_EQ(r.update.nlri.size(), 1u);
  EXPECT_TRUE(r.discarded_types.empty());
  // 2-octet AS session.
  CodecOptions as2;
  r = Decode(std::string(kOrigin) + kAsPath2 + kNextHop, kNlri, as2);
  EXPECT_EQ(r.action, UpdateDecodeResult::kOk);
  EXPECT_EQ(r.update.attributes.as_path->at(0).asns, std::vector<uint32_t>{65001});
}

TEST(BgpUpdate7606Test, EndOfRibIsEmptyUpdate) {
  auto r = DecodeUpdateBody(Body("", "", ""), {});
  EXPECT_EQ(r.action, UpdateDecodeResult::kOk);
  EXPECT_EQ(r.update, Update{});
}

// --- Session reset ---

TEST(BgpUpdate7606Test, ResetWithdrawnLengthOverrun) {
  auto r = DecodeUpdateBody(FromHex("0005 0000"), {});
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
  EXPECT_EQ(r.notification, (BgpError{3, kSubMalformedAttributeList, {}}));
}

TEST(BgpUpdate7606Test, ResetTotalAttributeLengthOverrun) {
  auto r = DecodeUpdateBody(FromHex("0000 0010 40010100"), {});
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
  EXPECT_EQ(r.notification, (BgpError{3, kSubMalformedAttributeList, {}}));
  // Through DecodeMessage the reset comes back as the NOTIFICATION to send.
  auto msg = DecodeMessage(testing::Framed(2, FromHex("0000 0010 40010100")), {});
  EXPECT_EQ(std::get<BgpError>(msg), (BgpError{3, kSubMalformedAttributeList, {}}));
}

TEST(BgpUpdate7606Test, ResetBadNlri) {
  EXPECT_EQ(Decode(Base(), "21c0000200").notification,  // /33
            (BgpError{3, kSubInvalidNetworkField, {}}));
  EXPECT_EQ(Decode(Base(), "18c000").notification,  // truncated
            (BgpError{3, kSubInvalidNetworkField, {}}));
  auto r = DecodeUpdateBody(Body("21c0000200", "", ""), {});  // bad withdrawn
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
  EXPECT_EQ(r.notification, (BgpError{3, kSubInvalidNetworkField, {}}));
}

TEST(BgpUpdate7606Test, ResetDuplicateMpReach) {
  std::string mp = "800e0900010104c000020100";
  auto r = Decode(std::string(kOrigin) + kAsPath4 + mp + mp, "");
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
  EXPECT_EQ(r.notification->subcode, kSubMalformedAttributeList);
  std::string unreach = "800f03000101";
  r = Decode(unreach + unreach, "");
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
}

TEST(BgpUpdate7606Test, ResetMpReachNlriUnlocatableOrBad) {
  // Next hop length runs past the attribute.
  std::string attr =
      "800e05000101"
      "10"
      "00";
  auto r = Decode(std::string(kOrigin) + kAsPath4 + attr, "");
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
  EXPECT_EQ(r.notification->code, 3);
  EXPECT_EQ(r.notification->subcode, kSubOptionalAttributeError);
  EXPECT_EQ(r.notification->data, FromHex(attr));
  // NLRI with prefix length 33.
  r = Decode(std::string(kOrigin) + kAsPath4 +
                 "800e0a00010104c000020100"
                 "21",
             "");
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
  // MP_UNREACH shorter than AFI/SAFI, and with a bad prefix.
  EXPECT_EQ(Decode("800f020001", "").action, UpdateDecodeResult::kSessionReset);
  EXPECT_EQ(Decode("800f0400010121", "").action, UpdateDecodeResult::kSessionReset);
}

TEST(BgpUpdate7606Test, ResetUnrecognizedWellKnown) {
  auto r = Decode(Base() + "4063020102");
  EXPECT_EQ(r.action, UpdateDecodeResult::kSessionReset);
  EXPECT_EQ(r.notification,
            (BgpError{3, kSubUnrecognizedWellKnownAttribute, FromHex("4063020102")}));
}

// --- Treat-as-withdraw ---

void ExpectWithdraw(const std::string& attrs, const std::string& nlri = kNlri,
                    const CodecOptions& options = As4()) {
  auto r = Decode(attrs, nlri, options);
  EXPECT_EQ(r.action, UpdateDecodeResult::kTreatAsWithdraw) << attrs;
  EXPECT_EQ(r.notification, std::nullopt);
}

TEST(BgpUpdate7606Test, WithdrawMalformedOrigin) {
  ExpectWithdraw(std::string("40010103") + kAsPath4 + kNextHop);    // value 3
  ExpectWithdraw(std::string("4001020000") + kAsPath4 + kNextHop);  // length 2
}

TEST(BgpUpdate7606Test, WithdrawMalformedAsPath) {
  ExpectWithdraw(std::string(kOrigin) + "40020602020000fde9" + kNextHop);  // count overruns
  ExpectWithdraw(std::string(kOrigin) + "40020602050000fde9" + kNextHop);  // type 5 invalid
  ExpectWithdraw(std::string(kOrigin) + "4002020200" + kNextHop);          // empty segment
  // 4-octet path decoded as 2-octet on a 2-octet session leaves a dangling byte count.
  ExpectWithdraw(std::string(kOrigin) + "40020502010000fd" + kNextHop, kNlri, CodecOptions{});
}

TEST(BgpUpdate7606Test, WithdrawMalformedNextHop) {
  ExpectWithdraw(std::string(kOrigin) + kAsPath4 + "4003030a0000");    // length 3
  ExpectWithdraw(std::string(kOrigin) + kAsPath4 + "40030400000000");  // 0.0.0.0
  ExpectWithdraw(std::string(kOrigin) + kAsPath4 + "400304e0000001");  // multicast
}

TEST(BgpUpdate7606Test, WithdrawMalformedMedAndLocalPref) {
  ExpectWithdraw(Base() + "800403000064");
  ExpectWithdraw(Base() + "400505000000006400");
}

TEST(BgpUpdate7606Test, WithdrawMalformedCommunities) {
  ExpectWithdraw(Base() + "c00803fde900");
  ExpectWithdraw(Base() + "c00800");
  ExpectWithdraw(Base() + "c0200b" + "0000fde900000001000000");
  ExpectWithdraw(Base() + "c02000");
}

TEST(BgpUpdate7606Test, WithdrawMpReachNextHopLength) {
  // IPv6 unicast with a 4-octet next hop.
  ExpectWithdraw(std::string(kOrigin) + kAsPath4 + "800e0c00020104c000020100102001", "");
  auto r = Decode(std::string(kOrigin) + kAsPath4 + "800e1000020104c0000201003020010db80001", "");
  EXPECT_EQ(r.action, UpdateDecodeResult::kTreatAsWithdraw);
  ASSERT_TRUE(r.update.attributes.mp_reach.has_value());  // NLRI available to withdraw.
  EXPECT_EQ(r.update.attributes.mp_reach->nlri.size(), 1u);
}

TEST(BgpUpdate7606Test, WithdrawAttributeFlagsError) {
  ExpectWithdraw(std::string("c0010100") + kAsPath4 + kNextHop);  // ORIGIN marked optional
  ExpectWithdraw(Base() + "c0040400000064");                      // MED marked transitive
  ExpectWithdraw(Base() + "00080400010002");                      // COMMUNITIES not optional
  ExpectWithdraw(std::string("60010100") + kAsPath4 + kNextHop);  // Partial on well-known
}

TEST(BgpUpdate7606Test, WithdrawAttributeFraming) {
  // Last attribute's length overruns the attribute list.
  ExpectWithdraw(Base() + "c00808fde90064");
  // Fewer than 3 octets left for an attribute header.
  ExpectWithdraw(Base() + "c008");
  // Extended length with only 3 octets.
  ExpectWithdraw(Base() + "d00800");
}

TEST(BgpUpdate7606Test, WithdrawMissingWellKnown) {
  ExpectWithdraw(std::string(kAsPath4) + kNextHop);
  ExpectWithdraw(std::string(kOrigin) + kNextHop);
  ExpectWithdraw(std::string(kOrigin) + kAsPath4);
  ExpectWithdraw("");
  // MP_REACH NLRI without ORIGIN.
  ExpectWithdraw(std::string(kAsPath4) + "800e0d00010104c00002010018c63364", "");
  // No NLRI at all: nothing is mandatory.
  EXPECT_EQ(Decode("c00804fde90064", "").action, UpdateDecodeResult::kOk);
}

// --- Attribute discard ---

void ExpectDiscard(const std::string& extra, std::vector<uint8_t> types,
                   const CodecOptions& options = As4()) {
  auto r = Decode(Base() + extra, kNlri, options);
  EXPECT_EQ(r.action, UpdateDecodeResult::kAttributeDiscard) << extra;
  EXPECT_EQ(r.discarded_types, types) << extra;
}

TEST(BgpUpdate7606Test, DiscardMalformedAtomicAggregate) { ExpectDiscard("400601ff", {6}); }

TEST(BgpUpdate7606Test, DiscardMalformedAggregator) {
  ExpectDiscard("c00706fde90a000001", {7});  // 6 octets on a 4-octet session
  // 8 octets on a 2-octet session.
  auto r = Decode(std::string(kOrigin) + kAsPath2 + kNextHop + "c00708000000010a000001", kNlri,
                  CodecOptions{});
  EXPECT_EQ(r.action, UpdateDecodeResult::kAttributeDiscard);
  EXPECT_EQ(r.discarded_types, std::vector<uint8_t>{7});
}

TEST(BgpUpdate7606Test, DiscardAs4AttributesFromNewSpeakerOrMalformed) {
  ExpectDiscard("c0110602010000fde9", {17});  // AS4_PATH from a 4-octet speaker
  ExpectDiscard("c0120800000001c0000201", {18});
}

TEST(BgpUpdate7606Test, DiscardDuplicateAttributes) {
  ExpectDiscard("80040400000064800404000000c8", {4});
  auto r = Decode(Base() + "80040400000064800404000000c8");
  EXPECT_EQ(r.update.attributes.med, 100u);  // The first one wins.
  ExpectDiscard(kOrigin, {1});
}

TEST(BgpUpdate7606Test, DiscardMpReachUnsupportedFamily) {
  ExpectDiscard("800e0900194104c000020100", {14});  // AFI 25 (L2VPN) / SAFI 65
}

TEST(BgpUpdate7606Test, As4AttributesFromOldSpeaker) {
  CodecOptions as2;
  auto r = Decode(std::string(kOrigin) + "40020402015ba0" + kNextHop + "c0110602010000fde9" +
                      "c00706"
                      "5ba00a000001" +
                      "c012080000fde90a000001",
                  kNlri, as2);
  EXPECT_EQ(r.action, UpdateDecodeResult::kOk);
  EXPECT_EQ(r.update.attributes.as4_path->at(0).asns, std::vector<uint32_t>{65001});
  EXPECT_EQ(r.update.attributes.as4_aggregator->asn, 65001u);
  EXPECT_EQ(r.update.attributes.aggregator->asn, kAsTrans);
  // Malformed AS4_PATH (confederation segment) is discarded.
  r = Decode(Base() + "c0110603010000fde9", kNlri, as2);
  EXPECT_THAT(r.discarded_types, ElementsAre(17));
}

TEST(BgpUpdate7606Test, UnknownOptionalAttributes) {
  // Optional transitive: kept, re-encoded with Partial. Optional non-transitive: dropped.
  auto r = Decode(Base() + "c0630201028064020304");
  EXPECT_EQ(r.action, UpdateDecodeResult::kOk);
  ASSERT_EQ(r.update.attributes.unknown.size(), 1u);
  EXPECT_EQ(r.update.attributes.unknown[0], (RawAttribute{0xc0, 0x63, {1, 2}}));
  auto enc = EncodeUpdateBody(r.update, As4());
  ASSERT_TRUE(enc.ok());
  auto again = DecodeUpdateBody(*enc, As4());
  EXPECT_EQ(again.update.attributes.unknown[0].flags, 0xe0);
}

TEST(BgpUpdate7606Test, AddPathIdentifiers) {
  CodecOptions o = As4();
  o.add_path = {kIpv4Unicast};
  auto r = DecodeUpdateBody(Body("0000000718c63364", Base(), "0000000218c00002"), o);
  EXPECT_EQ(r.action, UpdateDecodeResult::kOk);
  ASSERT_EQ(r.update.nlri.size(), 1u);
  EXPECT_EQ(r.update.nlri[0].path_id, 2u);
  EXPECT_EQ(r.update.withdrawn[0].path_id, 7u);
  // Without ADD-PATH the same bytes are a bad NLRI (prefix length 0 then garbage).
  EXPECT_EQ(DecodeUpdateBody(Body("", Base(), "0000000218c00002"), As4()).action,
            UpdateDecodeResult::kSessionReset);
}

}  // namespace
}  // namespace strobe::bgp
