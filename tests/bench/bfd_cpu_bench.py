#!/usr/bin/env python3
"""CPU cost of N BFD sessions at a given interval on the device under test, in one run:
strobe-dataplane on the socket backend, on the xdp backend, and FRR bfdd (and, with
--duts ...,bird, BIRD 2's `protocol bfd`), each facing the same traffic partner (a
strobe-dataplane on the socket backend) over one veth.

The partner runs on core 0 and the DUT on core 1. Reported per DUT, over a hold of H seconds
after every session is Up: the DUT process's own CPU (user + system, from /proc/PID/stat), the
busy share of each core (from /proc/stat, which also counts softirq work such as the XDP program,
which on a veth runs on the transmitting CPU, i.e. the partner's core 0), and the flaps the partner
saw. Usage (root): tests/bench/bfd_cpu_bench.py [--sessions N] [--interval-ms I] [--hold-s H]
    [--duts socket,xdp,frr[,bird]] [--settle-s S] [--json FILE]
(--settle-s: the pause after every session is Up and negotiated, before the hold; --json: also
append one JSON object per DUT to FILE, for scripts/bench.)
"""

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import Strobe  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
DUT_ADDR = "198.19.7.254"


def cpu_times() -> dict[str, tuple[int, int]]:
    """Per core: (busy, total) jiffies."""
    out = {}
    for line in open("/proc/stat"):
        if line.startswith("cpu") and line[3].isdigit():
            f = line.split()
            v = list(map(int, f[1:]))
            idle = v[3] + v[4]
            out[f[0]] = (sum(v) - idle, sum(v))
    return out


def proc_cpu(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    return total


def run(dut: str, sessions: int, interval_ms: int, hold_s: int, settle_s: float = 3) -> dict:
    with lab.Lab() as L:
        peer_ns, dut_ns = L.ns("peer"), L.ns("dut")
        link = L.link(peer_ns, dut_ns, v4=False, v6=False)
        addrs = [f"198.19.{(10 + i) // 256}.{(10 + i) % 256}" for i in range(sessions)]
        L.exec(peer_ns, ["ip", "-batch", "-"],
               input="".join(f"addr add {a}/21 dev {link.if_a}\n" for a in addrs))
        L.addr_add(dut_ns, link.if_b, f"{DUT_ADDR}/21")
        us = interval_ms * 1000
        profile = [{"name": "p", "desired_min_tx_us": us, "required_min_rx_us": us,
                    "detect_mult": 3}]
        strobe_mod.BACKEND = "socket"
        partner = Strobe(L, peer_ns, profile, [
            {"peer": DUT_ADDR, "local": a, "interface": link.if_a, "profile": "p"} for a in addrs],
            workers=[0], name="partner")
        if dut == "frr":
            conf = ["bfd"]
            for a in addrs:
                conf += [f" peer {a} local-address {DUT_ADDR} interface {link.if_b}",
                         f"  transmit-interval {interval_ms}", f"  receive-interval {interval_ms}",
                         " !"]
            inst = L.start_frr(dut_ns, "\n".join(conf) + "\n")
            pids = [p.pid for p in inst.procs.values()]
            for pid in pids:
                lab.run(["taskset", "-a", "-p", "-c", "1", str(pid)])
        elif dut == "bird":
            conf = [f"router id {DUT_ADDR};", "protocol device {}", "protocol bfd {",
                    f'  interface "{link.if_b}" {{ interval {interval_ms} ms; multiplier 3; }};']
            conf += [f'  neighbor {a} dev "{link.if_b}" local {DUT_ADDR};' for a in addrs]
            conf.append("}")
            inst = L.start_bird(dut_ns, "\n".join(conf) + "\n", timeout_s=60)
            pids = [inst.proc.pid]
            lab.run(["taskset", "-a", "-p", "-c", "1", str(inst.proc.pid)])
        else:
            strobe_mod.BACKEND = dut
            d = Strobe(L, dut_ns, profile, [
                {"peer": a, "local": DUT_ADDR, "interface": link.if_b, "profile": "p"}
                for a in addrs], workers=[1], name="dut")
            pids = [d.proc.pid]
        try:
            partner.wait_all("up", 120, count=sessions)
            lab.wait_until(lambda: all(not s["poll_in_progress"] for s in partner.sessions()),
                           60, what="timers negotiated")
            up_ok = True
        except lab.WaitTimeout:
            up_ok = False
        time.sleep(settle_s)
        s0 = {s["local"]: s for s in partner.sessions()}
        c0, p0, t0 = cpu_times(), proc_cpu(pids), time.monotonic()
        time.sleep(hold_s)
        c1, p1, t1 = cpu_times(), proc_cpu(pids), time.monotonic()
        s1 = {s["local"]: s for s in partner.sessions()}
        elapsed = t1 - t0
        flaps = sum(s1[a]["down_transitions"] - s0[a]["down_transitions"] for a in addrs)
        up = sum(1 for s in s1.values() if s["state"] == "up")
        core = {c: 100.0 * (c1[c][0] - c0[c][0]) / max(1, c1[c][1] - c0[c][1]) for c in c1}
        return {"dut": dut, "all_up": up_ok, "up_at_end": up, "flaps": flaps,
                "dut_process_cpu_pct": 100.0 * (p1 - p0) / HZ / elapsed,
                "core0_busy_pct": core.get("cpu0", 0), "core1_busy_pct": core.get("cpu1", 0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("--hold-s", type=int, default=20)
    ap.add_argument("--duts", default="socket,xdp,frr")
    ap.add_argument("--settle-s", type=float, default=3)
    ap.add_argument("--json", type=Path, help="also append one JSON object per DUT to FILE")
    a = ap.parse_args()
    duts = a.duts.split(",")
    if any(d not in ("socket", "xdp", "frr", "bird") for d in duts):
        ap.error("--duts: socket, xdp, frr, bird")
    lab.require_root_tools(bird="bird" in duts, tshark=False)
    print(f"{a.sessions} sessions at {a.interval_ms} ms x 3, hold {a.hold_s} s; partner on core 0 "
          f"(strobe, socket backend), DUT on core 1; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'DUT':8} {'up/N':>10} {'flaps':>6} {'DUT CPU %':>10} {'core0 %':>8} {'core1 %':>8}")
    for dut in duts:
        started = datetime.datetime.now(datetime.timezone.utc)
        r = run(dut, a.sessions, a.interval_ms, a.hold_s, a.settle_s)
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps({"bench": "bfd_cpu", "sessions": a.sessions,
                                    "interval_ms": a.interval_ms, "hold_s": a.hold_s,
                                    "date": started.isoformat(timespec="seconds"),
                                    "loadavg": os.getloadavg()[0], **r}) + "\n")
        print(f"{r['dut']:8} {r['up_at_end']:>5}/{a.sessions:<4} {r['flaps']:>6} "
              f"{r['dut_process_cpu_pct']:>10.1f} {r['core0_busy_pct']:>8.1f} "
              f"{r['core1_busy_pct']:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
