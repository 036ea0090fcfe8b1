// Hand-written BGP messages, hex; checked against tshark by check_golden_with_tshark.py.
// Names are kGolden<Type>[...]Hex; the type prefix tells the checker the expected message type.
#ifndef STROBE_TESTS_UNIT_BGP_GOLDEN_VECTORS_H_
#define STROBE_TESTS_UNIT_BGP_GOLDEN_VECTORS_H_

namespace strobe::bgp::golden {

// OPEN: AS 65001, hold 90, id 10.0.0.1; MP IPv4/IPv6 unicast, route refresh, enhanced route
// refresh, 4-octet AS 65001, graceful restart (120 s, IPv4 unicast F bit), extended next hop
// (IPv4 unicast over IPv6), extended message, ADD-PATH IPv4 unicast receive.
inline constexpr char kGoldenOpenHex[] =
    "ffffffffffffffffffffffffffffffff004d01"
    "04fde9005a0a00000130022e"
    "010400010001"
    "010400020001"
    "0200"
    "4600"
    "41040000fde9"
    "4006007800010180"
    "0506000100010002"
    "0600"
    "450400010101";

inline constexpr char kGoldenKeepaliveHex[] = "ffffffffffffffffffffffffffffffff001304";

// UPDATE (4-octet AS session): ORIGIN IGP, AS_PATH 65001 65002, NEXT_HOP 10.0.0.1, MED 100,
// COMMUNITIES 65001:100, LARGE_COMMUNITIES 65001:1:2; NLRI 10.1.0.0/16, 192.0.2.0/24.
inline constexpr char kGoldenUpdateIpv4Hex[] =
    "ffffffffffffffffffffffffffffffff005302"
    "00000035"
    "40010100"
    "40020a02020000fde90000fdea"
    "4003040a000001"
    "80040400000064"
    "c00804fde90064"
    "c0200c0000fde90000000100000002"
    "100a01"
    "18c00002";

// UPDATE: ORIGIN IGP, AS_PATH 65001, MP_REACH IPv6 unicast next hop 2001:db8::1,
// NLRI 2001:db8:1::/48.
inline constexpr char kGoldenUpdateMpIpv6Hex[] =
    "ffffffffffffffffffffffffffffffff004302"
    "0000002c"
    "40010100"
    "40020602010000fde9"
    "800e1c00020110"
    "20010db8000000000000000000000001"
    "00"
    "3020010db80001";

// UPDATE (RFC 8950): ORIGIN IGP, AS_PATH 65001, MP_REACH IPv4 unicast, next hop 2001:db8::1 +
// fe80::1, NLRI 198.51.100.0/24.
inline constexpr char kGoldenUpdateIpv4OverIpv6Hex[] =
    "ffffffffffffffffffffffffffffffff005002"
    "00000039"
    "40010100"
    "40020602010000fde9"
    "800e2900010120"
    "20010db8000000000000000000000001"
    "fe800000000000000000000000000001"
    "00"
    "18c63364";

// NOTIFICATION Cease / BFD Down (RFC 9384).
inline constexpr char kGoldenNotificationCeaseBfdDownHex[] =
    "ffffffffffffffffffffffffffffffff001503060a";

// ROUTE-REFRESH IPv4 unicast, subtype 0.
inline constexpr char kGoldenRouteRefreshHex[] = "ffffffffffffffffffffffffffffffff00170500010001";

}  // namespace strobe::bgp::golden

#endif  // STROBE_TESTS_UNIT_BGP_GOLDEN_VECTORS_H_
