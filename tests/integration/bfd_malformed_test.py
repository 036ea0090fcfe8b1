#!/usr/bin/env python3
"""Malformed and unwelcome BFD packets, one class per RFC 5880 section 6.8.6 rejection (plus the
RFC 5881 TTL check and the source check), sent with scapy from the peer's namespace onto a link
that carries two valid 50 ms sessions with FRR: each class is dropped and counted under its own
reason, exactly as many as were sent, and the valid sessions never flap on either side.
"""

import json
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import BACKEND, Strobe, check, frr_counters  # noqa: E402

COUNT = 25
SENDER = r"""
import json, sys
from scapy.all import IP, UDP, Raw, send, conf
conf.verb = 0
for p in json.loads(sys.stdin.read()):
    pkt = IP(src=p["src"], dst=p["dst"], ttl=p["ttl"]) / UDP(sport=p["sport"], dport=3784) / Raw(bytes.fromhex(p["hex"]))
    send(pkt, count=p["count"], inter=0.002)
"""


def bfd(*, version=1, diag=0, state=3, flags=0, mult=3, length=None, my=0x1234, your=0,
        tx=50000, rx=50000, auth=b"") -> bytes:
    body = struct.pack("!BBBBIIIII", version << 5 | diag, state << 6 | flags, mult, 0, my, your,
                       tx, rx, 0) + auth
    length = len(body) if length is None else length
    return body[:3] + bytes([length]) + body[4:]


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr, v6=False)
        second = link.v4_b[:-1] + "3"  # a second address of the peer's, with no session
        L.addr_add(frr, link.if_b, f"{second}/24")
        local2 = link.v4_a[:-1] + "4"  # our second address: a second session on the link
        L.addr_add(edge, link.if_a, f"{local2}/24")
        L.start_frr(frr, "\n".join([
            "bfd",
            f" peer {link.v4_a} local-address {link.v4_b} interface {link.if_b}",
            "  transmit-interval 50", "  receive-interval 50", " !",
            f" peer {local2} local-address {link.v4_b} interface {link.if_b}",
            "  transmit-interval 50", "  receive-interval 50", " !",
        ]) + "\n")
        profiles = [{"name": "fast", "desired_min_tx_us": 50000, "required_min_rx_us": 50000,
                     "detect_mult": 3}]
        strobe = Strobe(L, edge, profiles, [
            {"peer": link.v4_b, "local": link.v4_a, "interface": link.if_a, "profile": "fast"},
            {"peer": link.v4_b, "local": local2, "interface": link.if_a, "profile": "fast"},
        ])
        strobe.wait_all("up", 20, count=2)
        lab.wait_until(lambda: all(not s["poll_in_progress"] for s in strobe.sessions()), 10,
                       what="timers negotiated")
        a = next(s for s in strobe.sessions() if s["local"] == link.v4_a)
        disc = a["local_discriminator"]
        peer_disc = a["remote_discriminator"]

        md5_section = bytes([2, 24, 1, 0]) + struct.pack("!I", 1) + bytes(16)
        cases = {
            # reason: (source, ttl, payload)
            "bad_ttl": (link.v4_b, 64, bfd(my=peer_disc, your=disc)),
            "short_packet": (link.v4_b, 255, bfd(my=peer_disc, your=disc)[:20]),
            "bad_version": (link.v4_b, 255, bfd(version=2, my=peer_disc, your=disc)),
            "bad_length": (link.v4_b, 255, bfd(length=40, my=peer_disc, your=disc)),
            "zero_detect_mult": (link.v4_b, 255, bfd(mult=0, my=peer_disc, your=disc)),
            "multipoint": (link.v4_b, 255, bfd(flags=0x01, my=peer_disc, your=disc)),
            "zero_my_discriminator": (link.v4_b, 255, bfd(my=0, your=disc)),
            "zero_your_discriminator": (link.v4_b, 255, bfd(state=3, my=peer_disc, your=0)),
            "no_session": (link.v4_b, 255, bfd(my=peer_disc, your=disc ^ 0x0055AA00)),
            "wrong_source": (second, 255, bfd(my=peer_disc, your=disc)),
            "auth_mismatch": (link.v4_b, 255, bfd(flags=0x04, my=peer_disc, your=disc, auth=md5_section)),
            "auth_malformed": (link.v4_b, 255, bfd(flags=0x04, my=peer_disc, your=disc,
                                                   auth=bytes([2, 10, 1, 0]) + bytes(6))),
        }
        before = strobe.counters()["rx_dropped"]
        check(not any(before.values()), f"drops before the test: {before}")
        frr_before = frr_counters(L, frr)
        batch = [{"src": src, "dst": link.v4_a, "ttl": ttl, "sport": 50000 + i, "hex": payload.hex(),
                  "count": COUNT} for i, (src, ttl, payload) in enumerate(cases.values())]
        L.exec(frr, ["/usr/bin/python3", "-c", SENDER], input=json.dumps(batch), timeout=120)

        want = {reason: COUNT for reason in cases}
        lab.wait_until(lambda: {k: v for k, v in strobe.counters()["rx_dropped"].items() if v} == want,
                       10, what=f"drop counters to equal {want}")
        # The session the packets claimed (by Your Discriminator) carries them too. With the xdp
        # backend the program drops most of them in the kernel, where a session keeps one total
        # (the reasons are counted program-wide, above); the rest reach the FSM as usual.
        claimed = [r for r in cases
                   if r not in ("no_session", "zero_your_discriminator")]
        session = next(s for s in strobe.sessions() if s["local"] == link.v4_a)
        charged = session["rx_dropped"]
        in_kernel = session.get("rx_dropped_in_kernel", 0)
        if BACKEND == "xdp":
            in_user = sum(charged[r] for r in claimed)
            check(in_user + in_kernel == COUNT * len(claimed),
                  f"session charged {in_user} in user space + {in_kernel} in the kernel, want "
                  f"{COUNT * len(claimed)}: {charged}")
            check(in_kernel > 0, "the xdp backend dropped nothing in the kernel")
        else:
            for reason in claimed:
                check(charged[reason] == COUNT, f"session not charged for {reason}: {charged}")

        time.sleep(1)  # let a flap, if any, show
        for s in strobe.sessions():
            check(s["state"] == "up" and s["down_transitions"] == 0 and s["up_transitions"] == 1,
                  f"valid session flapped: {s}")
        frr_after = frr_counters(L, frr)
        for peer, c in frr_after.items():
            check(c["session-down"] == frr_before[peer]["session-down"] == 0,
                  f"FRR saw a flap: {c}")
        for reason in cases:
            print(f"PASS: {reason}: {COUNT} sent, {COUNT} dropped and counted")
        print("PASS: valid sessions on the same link never flapped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
