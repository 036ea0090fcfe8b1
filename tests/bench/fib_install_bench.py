#!/usr/bin/env python3
"""Install rate of N IPv4 /32 routes over one 4-way ECMP group: Strobe's FIB writer against the
kernel's own rate (`ip -batch`), BIRD 2 and FRR zebra, each in a fresh namespace, in one run.

Every installer gets its own Lab namespace with the same interface: a veth fib0 (198.18.0.1/24,
peer fib1 in the same namespace) with permanent neighbours for the four gateways 198.18.0.2-.5.
The routes are 10.0.0.1, 10.0.0.2, ... /32 (they exist only in that private namespace). The
installer runs on --core (default 1), this script and its polling on the other core.

  kernel  `ip -batch FILE`: four `nexthop add id K via 198.18.0.x dev fib0`, one
          `nexthop add id 5 group 1/2/3/4` and N `route add P/32 nhid 5` (one request and one ack
          at a time: iproute2's pace, not a batched writer's); time of the ip process.
          nexthop_compat_mode 0, as Strobe sets it.
  strobe  `fib_bench --mode install` (tests/bench/fib_bench.cc) in the namespace: FibWriter,
          first SetRoute() to the last ack; it reports its own user and system CPU.
  bird    BIRD 2: `protocol static` of N routes `via` the 4 gateways (one ECMP route each),
          exported by `protocol kernel` (merge paths on). Install time: from the first route
          seen in the kernel until the last (the bird process parses the N-route config first:
          "from start" is reported apart).
  frr     FRR zebra (pinned to --core). This FRR package ships no sharpd, and staticd needs
          minutes for a thousand routes in its startup config (192 s for 1,000 x 4 next hops,
          superlinear), so the routes come as in production, over BGP: one BIRD feeder (other
          core) announces the N routes over four eBGP sessions (four address pairs on one veth);
          FRR bgpd (other core; maximum-paths 4; graceful-restart, so BIRD sends End-of-RIB;
          update-delay, so bgpd hands zebra each route once, with its 4 next hops, after every
          feeder's End-of-RIB) passes them to zebra, which installs them with its own nexthop
          groups. Install time: first route seen in the kernel until the last ("from start":
          from enabling the feeders). zebra's own count of route updates is reported
          (zebra_route_updates, about N when each route went down once).

Install time is the rate's base: kernel and strobe from their first request to their last ack,
bird and frr from the first route the kernel holds to the last (their route source, config
parsing or BGP, not counted); user and system CPU are the installer's (zebra's for frr) over the
same interval (for bird and frr sampled at the first and the last poll).

The kernel's route count is read from /proc/PID/net/fib_triestat (the main table's "Prefixes",
minus what the namespace held before) of a process inside the namespace, every --poll-s seconds
(walking a million-route trie costs the kernel about 0.08 s per read, on this script's core).

Usage (root; see docs/benchmarks.md):
  tests/bench/fib_install_bench.py [--routes 100000,1000000] [--skip-bird] [--skip-frr]
                                   [--json FILE] [--core 1]
One JSON object per installer run on stdout (lines starting with '{'), then a markdown table.
FIB_BENCH selects the fib_bench binary (default: build/tests/bench/fib_bench).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
import lab  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
GATEWAYS = ["198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5"]
SETUP = ("ip link add fib0 type veth peer name fib1 && ip link set fib1 up && "
         "ip link set fib0 up && ip addr add 198.18.0.1/24 dev fib0 && "
         "for g in 2 3 4 5; do ip neigh replace 198.18.0.$g lladdr 02:00:00:00:00:0$g dev fib0 "
         "nud permanent || exit 1; done")


# --------------------------------------------------------------------------
# helpers

def prefixes(n: int) -> list[str]:
    out = []
    for i in range(n):
        a = 0x0A000001 + i
        out.append(f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/32")
    return out


def main_routes(pid: int | None = None, ns: str | None = None) -> int:
    """Routes in the main table of the namespace of `pid` (or, without a pid, of `ns`)."""
    if pid is not None:
        text = Path(f"/proc/{pid}/net/fib_triestat").read_text()
    else:
        text = lab.run(["ip", "netns", "exec", ns, "cat", "/proc/net/fib_triestat"]).stdout
    section = ""
    for line in text.splitlines():
        if line.startswith(("Main:", "Local:")):
            section = line.split(":")[0]
        if section == "Main" and "Prefixes:" in line:
            return int(line.split("Prefixes:")[1].split()[0])
    return 0


def proc_cpu(pid: int) -> tuple[float, float]:
    """(user, system) seconds of a whole process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / HZ, int(fields[12]) / HZ


def pin(pid: int, core: int) -> None:
    lab.run(["taskset", "-a", "-p", "-c", str(core), str(pid)])


def other_core(core: int) -> int:
    cores = sorted(os.sched_getaffinity(0))
    return next((c for c in cores if c != core), core)


def new_ns(L: lab.Lab, tag: str, compat_mode: int | None = None) -> str:
    ns = L.ns(tag)
    L.exec(ns, ["sh", "-c", SETUP])
    if compat_mode is not None:
        L.exec(ns, ["sh", "-c", f"echo {compat_mode} > /proc/sys/net/ipv4/nexthop_compat_mode"])
    return ns


def teardown(L: lab.Lab, ns: str) -> None:
    """Synchronous removal of every route (deleting the interface removes its routes and
    nexthops in the request itself), so the next installer does not share the machine with a
    kernel worker tearing down a million routes."""
    L.exec(ns, ["ip", "link", "del", "fib0"], check=False, timeout=300)


def same_netns(pid: int, ns: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{ns}").st_ino
    except OSError:
        return False


def wait_routes(pid: int, ns: str, target: int, baseline: int, t0: float, timeout_s: float,
                poll_s: float, proc: subprocess.Popen) -> dict:
    """Polls the kernel's route count until `target` routes beyond `baseline`."""
    first = None
    cpu_first = (0.0, 0.0)
    count = 0
    while True:
        now = time.monotonic()
        # `ip netns exec` enters the namespace before it execs the program: until then /proc/PID
        # shows the namespace of this script.
        count = main_routes(pid=pid) - baseline if same_netns(pid, ns) else 0
        if first is None and count > 0:
            first = now
            cpu_first = proc_cpu(pid)
        if count >= target:
            user, sys_ = proc_cpu(pid)
            return {"done": now, "first": first, "count": count,
                    "user_s": user - cpu_first[0], "sys_s": sys_ - cpu_first[1]}
        if proc.poll() is not None:
            raise lab.LabError(f"installer exited ({proc.returncode}) with {count} routes")
        if now - t0 > timeout_s:
            raise lab.WaitTimeout(f"{count} of {target} routes after {timeout_s} s")
        time.sleep(poll_s)


# --------------------------------------------------------------------------
# installers

def run_kernel(L: lab.Lab, n: int, args: argparse.Namespace) -> dict:
    ns = new_ns(L, "kernel", compat_mode=0)
    batch = L.run_dir / "routes.batch"
    with open(batch, "w") as f:
        for k, gw in enumerate(GATEWAYS, 1):
            f.write(f"nexthop add id {k} via {gw} dev fib0\n")
        f.write("nexthop add id 5 group 1/2/3/4\n")
        for p in prefixes(n):
            f.write(f"route add {p} nhid 5\n")
    baseline = main_routes(ns=ns)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    L.exec(ns, ["taskset", "-c", str(args.core), "ip", "-batch", str(batch)],
           timeout=args.timeout_s)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    count = main_routes(ns=ns) - baseline
    teardown(L, ns)
    return {"seconds": t1 - t0, "user_s": r1.ru_utime - r0.ru_utime,
            "sys_s": r1.ru_stime - r0.ru_stime, "kernel_routes": count}


def run_strobe(L: lab.Lab, n: int, args: argparse.Namespace) -> dict:
    ns = L.ns("strobe")
    cp = L.exec(ns, [args.fib_bench, "--mode", "install", "--routes", str(n), "--unshare=false",
                     "--core", str(args.core), "--compat_mode", "0"], timeout=args.timeout_s)
    j = next(json.loads(line) for line in cp.stdout.splitlines() if line.startswith("{"))
    if j["counters"]["failed"]:
        raise lab.LabError(f"fib_bench: {j['counters']['failed']} requests refused")
    return {"seconds": j["seconds"], "user_s": j["user_s"], "sys_s": j["sys_s"],
            "kernel_routes": j["kernel_routes"], "set_route_s": j["set_route_s"],
            "flush_user_s": j["flush_user_s"], "flush_sys_s": j["flush_sys_s"],
            "set_route_user_s": j["set_route_user_s"], "longest_flush_ms": j["longest_flush_ms"],
            "counters": j["counters"]}


def run_bird(L: lab.Lab, n: int, args: argparse.Namespace) -> dict:
    ns = new_ns(L, "bird")
    d = L.run_dir / "bird" / ns
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "bird.conf"
    via = " ".join(f"via {g}" for g in GATEWAYS)
    with open(conf, "w") as f:
        f.write(f'log "{d / "bird.log"}" all;\nrouter id 198.18.0.1;\nprotocol device {{ }}\n'
                "protocol static feed {\n  ipv4;\n")
        for p in prefixes(n):
            f.write(f"  route {p} {via};\n")
        f.write("}\nprotocol kernel fib {\n  ipv4 { import none; export all; };\n"
                "  merge paths on;\n}\n")
    cp = lab.run(["bird", "-p", "-c", str(conf)], check=False, timeout=args.timeout_s)
    if cp.returncode != 0:
        raise lab.LabError(f"BIRD config rejected: {cp.stderr.strip()}")
    baseline = main_routes(ns=ns)
    t0 = time.monotonic()
    proc = L.spawn(ns, ["taskset", "-c", str(args.core), "bird", "-f", "-c", conf,
                        "-s", d / "bird.ctl", "-P", d / "bird.pid"], d / "bird.out",
                   desc=f"bird@{ns}")
    w = wait_routes(proc.pid, ns, n, baseline, t0, args.timeout_s, poll_s(n, args), proc)
    L.stop(proc, sig=signal.SIGKILL)  # not its graceful withdrawal of N routes
    teardown(L, ns)
    return {"seconds": w["done"] - w["first"], "total_s": w["done"] - t0,
            "first_route_s": w["first"] - t0, "user_s": w["user_s"], "sys_s": w["sys_s"],
            "kernel_routes": w["count"]}


def run_frr(L: lab.Lab, n: int, args: argparse.Namespace) -> dict:
    # This FRR package has no sharpd, and staticd needs minutes for a thousand routes in its
    # startup config (192 s for 1,000 x 4 next hops: superlinear), so the routes come the way
    # they come in production: over BGP. One BIRD feeder (on the other core) holds the N routes
    # and announces them over four eBGP sessions from four addresses; FRR bgpd (other core,
    # maximum-paths 4, graceful-restart so that BIRD sends End-of-RIB, update-delay so that zebra gets each route once, with its 4 next hops)
    # hands them to zebra (pinned to --core), which installs them.
    ns, feed = L.ns("frr"), L.ns("feed")
    link = L.link(feed, ns, v6=False)
    net = link.v4_a.rsplit(".", 1)[0]
    # One address pair per session (BIRD allows one session per neighbor address).
    peers = [link.v4_a] + [f"{net}.{h}" for h in (3, 4, 5)]
    locals_ = [link.v4_b] + [f"{net}.{h}" for h in (6, 7, 8)]
    for a in peers[1:]:
        L.addr_add(feed, link.if_a, f"{a}/24")
    for a in locals_[1:]:
        L.addr_add(ns, link.if_b, f"{a}/24")
    routes = L.run_dir / "feed-routes.conf"
    with open(routes, "w") as f:
        for p in prefixes(n):
            f.write(f"route {p} blackhole;\n")
    conf = [f"router id {link.v4_a};", "protocol device { }",
            f'protocol static feed {{\n  ipv4;\n  include "{routes}";\n}}']
    for k, (a, b) in enumerate(zip(peers, locals_)):
        conf.append(f"protocol bgp p{k + 1} {{\n  disabled;\n  local {a} as {65001 + k};\n"
                    f"  neighbor {b} as 64512;\n  connect delay time 1;\n"
                    "  ipv4 { import none; export all; };\n}")
    bird = L.start_bird(feed, "\n".join(conf) + "\n", timeout_s=args.timeout_s)
    # Inbound: everything; outbound: nothing (ebgp-requires-policy, no outbound policy).
    cfg = ["route-map ALL permit 10", "exit", "router bgp 64512", f" bgp router-id {link.v4_b}",
           " bgp bestpath as-path multipath-relax", " bgp graceful-restart",
           f" update-delay {args.frr_update_delay}"]
    for k, (a, b) in enumerate(zip(peers, locals_)):
        cfg += [f" neighbor {a} remote-as {65001 + k}", f" neighbor {a} update-source {b}"]
    cfg += [" address-family ipv4 unicast", "  maximum-paths 4"]
    cfg += [f"  neighbor {a} route-map ALL in" for a in peers]
    cfg += [" exit-address-family", "exit"]
    inst = L.start_frr(ns, "\n".join(cfg) + "\n", daemons=("zebra", "bgpd"))
    zebra, bgpd = inst.procs["zebra"], inst.procs["bgpd"]
    pin(zebra.pid, args.core)
    baseline = main_routes(pid=zebra.pid)
    b_cpu0 = sum(proc_cpu(bgpd.pid))
    t0 = time.monotonic()
    for k in range(len(peers)):
        bird.birdc(f"enable p{k + 1}")
    w = wait_routes(zebra.pid, ns, n, baseline, t0, args.timeout_s, poll_s(n, args), zebra)
    b_cpu = sum(proc_cpu(bgpd.pid)) - b_cpu0
    # Each route once, with its 4 next hops? (zebra's own count of route updates it sent.)
    dplane = lab.frr_vtysh(ns, "show zebra dplane", daemon="zebra")
    updates = next((int(line.split(":")[1]) for line in dplane.splitlines()
                    if line.strip().startswith("Route updates:")), None)
    sample = L.exec(ns, ["ip", "route", "show", "exact", prefixes(n)[-1]]).stdout
    for p in (bgpd, zebra):
        L.stop(p, sig=signal.SIGKILL)
    teardown(L, ns)
    return {"seconds": w["done"] - w["first"], "total_s": w["done"] - t0,
            "first_route_s": w["first"] - t0, "user_s": w["user_s"],
            "sys_s": w["sys_s"], "bgpd_cpu_s": b_cpu, "zebra_route_updates": updates,
            "last_route_next_hops": sample.count("nexthop via"), "kernel_routes": w["count"]}


INSTALLERS = {"kernel": run_kernel, "strobe": run_strobe, "bird": run_bird, "frr": run_frr}


def poll_s(n: int, args: argparse.Namespace) -> float:
    if args.poll_s:
        return args.poll_s
    return 0.05 if n <= 100_000 else 0.2


# --------------------------------------------------------------------------

def table(results: list[dict]) -> str:
    lines = ["| routes | installer | install s | routes/s | vs kernel (ip -batch) | user s | sys s "
             "| from start s |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['routes']:,} | {r['installer']} | failed: {r['error']} "
                         "| | | | | |")
            continue
        ratio = f"{100 * r['vs_kernel']:.0f} %" if r.get("vs_kernel") else ""
        total = f"{r['total_s']:.2f}" if "total_s" in r else ""
        # Under one poll period (bird, frr), the install has no measurable duration.
        rate = f"{r['routes_per_s']:,.0f}" if r.get("routes_per_s") else "-"
        lines.append(f"| {r['routes']:,} | {r['installer']} | {r['seconds']:.2f} "
                     f"| {rate} | {ratio} | {r['user_s']:.2f} "
                     f"| {r['sys_s']:.2f} | {total} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--routes", default="100000,1000000",
                    help="comma-separated route counts (default 100000,1000000)")
    ap.add_argument("--skip-bird", action="store_true")
    ap.add_argument("--skip-frr", action="store_true")
    ap.add_argument("--skip-kernel", action="store_true")
    ap.add_argument("--skip-strobe", action="store_true")
    ap.add_argument("--core", type=int, default=1, help="the installer's core")
    ap.add_argument("--poll-s", type=float, default=0,
                    help="route-count polling interval (default 0.05 s, 0.2 s above 100,000)")
    ap.add_argument("--timeout-s", type=float, default=900)
    ap.add_argument("--frr-update-delay", type=int, default=120,
                    help="FRR bgpd update-delay (s): the longest wait for every feeder")
    ap.add_argument("--settle-s", type=float, default=2,
                    help="pause between installers")
    ap.add_argument("--json", type=Path, help="also append the JSON lines to this file")
    ap.add_argument("--fib-bench", default=os.environ.get(
        "FIB_BENCH", str(ROOT / "build/tests/bench/fib_bench")))
    args = ap.parse_args()
    counts = [int(x) for x in args.routes.split(",") if x]
    lab.require_root_tools(frr=not args.skip_frr, bird=not args.skip_bird, tshark=False)
    if not args.skip_strobe and not os.access(args.fib_bench, os.X_OK):
        raise SystemExit(f"{args.fib_bench} not built (ninja -C build tests/bench/fib_bench)")
    # The poller (and everything else of ours) stays off the installer's core.
    os.sched_setaffinity(0, {other_core(args.core)})
    order = [k for k in INSTALLERS
             if not getattr(args, f"skip_{k}")]
    results: list[dict] = []
    for n in counts:
        kernel_rate = None
        for kind in order:
            r: dict = {"bench": "fib_install", "routes": n, "installer": kind, "core": args.core,
                       "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                           timespec="seconds"),
                       "loadavg": open("/proc/loadavg").read().split(" ")[0]}
            try:
                with lab.Lab() as L:
                    r.update(INSTALLERS[kind](L, n, args))
            except (lab.LabError, subprocess.SubprocessError, OSError) as e:
                r["error"] = str(e).splitlines()[0][:200]
            if "error" not in r:
                if r["kernel_routes"] != n:
                    r["error"] = f"{r['kernel_routes']} routes in the kernel, not {n}"
                r["routes_per_s"] = n / r["seconds"] if r["seconds"] > 0 else None
                if kind == "kernel":
                    kernel_rate = r["routes_per_s"]
                if kernel_rate and r["routes_per_s"]:
                    r["vs_kernel"] = r["routes_per_s"] / kernel_rate
            line = json.dumps(r)
            print(line, flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(line + "\n")
            results.append(r)
            time.sleep(args.settle_s)
    print()
    print(table(results))
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
