#!/usr/bin/env python3
"""Two strobe-dataplanes, dpdk backend, two workers each (cores 0 and 1), joined by a net_memif
pair (shared memory, no kernel on the path; each side's TAP exception port holds the addresses
and carries ARP). Each worker has its own queue pair on the memif port.

A session lives on the worker its key hashes to, and its discriminator names that worker
([worker:4][slot:14][random:14]). A packet arrives on the queue of the worker that sent it on the
other side, which is often not the owner here: the receiving worker hands it over. Checked:

  1. every session Up on both sides, on the worker its discriminator names, and both workers of
     each side own sessions;
  2. both sides handed packets over between their workers, and nothing was dropped as having no
     session (a handed-over packet found its session);
  3. 5 s of steady state at 20 ms with no flap, the packets absorbed by the steady-state rule on
     the worker that owns them;
  4. every port queue of both sides received and sent on the memif (both queue pairs in use).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import Strobe, check  # noqa: E402

PAIRS = 12  # 12 x 12 = 144 sessions
INTERVAL_US = 20000


def addresses(third: int) -> list[str]:
    return [f"198.19.{third}.{i + 1}" for i in range(PAIRS)]


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False, frr=False)
    if strobe_mod.BACKEND != "dpdk":
        raise SystemExit("run with STROBE_BACKEND=dpdk (meson does)")
    with lab.Lab() as L:
        ns_a, ns_b = L.ns("a"), L.ns("b")
        a_addrs, b_addrs = addresses(10), addresses(20)
        pairs = [(a, b) for a in a_addrs for b in b_addrs]
        sock = str(L.run_dir / "memif.sock")
        profile = [{"name": "p", "desired_min_tx_us": INTERVAL_US,
                    "required_min_rx_us": INTERVAL_US, "detect_mult": 3}]

        def side(ns: str, name: str, role: str, local_is_a: bool) -> Strobe:
            tap = f"m{name}0"
            sessions = [{"peer": b if local_is_a else a, "local": a if local_is_a else b,
                         "interface": tap, "profile": "p"} for a, b in pairs]
            return Strobe(L, ns, profile, sessions, workers=[0, 1], name=name, dpdk_ports=[
                {"interface": tap, "exception": "tap",
                 "devargs": f"net_memif0,role={role},socket={sock},socket-abstract=no"}])

        side_a = side(ns_a, "a", "server", True)
        side_b = side(ns_b, "b", "client", False)
        for ns, tap, addrs in ((ns_a, "ma0", a_addrs), (ns_b, "mb0", b_addrs)):
            L.exec(ns, ["ip", "-batch", "-"],
                   input="".join(f"addr add {x}/16 dev {tap}\n" for x in addrs))

        # 1. Up, each on the worker its discriminator names, both workers used.
        for s in (side_a, side_b):
            sessions = s.wait_all("up", 40, count=len(pairs))
            owners = {x["worker"] for x in sessions}
            check(owners == {0, 1}, f"sessions on workers {owners}, want both")
            wrong = [x for x in sessions if x["local_discriminator"] >> 28 != x["worker"]]
            check(not wrong, f"sessions on a worker their discriminator does not name: {wrong[:3]}")
        per_worker = {n: [w["sessions"] for w in s.counters()["workers"]]
                      for n, s in (("a", side_a), ("b", side_b))}
        print(f"PASS: {len(pairs)} sessions Up on each side, on the workers their discriminators "
              f"name: {per_worker}")

        # 2 and 3. Steady state: no flap, packets handed over and absorbed by their owners.
        before = {n: s.counters() for n, s in (("a", side_a), ("b", side_b))}
        time.sleep(5)  # steady traffic to count, not synchronisation
        for name, s in (("a", side_a), ("b", side_b)):
            c = s.counters()
            check(sum(w["down_transitions"] for w in c["workers"]) == 0,
                  f"side {name}: sessions flapped: {c['workers']}")
            handed = [w["handed_off"] - b["handed_off"]
                      for w, b in zip(c["workers"], before[name]["workers"])]
            steady = [w["rx_steady"] - b["rx_steady"]
                      for w, b in zip(c["workers"], before[name]["workers"])]
            check(sum(handed) > 0, f"side {name}: no packet handed over between workers")
            check(all(x > 0 for x in steady), f"side {name}: steady-state absorption {steady}")
            check(c["rx_dropped"].get("no_session", 0) == 0,
                  f"side {name}: packets without a session: {c['rx_dropped']}")
            # 4. Both queue pairs carry BFD.
            queues = c["dpdk"]["ports"][0]["queues"]
            check(len(queues) == 2 and all(q["rx_bfd"] > 0 and q["tx_frames"] > 0
                                           for q in queues),
                  f"side {name}: memif queues {queues}")
            print(f"PASS: side {name}: 5 s steady, no flap; handed over {handed} packets, "
                  f"absorbed {steady} per worker; both memif queues in use")
    return 0


if __name__ == "__main__":
    sys.exit(main())
