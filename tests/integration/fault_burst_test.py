#!/usr/bin/env python3
"""Fault injection: 10,000 BFD state changes at once, every one delivered to the control plane
exactly once (issue 9, item 3).

`dut` runs strobe-dataplane with no configured session and strobe-bfd-watch, a client on the
shared-memory rings that registers 10,000 sessions (1 s x 3) and prints every event it receives.
`peer` runs a second strobe-dataplane with the 10,000 matching sessions in its configuration.
Each side holds K = 100 addresses and every address pair is one session (as
tests/bench/bfd_scale_bench.py does), so 10,000 sessions need 100 neighbours per side.

  1. The peer's egress is silenced at once (classic-BPF drop on its veth): the DUT detects all
     10,000 within one detection time of each other, and the client receives exactly 10,000
     Down events, one per session, with diag 1 (Control Detection Time Expired).
  2. Unsilenced: exactly 10,000 Up events, one per session.
  3. The same Down burst with the client stopped (SIGSTOP) until the DUT holds all 10,000 Down:
     the worker's events ring (4,096 records) overflows, which `show bfd counters`
     (`events_overflowed`) and the client (`overflows`, events read from the session table)
     must show, and still exactly 10,000 Down events are delivered, each once, each with the
     session's true transition counters.
  4. Unsilenced with the client stopped again: exactly 10,000 Up events after it resumes.
  5. The peer process stops (SIGTERM: AdminDown on every session at once, RFC 5880 section
     6.8.16), the tightest burst this lab makes: exactly 10,000 Down events with diag 3.
  6. A new peer process: exactly 10,000 Up events.
Every event in every burst is checked against the DUT's own session state and counters.
"""

import json
import os
import signal
import sys
import time
from collections import Counter
from typing import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import DATAPLANE, BfdWatch, Strobe, check  # noqa: E402

K = 100
SESSIONS = K * K
INTERVAL_US = 1_000_000
RING_RECORDS = 4096  # src/ipc/shm_layout.h: events ring of each worker


def addresses(third_octet_base: int, count: int) -> list[str]:
    """198.19.<base + i // 250>.<1 + i % 250>."""
    return [f"198.19.{third_octet_base + i // 250}.{1 + i % 250}" for i in range(count)]


def dut_totals(dut: Strobe) -> dict:
    w = dut.counters()["workers"]
    return {"sessions": sum(x["sessions"] for x in w),
            "up": sum(x["sessions_by_state"]["up"] for x in w),
            "down": sum(x["sessions_by_state"]["down"] for x in w),
            "polling": sum(x["sessions_polling"] for x in w),
            "up_transitions": sum(x["up_transitions"] for x in w),
            "down_transitions": sum(x["down_transitions"] for x in w),
            "events_published": sum(x["events_published"] for x in w),
            "events_overflowed": sum(x["events_overflowed"] for x in w)}


def main() -> int:
    lab.require_root_tools(frr=False, bird=False, tshark=False)
    t_start = time.monotonic()
    with lab.Lab() as L:
        dut_ns, peer_ns = L.ns("dut"), L.ns("peer")
        link = L.link(dut_ns, peer_ns, v4=False, v6=False)
        dut_addrs, peer_addrs = addresses(0, K), addresses(128, K)
        for ns, ifname, addrs in ((dut_ns, link.if_a, dut_addrs), (peer_ns, link.if_b, peer_addrs)):
            L.exec(ns, ["ip", "-batch", "-"],
                   input="".join(f"addr add {a}/16 dev {ifname}\n" for a in addrs))
        pairs = [(d, p) for d in dut_addrs for p in peer_addrs]
        profile = {"name": "slow", "desired_min_tx_us": INTERVAL_US,
                   "required_min_rx_us": INTERVAL_US, "detect_mult": 3}
        peer = Strobe(L, peer_ns, [profile],
               [{"peer": d, "local": p, "interface": link.if_b, "profile": "slow"}
                for d, p in pairs], workers=[1], name="peer")
        dut = Strobe(L, dut_ns, [], [], workers=[0], name="dut")
        sessions_file = L.run_dir / "watch.json"
        sessions_file.write_text(json.dumps([
            {"peer": p, "local": d, "interface": link.if_a, "tx_us": INTERVAL_US,
             "rx_us": INTERVAL_US, "detect_mult": 3} for d, p in pairs]))
        w = BfdWatch(L, dut_ns, dut.socket, sessions_file)
        lab.wait_until(lambda: w.count("up") == SESSIONS, 60, interval_s=0.5,
                       what=f"the client to see {SESSIONS} sessions Up")
        lab.wait_until(lambda: (t := dut_totals(dut))["up"] == SESSIONS and t["polling"] == 0,
                       20, interval_s=0.5, what="every Poll Sequence done")
        print(f"{SESSIONS} sessions created through the rings and Up after "
              f"{time.monotonic() - t_start:.1f} s")

        def silence() -> None:
            L.silence(peer_ns, link.if_b, ingress=False)

        def unsilence() -> None:
            L.unsilence(peer_ns, link.if_b)

        def burst(state: str, n: int, trigger: Callable[[], None], *, stall_client: bool = False,
                  diag: int | None = None) -> dict:
            """trigger() makes every session go `state`; with `stall_client`, the client is
            stopped until the DUT holds every session in `state`. Checks that the client got
            exactly one `state` event per session (with local diagnostic `diag`) and nothing
            else; returns the numbers."""
            w.poll()
            mark = len(w.events)
            before = dut_totals(dut)
            if stall_client:
                os.kill(w.proc.pid, signal.SIGSTOP)
            t0 = time.monotonic()
            trigger()
            try:
                lab.wait_until(lambda: dut_totals(dut)[state] == SESSIONS, 30, interval_s=0.1,
                               what=f"the DUT to hold {SESSIONS} sessions {state}")
                t_dut = time.monotonic() - t0
            finally:
                if stall_client:
                    os.kill(w.proc.pid, signal.SIGCONT)
            lab.wait_until(lambda: w.count(state) == SESSIONS, 30, interval_s=0.1,
                           what=f"the client to see {SESSIONS} sessions {state}")
            t_client = time.monotonic() - t0
            after = dut_totals(dut)
            # One more round trip of the client's loop: nothing else may arrive.
            time.sleep(0.5)
            w.poll()
            changes = [e for e in w.events[mark:] if e["event"] == "state"]
            # Coming Up the DUT passes through Init (RFC 5880 section 6.2): the client may see
            # it; a session that went Up while the client was stopped is read Up directly.
            got = [e for e in changes if e["state"] == state]
            via_init = [e for e in changes if state == "up" and e["state"] == "init"]
            other = [e for e in changes
                     if e["state"] != state and not (state == "up" and e["state"] == "init")]
            check(not other, f"{state} burst #{n}: unexpected events {other[:3]}")
            per_key = Counter(f"{e['peer']}>{e['local']}" for e in got)
            dup = [k for k, c in per_key.items() if c != 1]
            check(len(got) == SESSIONS and len(per_key) == SESSIONS and not dup,
                  f"{state} burst #{n}: {len(got)} events for {len(per_key)} sessions, "
                  f"{len(dup)} delivered more than once (e.g. {dup[:3]})")
            wrong = [e for e in got if e["old_state"] == state]
            check(not wrong, f"{state} burst #{n}: events of another kind: {wrong[:3]}")
            # Each event carries the session's true counters: the n-th Down, the n+1-th Up.
            want_downs, want_ups = (n, n) if state == "down" else (n, n + 1)
            bad = [e for e in got if e["down_transitions"] != want_downs
                   or e["up_transitions"] != want_ups]
            check(not bad, f"{state} burst #{n}: transition counters off, want down "
                           f"{want_downs} up {want_ups}: {bad[:3]}")
            if diag is not None:
                diags = Counter(e["local_diag"] for e in got)
                check(diags == {diag: SESSIONS}, f"diagnostics {dict(diags)}, want all {diag}")
            key = "down_transitions" if state == "down" else "up_transitions"
            check(after[key] - before[key] == SESSIONS,
                  f"the DUT counted {after[key] - before[key]} {key}, want {SESSIONS}")
            sources = Counter(e["source"] for e in got)
            changed = sorted(e["changed_ns"] for e in got)
            lat = sorted((e["received_ns"] - e["changed_ns"]) / 1e6 for e in got)
            r = {"events": len(got), "init_events": len(via_init), "sources": dict(sources),
                 "published": after["events_published"] - before["events_published"],
                 "overflowed": after["events_overflowed"] - before["events_overflowed"],
                 "spread_ms": round((changed[-1] - changed[0]) / 1e6, 1),
                 "dut_s": round(t_dut, 2), "client_s": round(t_client, 2),
                 "delivery_ms_p50": round(lat[len(lat) // 2], 2),
                 "delivery_ms_max": round(lat[-1], 2)}
            print(f"{state} burst #{n}{' (client stopped)' if stall_client else ''}: {r}")
            check(r["overflowed"] > 0 or set(sources) == {"ring"},
                  f"events read from the table without an overflow: {r}")
            if stall_client:
                # 10,000 changes and a ring of 4,096: the worker must have overflowed, and the
                # client read the rest from the session table.
                check(r["overflowed"] > 0 and sources.get("table", 0) > 0,
                      f"the stalled client's burst did not go through the overflow path: {r}")
                check(sources.get("ring", 0) <= RING_RECORDS,
                      f"more ring events than the ring holds: {sources}")
            return r

        burst("down", 1, silence, diag=1)  # Control Detection Time Expired
        burst("up", 1, unsilence)
        print("PASS: 10,000 Down then 10,000 Up, each delivered exactly once to a live client")
        burst("down", 2, silence, stall_client=True, diag=1)
        burst("up", 2, unsilence, stall_client=True)
        print("PASS: with the client stopped through the burst, the events ring overflowed and "
              "still every change was delivered exactly once (ring, then the session table)")

        # The tightest burst: the peer stops (SIGTERM) and sends AdminDown on all 10,000 sessions
        # at once (RFC 5880 section 6.8.16); the DUT takes them Down with diag 3 (Neighbor
        # Signaled Session Down). A new peer process brings them back.
        def stop_peer() -> None:
            check(peer.stop() == 0, "the peer dataplane did not stop cleanly")

        def start_peer() -> None:
            peer.proc = L.spawn(peer_ns, [DATAPLANE, "--config", str(peer.config_path)],
                                peer.log, desc="strobe-dataplane (peer, restarted)")

        burst("down", 3, stop_peer, diag=3)
        burst("up", 3, start_peer)
        print("PASS: the peer stopped (AdminDown on every session at once) and came back: "
              "10,000 Down and 10,000 Up, each delivered exactly once")

        # The client's own account, printed when it stops.
        L.stop(w.proc)
        w.poll()
        stopped = [e for e in w.events if e["event"] == "stopped"]
        check(len(stopped) == 1, "strobe-bfd-watch did not report its statistics")
        st = stopped[0]
        print(f"client statistics: {st}")
        check(st["overflows"] > 0 and st["attaches"] == 1 and st["dataplane_losses"] == 0
              and st["command_errors"] == 0, f"client statistics {st}")
        print(f"wall time {time.monotonic() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
