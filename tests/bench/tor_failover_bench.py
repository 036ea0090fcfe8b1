#!/usr/bin/env python3
"""Top-of-rack failover, Strobe edge vs FRR edge: from the moment one node goes silent to the
moment the edge's kernel stops routing the VIPs to it.

The scenario is tests/integration/fib_tor_test.py's (imported from there): an `edge` namespace
and four node namespaces n1..n4 on one veth each; every node runs FRR (zebra + bgpd + bfdd, AS
64601..64604) and announces the same VIPs (198.19.100.1 and up, --vips of them, `network`
statements) to the edge over eBGP with BFD at 10 ms x 3. The edge is, in turn:

  strobe  strobe-dataplane (backend $STROBE_BACKEND, default socket; one worker) + strobe-bgpd
          (max_paths 16, multipath relax, [fib] nexthop objects, protocol 200), BFD profile
          10000 us x 3;
  frr     FRR zebra + bgpd + bfdd (`bgp bestpath as-path multipath-relax`, `maximum-paths 16`,
          every neighbor `bfd profile` 10 ms x 3), zebra installing into the kernel as it does by
          default (here: nexthop groups of its own, routes moved to a new group one by one).

Cores: every edge process (dataplane worker, strobe-bgpd; or zebra, bgpd, bfdd) on core 1
(`taskset -a -p`, the dataplane's worker by `workers = [1]`); the nodes' FRR daemons, the netlink
observer and this script on core 0. Nothing runs SCHED_FIFO.

One run: wait until everything is settled (every VIP routed over the four nodes in the edge's
kernel, every BFD session Up at 10 ms on both ends with its poll sequence over, every BGP
session established with all VIPs received), silence one node's egress (a tc clsact drop; the
qdisc goes in beforehand, the timed command is the `tc filter replace`; t0 is taken right after it
returns), and read the kernel's answer from nl_monitor.py running in the edge namespace (every
RTM_NEWNEXTHOP/DELNEXTHOP and RTM_NEWROUTE/DELROUTE in 198.19.100.0/22, stamped with
CLOCK_MONOTONIC when read): for each VIP, the first notification after which its route no longer
uses the silent node (and still has a gateway). Reported per run: silence -> first VIP off the
node, silence -> LAST VIP off the node (the failover: traffic to every VIP has left the node),
silence -> BFD Down in the edge (its log line: the dataplane's, with microseconds; FRR's with
`log timestamp precision 6`, `debug bfd peer`), BFD Down -> last VIP, and for Strobe its own
`event_to_ack_us` (`show fib`). Then the node comes back and the next run silences the next node
(n1, n2, n3, n4, n1, ...). A run in which the edge logged any other Up -> Down than the silenced
node's by detection timeout (a node's bfdd at 10 ms declaring the session down on its own, which
happens on a loaded 2-core machine) measures something else: it is reported as discarded, with
the reason, and repeated.

Usage (root; see docs/benchmarks.md):
  tests/bench/tor_failover_bench.py [--runs 20] [--vips 1,1000] [--edges strobe,frr] [--json]
Prints one line per run, then a markdown table; with --json, one JSON document on stdout (the
table and the progress go to stderr). STROBE_DATAPLANE, STROBE_BGPD, STROBECTL select the
binaries (default build/).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
import lab  # noqa: E402
import nl_monitor  # noqa: E402
import strobe as strobe_mod  # noqa: E402
import fib_tor_test as tor  # noqa: E402

EDGE_CORE, NODE_CORE = 1, 0
OUT = sys.stdout


def say(*a) -> None:
    print(*a, file=OUT, flush=True)


def pin(pid: int, core: int) -> None:
    """Every thread of pid (and those it makes later) on `core`."""
    lab.run(["taskset", "-a", "-p", "-c", str(core), str(pid)])


# --------------------------------------------------------------------------------------------
# The two edges

class StrobeEdge:
    name = "strobe"

    def __init__(self, L: lab.Lab, ns: str, nodes: list[str], links: list[lab.Link],
                 vips: list[str]) -> None:
        self.L, self.ns, self.links, self.vips = L, ns, links, vips
        self.dataplane, self.bgpd = tor.start_strobe_edge(L, ns, links, workers=[EDGE_CORE])
        for p in (self.dataplane.proc, self.bgpd.proc):
            pin(p.pid, EDGE_CORE)
        self.failovers = 0
        self.log_off = 0

    def describe(self) -> str:
        return (f"strobe-dataplane ({strobe_mod.BACKEND} backend, worker on core {EDGE_CORE}) + "
                f"strobe-bgpd (core {EDGE_CORE})")

    def bfd_fast(self) -> bool:
        return tor.strobe_bfd_fast(self.dataplane, self.links)

    def bgp_ready(self) -> bool:
        peers = self.bgpd.summary()["peers"]
        if not all(peers.get(l.v4_b, {}).get("state") == "established"
                   and peers[l.v4_b]["pfx_rcd"] == len(self.vips) for l in self.links):
            return False
        s = self.bgpd.fib("summary")["summary"]
        return s["pending_ops"] == 0 and s["installed"] == len(self.vips) and s["groups"] == 1

    def before(self) -> None:
        self.failovers = self.bgpd.fib("summary")["counters"]["failovers"]
        self.log_off = self.dataplane.log.stat().st_size

    def downs(self) -> list[dict]:
        return tor.strobe_downs(self.dataplane.log, self.log_off)

    def extra(self, dead: str) -> dict:
        def done():
            fs = self.bgpd.fib("summary")
            lf = fs["last_failover"]
            return lf if fs["counters"]["failovers"] > self.failovers and lf else None
        lf = lab.wait_until(done, 5, what="show fib last_failover")
        s = self.dataplane.session(dead)
        return {"event_to_ack_us": lf["event_to_ack_us"], "failover_groups": lf["groups"],
                "detection_latency_us": s["last_detection_latency_us"],
                "event_ns": lf.get("event_ns"), "acked_ns": lf.get("acked_ns")}


_FRR_DOWN = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) BFD: .*state-change: "
                       r"\[mhop:no peer:(\S+) .*\] up -> down reason:(\S+)")


class FrrEdge:
    name = "frr"

    def __init__(self, L: lab.Lab, ns: str, nodes: list[str], links: list[lab.Link],
                 vips: list[str]) -> None:
        self.L, self.ns, self.links, self.vips = L, ns, links, vips
        self.log = L.run_dir / "frr" / ns / "frr-all.log"
        nbrs = "".join(
            f" neighbor {l.v4_b} remote-as {tor.NODE_AS + i}\n"
            f" neighbor {l.v4_b} timers connect 1\n"
            f" neighbor {l.v4_b} bfd\n neighbor {l.v4_b} bfd profile fast\n"
            for i, l in enumerate(links))
        config = (f"log timestamp precision 6\nlog file {self.log} debugging\n"
                  "debug bfd peer\n" + tor.bfd_profile_frr()
                  + f"router bgp {tor.LOCAL_AS}\n bgp router-id 198.18.0.1\n"
                  " no bgp ebgp-requires-policy\n bgp bestpath as-path multipath-relax\n"
                  + nbrs + " address-family ipv4 unicast\n  maximum-paths 16\n"
                  " exit-address-family\n")
        self.inst = L.start_frr(ns, config, daemons=("zebra", "bfdd", "bgpd"))
        for p in self.inst.procs.values():
            pin(p.pid, EDGE_CORE)
        self.log_off = 0

    def describe(self) -> str:
        return f"FRR 8.4 zebra + bgpd + bfdd (all on core {EDGE_CORE})"

    def bfd_fast(self) -> bool:
        peers = strobe_mod.frr_peers(self.L, self.ns)
        for l in self.links:
            p = peers.get(l.v4_b)
            if (not p or p.get("status") != "up"
                    or any(p.get(k) != tor.INTERVAL_MS for k in (
                        "receive-interval", "transmit-interval", "remote-receive-interval",
                        "remote-transmit-interval"))
                    or p.get("remote-detect-multiplier") != tor.MULT):
                return False
        return True

    def bgp_ready(self) -> bool:
        s = self.L.frr_json(self.ns, "show bgp ipv4 unicast summary json")
        peers = s.get("ipv4Unicast", s).get("peers", {})
        return all(peers.get(l.v4_b, {}).get("state") == "Established"
                   and peers[l.v4_b].get("pfxRcd") == len(self.vips) for l in self.links)

    def before(self) -> None:
        self.log_off = self.log.stat().st_size if self.log.exists() else 0

    def downs(self) -> list[dict]:
        """bfdd's `state-change: [... peer:P ...] up -> down reason:R` lines (local time)."""
        with open(self.log, "rb") as fh:
            fh.seek(self.log_off)
            text = fh.read().decode(errors="replace")
        out = []
        for line in text.splitlines():
            m = _FRR_DOWN.match(line)
            if m:
                dt = datetime.datetime.strptime(m.group(1), "%Y/%m/%d %H:%M:%S.%f")
                out.append({"peer": m.group(2),
                            "reason": tor.DETECTED if m.group(3) == "control-expired"
                            else m.group(3),
                            "wall_ns": int(dt.timestamp() * 1e6) * 1000})
        return out

    def extra(self, dead: str) -> dict:
        return {}


EDGES = {"strobe": StrobeEdge, "frr": FrrEdge}


# --------------------------------------------------------------------------------------------

def p90(xs: list[float]) -> float:
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def stats(xs: list[float | None]) -> dict | None:
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"n": len(xs), "median": statistics.median(xs), "p90": p90(xs), "min": min(xs),
            "max": max(xs)}


def run_case(kind: str, nvips: int, runs: int) -> dict:
    vips = tor.vip_list(nvips)
    samples: list[dict] = []
    with lab.Lab() as L:
        edge = L.ns("edge")
        mon = nl_monitor.NlMonitor(L, edge, routes=True, route_prefix=tor.VIP_RANGE,
                                   cpu=NODE_CORE)
        t_setup = time.monotonic()
        nodes, links = tor.start_nodes(L, edge, vips)
        e = EDGES[kind](L, edge, nodes, links, vips)
        gateways = {l.v4_b for l in links}

        def settled() -> bool:
            return (e.bfd_fast() and tor.nodes_bfd_fast(L, nodes, links) and e.bgp_ready()
                    and tor.all_vips_on(mon, vips, gateways))
        lab.wait_until(settled, 180, interval_s=0.2,
                       what=f"{kind} edge: {nvips} VIPs over 4 nodes, BFD at 10 ms")
        say(f"# {kind} edge, {nvips} VIPs: {e.describe()}; settled in "
            f"{time.monotonic() - t_setup:.1f} s; load average {os.getloadavg()[0]:.2f}")
        discarded: list[dict] = []
        attempt = 0
        while len(samples) < runs:
            r, k = len(samples), attempt % len(nodes)
            attempt += 1
            node, link, dead = nodes[k], links[k], links[k].v4_b
            lab.wait_until(settled, 120, interval_s=0.1,
                           what=f"{kind}/{nvips} run {r + 1}: all settled")
            e.before()
            watch = tor.FailoverWatch(mon, vips, dead)
            wall_off = time.time_ns() - time.monotonic_ns()
            t_before, t0 = tor.silence_timed(L, node, link.if_b)

            def kernel_or_disturbed():
                if any(g != gateways for g in watch.at_mark.values()):
                    return "disturbed"
                return watch.update().last
            lab.wait_until(kernel_or_disturbed, 20, interval_s=0.005,
                           what=f"{kind}/{nvips} run {r + 1}: every VIP off {dead}")
            downs = lab.wait_until(
                lambda: (d := e.downs()) and tor.first_down(d, dead) and d, 5,
                what=f"the edge's BFD Down log line for {dead}")
            why = tor.run_disturbed(watch, gateways, downs, dead)
            if why is not None:
                discarded.append({"run": r + 1, "node": f"n{k + 1}", "why": why})
                say(f"{kind:6} {nvips:5} VIPs run {r + 1:2} n{k + 1}: DISCARDED, not counted: "
                    f"{why}")
                if len(discarded) > max(3, runs // 2):
                    raise lab.LabError(f"too many disturbed runs: {discarded}")
                L.unsilence(node, link.if_b)
                continue
            t_down = tor.first_down(downs, dead)["wall_ns"] - wall_off
            extra = e.extra(dead)
            event_ns, acked_ns = extra.pop("event_ns", None), extra.pop("acked_ns", None)
            down_source = "log"
            if event_ns:
                # Strobe: the dataplane's own CLOCK_MONOTONIC stamp of the Down (show fib
                # last_failover.event_ns) rather than its log line's wall clock.
                t_down, down_source = event_ns, "event_ns"
            if acked_ns:
                extra["acked_ms"] = (acked_ns - t0) / 1e6
            clean = all(h["gateways"] == gateways - {dead} for h in watch.how.values())
            s = {"edge": kind, "vips": nvips, "run": r + 1, "node": f"n{k + 1}", "dead": dead,
                 "tc_ms": (t0 - t_before) / 1e6,
                 "first_ms": (watch.first - t0) / 1e6,
                 "last_ms": (watch.last - t0) / 1e6,
                 "last_from_before_ms": (watch.last - t_before) / 1e6,
                 "silence_to_down_ms": (t_down - t0) / 1e6,
                 "down_to_last_ms": (watch.last - t_down) / 1e6,
                 "nh_events": len(watch.nh_events), "route_events": len(watch.route_events),
                 "down_source": down_source, "others_intact": clean, **extra}
            samples.append(s)
            say(f"{kind:6} {nvips:5} VIPs run {r + 1:2} {s['node']}: silence -> kernel "
                f"first {s['first_ms']:7.2f} ms, last {s['last_ms']:7.2f} ms "
                f"(BFD Down {s['silence_to_down_ms']:6.2f}, Down -> last "
                f"{s['down_to_last_ms']:6.2f}; tc {s['tc_ms']:.2f}; {s['nh_events']} nexthop "
                f"and {s['route_events']} route notifications"
                + (f"; event_to_ack {extra['event_to_ack_us'] / 1000:.3f} ms"
                   if "event_to_ack_us" in extra else "")
                + ("" if clean else "; ANOTHER NODE LEFT TOO") + ")")
            L.unsilence(node, link.if_b)
        lab.wait_until(settled, 120, interval_s=0.1, what="the last node back")
        overruns = mon.overruns()
    out = {"edge": kind, "vips": nvips, "runs": runs, "overruns": overruns,
           "discarded": discarded,
           "loadavg_1m_end": os.getloadavg()[0], "samples": samples}
    for key in ("first_ms", "last_ms", "last_from_before_ms", "silence_to_down_ms",
                "down_to_last_ms", "tc_ms"):
        out[key] = stats([s[key] for s in samples])
    if kind == "strobe":
        out["event_to_ack_ms"] = stats([s["event_to_ack_us"] / 1000 for s in samples])
    return out


def fmt(st: dict | None, key: str = "median") -> str:
    return "-" if st is None else f"{st[key]:.1f}"


def table(cases: list[dict]) -> str:
    lines = ["| edge | VIPs | runs | silence -> kernel, last VIP: median | p90 | max | "
             "first VIP: median | silence -> BFD Down: median | BFD Down -> last VIP: median |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cases:
        lines.append(f"| {c['edge']} | {c['vips']:,} | {c['runs']} | "
                     f"{fmt(c['last_ms'])} ms | {fmt(c['last_ms'], 'p90')} ms | "
                     f"{fmt(c['last_ms'], 'max')} ms | {fmt(c['first_ms'])} ms | "
                     f"{fmt(c['silence_to_down_ms'])} ms | {fmt(c['down_to_last_ms'])} ms |")
    by = {(c["edge"], c["vips"]): c for c in cases}
    for n in sorted({c["vips"] for c in cases}):
        s, f = by.get(("strobe", n)), by.get(("frr", n))
        if s and f and s["last_ms"] and f["last_ms"]:
            lines.append("")
            lines.append(
                f"{n:,} VIPs: FRR / Strobe, silence -> kernel (last VIP): median "
                f"{f['last_ms']['median'] / s['last_ms']['median']:.1f}x, p90 "
                f"{f['last_ms']['p90'] / s['last_ms']['p90']:.1f}x; after BFD Down: median "
                f"{f['down_to_last_ms']['median'] / s['down_to_last_ms']['median']:.0f}x")
    for c in cases:
        if c["discarded"]:
            lines.append(f"\n{c['edge']}, {c['vips']:,} VIPs: {len(c['discarded'])} run(s) "
                         "discarded and repeated: "
                         + "; ".join(f"{d['node']}: {d['why']}" for d in c["discarded"]))
    for c in cases:
        if "event_to_ack_ms" in c and c["event_to_ack_ms"]:
            st = c["event_to_ack_ms"]
            lines.append(f"\nStrobe, {c['vips']:,} VIPs: event_to_ack (BFD Down in the dataplane "
                         f"-> kernel ack) median {st['median']:.3f} ms, p90 {st['p90']:.3f} ms, "
                         f"max {st['max']:.3f} ms")
    return "\n".join(lines)


def main() -> int:
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="failovers per case (default 20)")
    ap.add_argument("--vips", default="1,1000",
                    help="comma-separated VIP counts, one case each (default 1,1000; max 1023)")
    ap.add_argument("--edges", default="strobe,frr", help="strobe,frr (default both)")
    ap.add_argument("--json", action="store_true",
                    help="print one JSON document on stdout (progress and table on stderr)")
    args = ap.parse_args()
    if args.json:
        OUT = sys.stderr
    edges = [x for x in args.edges.split(",") if x]
    if any(x not in EDGES for x in edges):
        ap.error(f"--edges: choose from {', '.join(EDGES)}")
    vip_counts = [int(x) for x in args.vips.split(",") if x]
    for n in vip_counts:
        tor.vip_list(n)                      # validates
    lab.require_root_tools(bird=False, tshark=False)
    if lab._tool("taskset") is None:
        raise lab.LabError("required tool 'taskset' not found")
    os.sched_setaffinity(0, {NODE_CORE})    # this script, and everything it starts, on core 0
    started = datetime.datetime.now(datetime.timezone.utc)
    frr_version = lab.run(["dpkg-query", "-W", "-f", "${Version}", "frr"], check=False).stdout
    say(f"# {started:%Y-%m-%d %H:%M} UTC; kernel {platform.release()}; {os.cpu_count()} cores; "
        f"FRR {frr_version}; load average {os.getloadavg()[0]:.2f}; "
        f"strobe backend {strobe_mod.BACKEND}")
    cases = []
    for n in vip_counts:
        for kind in edges:
            cases.append(run_case(kind, n, args.runs))
    say("")
    say(table(cases))
    if args.json:
        print(json.dumps({"date": started.isoformat(), "command": shlex.join(sys.argv),
                          "kernel": platform.release(), "cores": os.cpu_count(),
                          "frr": frr_version, "strobe_backend": strobe_mod.BACKEND,
                          "cases": cases}, indent=1))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        print(f"FAIL: {e.cmd}: {e.stderr}", file=sys.stderr)
        sys.exit(1)
