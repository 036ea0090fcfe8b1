#!/usr/bin/env python3
"""100 single-hop IPv4 sessions Strobe <-> FRR bfdd at FRR's default 300 ms x 3, and 20 at
50 ms x 3: all come Up and stay Up for 12 s with zero flaps on either side.

Topology: one veth between namespace `edge` (strobe-dataplane) and `frr` (zebra + bfdd). FRR
holds one address; Strobe holds 120 (one per emulated neighbor), so each session has its own
address pair, as 120 neighbors on one segment would.
"""

import ipaddress
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import WORKERS, Strobe, check, frr_counters  # noqa: E402

SLOW, FAST = 100, 20
HOLD_S = 12


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr, v6=False, queues=len(WORKERS))  # an AF_XDP queue per worker
        base = ipaddress.ip_address(link.v4_a)  # 198.18.N.1 on the edge
        locals_ = [str(base + 9 + i) for i in range(SLOW + FAST)]  # .10 .. .129
        for a in locals_:
            L.addr_add(edge, link.if_a, f"{a}/24")

        conf = ["bfd",
                " profile fast", "  transmit-interval 50", "  receive-interval 50",
                "  detect-multiplier 3", " !"]
        for i, a in enumerate(locals_):
            conf.append(f" peer {a} local-address {link.v4_b} interface {link.if_b}")
            if i >= SLOW:
                conf.append("  profile fast")
            conf.append(" !")
        L.start_frr(frr, "\n".join(conf) + "\n")

        sessions = [{"peer": link.v4_b, "local": a, "interface": link.if_a,
                     "profile": "fast" if i >= SLOW else "default300"}
                    for i, a in enumerate(locals_)]
        profiles = [{"name": "default300", "desired_min_tx_us": 300000,
                     "required_min_rx_us": 300000, "detect_mult": 3},
                    {"name": "fast", "desired_min_tx_us": 50000,
                     "required_min_rx_us": 50000, "detect_mult": 3}]
        strobe = Strobe(L, edge, profiles, sessions)

        t0 = time.monotonic()
        strobe.wait_all("up", 30, count=SLOW + FAST)
        lab.wait_until(lambda: all(p["status"] == "up"
                                   for p in L.frr_json(frr, "show bfd peers json")),
                       30, what="every FRR peer up")
        print(f"all {SLOW + FAST} sessions up after {time.monotonic() - t0:.1f} s")

        # Wait until every Poll Sequence (1 s -> configured interval) has finished.
        lab.wait_until(lambda: all(not s["poll_in_progress"] and s["tx_interval_us"] in (50000, 300000)
                                   for s in strobe.sessions()), 15, what="timers negotiated")
        before_strobe = {s["local"]: s for s in strobe.sessions()}
        before_frr = frr_counters(L, frr)
        time.sleep(HOLD_S)  # the hold period itself is what is measured, not a synchronisation
        after_strobe = {s["local"]: s for s in strobe.sessions()}
        after_frr = frr_counters(L, frr)

        failures = []
        for i, a in enumerate(locals_):
            s0, s1 = before_strobe[a], after_strobe[a]
            want_us = 50000 if i >= SLOW else 300000
            if s1["state"] != "up" or s1["down_transitions"] != 0 or s1["up_transitions"] != 1:
                failures.append(f"strobe {a}: {s1['state']} up={s1['up_transitions']} "
                                f"down={s1['down_transitions']}")
            if s1["tx_interval_us"] != want_us or s1["rx_interval_us"] != want_us:
                failures.append(f"strobe {a}: negotiated tx {s1['tx_interval_us']} rx "
                                f"{s1['rx_interval_us']}, want {want_us}")
            # It kept receiving at the negotiated rate: at least 80 % of HOLD_S / interval.
            got = s1["rx_packets"] - s0["rx_packets"]
            if got < 0.8 * HOLD_S * 1e6 / want_us:
                failures.append(f"strobe {a}: only {got} packets in {HOLD_S} s")
            f0, f1 = before_frr[a], after_frr[a]
            if f1["session-down"] != 0 or f1["session-up"] != 1 or f1["session-up"] != f0["session-up"]:
                failures.append(f"frr {a}: session-up {f1['session-up']} "
                                f"session-down {f1['session-down']}")
        counters = strobe.counters()
        if len(WORKERS) > 1:
            # Sessions spread over every worker; the receiving worker handed the others theirs.
            per_worker = [w["sessions"] for w in counters["workers"]]
            check(len(per_worker) == len(WORKERS) and all(n > 0 for n in per_worker),
                  f"sessions per worker: {per_worker}")
            if strobe_mod.BACKEND == "socket":  # xdp: each worker has its own ring (below)
                check(counters["workers"][0]["handed_off"] > 0, "no packet was handed over")
            print(f"sessions per worker {per_worker}; worker 0 handed over "
                  f"{counters['workers'][0]['handed_off']} packets")
        if strobe_mod.BACKEND == "xdp":
            # Each worker sends its Up sessions' packets over its own AF_XDP socket (queue).
            per_worker = [w["tx_af_xdp"] for w in counters["workers"]]
            check(all(n > 0 for n in per_worker), f"AF_XDP frames per worker: {per_worker}")
            check(all(s["tx_path"] == "af_xdp" for s in after_strobe.values()),
                  "a session transmits through its kernel socket")
            print(f"AF_XDP frames per worker: {per_worker}")
            # Each worker drains its own ring of interesting packets: after bring-up the
            # receiving worker hands over only bootstrap packets (Your Discriminator 0).
            received = [w["rx_packets"] for w in counters["workers"]]
            check(all(n > 0 for n in received), f"packets processed per worker: {received}")
            if len(WORKERS) > 1:
                handed = counters["workers"][0]["handed_off"]
                check(handed < sum(received[1:]),
                      f"worker 0 handed over {handed} packets, the others processed "
                      f"{sum(received[1:])}: their rings are not used")
                print(f"packets processed per worker {received}; handed over by worker 0: "
                      f"{handed}")
        drops = counters["rx_dropped"]
        if any(drops.values()):
            failures.append(f"strobe dropped packets: { {k: v for k, v in drops.items() if v} }")
        for f in failures[:20]:
            print("FAIL", f)
        check(not failures, f"{len(failures)} problems")
        print(f"PASS: {SLOW} sessions at 300 ms and {FAST} at 50 ms held Up {HOLD_S} s, "
              "zero flaps on both sides")
    return 0


if __name__ == "__main__":
    sys.exit(main())
