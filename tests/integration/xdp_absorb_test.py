#!/usr/bin/env python3
"""The XDP fast path's promise: with 1,000 steady Up sessions (Strobe on the xdp backend against
BIRD at 300 ms), every steady-state packet is absorbed in the kernel and user space does no RX
work at all: over a 10 s hold the program hands zero packets to user space, while it absorbs
about 1,000 x 10 s / 300 ms of them, and detection still works from the kernel's stamps.
On the way out, every packet of the hold leaves from a prebuilt frame over AF_XDP (BIRD keeping
its 1,000 sessions Up is the proof the frames are right), none through a kernel socket.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import BIRD_MANY_ADDR as BIRD_ADDR, Strobe, bird_with_many_neighbors, check  # noqa: E402,E501

SESSIONS = 1000
HOLD_S = 10
INTERVAL_US = 300000


def main() -> int:
    lab.require_root_tools(frr=False, tshark=False)
    strobe_mod.BACKEND = "xdp"
    with lab.Lab() as L:
        edge, bird, link, locals_ = bird_with_many_neighbors(L, SESSIONS, 300)

        profiles = [{"name": "p300", "desired_min_tx_us": INTERVAL_US,
                     "required_min_rx_us": INTERVAL_US, "detect_mult": 3}]
        sessions = [{"peer": BIRD_ADDR, "local": a, "interface": link.if_a, "profile": "p300"}
                    for a in locals_]
        # The worker runs SCHED_FIFO (realtime_priority), as an appliance sharing its cores would.
        strobe = Strobe(L, edge, profiles, sessions, dataplane={"realtime_priority": 20})
        threads = Path(f"/proc/{strobe.proc.pid}/task")
        worker = [t for t in threads.iterdir() if (t / "comm").read_text().strip() == "strobe-w0"]
        check(len(worker) == 1, "no strobe-w0 thread")
        policy = (worker[0] / "sched").read_text()
        check(any(line.split()[:1] == ["policy"] and line.split()[-1] == "1"
                  for line in policy.splitlines()), f"strobe-w0 is not SCHED_FIFO:\n{policy}")
        check((worker[0] / "stat").read_text().rsplit(")", 1)[1].split()[37] == "20",  # rt_priority
              "strobe-w0 does not run at realtime priority 20")
        strobe.wait_all("up", 60, count=SESSIONS)
        lab.wait_until(lambda: all(not s["poll_in_progress"] for s in strobe.sessions()), 20,
                       what="every Poll Sequence finished")
        # Let every session learn its steady state (one packet after the poll each).
        lab.wait_until(lambda: (c := strobe.counters()["xdp"]) and
                       c["absorbed"] >= 5 * SESSIONS, 30, what="absorption under way")
        c0 = strobe.counters()
        s0 = {s["local"]: s for s in strobe.sessions()}
        time.sleep(HOLD_S)  # the measured hold itself
        c1 = strobe.counters()
        s1 = {s["local"]: s for s in strobe.sessions()}

        to_user = c1["xdp"]["to_user"] - c0["xdp"]["to_user"]
        absorbed = c1["xdp"]["absorbed"] - c0["xdp"]["absorbed"]
        expected = SESSIONS * HOLD_S * 1e6 / INTERVAL_US
        print(f"{HOLD_S} s with {SESSIONS} steady sessions: {absorbed} packets absorbed in the "
              f"kernel (about {expected:.0f} expected), {to_user} handed to user space")
        check(to_user == 0, f"{to_user} steady packets reached user space")
        check(absorbed >= 0.8 * expected, f"only {absorbed} absorbed")
        check(all(s1[a]["rx_to_user"] == s0[a]["rx_to_user"] for a in locals_),
              "a session's user-space RX count moved")
        check(all(s1[a]["state"] == "up" and s1[a]["down_transitions"] == 0 for a in locals_),
              "a session flapped")
        print("PASS: zero user-space RX work per steady-state packet")

        sent = c1["tx_packets"] - c0["tx_packets"]
        sent_af_xdp = c1["tx_af_xdp"] - c0["tx_af_xdp"]
        print(f"{sent} packets sent during the hold, {sent_af_xdp} of them over AF_XDP")
        check(sent >= 0.8 * expected, f"only {sent} packets sent")
        check(sent_af_xdp == sent, f"{sent - sent_af_xdp} packets left through kernel sockets")
        check(all(s["tx_path"] == "af_xdp" for s in s1.values()), "a session is not on AF_XDP")
        # No flap during the hold (checked above) means BIRD accepted every one of those frames:
        # its detection time is 900 ms, the hold 10 s.
        print("PASS: every steady-state packet transmitted over AF_XDP, and BIRD kept all "
              "sessions Up")

        # Detection still works from the kernel's stamps: silence 10 peers.
        silenced = locals_[:10]
        L.exec(bird, ["nft", "-f", "-"], input=(
            "table inet strobe_test {\n chain out {\n  type filter hook output priority 0;\n"
            f"  ip daddr {{ {', '.join(silenced)} }} udp dport 3784 drop\n }}\n}}\n"))
        lab.wait_until(lambda: sum(s["state"] == "down" for s in strobe.sessions()) == 10, 10,
                       what="10 silenced sessions down")
        down = [s for s in strobe.sessions() if s["state"] == "down"]
        check({s["local"] for s in down} == set(silenced), "the wrong sessions went down")
        check(all(s["local_diag"] == 1 and
                  900000 <= s["last_detection_latency_us"] <= 990000 for s in down),
              f"detection outside 900-990 ms: {[s['last_detection_latency_us'] for s in down]}")
        print("PASS: detection from the kernel's last-rx stamps: 10 silenced sessions Down within "
              "detection time + 10 %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
