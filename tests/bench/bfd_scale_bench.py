#!/usr/bin/env python3
"""Scale ladder: the largest number of BFD sessions held Up for H seconds with zero false Down.

Two parties on one veth pair, one core each: side A is a strobe-dataplane (one worker pinned to
core 0); side B is either a second strobe-dataplane (one worker on core 1), FRR bfdd or BIRD 2
(pinned to core 1). For each interval (ms, detect multiplier 3) the ladder tries the given
session counts in order and stops at the first that fails. A step passes when every session comes
Up, the Poll Sequences to the fast interval finish, and during the hold no session on either side
leaves Up.

Strobe <-> Strobe: A holds K addresses and B holds K addresses, and every pair (a_i, b_j) is one
session, K = ceil(sqrt(N)) (the pairs beyond N are left out), so N sessions need only 2K
neighbours. Strobe <-> FRR: FRR 8.4 refuses a second session to the same peer address on one
interface, so B (FRR) holds one address and A one address per session; BIRD the same (`protocol
bfd`, one `neighbor` per session, `debug { events }`: its false Downs are the "changed state from
Up to Down" lines it logs during the hold).

The dpdk backend runs over the veth (net_af_packet, the kernel keeps the link) or, with
--link memif, over a net_memif pair between the two dataplanes (pure software: shared memory,
no kernel on the packet path; each side's TAP exception port carries ARP and the addresses).

Output: one line per step and a summary table; with --json FILE, also one JSON object per step
appended to FILE (scripts/bench reads them). Usage (root):
  tests/bench/bfd_scale_bench.py [--peer strobe|frr|bird] [--backend xdp|socket|dpdk]
      [--link veth|memif]
      [--intervals 50,10,3.3] [--ladder 1000,2000,5000,10000] [--hold-s 60]
      [--realtime-priority P]   (SCHED_FIFO workers, [dataplane] realtime_priority)
      [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import Strobe  # noqa: E402


def addresses(base: int, count: int) -> list[str]:
    """198.19.<base + i // 250>.<1 + i % 250>: up to 250 per /24, all inside 198.19.0.0/16."""
    return [f"198.19.{base + i // 250}.{1 + i % 250}" for i in range(count)]


def add_addresses(L: lab.Lab, ns: str, ifname: str, addrs: list[str]) -> None:
    L.exec(ns, ["ip", "-batch", "-"],
           input="".join(f"addr add {a}/16 dev {ifname}\n" for a in addrs))


def summary(strobe: Strobe) -> dict:
    """Counts by state, Poll Sequences under way and down transitions, from `show bfd counters`
    (listing 10,000s of sessions with `show bfd sessions` costs more than it tells here)."""
    w = strobe.counters()["workers"]
    return {"count": sum(x["sessions"] for x in w),
            "up": sum(x["sessions_by_state"]["up"] for x in w),
            "polling": sum(x["sessions_polling"] for x in w),
            "downs": sum(x["down_transitions"] for x in w),
            "af_xdp": sum(x["sessions_tx_af_xdp"] for x in w)}


def cpu_times() -> dict[str, tuple[int, int]]:
    """Per core: (busy, total) jiffies from /proc/stat."""
    out = {}
    for line in open("/proc/stat"):
        if line.startswith("cpu") and line[3].isdigit():
            v = list(map(int, line.split()[1:]))
            out[line.split()[0]] = (sum(v) - v[3] - v[4], sum(v))
    return out


def worker_work(strobe: Strobe) -> tuple[int, int]:
    """(CPU ns of the worker thread, packets it sent plus BFD packets it received)."""
    w = strobe.counters()["workers"][0]
    received = sum(q["rx_bfd"] for q in w.get("dpdk_queues", [])) or w["rx_packets"]
    return w["cpu_ns"], w["tx_packets"] + received


def per_packet(before: tuple[int, int], after: tuple[int, int]) -> dict:
    """Worker CPU per packet over an interval, and what one core would do at 100 %."""
    cpu, packets = after[0] - before[0], after[1] - before[1]
    if packets <= 0:
        return {}
    ns = cpu / packets
    return {"packets": packets, "cpu_ms": round(cpu / 1e6, 1), "ns_per_packet": round(ns, 1),
            "packets_per_ms_per_core": round(1e6 / ns) if ns > 0 else None}


def timer_precision(strobe: Strobe) -> dict:
    """How late the worker's transmissions left (us after their jittered schedule)."""
    return strobe.counters()["workers"][0].get("tx_lateness_us", {})


def diagnostics(strobe: Strobe) -> dict:
    c = strobe.counters()
    w = c["workers"][0]
    return {"xdp": {k: c["xdp"][k] for k in ("absorbed", "to_user", "ring_full")} if "xdp" in c
            else None, "tx_af_xdp_full": w.get("tx_af_xdp_full"),
            "timer_late_max_us": w.get("timer_late_max_us"), "timers_late_1ms":
            w.get("timers_late_1ms"),
            "loop_max_us": w.get("loop_max_us"), "loop_over_1ms": w.get("loop_over_1ms"),
            "tx_errors": c["tx_errors"], "drops": {k: v for k, v in c["rx_dropped"].items() if v},
            "dpdk": {"tx_dpdk": w.get("tx_dpdk"), "rx_steady": w.get("rx_steady"),
                     "detection_catch_ups": w.get("detection_catch_ups"),
                     "ports": [{k: p[k] for k in ("rx", "tx", "rx_missed", "rx_no_mbuf")}
                               | {"tx_dropped": sum(q["tx_dropped"] for q in p["queues"])}
                               for p in c["dpdk"]["ports"]]} if "dpdk" in c else None}


def frr_summary(L: lab.Lab, ns: str) -> dict:
    peers = L.frr_json(ns, "show bfd peers counters json")
    status = L.frr_json(ns, "show bfd peers json")
    return {"count": len(status), "up": sum(p["status"] == "up" for p in status),
            "downs": sum(p["session-down"] for p in peers)}


BIRD_DOWN = "changed state from Up to Down"


def bird_summary(inst: lab.BirdInstance) -> dict:
    """Sessions by state from `show bfd sessions`, and the Up -> Down transitions BIRD logged
    (`debug { events }` in its `protocol bfd`)."""
    states = lab.bird_bfd_sessions(inst.ctl)
    try:
        downs = inst.log.read_text(errors="replace").count(BIRD_DOWN)
    except OSError:
        downs = 0
    return {"count": len(states), "up": sum(v == "Up" for v in states.values()), "downs": downs}


def step(peer: str, backend: str, sessions: int, interval_ms: float, hold_s: int,
         realtime_priority: int = 0, link_kind: str = "veth") -> dict:
    try:
        return run_step(peer, backend, sessions, interval_ms, hold_s, realtime_priority,
                        link_kind)
    except (lab.LabError, lab.WaitTimeout) as e:  # a step that breaks the lab is a failed step
        return {"peer": peer, "backend": backend, "sessions": sessions,
                "interval_ms": interval_ms, "ok": False, "error": str(e)[-500:]}


def run_step(peer: str, backend: str, sessions: int, interval_ms: float, hold_s: int,
             realtime_priority: int, link_kind: str = "veth") -> dict:
    us = int(round(interval_ms * 1000))
    profile = [{"name": "p", "desired_min_tx_us": us, "required_min_rx_us": us,
                "detect_mult": 3}]
    result = {"peer": peer, "backend": backend, "sessions": sessions, "interval_ms": interval_ms,
              "ok": False}
    extra = {"realtime_priority": realtime_priority}
    with lab.Lab() as L:
        ns_a, ns_b = L.ns("a"), L.ns("b")
        link = L.link(ns_a, ns_b, v4=False, v6=False)
        strobe_mod.BACKEND = backend
        if peer == "strobe":
            k = math.ceil(math.sqrt(sessions))
            a_addrs, b_addrs = addresses(0, k), addresses(128, k)
            pairs = [(a, b) for a in a_addrs for b in b_addrs][:sessions]
        else:
            a_addrs, b_addrs = addresses(0, sessions), ["198.19.255.254"]
            pairs = [(a, b_addrs[0]) for a in a_addrs]
        memif = link_kind == "memif"
        if_a, if_b = ("pa0", "pb0") if memif else (link.if_a, link.if_b)
        ports_a = ports_b = None
        if memif:  # the dataplanes make the link: a memif pair, a TAP on each side
            sock = str(L.run_dir / "memif.sock")
            ports_a = [{"interface": if_a, "exception": "tap",
                        "devargs": f"net_memif0,role=server,socket={sock},socket-abstract=no,rsize=12"}]
            ports_b = [{"interface": if_b, "exception": "tap",
                        "devargs": f"net_memif0,role=client,socket={sock},socket-abstract=no,rsize=12"}]
        else:
            add_addresses(L, ns_a, link.if_a, a_addrs)
            add_addresses(L, ns_b, link.if_b, b_addrs)
        t_start = time.monotonic()
        side_a = Strobe(L, ns_a, profile, [
            {"peer": b, "local": a, "interface": if_a, "profile": "p"} for a, b in pairs],
            workers=[0], name="a", dataplane=extra, dpdk_ports=ports_a)
        if peer == "strobe":
            side_b = Strobe(L, ns_b, profile, [
                {"peer": a, "local": b, "interface": if_b, "profile": "p"}
                for a, b in pairs], workers=[1], name="b", dataplane=extra, dpdk_ports=ports_b)
            if memif:
                add_addresses(L, ns_a, if_a, a_addrs)
                add_addresses(L, ns_b, if_b, b_addrs)

            def b_summary() -> dict:
                return summary(side_b)
        elif peer == "bird":
            conf = [f"router id {b_addrs[0]};", "protocol device {}", "protocol bfd {",
                    "  debug { events };",
                    f'  interface "{link.if_b}" {{ interval {us} us; multiplier 3; }};']
            conf += [f'  neighbor {a} dev "{link.if_b}" local {b};' for a, b in pairs]
            conf.append("}")
            bird = L.start_bird(ns_b, "\n".join(conf) + "\n", timeout_s=120)
            lab.run(["taskset", "-a", "-p", "-c", "1", str(bird.proc.pid)])

            def b_summary() -> dict:
                return bird_summary(bird)
        else:
            conf = ["bfd", " profile p", f"  transmit-interval {max(10, us // 1000)}",
                    f"  receive-interval {max(10, us // 1000)}", "  detect-multiplier 3", " !"]
            for a, b in pairs:
                conf += [f" peer {a} local-address {b} interface {link.if_b}", "  profile p",
                         " !"]
            inst = L.start_frr(ns_b, "\n".join(conf) + "\n", timeout_s=120)
            for p in inst.procs.values():
                lab.run(["taskset", "-a", "-p", "-c", "1", str(p.pid)])

            def b_summary() -> dict:
                return frr_summary(L, ns_b)
        try:
            lab.wait_until(lambda: (s := summary(side_a))["up"] == sessions and
                           s["polling"] == 0, 180,
                           what=f"{sessions} sessions Up at {interval_ms} ms", interval_s=1.0)
            lab.wait_until(lambda: b_summary()["up"] == sessions, 60,
                           what="the peer's sessions Up", interval_s=1.0)
        except lab.WaitTimeout as e:
            result["error"] = f"bring-up: {e}"
            return result
        result["bring_up_s"] = round(time.monotonic() - t_start, 1)
        a0, b0, c0 = summary(side_a), b_summary(), cpu_times()
        wa0 = worker_work(side_a)
        wb0 = worker_work(side_b) if peer == "strobe" else None
        time.sleep(hold_s)  # the hold itself is the measurement
        a1, b1, c1 = summary(side_a), b_summary(), cpu_times()
        result["a_work"] = per_packet(wa0, worker_work(side_a))
        if wb0 is not None:
            result["b_work"] = per_packet(wb0, worker_work(side_b))
        result["core_busy_pct"] = {c: round(100.0 * (c1[c][0] - c0[c][0]) /
                                            max(1, c1[c][1] - c0[c][1]), 1) for c in c1}
        result.update({
            "a_false_downs": a1["downs"] - a0["downs"], "b_false_downs": b1["downs"] - b0["downs"],
            "a_up_at_end": a1["up"], "b_up_at_end": b1["up"], "a_af_xdp": a1["af_xdp"]})
        result["a_diag"] = diagnostics(side_a)
        result["a_tx_lateness_us"] = timer_precision(side_a)
        for ns, ifn in () if memif else ((ns_a, link.if_a), (ns_b, link.if_b)):
            stats = L.exec(ns, ["ethtool", "-S", ifn], check=False).stdout
            result[f"ethtool_{ifn}"] = {k.strip(): int(v) for k, v in
                                        (line.split(":") for line in stats.splitlines()[1:]
                                         if ":" in line) if v.strip().isdigit() and int(v)}
        if peer == "strobe":
            result["b_diag"] = diagnostics(side_b)
            result["b_tx_lateness_us"] = timer_precision(side_b)
        result["ok"] = (result["a_false_downs"] == 0 and result["b_false_downs"] == 0 and
                        a1["up"] == sessions and b1["up"] == sessions)
        return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", choices=["strobe", "frr", "bird"], default="strobe")
    ap.add_argument("--backend", choices=["xdp", "socket", "dpdk"], default="xdp")
    ap.add_argument("--link", choices=["veth", "memif"], default="veth",
                    help="dpdk only: net_af_packet on the veth, or a net_memif pair")
    ap.add_argument("--idle-sleep-us", type=int, default=None,
                    help="dpdk only: [dataplane.dpdk] idle_sleep_us (0: busy polling)")
    ap.add_argument("--intervals", default="50,10,3.3")
    ap.add_argument("--ladder", default="1000,2000,5000,10000")
    ap.add_argument("--hold-s", type=int, default=60)
    ap.add_argument("--realtime-priority", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also append one JSON object per step to FILE")
    a = ap.parse_args()
    lab.require_root_tools(bird=a.peer == "bird", tshark=False, frr=a.peer == "frr")
    if a.idle_sleep_us is not None:
        os.environ["STROBE_DPDK_IDLE_SLEEP_US"] = str(a.idle_sleep_us)
    if a.link == "memif" and (a.backend != "dpdk" or a.peer != "strobe"):
        ap.error("--link memif needs --backend dpdk --peer strobe")
    print(f"scale ladder: strobe ({a.backend} over {a.link}, core 0, realtime priority "
          f"{a.realtime_priority}) "
          f"<-> {a.peer} (core 1), hold {a.hold_s} s, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    best: dict[float, int] = {}
    first_fail: dict[float, int] = {}
    for interval in [float(x) for x in a.intervals.split(",")]:
        for n in [int(x) for x in a.ladder.split(",")]:
            started = datetime.datetime.now(datetime.timezone.utc)
            t0 = time.monotonic()
            r = step(a.peer, a.backend, n, interval, a.hold_s, a.realtime_priority, a.link)
            print(r, flush=True)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(json.dumps({
                        "bench": "bfd_scale", "link": a.link, "hold_s": a.hold_s,
                        "realtime_priority": a.realtime_priority,
                        "idle_sleep_us": a.idle_sleep_us,
                        "date": started.isoformat(timespec="seconds"),
                        "duration_s": round(time.monotonic() - t0, 1),
                        "loadavg": os.getloadavg()[0], **r}) + "\n")
            if not r["ok"]:
                first_fail[interval] = n
                break
            best[interval] = n
    print(f"\n| interval x3 | held {a.hold_s} s, zero false Down | first failing step |")
    print("|---|---|---|")
    for interval in [float(x) for x in a.intervals.split(",")]:
        print(f"| {interval:g} ms | {best.get(interval, 0)} | {first_fail.get(interval, '-')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
