#!/usr/bin/env python3
"""Delay, jitter and reordering on BFD links (strobe-impair between the namespaces): Strobe with
three sessions to FRR bfdd over one impaired link and one session authenticated with meticulous
keyed SHA1 (RFC 5880 6.7.4) to BIRD over another, all at 20 ms; FRR's and BIRD's multiplier 3
make Strobe's detection time 60 ms. (FRR's bfdd has no authentication, hence BIRD.) Strobe's own
multiplier is 5 so that the peers, whose timers on this loaded machine are not under test, see
100 ms.

  jitter      10 +- 8 ms uniform, in order (FIFO): the peers send every 15-20 ms (RFC 5880
              6.8.7), so two arrivals are at most 20 + 16 ms apart; no gap reaches 60 ms: no
              Down;
  reordering  12 +- 12 ms uniform, each packet its own draw: packets overtake each other (about
              4 % of them; the tool counts them); unauthenticated packets are all taken, and a
              gap is at most 20 + 24 ms: no Down;
  swaps       every 3rd packet of each flow held until the next one passed, on both links: on
              the authenticated session each overtaken packet carries an older sequence number
              and must be dropped and counted (RFC 5880 6.7.3: auth_sequence, equal to the
              packets the tool reordered towards Strobe), the others keep the session Up (at
              most 2 intervals, 40 ms, between accepted packets): no Down;
  delay 150   FRR's link only: the delay jumps from 0 to 150 ms, more than the detection time:
              FRR's sessions go Down with diag 1 within 60 ms + 10 % of the last packet before
              the jump, the BIRD session stays Up; still under 150 ms (a round trip of 300 ms,
              five times the detection time) the sessions come Up again and stay Up, and back to
              0 ms (in order: nothing overtakes, no gap): no Down.
Every phase is also checked against a capture of what left the tool towards Strobe: a Down iff
a gap exceeded the detection time (faults.check_downs_match_gaps). In the first three phases the
tool makes no such gap; a Down there is accepted only if the capture shows the peer itself fell
silent that long (its timers are not under test), and it must still match the gap.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import faults  # noqa: E402
import lab  # noqa: E402
from strobe import Strobe, check, frr_peers  # noqa: E402

INTERVAL_MS = 20
PEER_MULT = 3
DETECT_MS = INTERVAL_MS * PEER_MULT
SECRET = "fault-Key-7"
FRR_SESSIONS = 3


def main() -> int:
    lab.require_root_tools(tshark=False)
    with lab.Lab() as L:
        t_start = time.monotonic()
        edge, frr, bird, w = L.ns("edge"), L.ns("frr"), L.ns("bird"), L.ns("wire")
        flink, fwa, fwb = faults.wire(L, edge, frr, w, v6=False)
        blink, bwa, bwb = faults.wire(L, edge, bird, w, v6=False)
        fimp = faults.Impair(L, w, fwa, fwb, seed=11, name="impair-frr")
        bimp = faults.Impair(L, w, bwa, bwb, seed=12, name="impair-bird")

        prefix, base = flink.v4_a.rsplit(".", 1)
        locals_ = [f"{prefix}.{int(base) + 9 + i}" for i in range(FRR_SESSIONS)]
        for a in locals_:
            L.addr_add(edge, flink.if_a, f"{a}/24")
        conf = ["bfd"]
        for a in locals_:
            conf += [f" peer {a} local-address {flink.v4_b} interface {flink.if_b}",
                     f"  transmit-interval {INTERVAL_MS}", f"  receive-interval {INTERVAL_MS}",
                     f"  detect-multiplier {PEER_MULT}", " !"]
        L.start_frr(frr, "\n".join(conf) + "\n")
        b = L.start_bird(bird, "\n".join([
            f"router id {blink.v4_b};", "protocol device {}", "protocol bfd {",
            f'  interface "{blink.if_b}" {{', f"    interval {INTERVAL_MS} ms;",
            f"    multiplier {PEER_MULT};", "    authentication meticulous keyed sha1;",
            f'    password "{SECRET}" {{ id 7; }};', "  };",
            f'  neighbor {blink.v4_a} dev "{blink.if_b}" local {blink.v4_b};', "}"]) + "\n")

        us = INTERVAL_MS * 1000
        profiles = [{"name": "plain", "desired_min_tx_us": us, "required_min_rx_us": us,
                     "detect_mult": 5},
                    {"name": "auth", "desired_min_tx_us": us, "required_min_rx_us": us,
                     "detect_mult": 5, "auth": {"type": "meticulous-keyed-sha1", "key_id": 7,
                                                "secret": SECRET}}]
        sessions = [{"peer": flink.v4_b, "local": a, "interface": flink.if_a, "profile": "plain"}
                    for a in locals_]
        sessions.append({"peer": blink.v4_b, "local": blink.v4_a, "interface": blink.if_a,
                         "profile": "auth"})
        strobe = Strobe(L, edge, profiles, sessions, dataplane=faults.DATAPLANE)
        everyone = locals_ + [blink.v4_a]

        def settled() -> bool:
            ss = strobe.sessions()
            return len(ss) == 4 and all(s["state"] == "up" and not s["poll_in_progress"]
                                        and s["detect_time_us"] == DETECT_MS * 1000 for s in ss)
        lab.wait_until(settled, 20, what="every session Up on 60 ms detection")
        lab.wait_until(lambda: all(p["status"] == "up" for p in frr_peers(L, frr).values()), 10,
                       what="FRR peers up")
        lab.wait_until(lambda: lab.bird_bfd_sessions(b.ctl).get(blink.v4_a) == "Up", 10,
                       what="BIRD's session up")
        print(f"four sessions up at {INTERVAL_MS} ms ({time.monotonic() - t_start:.1f} s)")

        def by_local() -> dict[str, dict]:
            return {s["local"]: s for s in strobe.sessions()}

        def accepted(packets: list[faults.BfdPacket]) -> list[faults.BfdPacket]:
            """What a meticulous receiver takes: strictly increasing sequence numbers."""
            out, top = [], -1
            for p in packets:
                if p.auth_seq is None or p.auth_seq > top:
                    out.append(p)
                    top = p.auth_seq if p.auth_seq is not None else top
            return out

        def analyse(tag: str, caps: dict[str, faults.Capture], t0: float, t1: float,
                    only: list[str] | None = None) -> list[faults.GapVerdict]:
            packets = {k: c.stop() for k, c in caps.items()}
            transitions = faults.strobe_transitions(strobe.log)
            verdicts = []
            for a in only or everyone:
                peer, cap = (blink.v4_b, "bird") if a == blink.v4_a else (flink.v4_b, "frr")
                mine = accepted(faults.flow(packets[cap], peer, a))
                v = faults.check_downs_match_gaps(
                    f"{tag} {a}", mine, [t for t in transitions if t.local == a], DETECT_MS,
                    (t0, t1), tolerance_ms=max(1.0, 0.05 * DETECT_MS),
                    late_ms=0.1 * DETECT_MS + 2)
                verdicts.append(v)
                print(f"  {v.session}: {v.packets} packets taken, max gap {v.max_gap_ms:.1f} ms, "
                      f"{len(v.long_gaps)} gaps over {DETECT_MS} ms, Downs "
                      f"{[(d[1], round(d[2], 2)) for d in v.downs]}")
            problems = [p for v in verdicts for p in v.problems]
            for p in problems:
                print("FAIL", p)
            check(not problems, f"{tag}: {len(problems)} Downs that do not match the gaps")
            return verdicts

        def captures() -> dict[str, faults.Capture]:
            return {"frr": faults.Capture(L, w, fwa, f"frr-{time.monotonic_ns()}"),
                    "bird": faults.Capture(L, w, bwa, f"bird-{time.monotonic_ns()}")}

        def quiet_phase(tag: str, seconds: float, **settings) -> dict:
            """Both links impaired alike for `seconds`: no session may go Down, unless its peer
            itself (not the impairment, whose gaps stay below the detection time) fell silent
            longer than the detection time, which the capture shows; such a Down must match the
            gap like any other (analyse)."""
            lab.wait_until(settled, 15, what="every session Up on 60 ms detection")
            caps = captures()
            s0, r0 = by_local(), {k: imp.stats() for k, imp in (("frr", fimp), ("bird", bimp))}
            t0 = time.time()
            for imp in (fimp, bimp):
                imp.set(**settings)
            time.sleep(seconds)  # the phase itself is what is measured
            t1 = time.time()
            s1, r1 = by_local(), {k: imp.stats() for k, imp in (("frr", fimp), ("bird", bimp))}
            verdicts = analyse(tag, caps, t0, t1)
            for k in ("frr", "bird"):
                c0, c1 = r0[k]["b_to_a"]["counters"], r1[k]["b_to_a"]["counters"]
                print(f"  {k} -> Strobe: {c1['forwarded'] - c0['forwarded']} forwarded, "
                      f"{c1['reordered'] - c0['reordered']} reordered")
            for a, v in zip(everyone, verdicts):
                if v.long_gaps:
                    late = max(r1[k]["b_to_a"]["counters"]["late_us"]["max"] for k in r1)
                    print(f"  {a}: a {max(g for _, g in v.long_gaps):.1f} ms gap from the peer "
                          f"(the tool left frames at most {late / 1000:.1f} ms late): its Down "
                          "is the peer's doing")
                    continue
                check(not v.downs and s1[a]["state"] == "up"
                      and s1[a]["down_transitions"] == s0[a]["down_transitions"],
                      f"{tag}: {a} went Down: {s1[a]}")
            return {"strobe": (s0, s1), "impair": (r0, r1)}

        quiet_phase("jitter 10+-8 FIFO", 4, delay_ms=10, jitter_ms=8, reorder=False)
        print("PASS: 10 +- 8 ms of jitter in order: no Down")

        res = quiet_phase("reorder 12+-12", 4, delay_ms=12, jitter_ms=12, reorder=True)
        r0, r1 = res["impair"]
        overtaken = sum(r1[k]["b_to_a"]["counters"]["reordered"] -
                        r0[k]["b_to_a"]["counters"]["reordered"] for k in ("frr", "bird"))
        check(overtaken > 0, "no packet overtook another: the phase tested nothing")
        print(f"PASS: independent delays 12 +- 12 ms, {overtaken} packets overtaken: no Down")

        res = quiet_phase("swap every 3rd", 4, delay_ms=0, jitter_ms=0, reorder=False,
                          swap_every=3)
        (s0, s1), (r0, r1) = res["strobe"], res["impair"]
        swapped = (r1["bird"]["b_to_a"]["counters"]["reordered"]
                   - r0["bird"]["b_to_a"]["counters"]["reordered"])
        a = blink.v4_a
        dropped = (s1[a]["rx_dropped"]["auth_sequence"] - s0[a]["rx_dropped"]["auth_sequence"])
        print(f"  BIRD -> Strobe: {swapped} packets reordered by the tool, {dropped} dropped by "
              f"Strobe as auth_sequence")
        # The last swap of the phase may be counted by one side only (stats read in between).
        check(swapped >= 30 and abs(dropped - swapped) <= 1,
              f"meticulous keyed SHA1: {swapped} reordered, {dropped} dropped as auth_sequence")
        others = {k: v for k, v in s1[a]["rx_dropped"].items()
                  if k != "auth_sequence" and v != s0[a]["rx_dropped"][k]}
        check(not others, f"other drops on the authenticated session: {others}")
        print("PASS: swaps: the authenticated session dropped and counted every overtaken packet "
              "and stayed Up; the others stayed Up")
        for imp in (fimp, bimp):
            imp.set(swap_every=0, delay_ms=0, jitter_ms=0, reorder=False)

        # Delay above the detection time on FRR's link.
        caps = captures()
        rx0 = {s["local"]: s["rx_packets"] for s in strobe.sessions()}
        lab.wait_until(lambda: all(s["rx_packets"] >= rx0[s["local"]] + 3
                                   for s in strobe.sessions()), 5,
                       what="packets of every session in the captures")
        s0 = by_local()
        t0 = time.time()
        fimp.set(delay_ms=150)
        lab.wait_until(lambda: all(by_local()[x]["state"] != "up" for x in locals_), 5,
                       interval_s=0.01, what="FRR's sessions Down under 150 ms of delay")
        s1 = by_local()
        for x in locals_:
            latency = s1[x]["last_detection_latency_us"] / 1000
            print(f"  {x}: Down {latency:.2f} ms after the last packet, diag {s1[x]['local_diag']}")
            check(s1[x]["local_diag"] == 1 and
                  s1[x]["down_transitions"] == s0[x]["down_transitions"] + 1, f"{x}: {s1[x]}")
            check(DETECT_MS <= latency <= DETECT_MS * 1.1 + 2, f"{x}: latency {latency} ms")
        # Still under 150 ms the sessions come Up again and stay Up. FRR advertises 20 ms as it
        # goes Up but sends at 1 s until our Final reaches it, a round trip later; our own going
        # Up is a Poll that reduces Required Min RX from 1 s, so our Detection Time stays 3 s
        # until FRR's Final (RFC 5880 6.8.3). Before that rule every bring-up flapped here.
        t_down = time.monotonic()
        lab.wait_until(lambda: all(by_local()[x]["state"] == "up" for x in locals_), 15,
                       what="FRR's sessions Up again under 150 ms of delay")
        print(f"  Up again {time.monotonic() - t_down:.1f} s later, still under 150 ms of delay")
        lab.wait_until(settled, 10, what="fast timers under 150 ms of delay")
        s2 = by_local()
        time.sleep(2)  # held Up under the delay: the hold is what is measured
        fimp.set(delay_ms=0)
        time.sleep(1)
        t1 = time.time()
        s3 = by_local()
        verdicts = analyse("delay 150", caps, t0, t1)
        for x in everyone:
            check(s3[x]["state"] == "up" and s3[x]["down_transitions"] == s2[x]["down_transitions"],
                  f"{x} went Down under a constant delay or when it ended: {s3[x]}")
        check(s3[blink.v4_a]["down_transitions"] == s0[blink.v4_a]["down_transitions"],
              "the BIRD session went Down with FRR's link")
        check(all(len(v.downs) == 1 for v in verdicts[:FRR_SESSIONS]), "one Down per FRR session")
        stats = fimp.stop()["a_to_b"]["counters"]
        bimp.stop()
        print(f"PASS: 150 ms of delay: Down within the detection time + 10 %, Up again and held "
              f"Up under it and after it (tool late max {stats['late_us']['max']:.0f} us;"
              f" total {time.monotonic() - t_start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
