#!/usr/bin/env python3
"""CPU time, wall time and peak memory to receive and select N IPv4 prefixes from one or four
eBGP peers: strobe-bgpd against BIRD and FRR bgpd taking the same feed in the same run.

Each receiver runs in a fresh Lab: a receiver namespace and one feeder namespace per peer, joined
by one veth each (198.18.n.1 feeder, 198.18.n.2 receiver). Every feeder is a BIRD with a generated
`protocol static` of N routes (/32s from 10.0.0.0/8 by default) and one eBGP session to the
receiver, started `disabled`; feeders run on core 0, the receiver's process(es) on core 1
(`taskset -a -p`), and this script (and the short-lived birdc/vtysh/strobectl it runs) on core 0.
With four peers each feeder announces the same N prefixes (AS 65001..65004): the receiver holds
4 paths per prefix, all equal in length, selected as one 4-way multipath set where the receiver
computes one (strobe-bgpd: max_paths 16, multipath_relax; FRR: maximum-paths 16,
bestpath as-path multipath-relax; BIRD keeps every route and selects one best, and only merges
ECMP sets when exporting to a kernel protocol, which it has none of here).

Attributes: `identical` gives every route the same attributes (the feeder packs the prefixes into
full UPDATEs); `varied` gives route i the attribute set j = i mod S (S = --attr-sets, default N/4):
an AS_PATH of 1 to 3 prepended 4-octet ASNs and one or two communities, the first unique to j, so
there are S distinct attribute sets per peer and about N/S prefixes per UPDATE.

No receiver exports anything (strobe-bgpd: an export policy rejecting everything; FRR: its default
`bgp ebgp-requires-policy` with no outbound route-map; BIRD: `export none`), none installs into the
kernel (strobe-bgpd with `[fib] enabled = false`; FRR's bgpd runs with `-n`, no kernel install, zebra
running for next-hop tracking, reported apart; BIRD has no kernel protocol), and none listens for
anything but the feeders (passive sessions: the feeders connect once enabled).

Measured, per receiver process: CPU seconds (user + system, /proc/PID/stat) from just before the
feeders are enabled until the process is quiet again (no more than 0.02 s of CPU over --quiet-s
seconds), wall seconds from the first feeder session Established to every prefix of every peer
counted in the receiver (`all in`) and to the last CPU activity (`settled`), and peak memory:
VmHWM (/proc/PID/status, reset to the current RSS just before the feeders are enabled, by writing
5 to /proc/PID/clear_refs) minus the RSS then, per prefix and per path (peers x prefixes).
Counting polls the receiver every --poll-s seconds (strobectl show bgp summary --json pfx_rcd and
rib_count; birdc show protocols all, "Routes: N imported"; vtysh show bgp ipv4 unicast summary
json, pfxRcd); the receiver's own share of answering them is included in its CPU. The feeders are
polled as well (their export counts give `fed`, when every route had been handed to the session:
the floor the feeders set), which also keeps BIRD from holding back its last partial export
batch until its main loop next wakes up (up to 3 s).

Usage (root; see docs/benchmarks.md):
  tests/bench/bgp_rib_bench.py [--prefixes N] [--peers 1|4] [--attrs identical|varied]
                               [--receivers strobe,bird,frr] [--repeat K]
Prints one JSON object per run on stdout (lines starting with '{') and a markdown table at the
end. Receivers alternate within each repeat so that load from elsewhere spreads over all of them.
STROBE_BGPD and STROBECTL select the binaries (default build/).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
RX_AS = 64512
FEED_AS = 65001              # feeder k (0-based) is AS 65001 + k
RX_ROUTER_ID = "198.19.255.254"
FEEDER_CORE, RECEIVER_CORE = 0, 1
PATH_ASN_BASE = 4200000000   # private 4-octet ASNs for the varied AS_PATHs


# --------------------------------------------------------------------------
# /proc

def proc_cpu_s(pid: int) -> float:
    """User + system seconds of the whole process (every thread, live and exited)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def proc_mem(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0]) * 1024
    return out


def reset_hwm(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    """pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def pin(pid: int, core: int) -> None:
    """Every thread of `pid` (and those it creates later) onto `core`."""
    lab.run(["taskset", "-a", "-p", "-c", str(core), str(pid)])


def machine_busy_s() -> float:
    """Busy seconds of all CPUs together (/proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:]))
    return (sum(v[:8]) - v[3] - v[4]) / HZ


def loadavg() -> str:
    return open("/proc/loadavg").read().split(" ")[0]


# --------------------------------------------------------------------------
# the feed

def prefix_list(n: int, plen: int) -> list[str]:
    """n distinct IPv4 prefixes of length plen: from 10.0.0.0/8, then 100.64.0.0/10."""
    out: list[str] = []
    for base, blen in ((10 << 24, 8), ((100 << 24) | (64 << 16), 10)):
        if plen < blen:
            continue
        room = 1 << (plen - blen)
        for i in range(min(room, n - len(out))):
            a = base | (i << (32 - plen))
            out.append(f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{plen}")
        if len(out) == n:
            return out
    raise SystemExit(f"--prefixes {n} does not fit in 10.0.0.0/8 + 100.64.0.0/10 as /{plen}s")


def varied_block(j: int) -> str:
    """Per-route BIRD filter commands for attribute set j: 1-3 prepends, 1-2 communities."""
    cmds = [f"bgp_path.prepend({PATH_ASN_BASE + (j * 7919 + k * 104729) % 1000000});"
            for k in range(1 + j % 3)]
    cmds.append(f"bgp_community.add(({65000 + (j >> 16)},{j & 0xffff}));")
    if j % 2 == 0:
        cmds.append(f"bgp_community.add((64999,{j % 1000}));")
    return " ".join(cmds)


def write_routes(path: Path, prefixes: list[str], attrs: str, attr_sets: int) -> None:
    """The body of the feeders' `protocol static` (included from each feeder's config)."""
    with open(path, "w") as f:
        w = f.write
        if attrs == "identical":
            for p in prefixes:
                w(f"route {p} blackhole;\n")
        else:
            blocks = [varied_block(j) for j in range(attr_sets)]
            for i, p in enumerate(prefixes):
                w(f"route {p} blackhole {{ {blocks[i % attr_sets]} }};\n")


def feeder_config(k: int, link: lab.Link, routes: Path) -> str:
    return f"""router id {link.v4_a};
protocol device {{ }}
protocol static feed {{
  ipv4;
include "{routes}";
}}
protocol bgp up {{
  disabled;
  local {link.v4_a} as {FEED_AS + k};
  neighbor {link.v4_b} as {RX_AS};
  connect delay time 1;
  ipv4 {{ import none; export all; }};
}}
"""


def bird_protocols(inst: lab.BirdInstance) -> dict[str, dict]:
    """`birdc show protocols all`: name -> {state, info, imported, exported}."""
    out: dict[str, dict] = {}
    cur = None
    for line in inst.birdc("show protocols all").splitlines():
        parts = line.split()
        if line and not line[0].isspace() and len(parts) >= 4 and parts[0] != "Name":
            cur = parts[0]
            rest = parts[4:]
            if rest and re.fullmatch(r"\d{4}-\d\d-\d\d", rest[0]):
                rest = rest[1:]
            out[cur] = {"proto": parts[1], "state": parts[3], "info": " ".join(rest[1:]),
                        "imported": 0, "exported": 0}
            continue
        m = re.match(r"^\s+Routes:\s+(\d+) imported, (\d+) exported", line)
        if m and cur:
            out[cur]["imported"] += int(m.group(1))
            out[cur]["exported"] += int(m.group(2))
    return out


# --------------------------------------------------------------------------
# receivers

class Receiver:
    name = ""

    def __init__(self, L: lab.Lab, ns: str, links: list[lab.Link], n: int) -> None:
        self.L, self.ns, self.links, self.n = L, ns, links, n

    def pids(self) -> dict[str, int]:
        """The measured process first, then others reported apart."""
        raise NotImplementedError

    def counts(self) -> list[int]:
        """Prefixes counted per peer (in link order)."""
        raise NotImplementedError

    def sample(self, prefix: str) -> dict:
        """Paths and multipath members the receiver shows for `prefix` (after the measurement)."""
        raise NotImplementedError


class StrobeReceiver(Receiver):
    name = "strobe"

    def start(self) -> None:
        neighbors = [{"address": l.v4_a, "remote_as": FEED_AS + k, "passive": True,
                      "ipv6_unicast": False, "export": ["nothing"]}
                     for k, l in enumerate(self.links)]
        self.bgpd = strobe_mod.Bgpd(
            self.L, self.ns,
            {"asn": RX_AS, "router_id": RX_ROUTER_ID, "listen": ["0.0.0.0"], "max_paths": 16,
             "multipath_relax": True},
            neighbors=neighbors, policies=[{"name": "nothing", "default_action": "reject"}],
            fib={"enabled": False})  # the RIB alone, like the others (no kernel install)
        pin(self.bgpd.proc.pid, RECEIVER_CORE)

    def pids(self) -> dict[str, int]:
        return {"strobe-bgpd": self.bgpd.proc.pid}

    def counts(self) -> list[int]:
        s = self.bgpd.summary()
        self.rib_count = s["rib_count"]
        peers = s["peers"]
        return [peers.get(l.v4_a, {}).get("pfx_rcd", 0) for l in self.links]

    def complete(self, counts: list[int]) -> bool:
        return all(c >= self.n for c in counts) and self.rib_count >= self.n

    def sample(self, prefix: str) -> dict:
        r = self.bgpd.routes(prefix)
        paths = r[0]["paths"] if r else []
        return {"paths": len(paths), "best": sum(p["best"] for p in paths),
                "multipath": sum(p["multipath"] for p in paths)}


class BirdReceiver(Receiver):
    name = "bird"

    def start(self) -> None:
        conf = [f"router id {RX_ROUTER_ID};", "protocol device { }"]
        for k, l in enumerate(self.links):
            conf.append(f"""protocol bgp p{k + 1} {{
  local {l.v4_b} as {RX_AS};
  neighbor {l.v4_a} as {FEED_AS + k};
  passive on;
  ipv4 {{ import all; export none; }};
}}""")
        self.bird = self.L.start_bird(self.ns, "\n".join(conf) + "\n")
        pin(self.bird.proc.pid, RECEIVER_CORE)

    def pids(self) -> dict[str, int]:
        return {"bird": self.bird.proc.pid}

    def counts(self) -> list[int]:
        protos = bird_protocols(self.bird)
        return [protos.get(f"p{k + 1}", {}).get("imported", 0) for k in range(len(self.links))]

    def complete(self, counts: list[int]) -> bool:
        return all(c >= self.n for c in counts)

    def sample(self, prefix: str) -> dict:
        out = self.bird.birdc(f"show route {prefix}")
        routes = [ln for ln in out.splitlines() if "[p" in ln]
        return {"paths": len(routes), "best": sum(" * " in ln for ln in routes), "multipath": None}


class FrrReceiver(Receiver):
    name = "frr"
    fib = False    # bgpd -n unless --frr-fib

    def start(self) -> None:
        # zebra through the lab helper; bgpd by hand, as start_frr would, plus -n (no kernel).
        inst = self.L.start_frr(self.ns, "", daemons=("zebra",))
        d = inst.dir
        (d / "bgpd.conf").write_text("")
        argv = [str(lab.FRR_DIR / "bgpd"), "-N", self.ns, "-f", str(d / "empty.conf"),
                "-i", str(d / "bgpd.pid"), "-P", "0", "--log", f"file:{d / 'bgpd.log'}"]
        if not self.fib:
            argv.append("-n")
        proc = self.L.spawn(self.ns, argv, d / "bgpd.out", desc=f"bgpd@{self.ns}")
        inst.procs["bgpd"] = proc
        self.inst = inst

        def ready() -> bool:
            if proc.poll() is not None:
                raise lab.LabError(f"bgpd exited: {proc.returncode}")
            if not (lab.FRR_RUN_DIR / self.ns / "bgpd.vty").exists():
                return False
            lab.frr_vtysh(self.ns, "show version", daemon="bgpd", timeout=5)
            return True
        lab.wait_until(ready, 15, what="FRR bgpd to answer vtysh")
        # The route-map first: one a neighbor names before it exists denies everything until
        # FRR's route-map delay timer (5 s) re-applies it.
        cfg = ["route-map ALL permit 10", "exit",
               f"router bgp {RX_AS}", f" bgp router-id {RX_ROUTER_ID}",
               " no bgp default ipv4-unicast", " bgp bestpath as-path multipath-relax"]
        for k, l in enumerate(self.links):
            cfg += [f" neighbor {l.v4_a} remote-as {FEED_AS + k}", f" neighbor {l.v4_a} passive"]
        cfg += [" address-family ipv4 unicast", "  maximum-paths 16"]
        for l in self.links:
            cfg += [f"  neighbor {l.v4_a} activate", f"  neighbor {l.v4_a} route-map ALL in"]
        cfg += [" exit-address-family", "exit"]
        lab.frr_configure(self.ns, cfg)
        for p in inst.procs.values():
            pin(p.pid, RECEIVER_CORE)

    def pids(self) -> dict[str, int]:
        return {"bgpd": self.inst.procs["bgpd"].pid, "zebra": self.inst.procs["zebra"].pid}

    def counts(self) -> list[int]:
        j = lab.frr_json(self.ns, "show bgp ipv4 unicast summary json", daemon="bgpd")
        peers = j.get("peers", {})
        return [peers.get(l.v4_a, {}).get("pfxRcd", 0) for l in self.links]

    def complete(self, counts: list[int]) -> bool:
        return all(c >= self.n for c in counts)

    def sample(self, prefix: str) -> dict:
        j = lab.frr_json(self.ns, f"show bgp ipv4 unicast {prefix} json", daemon="bgpd")
        paths = j.get("paths", [])
        zebra = lab.frr_json(self.ns, "show ip route summary json", daemon="zebra")
        return {"paths": len(paths),
                "best": sum(bool(p.get("bestpath", {}).get("overall")) for p in paths),
                "multipath": sum(bool(p.get("multipath")) for p in paths),
                "zebra_routes_total": zebra.get("routesTotal")}


RECEIVERS = {"strobe": StrobeReceiver, "bird": BirdReceiver, "frr": FrrReceiver}


# --------------------------------------------------------------------------
# one run

def one_run(kind: str, args: argparse.Namespace, prefixes: list[str]) -> dict:
    n, peers = args.prefixes, args.peers
    res: dict = {"receiver": kind, "prefixes": n, "peers": peers, "attrs": args.attrs,
                 "attr_sets": args.attr_sets if args.attrs == "varied" else 1,
                 "prefix_len": args.prefix_len,
                 "start_utc": datetime.datetime.now(datetime.timezone.utc).strftime(
                     "%Y-%m-%d %H:%M:%S"),
                 "loadavg_start": loadavg()}
    with lab.Lab() as L:
        rx = L.ns("rx")
        feeds, links = [], []
        for k in range(peers):
            f = L.ns(f"feed{k + 1}")
            feeds.append(f)
            links.append(L.link(f, rx, v6=False))
        routes = L.run_dir / "routes.conf"
        t = time.monotonic()
        write_routes(routes, prefixes, args.attrs, args.attr_sets)
        res["feed_generate_s"] = round(time.monotonic() - t, 2)

        t = time.monotonic()
        birds = []
        for k, (f, l) in enumerate(zip(feeds, links)):
            b = L.start_bird(f, feeder_config(k, l, routes), timeout_s=300)
            pin(b.proc.pid, FEEDER_CORE)
            birds.append(b)
        for b in birds:
            lab.wait_until(lambda b=b: bird_protocols(b).get("feed", {}).get("imported") == n,
                           300, interval_s=0.5, what="feeder to load its static routes")
        res["feed_start_s"] = round(time.monotonic() - t, 2)

        rcv: Receiver = RECEIVERS[kind](L, rx, links, n)
        if kind == "frr":
            rcv.fib = args.frr_fib
        rcv.start()
        time.sleep(args.idle_s)
        pids = rcv.pids()
        main_name, main_pid = next(iter(pids.items()))
        res["process"] = main_name
        base = {}
        for name, pid in pids.items():
            res["hwm_reset"] = reset_hwm(pid)      # False: the peak includes the start-up's
            base[name] = (proc_cpu_s(pid), proc_mem(pid))
        res["idle_rss_mb"] = round(base[main_name][1]["VmRSS"] / 2**20, 1)

        feeders_cpu0 = sum(proc_cpu_s(b.proc.pid) for b in birds)
        busy0 = machine_busy_s()
        t_enable = time.monotonic()
        for b in birds:
            b.birdc("enable up")

        def feeders() -> list[dict]:
            return [bird_protocols(b).get("up", {}) for b in birds]

        def established(fs: list[dict]) -> list[bool]:
            return [f.get("info", "").startswith("Established") for f in fs]
        lab.wait_until(lambda: any(established(feeders())), 60, interval_s=0.02,
                       what="a feeder session Established")
        t_est = time.monotonic()
        res["connect_s"] = round(t_est - t_enable, 2)

        deadline = t_est + args.timeout_s
        counts: list[int] = [0] * peers
        t_all_est = t_fed = None
        while True:
            # The feeders are asked every time too: BIRD 2.0.12 feeds an export in batches of
            # 256 routes and leaves the last partial batch until its main loop next wakes up,
            # up to 3 s later when nothing else happens; a birdc connection wakes it.
            fs = feeders()
            now = time.monotonic()
            if t_all_est is None and all(established(fs)):
                t_all_est = now
            if t_fed is None and all(f.get("exported", 0) >= n for f in fs):
                t_fed = now
            try:
                counts = rcv.counts()
                if rcv.complete(counts):
                    break
            except (lab.LabError, subprocess.SubprocessError, ValueError, KeyError):
                pass
            for name, pid in pids.items():
                if not alive(pid):
                    raise lab.LabError(f"{kind}: {name} died during the feed")
            if now > deadline:
                break
            time.sleep(args.poll_s)
        t_all = time.monotonic()
        res["complete"] = rcv.complete(counts)
        res["counted"] = counts
        res["all_in_s"] = round(t_all - t_est, 2)
        res["last_established_s"] = round((t_all_est or t_all) - t_est, 2)
        # When every feeder had handed every route to its session (BIRD's export count): what
        # the feeders allow at best.
        res["fed_s"] = round((t_fed or t_all) - t_est, 2)

        # Quiet: no more than 0.02 s of CPU in the measured process over quiet_s seconds.
        last_cpu = proc_cpu_s(main_pid)
        last_change = t_all
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            c = proc_cpu_s(main_pid)
            if c - last_cpu > 0.02:
                last_cpu, last_change = c, now
            if now - last_change >= args.quiet_s or now > deadline + 120:
                break
        res["settled_s"] = round(max(last_change, t_all) - t_est, 2)
        # For judging interference: CPU of both cores over the measurement, and the feeders' part.
        res["machine_busy_s"] = round(machine_busy_s() - busy0, 2)
        res["feeders_cpu_s"] = round(sum(proc_cpu_s(b.proc.pid) for b in birds) - feeders_cpu0, 2)
        for name, pid in pids.items():
            cpu0, mem0 = base[name]
            cpu = (last_cpu if name == main_name else proc_cpu_s(pid)) - cpu0
            mem = proc_mem(pid)
            peak = mem["VmHWM"] - mem0["VmRSS"]
            prefix = "" if name == main_name else f"{name}_"
            res[f"{prefix}cpu_s"] = round(cpu, 2)
            res[f"{prefix}peak_mb"] = round(peak / 2**20, 1)
            res[f"{prefix}end_mb"] = round((mem["VmRSS"] - mem0["VmRSS"]) / 2**20, 1)
            if name == main_name:
                res["bytes_per_prefix"] = round(peak / n)
                res["bytes_per_path"] = round(peak / (n * peers))
        res["loadavg_end"] = loadavg()
        try:
            res["sample"] = {"prefix": prefixes[n // 2], **rcv.sample(prefixes[n // 2])}
        except Exception as e:  # noqa: BLE001 - informative only
            res["sample"] = {"error": str(e)[:200]}
    return res


# --------------------------------------------------------------------------

def fmt_range(vals: list[float], nd: int = 2) -> str:
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    lo, hi = min(vals), max(vals)
    f = (lambda v: f"{v:,.{nd}f}") if nd else (lambda v: f"{v:,.0f}")
    return f(lo) if f(lo) == f(hi) else f"{f(lo)} - {f(hi)}"


def rest(r: dict) -> float:
    """Busy CPU of the machine over the measurement not accounted to the receiver or the
    feeders: this script's polls, softirqs, and whatever else ran (interference)."""
    return r["machine_busy_s"] - r["cpu_s"] - r.get("zebra_cpu_s", 0) - r["feeders_cpu_s"]


def table(results: list[dict]) -> str:
    lines = ["| receiver | run | load | fed (s) | all in (s) | settled (s) | CPU (s) | peak (MB) | "
             "bytes/prefix | bytes/path | feeders CPU (s) | rest (s) | complete |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for i, r in enumerate(results):
        extra = ""
        if "zebra_cpu_s" in r:
            extra = f" (zebra: {r['zebra_cpu_s']} s, {r['zebra_peak_mb']} MB)"
        lines.append(f"| {r['receiver']}{extra} | {r.get('repeat', 1)} | {r['loadavg_start']} | "
                     f"{r['fed_s']} | {r['all_in_s']} | {r['settled_s']} | {r['cpu_s']} | {r['peak_mb']} | "
                     f"{r['bytes_per_prefix']:,} | {r['bytes_per_path']:,} | "
                     f"{r['feeders_cpu_s']} | {rest(r):.2f} | {r['complete']} |")
    lines += ["", "| receiver | CPU (s) | settled (s) | bytes/prefix | bytes/path | "
              "CPU / BIRD | bytes / BIRD |", "|---|---:|---:|---:|---:|---:|---:|"]
    by_rep: dict[int, dict[str, dict]] = {}
    for r in results:
        by_rep.setdefault(r.get("repeat", 1), {})[r["receiver"]] = r
    kinds = list(dict.fromkeys(r["receiver"] for r in results))
    for k in kinds:
        rs = [r for r in results if r["receiver"] == k]
        cpu_ratio, mem_ratio = [], []
        for rep in by_rep.values():
            if k in rep and "bird" in rep and rep["bird"]["cpu_s"] > 0:
                cpu_ratio.append(rep[k]["cpu_s"] / rep["bird"]["cpu_s"])
                mem_ratio.append(rep[k]["bytes_per_prefix"] / max(1, rep["bird"]["bytes_per_prefix"]))
        lines.append(f"| {k} | {fmt_range([r['cpu_s'] for r in rs])} | "
                     f"{fmt_range([r['settled_s'] for r in rs])} | "
                     f"{fmt_range([r['bytes_per_prefix'] for r in rs], 0)} | "
                     f"{fmt_range([r['bytes_per_path'] for r in rs], 0)} | "
                     f"{fmt_range(cpu_ratio, 1)} | {fmt_range(mem_ratio, 1)} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefixes", type=int, default=1_000_000)
    ap.add_argument("--peers", type=int, choices=(1, 4), default=1)
    ap.add_argument("--attrs", choices=("identical", "varied"), default="identical")
    ap.add_argument("--attr-sets", type=int, default=None,
                    help="distinct attribute sets with --attrs varied (default: prefixes/4)")
    ap.add_argument("--prefix-len", type=int, default=32, choices=range(24, 33),
                    metavar="24..32", help="length of the announced prefixes (default 32)")
    ap.add_argument("--receivers", default="strobe,bird,frr")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--frr-fib", action="store_true",
                    help="let FRR's bgpd install into zebra (default: bgpd -n)")
    ap.add_argument("--poll-s", type=float, default=0.1)
    ap.add_argument("--quiet-s", type=float, default=2.0)
    ap.add_argument("--idle-s", type=float, default=2.0,
                    help="seconds the receiver idles after start before the baseline")
    ap.add_argument("--timeout-s", type=float, default=900,
                    help="longest wait, from Established, for every prefix (default 900)")
    ap.add_argument("--json", type=Path, help="also append the JSON lines to this file")
    args = ap.parse_args()
    kinds = [k.strip() for k in args.receivers.split(",") if k.strip()]
    for k in kinds:
        if k not in RECEIVERS:
            ap.error(f"unknown receiver {k!r}")
    if args.attr_sets is None:
        args.attr_sets = max(1, args.prefixes // 4)
    args.attr_sets = max(1, min(args.attr_sets, args.prefixes))
    lab.require_root_tools(frr="frr" in kinds, tshark=False)
    if "strobe" in kinds and not os.access(strobe_mod.BGPD, os.X_OK):
        raise SystemExit(f"{strobe_mod.BGPD} not built (ninja -C build)")
    os.sched_setaffinity(0, {FEEDER_CORE})   # this script, birdc/vtysh/strobectl, the feeders
    prefixes = prefix_list(args.prefixes, args.prefix_len)
    print(f"# {args.prefixes} prefixes, {args.peers} peer(s), {args.attrs} attributes; "
          f"kernel {os.uname().release}, {os.cpu_count()} CPUs; "
          f"strobe-bgpd {strobe_mod.BGPD}", flush=True)
    results = []
    for rep in range(1, args.repeat + 1):
        for k in kinds:
            r = one_run(k, args, prefixes)
            r["repeat"] = rep
            line = json.dumps(r)
            print(line, flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(line + "\n")
            results.append(r)
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
