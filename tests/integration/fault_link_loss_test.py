#!/usr/bin/env python3
"""Random loss on a BFD link, Strobe <-> FRR bfdd: 1 %, 10 % and 100 % of FRR's packets dropped
by nftables in FRR's namespace (output, so Strobe's packets still reach FRR), six sessions at
10 ms on one veth, three with FRR's detect multiplier 3 (detection time 30 ms at Strobe) and
three with 8 (80 ms).

RFC 5880 6.8.4: a session goes Down when no packet arrived for the detection time, and only then.
Rather than trusting that loss never makes such a gap, the test captures FRR's packets as they
leave (the capture is taken after the nftables drop) and checks, for every session, that each
Down with diag 1 fell into a gap of at least the detection time and that each gap longer than
the detection time while Up ended in such a Down (faults.check_downs_match_gaps; tolerance
max(1 ms, 5 %) for the two clocks and the receiving thread, Down at most 10 % + 2 ms late).

How likely a legitimate gap is: FRR sends every 7.5-10 ms (RFC 5880 6.8.7 jitter, 75-100 %), so
k consecutive losses make a gap of (k + 1) intervals: in [22.5, 30] ms for k = 2, which stays
below 30 ms, and in [30, 40] ms for k = 3. A gap beyond the detection time of multiplier M needs
M consecutive losses, probability p^M per packet (or FRR's own timers running late, which the
capture shows just the same). Over the ~550 packets per session of a 5 s phase (about 3,300 over
six sessions) and the ~880 of an 8 s one:
  1 %,  M = 3:  1e-6 x 1,650  = 0.002   -> no Down expected; one that comes must match a gap;
  1 %,  M = 8:  1e-16                   -> no Down at all (asserted outright);
  10 %, M = 3:  1e-3 x 0.9 x 880 x 3 = 2.4 expected per 8 s phase: real Downs, each must match
                a gap (and each such gap a Down), which exercises both directions of "iff";
  10 %, M = 8:  1e-8 x 2,640  = 3e-5    -> no Down at all (asserted outright).
100 %: every session Down with diag 1 within its detection time + 10 % (Strobe's own
last_detection_latency_us, and from the capture to the log), then Up again once the loss stops.

Strobe's sessions use multiplier 5 (FRR's detection time 50 ms): FRR's own detection on this
loaded 2-core machine is not under test, and a Down it signals would only add noise (it is still
accepted, as diag 3 after FRR's Down packet).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import faults  # noqa: E402
import lab  # noqa: E402
from strobe import Strobe, check, frr_peers  # noqa: E402

INTERVAL_MS = 10
MULTS = (3, 3, 3, 8, 8, 8)


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        t_start = time.monotonic()
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr, v6=False)
        base = int(link.v4_a.rsplit(".", 1)[1])
        prefix = link.v4_a.rsplit(".", 1)[0]
        locals_ = [f"{prefix}.{base + 9 + i}" for i in range(len(MULTS))]
        for a in locals_:
            L.addr_add(edge, link.if_a, f"{a}/24")
        conf = ["bfd"]
        for a, mult in zip(locals_, MULTS):
            conf += [f" peer {a} local-address {link.v4_b} interface {link.if_b}",
                     f"  transmit-interval {INTERVAL_MS}", f"  receive-interval {INTERVAL_MS}",
                     f"  detect-multiplier {mult}", " !"]
        L.start_frr(frr, "\n".join(conf) + "\n")
        us = INTERVAL_MS * 1000
        strobe = Strobe(L, edge, [{"name": "fast", "desired_min_tx_us": us,
                                   "required_min_rx_us": us, "detect_mult": 5}],
                        [{"peer": link.v4_b, "local": a, "interface": link.if_a,
                          "profile": "fast"} for a in locals_], dataplane=faults.DATAPLANE)
        strobe.wait_all("up", 20, count=len(MULTS))
        lab.wait_until(lambda: all(s["detect_time_us"] == m * us and not s["poll_in_progress"]
                                   for s, m in zip(sorted(strobe.sessions(),
                                                          key=lambda s: locals_.index(s["local"])),
                                                   MULTS)),
                       10, what="detection times of 30 and 80 ms at Strobe")
        lab.wait_until(lambda: all(p["status"] == "up" for p in frr_peers(L, frr).values()), 10,
                       what="FRR peers up")
        print(f"six sessions up at {INTERVAL_MS} ms ({time.monotonic() - t_start:.1f} s)")
        loss = faults.NftLoss(L, frr, link.if_b)

        def phase(pct: int, seconds: float) -> list[faults.GapVerdict]:
            cap = faults.Capture(L, frr, link.if_b, f"loss{pct}")
            t0 = time.time()
            loss.set(pct)
            time.sleep(seconds)  # the phase itself is what is measured
            dropped = loss.dropped()  # before the rule and its counter go
            loss.set(0)
            t1 = time.time()
            time.sleep(0.2)      # the last gap closes, the last Down is logged
            packets = cap.stop()
            transitions = faults.strobe_transitions(strobe.log)
            verdicts = []
            sent = 0
            for a, mult in zip(locals_, MULTS):
                mine = faults.flow(packets, link.v4_b, a)
                sent += sum(t0 <= p.ts <= t1 for p in mine)
                v = faults.check_downs_match_gaps(
                    f"{pct} % {a} x{mult}", mine,
                    [t for t in transitions if t.local == a], mult * INTERVAL_MS, (t0, t1),
                    tolerance_ms=max(1.0, 0.05 * mult * INTERVAL_MS),
                    late_ms=0.1 * mult * INTERVAL_MS + 2)
                verdicts.append(v)
                print(f"  {v.session}: {v.packets} packets arrived, max gap {v.max_gap_ms:.1f} ms, "
                      f"{len(v.long_gaps)} gaps over the detection time, Downs "
                      f"{[(d[1], round(d[2], 2)) for d in v.downs]}")
            print(f"{pct} % loss for {seconds:g} s: nftables dropped {dropped} of "
                  f"{dropped + sent} ({100 * dropped / max(1, dropped + sent):.1f} %)")
            problems = [p for v in verdicts for p in v.problems]
            for p in problems:
                print("FAIL", p)
            check(not problems, f"{pct} % loss: {len(problems)} Downs that do not match the gaps")
            check(pct == 0 or dropped > 0, f"{pct} % loss: nftables dropped nothing")
            return verdicts

        v1 = phase(1, 5)
        strobe.wait_all("up", 15, count=len(MULTS))
        v10 = phase(10, 8)
        for v, mult in zip(v1 + v10, MULTS + MULTS):
            if mult == 8:
                check(not v.downs and not v.long_gaps, f"{v.session}: {v.downs} {v.long_gaps}")
        print(f"PASS: 1 % and 10 % loss: every Down matched a gap beyond the detection time and "
              f"every such gap a Down ({sum(len(v.downs) for v in v1)} at 1 %, "
              f"{sum(len(v.downs) for v in v10)} at 10 %, all with multiplier 3)")
        strobe.wait_all("up", 15, count=len(MULTS))
        lab.wait_until(lambda: all(not s["poll_in_progress"] and s["detect_time_us"] < 100000
                                   for s in strobe.sessions()), 10, what="fast timers again")

        # 100 %: everything Down within the detection time + 10 %.
        before = {s["local"]: s["down_transitions"] for s in strobe.sessions()}
        cap = faults.Capture(L, frr, link.if_b, "loss100")
        rx0 = {s["local"]: s["rx_packets"] for s in strobe.sessions()}
        lab.wait_until(lambda: all(s["rx_packets"] >= rx0[s["local"]] + 3
                                   for s in strobe.sessions()), 5,
                       what="packets of every session in the capture")
        t0 = time.time()
        loss.set(100)
        lab.wait_until(lambda: all(s["state"] != "up" for s in strobe.sessions()), 5,
                       interval_s=0.01, what="every session Down under 100 % loss")
        time.sleep(0.1)
        packets = cap.stop()
        transitions = faults.strobe_transitions(strobe.log)
        by_local = {s["local"]: s for s in strobe.sessions()}
        for a, mult in zip(locals_, MULTS):
            s = by_local[a]
            detect = mult * INTERVAL_MS
            latency = s["last_detection_latency_us"] / 1000
            mine = [p.ts for p in faults.flow(packets, link.v4_b, a) if p.ts <= time.time()]
            down = [t for t in transitions if t.local == a and t.ts >= t0 and t.old == "up"]
            check(len(down) == 1 and down[0].diag == 1, f"{a}: Downs {down}")
            last = max(x for x in mine if x <= down[0].ts)
            wire_ms = (down[0].ts - last) * 1000
            print(f"  {a} x{mult}: Down {latency:.2f} ms after the last packet (Strobe), "
                  f"{wire_ms:.2f} ms after it left FRR (capture to log); "
                  f"detection time {detect} ms")
            check(s["down_transitions"] == before[a] + 1 and s["local_diag"] == 1, f"{a}: {s}")
            check(detect <= latency <= detect * 1.1, f"{a}: latency {latency} ms")
            check(detect - 1 <= wire_ms <= detect * 1.1 + 1, f"{a}: {wire_ms:.2f} ms on the wire")
        loss.set(0)
        t_clear = time.monotonic()
        strobe.wait_all("up", 15, count=len(MULTS))
        print(f"PASS: 100 % loss: every session Down within its detection time + 10 %, diag 1; "
              f"Up again {time.monotonic() - t_clear:.1f} s after the loss stopped "
              f"(total {time.monotonic() - t_start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
