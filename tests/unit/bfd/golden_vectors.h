#ifndef STROBE_TESTS_UNIT_BFD_GOLDEN_VECTORS_H_
#define STROBE_TESTS_UNIT_BFD_GOLDEN_VECTORS_H_

// BFD Control packets (RFC 5880 section 4) written out by hand, byte by byte. packet_test.cc
// checks Encode/Decode against them; check_golden_with_tshark.py feeds them to Wireshark's BFD
// dissector. Keep the format: one {"name", "hex"} entry per vector, hex may contain spaces and
// may be split into adjacent string literals.
//
// The keyed digests were computed independently of the code under test with
//   printf '<packet hex with the zero-padded key in the digest field>' | xxd -r -p |
//       openssl dgst -md5   (or -sha1)
// Keys (auth_test.cc uses the same): keyed_md5 and keyed_sha1: "secret";
// meticulous_keyed_md5: "0123456789abcdef" (16 bytes, no padding);
// meticulous_keyed_sha1: "0123456789abcdefghij" (20 bytes, no padding).

namespace strobe::bfd::testing {

struct GoldenVector {
  const char* name;
  const char* hex;
};

inline constexpr GoldenVector kGoldenVectors[] = {
    // Vers 1 Diag 0 | Down, no flags | Mult 3 | Len 24 | My 1 | Your 0 | 1 s | 1 s | echo 0.
    {"down_plain", "20 40 03 18 00000001 00000000 000f4240 000f4240 00000000"},
    // Diag 1 (control detection time expired), Down.
    {"down_diag_detect_expired", "21 40 03 18 00000001 00000000 000f4240 000f4240 00000000"},
    // Diag 7 (administratively down), AdminDown.
    {"admin_down", "27 00 03 18 00000001 00000002 000f4240 000f4240 00000000"},
    // Init, Control Plane Independent.
    {"init_cpi", "20 88 03 18 00000001 00000002 000f4240 000f4240 00000000"},
    // Up + Poll, Mult 5, 300 ms / 300 ms, echo 50 ms.
    {"up_poll", "20 e0 05 18 11223344 55667788 000493e0 000493e0 0000c350"},
    // Up + Final.
    {"up_final", "20 d0 03 18 55667788 11223344 000493e0 000493e0 00000000"},
    // Up + Demand.
    {"up_demand", "20 c2 03 18 55667788 11223344 000493e0 000493e0 00000000"},
    // Up + A, Len 35; simple password: type 1, len 11, key id 5, "password".
    {"simple_password",
     "20 c4 03 23 00000001 00000002 000f4240 000f4240 00000000 01 0b 05 70617373776f7264"},
    // Up + A, Len 48; keyed MD5: type 2, len 24, key id 1, reserved, seq 100, digest.
    {"keyed_md5",
     "20 c4 03 30 00000001 00000002 000f4240 000f4240 00000000 02 18 01 00 00000064 "
     "bd6dffebbf6f824c63c714415eb71a6c"},
    // Init + A, Len 48; meticulous keyed MD5: type 3, key id 7, seq 0xfffffffe.
    {"meticulous_keyed_md5",
     "20 84 03 30 0000000a 0000000b 000186a0 000186a0 00000000 03 18 07 00 fffffffe "
     "348f34fc11d0897e2daefeac62c0439d"},
    // Up + A, Mult 5, Len 52; keyed SHA1: type 4, len 28, key id 2, seq 0x1000.
    {"keyed_sha1",
     "20 c4 05 34 00000003 00000004 0007a120 0007a120 00000000 04 1c 02 00 00001000 "
     "33dad2f6b8319fa8e3c9e97ba3c5f0c1cd42258a"},
    // Diag 3 (neighbor signaled session down), Down + A, Len 52; meticulous keyed SHA1: type 5,
    // key id 255, seq 0x80000000.
    {"meticulous_keyed_sha1",
     "23 44 03 34 00000005 00000006 000f4240 000f4240 00000000 05 1c ff 00 80000000 "
     "e2eca44d11b38466696109e5729b758e43d7586f"},
};

}  // namespace strobe::bfd::testing

#endif  // STROBE_TESTS_UNIT_BFD_GOLDEN_VECTORS_H_
