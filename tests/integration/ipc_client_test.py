#!/usr/bin/env python3
"""The dataplane/control-plane rings end to end (issue: shared-memory rings).

A client process (strobe-bfd-watch, a thin ipc::BfdClient) registers 1,000 sessions against BIRD
at 1 s intervals through the shared-memory command rings; strobe-dataplane has no configured
session at all. Then:
  1. the peer side of 100 sessions is silenced (nftables in BIRD's namespace): the client receives
     exactly those 100 Down events, each with diag 1, and nothing for the other 900;
  2. the client is killed with -9; while it is gone 50 of the 100 come back; the restarted client
     re-attaches, reads the table and reports the true state of all 1,000 (the 50 with their flap
     counted), and no session was disturbed by the restart;
  3. the dataplane is killed with -9: the client reports every session Down within 10 ms;
  4. a new dataplane starts: the client re-creates its sessions there and they come back Up.
"""

import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import BIRD_MANY_ADDR as BIRD_ADDR, DATAPLANE, BfdWatch, Strobe, bird_with_many_neighbors, check  # noqa: E402,E501

SESSIONS = 1000
SILENCED = 100


def main() -> int:
    lab.require_root_tools(frr=False, tshark=False)
    with lab.Lab() as L:
        edge, bird, link, locals_ = bird_with_many_neighbors(L, SESSIONS, 1000)

        strobe = Strobe(L, edge, [], [])  # no configured session: the client creates them all
        sessions_file = L.run_dir / "watch.json"
        sessions_file.write_text(json.dumps([
            {"peer": BIRD_ADDR, "local": a, "interface": link.if_a, "tx_us": 1000000,
             "rx_us": 1000000, "detect_mult": 3} for a in locals_]))
        w = BfdWatch(L, edge, strobe.socket, sessions_file, "watch1")
        t0 = time.monotonic()
        lab.wait_until(lambda: w.count("up") == SESSIONS, 90, interval_s=0.2,
                       what=f"the client to see {SESSIONS} sessions up")
        print(f"PASS: {SESSIONS} sessions created through the rings, all up after "
              f"{time.monotonic() - t0:.1f} s")

        # 1. Silence 100 peers: exactly those 100 Down events, diag 1.
        silenced = locals_[:SILENCED]
        before = len(w.events)
        L.exec(bird, ["nft", "-f", "-"], input=(
            "table inet strobe_test {\n chain out {\n  type filter hook output priority 0;\n"
            f"  ip daddr {{ {', '.join(silenced)} }} udp dport 3784 drop\n }}\n}}\n"))
        lab.wait_until(lambda: w.count("down") == SILENCED, 20, interval_s=0.2,
                       what="100 Down events")
        time.sleep(4)  # one more detection time: nothing else may go down
        w.poll()
        downs = [e for e in w.events[before:] if e["event"] == "state"]
        check(len(downs) == SILENCED, f"{len(downs)} events, want {SILENCED}: {downs[:3]}")
        check({e["local"] for e in downs} == set(silenced), "Down events for the wrong sessions")
        check(all(e["state"] == "down" and e["local_diag"] == 1 and e["source"] == "ring"
                  for e in downs), f"not all Down/diag 1 from the ring: {downs[:3]}")
        check(w.count("up") == SESSIONS - SILENCED, "the other 900 are not all up")
        lat = sorted((e["received_ns"] - e["changed_ns"]) / 1000 for e in downs)
        print(f"detection to client receipt, across processes: p50 {lat[len(lat) // 2]:.1f} us, "
              f"max {lat[-1]:.1f} us over {len(lat)} events (informational)")
        print(f"PASS: exactly the {SILENCED} silenced sessions reported Down with diag 1")

        # 2. kill -9 the client; meanwhile 50 peers come back; restart it.
        L.stop(w.proc, sig=signal.SIGKILL)
        back = silenced[:50]
        # One nft transaction: between a flush and an add, the 50 still silenced would hear a
        # packet or two, come Up and then time out again (a flap the test itself caused).
        L.exec(bird, ["nft", "-f", "-"], input=(
            "flush chain inet strobe_test out\n"
            "add rule inet strobe_test out ip daddr { " + ", ".join(silenced[50:]) + " } "
            "udp dport 3784 drop\n"))
        lab.wait_until(lambda: sum(s["state"] == "up" for s in strobe.sessions()) == SESSIONS - 50,
                       30, interval_s=0.2, what="50 sessions back up in the dataplane")
        w2 = BfdWatch(L, edge, strobe.socket, sessions_file, "watch2")
        lab.wait_until(lambda: w2.poll() is not None and len(w2.state) == SESSIONS, 20,
                       interval_s=0.1, what="the restarted client to know all sessions")
        lab.wait_until(lambda: w2.count("up") == SESSIONS - 50, 20, interval_s=0.1,
                       what="the restarted client to see 950 up")
        table = {e["local"]: e for e in w2.events if e["event"] == "state"}
        not_table = [table[a] for a in locals_ if table[a]["source"] != "table"]
        check(not not_table, f"not all read from the table: {len(not_table)}, e.g. "
                             f"{not_table[:2]}")
        check(all(table[a]["down_transitions"] == 1 and table[a]["up_transitions"] == 2
                  for a in back), f"the flap of the returned 50 is not counted: {table[back[0]]}")
        dp = {s["local"]: s for s in strobe.sessions()}
        check(all(dp[a]["down_transitions"] == 0 for a in locals_[SILENCED:]),
              "a session flapped during the client's restart")
        print("PASS: client killed with -9 and restarted: every state recovered from the table, "
              "flaps counted, no session disturbed")

        # 3. kill -9 the dataplane: noticed within 10 ms.
        w2.poll()
        n_before = len(w2.events)
        t_kill_ns = time.monotonic_ns()
        L.stop(strobe.proc, sig=signal.SIGKILL)
        lab.wait_until(lambda: w2.poll() is not None and
                       any(e["event"] == "detached" for e in w2.events[n_before:]),
                       5, interval_s=0.01, what="the client to notice the dataplane's death")
        lost = [e for e in w2.events[n_before:] if e.get("source") == "dataplane-lost"]
        check(len(lost) == SESSIONS - 50, f"{len(lost)} sessions reported lost, want 950")
        delay_ms = (min(e["received_ns"] for e in lost) - t_kill_ns) / 1e6
        print(f"dataplane death noticed {delay_ms:.2f} ms after kill -9")
        check(delay_ms < 10, f"noticed after {delay_ms:.2f} ms")
        check(w2.count("up") == 0, "sessions still up after the dataplane died")
        print("PASS: dataplane killed with -9: every session Down for the client within 10 ms")

        # 4. A new dataplane on the same socket: the client re-creates its sessions there.
        attached_before = sum(1 for e in w2.events if e["event"] == "attached")
        strobe.proc = L.spawn(edge, [DATAPLANE, "--config", str(strobe.config_path)], strobe.log,
                              desc="strobe-dataplane (restarted)")
        lab.wait_until(lambda: w2.poll() is not None and
                       sum(1 for e in w2.events if e["event"] == "attached") > attached_before,
                       10, interval_s=0.02, what="the client to attach to the new dataplane")
        lab.wait_until(lambda: w2.count("up") == SESSIONS - 50, 60, interval_s=0.2,
                       what="950 sessions re-created and up on the new dataplane")
        check(len(strobe.sessions()) == SESSIONS, "the new dataplane does not hold all sessions")
        print("PASS: a new dataplane appeared; the client re-created all 1,000 sessions, 950 up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
