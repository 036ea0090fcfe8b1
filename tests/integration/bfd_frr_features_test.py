#!/usr/bin/env python3
"""Strobe against FRR bfdd: an IPv6 single-hop session, a multihop (RFC 5883) session, a
Poll/Final sequence started by the peer changing its interval at run time, and detection of a
peer gone silent (its packets dropped, the link left up): Down with diag 1 within the detection
time + 10 %, the measured latency in the session's JSON.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Strobe, check, frr_peers  # noqa: E402

FRR_LOOPBACK = "198.19.255.2"
EDGE_LOOPBACK = "198.19.255.1"


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        silent = L.link(edge, frr, v6=False)  # the link we silence
        dual = L.link(edge, frr)              # IPv6, multihop and Poll/Final
        L.addr_add(edge, "lo", f"{EDGE_LOOPBACK}/32")
        L.addr_add(frr, "lo", f"{FRR_LOOPBACK}/32")
        L.exec(edge, ["ip", "route", "add", f"{FRR_LOOPBACK}/32", "via", dual.v4_b])
        L.exec(frr, ["ip", "route", "add", f"{EDGE_LOOPBACK}/32", "via", dual.v4_a])

        L.start_frr(frr, "\n".join([
            "bfd",
            f" peer {silent.v4_a} local-address {silent.v4_b} interface {silent.if_b}",
            "  transmit-interval 50", "  receive-interval 50", "  detect-multiplier 3", " !",
            f" peer {dual.v6_a} local-address {dual.v6_b} interface {dual.if_b}",
            "  transmit-interval 100", "  receive-interval 100", " !",
            f" peer {EDGE_LOOPBACK} multihop local-address {FRR_LOOPBACK}",
            "  transmit-interval 100", "  receive-interval 100", " !",
            f" peer {dual.v4_a} local-address {dual.v4_b} interface {dual.if_b}",
            "  transmit-interval 300", "  receive-interval 300", " !",
        ]) + "\n")
        profiles = [{"name": "fast", "desired_min_tx_us": 50000, "required_min_rx_us": 50000,
                     "detect_mult": 3}]
        strobe = Strobe(L, edge, profiles, [
            {"peer": silent.v4_b, "local": silent.v4_a, "interface": silent.if_a, "profile": "fast"},
            {"peer": dual.v6_b, "local": dual.v6_a, "interface": dual.if_a, "profile": "fast"},
            {"peer": FRR_LOOPBACK, "local": EDGE_LOOPBACK, "multihop": True, "profile": "fast"},
            {"peer": dual.v4_b, "local": dual.v4_a, "interface": dual.if_a, "profile": "fast"},
        ])

        strobe.wait_all("up", 20, count=4)
        lab.wait_until(lambda: all(p["status"] == "up" for p in frr_peers(L, frr).values()),
                       20, what="FRR peers up")

        # IPv6 single-hop and IPv4 multihop are Up on both sides, with our own Poll Sequence
        # (1 s before Up -> 50 ms after) answered by FRR.
        six = strobe.session(dual.v6_b)
        check(six["state"] == "up" and not six["multihop"], f"IPv6 session: {six}")
        mh = strobe.session(FRR_LOOPBACK)
        check(mh["state"] == "up" and mh["multihop"], f"multihop session: {mh}")
        fp = frr_peers(L, frr)[EDGE_LOOPBACK]
        check(fp["status"] == "up" and fp.get("multihop") is True, f"FRR multihop peer: {fp}")
        lab.wait_until(lambda: all(s["poll_sequences"] >= 1 and not s["poll_in_progress"]
                                   for s in strobe.sessions()), 10,
                       what="our Poll Sequences answered by FRR's Final")
        print("PASS: IPv6 single-hop and IPv4 multihop sessions up; our polls got FRR's Final")

        # Poll/Final started by the peer: FRR changes transmit-interval 300 -> 100 ms.
        s = strobe.session(dual.v4_b)
        check(s["rx_interval_us"] == 300000 and s["detect_time_us"] == 900000, f"before: {s}")
        L.frr_configure(frr, ["bfd", f"peer {dual.v4_a} local-address {dual.v4_b} "
                                     f"interface {dual.if_b}", "transmit-interval 100"])
        s = lab.wait_until(lambda: (x := strobe.session(dual.v4_b))["detect_time_us"] == 300000 and x,
                           10, what="the new detection time after FRR's poll")
        check(s["remote_desired_min_tx_us"] == 100000 and s["rx_interval_us"] == 100000, f"after: {s}")
        check(s["state"] == "up" and s["down_transitions"] == 0, f"flapped during the poll: {s}")
        # FRR only switches after our Final: its packets now arrive about every 100 ms.
        r0, t0 = s["rx_packets"], time.monotonic()
        lab.wait_until(lambda: strobe.session(dual.v4_b)["rx_packets"] - r0 >= 20, 5,
                       what="FRR sending at the new interval")
        rate = 20 / (time.monotonic() - t0)
        check(rate > 6, f"FRR sends {rate:.1f}/s after the poll, want about 10/s")
        print(f"PASS: FRR's Poll Sequence completed; detection time 900 -> 300 ms ({rate:.1f} pkt/s)")

        # The peer goes silent: its egress dropped, carrier kept.
        s = strobe.session(silent.v4_b)
        check(s["state"] == "up" and s["detect_time_us"] == 150000, f"before silence: {s}")
        t0 = time.monotonic()
        L.silence(frr, silent.if_b, ingress=False)
        s = lab.wait_until(lambda: (x := strobe.session(silent.v4_b))["state"] == "down" and x,
                           5, interval_s=0.005, what="Strobe to declare the silent peer down")
        observed_ms = (time.monotonic() - t0) * 1000
        latency_ms = s["last_detection_latency_us"] / 1000
        detect_ms = 150
        print(f"detection: {latency_ms:.2f} ms after the last packet (detection time "
              f"{detect_ms} ms); Down seen by strobectl {observed_ms:.1f} ms after the silence")
        check(s["local_diag"] == 1, f"diag {s['local_diag']}, want 1: {s}")
        check(detect_ms <= latency_ms <= detect_ms * 1.10,
              f"latency {latency_ms} ms outside [{detect_ms}, {detect_ms * 1.1}] ms")
        check(observed_ms <= detect_ms * 1.10 + 50,  # + strobectl's own polling period
              f"Down seen {observed_ms:.1f} ms after the silence")
        others = [x for x in strobe.sessions() if x["peer"] != silent.v4_b]
        check(all(x["state"] == "up" and x["down_transitions"] == 0 for x in others),
              f"other sessions flapped: {others}")
        L.unsilence(frr, silent.if_b)
        strobe.wait_all("up", 10, count=4)
        print("PASS: silent peer declared Down with diag 1 within detection time + 10 %; "
              "it came back Up when unsilenced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
