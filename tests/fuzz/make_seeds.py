#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) and config.dict.

The seeds are committed; this script says where each comes from and writes them again:
  bfd          the golden vectors of tests/unit/bfd/golden_vectors.h, each delivered to a session
               with the matching key, and three-way handshakes, polls, demand, detection,
               AdminDown and key changes for every authentication type (format: bfd_fuzzer.cc)
  xdp_frame    Ethernet frames around a golden BFD packet: IPv4/IPv6, VLAN and QinQ tags, IPv4
               options, fragments, multihop, padding, short UDP lengths, and frames that are not
               BFD (ARP, BGP over TCP)
  bgp_message  the golden messages of tests/unit/bgp/golden_vectors.h as session streams (OPEN,
               KEEPALIVE, UPDATEs, ROUTE-REFRESH, NOTIFICATION), OPENs with ADD-PATH send, RFC 9072
               extended parameters, unknown capabilities, BoRR/EoRR, shutdown communications
  bgp_update   the golden UPDATE bodies under each option set, and the RFC 7606 cases: bad ORIGIN,
               repeated attributes, two MP_REACH_NLRI, attribute flags and length errors, AS4_PATH,
               AGGREGATOR, unknown attributes, End-of-RIB, ADD-PATH, extended next hop
  config       the TOML examples of docs/config.md and deploy/kubernetes/configmap.yaml, and the
               raw-string configurations of tests/unit/config/*_test.cc (valid and invalid)
  rtnl         netlink datagrams as the kernel sends them to strobe-bgpd: nexthop and group dumps,
               routes on nexthop objects, over gateways, RTA_VIA and RTA_MULTIPATH, acks with and
               without extended-ack text, link events, a route lookup answer

Run from anywhere: python3 tests/fuzz/make_seeds.py. It replaces every seed but the reproducers
of findings (corpus/<target>/finding_*), which are added by hand.
"""

import hashlib
import re
import struct
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent.parent
CORPUS = FUZZ / "corpus"


def write(target: str, name: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def unhex(s: str) -> bytes:
    return bytes.fromhex(re.sub(r"\s+", "", s))


# --------------------------------------------------------------------------------------------
# BFD

def bfd_golden() -> dict:
    text = (ROOT / "tests/unit/bfd/golden_vectors.h").read_text()
    out = {}
    for m in re.finditer(r'\{"(\w+)",\s*((?:"[^"]*"\s*)+)\}', text):
        if m.group(1) != "name":  # the format in the header's comment
            out[m.group(1)] = unhex("".join(re.findall(r'"([^"]*)"', m.group(2))))
    return out


# bfd_fuzzer.cc: keys 1-5 are the five types with the golden vectors' key ids and secrets.
AUTH_INDEX = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5}


def op(kind: int, arg: int = 0) -> bytes:
    return bytes([kind | (arg << 3)])


def bfd_seeds() -> None:
    mult3 = 2 << 5  # Detect Mult - 1 in bits 5-7
    timers = 0x77  # 1 s / 1 s (kLocalUs[7])
    for name, packet in bfd_golden().items():
        auth = packet[24] if packet[1] & 0x04 else 0
        seq = bytes([AUTH_INDEX.get(auth, 0) | mult3, timers])
        seq += op(0, 1) + bytes([len(packet)]) + packet  # receive it
        seq += op(3)  # answer
        seq += op(1, 1) + bytes([len(packet)]) + packet  # again, signed by the harness
        seq += op(5, 20) + op(4)  # a second passes; detection
        write("bfd", f"golden_{name}", seq)

    # Built packets: 4 bytes (flags: state | P 0x04 | F 0x08 | D 0x10 | C 0x20, mult,
    # intervals (tx | rx << 4, kRemoteUs), sequence step).
    def rx(state: int, flags: int = 0, mult: int = 3, intervals: int = 0x66, step: int = 1):
        return op(2) + bytes([state | flags, mult, intervals, step & 0xFF])

    down, init, up, admin = 1, 2, 3, 0
    for key in range(6):
        setup = bytes([key | mult3, 0x77])
        bring_up = rx(down) + op(3) + rx(up) + op(3) + op(5, 18)
        write("bfd", f"handshake_key{key}", setup + bring_up + rx(up) + op(5, 21) + op(4))
        # Up, then a Poll from the peer, our timer change (a Poll of ours), its Final.
        poll = (bring_up + rx(up, 0x04) + op(3) + op(6) + bytes([0x21, 3]) + op(3) +
                rx(up, 0x08, intervals=0x55) + op(5, 16) + op(3))
        write("bfd", f"poll_key{key}", setup + poll)
        # Silence: the detection timer takes the session Down; the peer comes back via Init.
        write("bfd", f"detect_key{key}",
              setup + bring_up + op(5, 23) + op(4) + rx(down) + rx(init) + op(3))
        # AdminDown both ways, and a key change.
        write("bfd", f"admin_key{key}",
              setup + bring_up + op(7, 0) + op(3) + rx(up) + op(7, 1) + rx(admin) + rx(down) +
              op(7, 2 + 4 * ((key + 1) % 8)) + rx(down) + op(3))
    # Replays and sequence steps for the meticulous and plain keyed types.
    for key in (2, 3, 4, 5):
        setup = bytes([key | mult3, 0x77])
        write("bfd", f"sequence_key{key}",
              setup + rx(down) + rx(up) + rx(up, step=0) + rx(up, step=-1) + rx(up, step=9) +
              rx(up, step=40) + op(5, 22) + rx(up, step=1))
    # Demand mode, passive, starting AdminDown, fast timers, mult 1, absorbed packets.
    write("bfd", "demand", bytes([mult3, 0x11]) + rx(down) + rx(up, 0x10) + op(5, 12) +
          rx(up, 0x14) + op(3) + op(5, 15))
    write("bfd", "passive", bytes([0x08 | mult3, 0x22]) + op(5, 20) + op(3) + rx(down) + op(3))
    write("bfd", "start_admin_down", bytes([0x10 | mult3, 0x77]) + op(3) + rx(up, 0x04) +
          op(3) + op(7, 1) + rx(init))
    write("bfd", "fast_mult1", bytes([0, 0x00]) + rx(down, mult=1, intervals=0x22) +
          rx(up, mult=1, intervals=0x22) + op(5, 10) + op(7, 3) + op(5, 12) + op(4))
    write("bfd", "extreme_intervals", bytes([mult3, 0x99]) + rx(down, intervals=0xaa) +
          rx(up, intervals=0x1b) + rx(up, intervals=0x00) + op(5, 31) + op(4) + op(3))


# --------------------------------------------------------------------------------------------
# Frames

def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


SRC4, DST4 = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
SRC6 = bytes.fromhex("20010db8000000000000000000000001")
DST6 = bytes.fromhex("20010db8000000000000000000000002")


def frame(payload: bytes, *, v6=False, tags=(), ttl=255, dport=3784, sport=49152,
          udp_len=None, frag=0x4000, ihl=5, proto=17, trailer=b"", ip_len_delta=0) -> bytes:
    eth = bytes.fromhex("025354000002025354000001")
    for tpid in tags:
        eth += struct.pack("!HH", tpid, 100)
    udp = struct.pack("!HHHH", sport, dport, udp_len if udp_len is not None else 8 + len(payload),
                      0) + payload
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, len(udp) + ip_len_delta, proto, ttl) + SRC6 + DST6
        return eth + struct.pack("!H", 0x86DD) + ip + udp + trailer
    options = b"\x01" * (4 * (ihl - 5)) if ihl >= 5 else b""
    total = 4 * max(ihl, 5) + len(udp) + ip_len_delta
    hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, total, 1, frag, ttl, proto, 0, SRC4,
                      DST4) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return eth + struct.pack("!H", 0x0800) + hdr + udp + trailer


def frame_seeds() -> None:
    g = bfd_golden()
    up = g["up_poll"]
    write("xdp_frame", "v4_single_hop", frame(g["down_plain"]))
    write("xdp_frame", "v4_multihop_ttl64", frame(up, dport=4784, ttl=64))
    write("xdp_frame", "v6_single_hop", frame(g["init_cpi"], v6=True))
    write("xdp_frame", "v6_multihop", frame(g["up_final"], v6=True, dport=4784, ttl=10))
    write("xdp_frame", "v4_keyed_sha1", frame(g["keyed_sha1"]))
    write("xdp_frame", "v6_simple_password", frame(g["simple_password"], v6=True))
    write("xdp_frame", "dot1q", frame(up, tags=(0x8100,)))
    write("xdp_frame", "qinq", frame(up, tags=(0x88A8, 0x8100)))
    write("xdp_frame", "three_tags", frame(up, tags=(0x88A8, 0x8100, 0x8100)))
    write("xdp_frame", "v4_options", frame(up, ihl=7))
    write("xdp_frame", "v4_ihl_short", frame(up, ihl=4))
    write("xdp_frame", "v4_fragment", frame(up, frag=0x2000))
    write("xdp_frame", "v4_ttl254", frame(up, ttl=254))
    write("xdp_frame", "ethernet_padding", frame(g["down_plain"], trailer=b"\0" * 16))
    write("xdp_frame", "udp_len_short", frame(up, udp_len=20))
    write("xdp_frame", "udp_len_below_header", frame(up, udp_len=4))
    write("xdp_frame", "udp_len_long", frame(up, udp_len=200))
    write("xdp_frame", "ip_len_short", frame(up, ip_len_delta=-10))
    write("xdp_frame", "v6_payload_len_short", frame(up, v6=True, ip_len_delta=-12))
    write("xdp_frame", "truncated_payload", frame(up)[:-8])
    write("xdp_frame", "big_payload", frame(up + bytes(100)))
    write("xdp_frame", "v4_tcp_bgp", frame(b"\xff" * 19, proto=6, dport=179))
    write("xdp_frame", "v4_other_port", frame(up, dport=3785))
    write("xdp_frame", "v6_hop_by_hop", frame(up, v6=True, proto=0))
    arp = bytes.fromhex("ffffffffffff025354000001" "0806" "0001080006040001" "025354000001") + \
        SRC4 + bytes(6) + DST4
    write("xdp_frame", "arp", arp)
    write("xdp_frame", "short_ethernet", bytes.fromhex("0253540000020253540000010800"))
    # The first 8 bytes are also a gap in microseconds: a few around the bucket edges.
    for i, gap in enumerate((255, 256, 1 << 20, (1 << 32) - 1, 1 << 32)):
        write("xdp_frame", f"interval_{i}", struct.pack("!Q", gap) + frame(up)[8:])


# --------------------------------------------------------------------------------------------
# BGP

def bgp_golden() -> dict:
    text = (ROOT / "tests/unit/bgp/golden_vectors.h").read_text()
    out = {}
    for m in re.finditer(r"kGolden(\w+)Hex\[\]\s*=\s*((?:\s*\"[0-9a-fA-F]*\")+);", text):
        out[m.group(1)] = unhex("".join(re.findall(r'"([^"]*)"', m.group(2))))
    return out


def bgp_message(kind: int, body: bytes) -> bytes:
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), kind) + body


def cap(code: int, value: bytes = b"") -> bytes:
    return bytes([code, len(value)]) + value


def open_body(asn=65001, hold=90, ident=0x0A000001, caps=b"", extended=False,
              version=4) -> bytes:
    head = struct.pack("!BHHI", version, asn if asn <= 0xFFFF else 23456, hold, ident)
    if not caps:
        return head + b"\0"
    if extended:  # RFC 9072
        params = bytes([2]) + struct.pack("!H", len(caps)) + caps
        return head + bytes([255, 255]) + struct.pack("!H", len(params)) + params
    params = bytes([2, len(caps)]) + caps
    return head + bytes([len(params)]) + params


def attr(flags: int, kind: int, value: bytes) -> bytes:
    if len(value) > 255 or flags & 0x10:
        return struct.pack("!BBH", flags | 0x10, kind, len(value)) + value
    return struct.pack("!BBB", flags, kind, len(value)) + value


def update_body(withdrawn: bytes = b"", attrs: bytes = b"", nlri: bytes = b"") -> bytes:
    return struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs)) + \
        attrs + nlri


def as_path(asns, size=4, kind=2) -> bytes:
    fmt = "!I" if size == 4 else "!H"
    return bytes([kind, len(asns)]) + b"".join(struct.pack(fmt, a) for a in asns)


ORIGIN = attr(0x40, 1, b"\0")
NEXT_HOP = attr(0x40, 3, bytes([198, 18, 0, 1]))


def mp_reach(afi: int, nh: bytes, nlri: bytes, safi: int = 1) -> bytes:
    return attr(0x80, 14, struct.pack("!HBB", afi, safi, len(nh)) + nh + b"\0" + nlri)


def mp_unreach(afi: int, withdrawn: bytes, safi: int = 1) -> bytes:
    return attr(0x80, 15, struct.pack("!HB", afi, safi) + withdrawn)


V6_NH = bytes.fromhex("20010db8000000000000000000000001")
LL_NH = bytes.fromhex("fe800000000000000000000000000001")


def update_cases() -> dict:
    """name -> (option byte, UPDATE body)."""
    as4 = attr(0x40, 2, as_path([65001, 4200000000]))
    as2 = attr(0x40, 2, as_path([65001, 23456], size=2))
    v4_nlri = bytes([24, 198, 18, 10, 32, 198, 18, 11, 1, 0])
    cases = {
        "ipv4_as4": (0x01, update_body(attrs=ORIGIN + as4 + NEXT_HOP, nlri=v4_nlri)),
        "ipv4_as2_with_as4_path": (0x00, update_body(
            attrs=ORIGIN + as2 + NEXT_HOP + attr(0xC0, 17, as_path([4200000000])),
            nlri=v4_nlri)),
        "as4_path_longer_than_as_path": (0x00, update_body(
            attrs=ORIGIN + attr(0x40, 2, as_path([23456], size=2)) + NEXT_HOP +
            attr(0xC0, 17, as_path([1, 2, 3])), nlri=v4_nlri)),
        "as_set_and_confed": (0x01, update_body(
            attrs=ORIGIN + attr(0x40, 2, as_path([65003], kind=3) + as_path([1, 2], kind=1) +
                                as_path([7, 8])) + NEXT_HOP, nlri=v4_nlri)),
        "aggregator_as2_and_as4": (0x00, update_body(
            attrs=ORIGIN + as2 + NEXT_HOP + attr(0x40, 6, b"") +
            attr(0xC0, 7, struct.pack("!H", 23456) + bytes([198, 18, 0, 9])) +
            attr(0xC0, 18, struct.pack("!I", 4200000000) + bytes([198, 18, 0, 9])),
            nlri=v4_nlri)),
        "med_local_pref_communities": (0x41, update_body(
            attrs=ORIGIN + as4 + NEXT_HOP + attr(0x80, 4, struct.pack("!I", 5)) +
            attr(0x40, 5, struct.pack("!I", 200)) +
            attr(0xC0, 8, struct.pack("!II", 0xFDE90064, 0xFFFFFF01)) +
            attr(0xC0, 32, struct.pack("!III", 65001, 1, 2)), nlri=v4_nlri)),
        "withdraw_only": (0x01, update_body(withdrawn=bytes([24, 198, 18, 10, 0]))),
        "end_of_rib_ipv4": (0x01, update_body()),
        "end_of_rib_ipv6": (0x01, update_body(attrs=mp_unreach(2, b""))),
        "mp_ipv6": (0x01, update_body(attrs=ORIGIN + as4 + mp_reach(
            2, V6_NH + LL_NH, bytes([48, 0x20, 0x01, 0x0D, 0xB8, 0, 1, 64]) + V6_NH[:8]))),
        "mp_unreach_ipv6": (0x01, update_body(attrs=mp_unreach(
            2, bytes([48, 0x20, 0x01, 0x0D, 0xB8, 0, 1])))),
        "ipv4_over_ipv6": (0x03, update_body(attrs=ORIGIN + as4 + mp_reach(
            1, V6_NH + LL_NH, bytes([24, 198, 51, 100])))),
        "ipv4_over_ipv6_not_negotiated": (0x01, update_body(attrs=ORIGIN + as4 + mp_reach(
            1, V6_NH, bytes([24, 198, 51, 100])))),
        "add_path_ipv4": (0x09, update_body(
            withdrawn=struct.pack("!I", 7) + bytes([24, 198, 18, 12]),
            attrs=ORIGIN + as4 + NEXT_HOP,
            nlri=struct.pack("!I", 1) + bytes([24, 198, 18, 10]) + struct.pack("!I", 2) +
            bytes([24, 198, 18, 10]))),
        "add_path_ipv6": (0x11, update_body(attrs=ORIGIN + as4 + mp_reach(
            2, V6_NH, struct.pack("!I", 3) + bytes([32, 0x20, 0x01, 0x0D, 0xB8])))),
        "multicast_add_path": (0x21, update_body(attrs=ORIGIN + as4 + mp_reach(
            1, bytes([198, 18, 0, 1]), struct.pack("!I", 3) + bytes([8, 10]), safi=2))),
        "bad_origin": (0x01, update_body(attrs=attr(0x40, 1, b"\x07") + as4 + NEXT_HOP,
                                          nlri=v4_nlri)),
        "origin_wrong_flags": (0x01, update_body(attrs=attr(0xC0, 1, b"\0") + as4 + NEXT_HOP,
                                                  nlri=v4_nlri)),
        "repeated_med": (0x01, update_body(
            attrs=ORIGIN + as4 + NEXT_HOP + attr(0x80, 4, b"\0\0\0\1") +
            attr(0x80, 4, b"\0\0\0\2"), nlri=v4_nlri)),
        "two_mp_reach": (0x01, update_body(attrs=ORIGIN + as4 + mp_reach(2, V6_NH, b"") +
                                            mp_reach(2, V6_NH, b""))),
        "missing_next_hop": (0x01, update_body(attrs=ORIGIN + as4, nlri=v4_nlri)),
        "next_hop_multicast": (0x01, update_body(
            attrs=ORIGIN + as4 + attr(0x40, 3, bytes([224, 0, 0, 1])), nlri=v4_nlri)),
        "attribute_overruns": (0x01, update_body(attrs=ORIGIN + b"\x40\x02\x30\x02\x01",
                                                  nlri=v4_nlri)),
        "attribute_list_short": (0x01, update_body(attrs=ORIGIN + b"\x40\x02",
                                                    nlri=v4_nlri)),
        "unknown_attributes": (0x01, update_body(
            attrs=ORIGIN + as4 + NEXT_HOP + attr(0xC0, 99, b"transitive") +
            attr(0x80, 98, b"dropped") + attr(0xE0, 40, b"partial"), nlri=v4_nlri)),
        "unknown_well_known": (0x01, update_body(attrs=ORIGIN + attr(0x40, 97, b"x"),
                                                  nlri=v4_nlri)),
        "extended_length_small": (0x01, update_body(
            attrs=attr(0x50, 1, b"\0") + attr(0x50, 2, as_path([65001])) + NEXT_HOP,
            nlri=v4_nlri)),
        "bad_nlri": (0x01, update_body(attrs=ORIGIN + as4 + NEXT_HOP, nlri=bytes([33, 1, 2]))),
        "bad_withdrawn_length": (0x01, b"\x00\x09\x18\xc6\x12"),
        "mp_reach_truncated": (0x01, update_body(attrs=attr(0x80, 14, b"\x00\x02\x01\x20"))),
        "mp_reach_unknown_family": (0x01, update_body(attrs=ORIGIN + as4 +
                                                       mp_reach(25, b"\1\2\3\4", b""))),
        "as_path_zero_count": (0x01, update_body(attrs=ORIGIN + attr(0x40, 2, b"\x02\x00") +
                                                  NEXT_HOP, nlri=v4_nlri)),
        "communities_bad_length": (0x01, update_body(
            attrs=ORIGIN + as4 + NEXT_HOP + attr(0xC0, 8, b"\1\2\3"), nlri=v4_nlri)),
        "atomic_aggregate_with_value": (0x01, update_body(
            attrs=ORIGIN + as4 + NEXT_HOP + attr(0x40, 6, b"\1"), nlri=v4_nlri)),
        "long_as_path": (0x05, update_body(
            attrs=ORIGIN + attr(0x40, 2, as_path(list(range(1, 256))) +
                                as_path(list(range(300, 400)))) + NEXT_HOP, nlri=v4_nlri)),
    }
    golden = bgp_golden()
    for name, msg in golden.items():
        if name.startswith("Update"):
            cases[f"golden_{name}"] = (0x03, msg[19:])
            cases[f"golden_{name}_as2"] = (0x00, msg[19:])
    return cases


def bgp_seeds() -> None:
    for name, (option, body) in update_cases().items():
        write("bgp_update", name, bytes([option]) + body)

    g = bgp_golden()
    keepalive = g["Keepalive"]
    session = g["Open"] + keepalive + g["UpdateIpv4"] + g["UpdateMpIpv6"] + \
        g["UpdateIpv4OverIpv6"] + g["RouteRefresh"] + keepalive + g["NotificationCeaseBfdDown"]
    write("bgp_message", "golden_session", b"\x00" + session)
    write("bgp_message", "golden_session_offer_enh_add_path", b"\x0a" + session)
    for name, msg in g.items():
        write("bgp_message", f"golden_{name}", b"\x01" + msg)

    full_caps = (cap(1, b"\0\1\0\1") + cap(1, b"\0\2\0\1") + cap(2) + cap(70) + cap(6) +
                 cap(65, struct.pack("!I", 4200000000)) +
                 cap(64, b"\x80\x78\0\1\1\x80\0\2\1\0") + cap(5, b"\0\1\0\1\0\2") +
                 cap(69, b"\0\1\1\3\0\2\1\2"))
    open_add_path = bgp_message(1, open_body(asn=4200000000, caps=full_caps))
    add_path_update = bgp_message(2, update_cases()["add_path_ipv4"][1])
    write("bgp_message", "add_path_negotiated",
          b"\x08" + open_add_path + keepalive + add_path_update)
    write("bgp_message", "open_rfc9072_extended",
          b"\x00" + bgp_message(1, open_body(caps=full_caps + cap(200, bytes(250)),
                                             extended=True)))
    write("bgp_message", "open_unknown_caps_and_gr",
          b"\x00" + bgp_message(1, open_body(caps=cap(71, b"abc") + cap(64, b"\x40\x10") +
                                             cap(128))))
    write("bgp_message", "open_no_caps", b"\x00" + bgp_message(1, open_body()))
    write("bgp_message", "open_bad_version", b"\x00" + bgp_message(1, open_body(version=3)))
    write("bgp_message", "open_hold_time_1", b"\x00" + bgp_message(1, open_body(hold=1)))
    write("bgp_message", "open_other_parameter",
          b"\x00" + bgp_message(1, open_body()[:-1] + b"\x04\x01\x02\x00\x00"))
    write("bgp_message", "route_refresh_borr_eorr",
          b"\x00" + bgp_message(5, b"\0\1\1\1") + bgp_message(5, b"\0\2\2\1") +
          bgp_message(5, b"\0\1\7\1"))
    write("bgp_message", "route_refresh_bad_length",
          b"\x00" + bgp_message(5, b"\0\1\1\1\0"))
    shutdown = b"maintenance window"
    write("bgp_message", "notification_shutdown",
          b"\x00" + bgp_message(3, bytes([6, 2, len(shutdown)]) + shutdown))
    write("bgp_message", "notification_bad_shutdown_length",
          b"\x00" + bgp_message(3, bytes([6, 4, 40]) + b"short"))
    write("bgp_message", "bad_marker", b"\x00" + b"\xfe" + keepalive[1:])
    write("bgp_message", "bad_type", b"\x00" + bgp_message(9, b""))
    write("bgp_message", "keepalive_too_long", b"\x00" + bgp_message(4, b"\0"))
    write("bgp_message", "length_below_header", b"\x00" + b"\xff" * 16 + b"\x00\x10\x04")
    write("bgp_message", "partial_message", b"\x00" + keepalive + g["UpdateIpv4"][:30])
    big = update_body(attrs=ORIGIN + attr(0x40, 2, as_path([65001])) + NEXT_HOP,
                      nlri=bytes([32, 198, 18, 0, 0]) * 1000)
    write("bgp_message", "extended_message_update",
          b"\x05" + bgp_message(1, open_body(caps=cap(6) + cap(65, b"\0\0\xfd\xe9"))) +
          bgp_message(2, big))


# --------------------------------------------------------------------------------------------
# Configuration

def config_seeds() -> None:
    texts = []
    doc = (ROOT / "docs/config.md").read_text()
    texts += re.findall(r"```toml\n(.*?)```", doc, re.S)
    cm = (ROOT / "deploy/kubernetes/configmap.yaml").read_text()
    for block in re.findall(r"\.toml: \|\n((?:    .*\n|\s*\n)+)", cm):
        texts.append("\n".join(line[4:] for line in block.splitlines()))
    tests = []
    for test in sorted((ROOT / "tests/unit/config").glob("*_test.cc")):
        for raw in re.findall(r'R"\((.*?)\)"', test.read_text(), re.S):
            tests.append(raw.lstrip("\n"))
    # A few dozen of the unit tests' files, from the smallest (one error each) to the largest.
    tests = sorted(set(tests), key=lambda t: (len(t), t))
    step = max(1, len(tests) // 40)
    texts += tests[::step]
    seen = set()
    for text in texts:
        data = text.encode()
        digest = hashlib.sha1(data).hexdigest()[:12]
        if digest in seen or not data.strip():
            continue
        seen.add(digest)
        write("config", f"config_{digest}", data)

    # The dictionary: every key the loader knows and the words of its values.
    words = set()
    for src in ("src/config/config.cc", "src/config/bgp_reader.cc"):
        for s in re.findall(r'"([a-z_][a-z0-9_.-]*)"', (ROOT / src).read_text()):
            if len(s) > 1:
                words.add(s)
    extra = ["[[", "]]", "[", "]", "=", "\"", "true", "false", "{", "}", ",", "#", "'''",
             "\"\"\"", "198.18.0.1", "2001:db8::1", "/24", "/128", " ge ", " le ",
             "65001:100", "65001:1:2", "0x", "1e3", "inf", "nan", "1979-05-27T07:32:00Z"]
    lines = [f'"{w}"' for w in sorted(words)]
    for e in extra:
        lines.append('"' + e.replace("\\", "\\\\").replace('"', '\\"') + '"')
    (FUZZ / "config.dict").write_text(
        "# libFuzzer dictionary of fuzz_config (written by make_seeds.py): the keys and words of\n"
        "# src/config/config.cc and bgp_reader.cc, and TOML punctuation.\n" +
        "\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------
# Netlink (linux/netlink.h, rtnetlink.h, nexthop.h)

NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_NEWROUTE, RTM_DELROUTE = 16, 17, 24, 25
RTM_NEWNEXTHOP, RTM_DELNEXTHOP = 104, 105
NLM_F_MULTI, NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x2, 0x100, 0x200
NHA_ID, NHA_GROUP, NHA_GROUP_TYPE, NHA_BLACKHOLE, NHA_OIF, NHA_GATEWAY = 1, 2, 3, 4, 5, 6
NHA_RES_GROUP, NHA_RES_GROUP_BUCKETS = 12, 1
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 6, 9, 15
RTA_VIA, RTA_NH_ID = 18, 30
AF_INET, AF_INET6 = 2, 10


def nla(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def nlmsg(kind: int, payload: bytes, flags: int = 0, seq: int = 1, pid: int = 0) -> bytes:
    raw = struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, pid) + payload
    return raw + b"\0" * (-len(raw) % 4)


def nhmsg(family: int, protocol: int = 200, flags: int = 0) -> bytes:
    return struct.pack("=BBBBI", family, 0, protocol, 0, flags)


def rtmsg(family: int, dst_len: int, table: int = 254, protocol: int = 200,
          kind: int = 1) -> bytes:
    return struct.pack("=BBBBBBBBI", family, dst_len, 0, 0, table, protocol, 0, kind, 0)


def u32(v: int) -> bytes:
    return struct.pack("=I", v)


def nexthop(nid: int, gw: bytes, oif: int = 2, kind: int = RTM_NEWNEXTHOP, **kw) -> bytes:
    family = AF_INET if len(gw) == 4 else AF_INET6
    return nlmsg(kind, nhmsg(family, **kw) + nla(NHA_ID, u32(nid)) + nla(NHA_OIF, u32(oif)) +
                 nla(NHA_GATEWAY, gw), **({"flags": NLM_F_MULTI} if kind == RTM_NEWNEXTHOP else {}))


def group(nid: int, members, resilient: bool = False, buckets: int = 64) -> bytes:
    body = nhmsg(0) + nla(NHA_ID, u32(nid)) + \
        nla(NHA_GROUP, b"".join(struct.pack("=IBBH", m, 0, 0, 0) for m in members)) + \
        nla(NHA_GROUP_TYPE, struct.pack("=H", 1 if resilient else 0))
    if resilient:
        body += nla(NHA_RES_GROUP, nla(NHA_RES_GROUP_BUCKETS, struct.pack("=H", buckets)))
    return nlmsg(RTM_NEWNEXTHOP, body, flags=NLM_F_MULTI)


def route(dst: bytes, length: int, attrs: bytes, kind: int = RTM_NEWROUTE, **kw) -> bytes:
    family = AF_INET if len(dst) == 4 else AF_INET6
    return nlmsg(kind, rtmsg(family, length, **kw) + nla(RTA_DST, dst) + nla(RTA_TABLE, u32(254)) +
                 nla(RTA_PRIORITY, u32(20)) + attrs, flags=NLM_F_MULTI)


def hop(ifindex: int, attrs: bytes) -> bytes:
    return struct.pack("=HBBi", 8 + len(attrs), 0, 0, ifindex) + attrs


def ack(seq: int, error: int, text: bytes = b"", capped: bool = True) -> bytes:
    echoed = struct.pack("=IHHII", 16, RTM_NEWNEXTHOP, 5, seq, 0)
    body = struct.pack("=i", -error) + echoed
    flags = NLM_F_CAPPED if capped else 0
    if not capped:
        body = struct.pack("=i", -error) + struct.pack("=IHHII", 40, RTM_NEWNEXTHOP, 5, seq, 0) + \
            bytes(24)
    if text:
        flags |= NLM_F_ACK_TLVS
        body += nla(1, text + b"\0") + nla(2, u32(20))
    return nlmsg(NLMSG_ERROR, body, flags=flags, seq=seq)


def rtnl_seeds() -> None:
    gw1, gw2 = bytes([198, 18, 1, 1]), bytes([198, 18, 1, 2])
    v6gw = bytes.fromhex("20010db8000000000000000000000009")
    dump = (nexthop(200 << 24 | 1, gw1) + nexthop(200 << 24 | 2, gw2) +
            nexthop(200 << 24 | 3, v6gw, oif=3) + group(200 << 24 | 4, [200 << 24 | 1,
                                                                         200 << 24 | 2]) +
            nlmsg(NLMSG_DONE, u32(0), flags=NLM_F_MULTI))
    routes = (route(bytes([198, 18, 100, 0]), 24, nla(RTA_NH_ID, u32(200 << 24 | 4))) +
              route(bytes([198, 18, 200, 0]), 24, nla(RTA_NH_ID, u32(200 << 24 | 4))) +
              route(bytes.fromhex("20010db8010000000000000000000000"), 48,
                    nla(RTA_NH_ID, u32(200 << 24 | 3))))
    for setup, name in ((0x01, "objects"), (0x03, "resilient"), (0x05, "refusing")):
        write("rtnl", f"dump_{name}", bytes([setup]) + dump + routes)
    write("rtnl", "resilient_group", b"\x03" + group(200 << 24 | 9, [200 << 24 | 1], True, 128))
    multipath = route(bytes([198, 18, 101, 0]), 24, nla(RTA_MULTIPATH,
                      hop(2, nla(RTA_GATEWAY, gw1)) + hop(3, nla(RTA_GATEWAY, gw2)) +
                      hop(4, nla(RTA_VIA, struct.pack("=H", AF_INET6) + v6gw))))
    single = route(bytes([198, 18, 102, 0]), 24, nla(RTA_GATEWAY, gw1) + nla(RTA_OIF, u32(2)))
    via = route(bytes([198, 18, 103, 0]), 24,
                nla(RTA_VIA, struct.pack("=H", AF_INET6) + v6gw) + nla(RTA_OIF, u32(3)))
    default = nlmsg(RTM_NEWROUTE, rtmsg(AF_INET, 0) + nla(RTA_TABLE, u32(254)) +
                    nla(RTA_GATEWAY, gw2) + nla(RTA_OIF, u32(2)), flags=NLM_F_MULTI)
    write("rtnl", "routes_multipath_mode", b"\x00" + multipath + single + via + default)
    write("rtnl", "route_table_1000", b"\x01" + nlmsg(
        RTM_NEWROUTE, rtmsg(AF_INET6, 64, table=0) + nla(RTA_DST, v6gw) +
        nla(RTA_TABLE, u32(1000)) + nla(RTA_NH_ID, u32(5))))
    write("rtnl", "delete_notifications", b"\x01" + dump + routes +
          nexthop(200 << 24 | 1, gw1, kind=RTM_DELNEXTHOP) +
          nlmsg(RTM_DELNEXTHOP, nhmsg(0) + nla(NHA_ID, u32(200 << 24 | 4))) +
          route(bytes([198, 18, 100, 0]), 24, b"", kind=RTM_DELROUTE))
    write("rtnl", "changed_group", b"\x01" + dump + group(200 << 24 | 4, [200 << 24 | 1]))
    write("rtnl", "blackhole_and_other_protocol", b"\x01" + nlmsg(
        RTM_NEWNEXTHOP, nhmsg(AF_INET) + nla(NHA_ID, u32(7)) + nla(NHA_BLACKHOLE, b"")) +
        nexthop(8, gw1, protocol=4))
    write("rtnl", "acks", b"\x01" + ack(1, 0) + ack(2, 17) + ack(3, 22, b"Nexthop device is not up")
          + ack(4, 19, b"Invalid gateway", capped=False))
    link = struct.pack("=BBHiII", 0, 0, 1, 2, 0x41, 0xFFFFFFFF)
    write("rtnl", "links", b"\x01" + nlmsg(RTM_NEWLINK, link + nla(3, b"eth0\0")) +
          nlmsg(RTM_DELLINK, link))
    write("rtnl", "route_lookup", b"\x01" + nlmsg(
        RTM_NEWROUTE, rtmsg(AF_INET, 32, kind=1) + nla(RTA_DST, gw1) + nla(RTA_OIF, u32(2)) +
        nla(RTA_GATEWAY, gw2)))
    write("rtnl", "local_route", b"\x01" + nlmsg(
        RTM_NEWROUTE, rtmsg(AF_INET, 32, table=255, protocol=2, kind=2) + nla(RTA_DST, gw1)))
    write("rtnl", "id_max", b"\x01" + nexthop(0xFFFFFFFF, gw1) + group(0xFFFFFFFE, [0xFFFFFFFF]))


def main() -> None:
    # Reproducers of findings (finding_*, docs/testing.md) are kept; the rest is written again.
    for f in CORPUS.glob("*/*"):
        if not f.name.startswith("finding_"):
            f.unlink()
    bfd_seeds()
    frame_seeds()
    bgp_seeds()
    config_seeds()
    rtnl_seeds()
    for d in sorted(CORPUS.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
