"""What `scripts/bench` runs: every benchmark section, its commands at full and at --quick scale.

A section is one benchmark (a python driver in tests/bench/ or a C++ program built by meson), run
by one or more commands; FRR and BIRD run in the same commands where the driver measures them.
Each command writes JSON (a `--json FILE` its driver appends to, or JSON lines / one JSON document
on stdout), which scripts/bench collects into the section's results.jsonl (tests/bench/results.py).

Full parameters are those of the figures the report publishes; they take about two hours (the
ladder's 60 s holds above all). Each ladder's rungs bracket the limit the earlier hand-run
ladders found (a ladder stops at its first failing rung), and repeats are few, to fit one run
into a working session on the shared machine. --quick keeps every command to a few seconds: tiny session counts, short
holds, few routes, so that the whole pipeline (drivers, FRR, BIRD, the report) is exercised in CI.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable

JSON = "{json}"   # replaced by the run's JSON file (drivers taking --json FILE)


@dataclasses.dataclass
class Run:
    argv: list[str]          # program first: "tests/bench/x.py" (python) or "BUILD/..." (built)
    output: str              # "json_file": argv holds JSON; "stdout": JSON lines/doc on stdout
    timeout_s: float
    label: str = ""


@dataclasses.dataclass
class Section:
    name: str
    title: str
    runs: Callable[[bool], list[Run]]              # quick -> the commands
    unavailable: Callable[[], str | None] = lambda: None   # why it cannot run here, or None


def _py(script: str, *args: str, timeout_s: float, label: str = "",
        json_arg: bool = True) -> Run:
    argv = [f"tests/bench/{script}", *args] + (["--json", JSON] if json_arg else [])
    return Run(argv, "json_file" if json_arg else "stdout", timeout_s, label)


def _bin(name: str, *args: str, timeout_s: float, label: str = "") -> Run:
    return Run([f"BUILD/tests/bench/{name}", *args], "stdout", timeout_s, label)


HOUR = 3600.0


# --------------------------------------------------------------------------------------------
# the BFD scale ladder (the report's headline)

def ladder_runs(quick: bool) -> list[Run]:
    common = ["--realtime-priority", "20"]
    if quick:
        hold = ["--hold-s", "2"]
        return [
            _py("bfd_scale_bench.py", "--backend", "xdp", "--intervals", "50,10,3.3",
                "--ladder", "16", *hold, *common, timeout_s=180, label="Strobe xdp <-> Strobe"),
            _py("bfd_scale_bench.py", "--peer", "frr", "--intervals", "50,10", "--ladder", "16",
                *hold, *common, timeout_s=180, label="Strobe xdp <-> FRR bfdd"),
            _py("bfd_scale_bench.py", "--peer", "bird", "--intervals", "50,10,3.3", "--ladder",
                "16", *hold, *common, timeout_s=180, label="Strobe xdp <-> BIRD"),
        ]
    hold = ["--hold-s", "60"]
    return [
        _py("bfd_scale_bench.py", "--backend", "xdp", "--intervals", "50",
            "--ladder", "5000,10000,15000,20000", *hold, *common, timeout_s=3 * HOUR,
            label="Strobe xdp <-> Strobe, 50 ms"),
        _py("bfd_scale_bench.py", "--backend", "xdp", "--intervals", "10",
            "--ladder", "2000,3000,4000,5000", *hold, *common,
            timeout_s=3 * HOUR, label="Strobe xdp <-> Strobe, 10 ms"),
        _py("bfd_scale_bench.py", "--backend", "xdp", "--intervals", "3.3",
            "--ladder", "500,1000,1500,2000", *hold, *common, timeout_s=3 * HOUR,
            label="Strobe xdp <-> Strobe, 3.3 ms"),
        _py("bfd_scale_bench.py", "--peer", "frr", "--intervals", "50,10",
            "--ladder", "100,500,1000,2000", *hold, *common, timeout_s=3 * HOUR,
            label="Strobe xdp <-> FRR bfdd"),
        _py("bfd_scale_bench.py", "--peer", "bird", "--intervals", "50,10,3.3",
            "--ladder", "100,500,1000,2000,5000", *hold, *common, timeout_s=3 * HOUR,
            label="Strobe xdp <-> BIRD"),
    ]


def ladder_dpdk_runs(quick: bool) -> list[Run]:
    common = ["--backend", "dpdk", "--link", "memif", "--realtime-priority", "20"]
    if quick:
        return [_py("bfd_scale_bench.py", *common, "--intervals", "50,10,3.3", "--ladder", "16",
                    "--hold-s", "2", timeout_s=240, label="Strobe dpdk <-> Strobe (memif)")]
    hold = ["--hold-s", "60"]
    return [
        _py("bfd_scale_bench.py", *common, "--intervals", "50", "--ladder", "5000,15000",
            *hold, timeout_s=3 * HOUR, label="50 ms"),
        _py("bfd_scale_bench.py", *common, "--intervals", "10",
            "--ladder", "3000,5000,7500", *hold, timeout_s=3 * HOUR,
            label="10 ms"),
        _py("bfd_scale_bench.py", *common, "--intervals", "3.3",
            "--ladder", "2000,3000,4000", *hold, timeout_s=3 * HOUR,
            label="3.3 ms"),
    ]


# --------------------------------------------------------------------------------------------
# the others

def bfd_cpu_runs(quick: bool) -> list[Run]:
    duts = ["--duts", "socket,xdp,frr,bird"]
    if quick:
        return [_py("bfd_cpu_bench.py", "--sessions", "50", "--interval-ms", "50", "--hold-s",
                    "1", "--settle-s", "0.5", *duts, timeout_s=150)]
    return [_py("bfd_cpu_bench.py", "--sessions", "1000", "--interval-ms", "50", "--hold-s",
                "20", *duts, timeout_s=HOUR)]


def loadgen_runs(quick: bool) -> list[Run]:
    if quick:
        return [_py("loadgen_bench.py", "--sessions", "40", "--intervals-ms", "50", "--hold-s",
                    "2", "--silence", "2", timeout_s=150)]
    return [_py("loadgen_bench.py", "--sessions", "1000", "--intervals-ms", "300,50,10",
                "--hold-s", "10", timeout_s=2 * HOUR)]


def ring_runs(quick: bool) -> list[Run]:
    if quick:
        return [_bin("ring_bench", "5000", "20", "--records", "500000", "--json", timeout_s=60)]
    return [_bin("ring_bench", "--json", timeout_s=600, label=f"run {i + 1}") for i in range(3)]


def timer_runs(quick: bool) -> list[Run]:
    if quick:
        return [_bin("timer_bench", "--quick", "--json", timeout_s=60)]
    return [_bin("timer_bench", "--json", timeout_s=600, label=f"run {i + 1}") for i in range(3)]


def xdp_runs(quick: bool) -> list[Run]:
    if quick:
        return [_bin("xdp_bench", "--repeat", "20000", "--json", timeout_s=60)]
    return [_bin("xdp_bench", "--json", timeout_s=600, label=f"run {i + 1}") for i in range(3)]


def af_xdp_runs(quick: bool) -> list[Run]:
    args = ["--core", "1", "--sessions", "1000", "--batch", "64"]
    if quick:
        return [_bin("af_xdp_tx_bench", *args, "--seconds", "0.3", "--json", timeout_s=60)]
    return [_bin("af_xdp_tx_bench", *args, "--seconds", "3", "--json", timeout_s=120,
                 label=f"run {i + 1}") for i in range(3)]


def rib_runs(quick: bool) -> list[Run]:
    n, repeat = ("20000", 1) if quick else ("1000000", 3)
    return [_bin("rib_bench", "--prefixes", n, "--peers", str(peers), "--attrs", attrs,
                 timeout_s=60 if quick else 1800, label=f"{peers} x {attrs}")
            for peers in (1, 4) for attrs in ("identical", "varied") for _ in range(repeat)]


def bgp_rib_runs(quick: bool) -> list[Run]:
    if quick:
        return [_py("bgp_rib_bench.py", "--prefixes", "20000", "--peers", "4", "--attrs",
                    "varied", "--idle-s", "0.5", "--quiet-s", "0.5", timeout_s=150)]
    return [_py("bgp_rib_bench.py", "--prefixes", "1000000", "--peers", str(peers), "--attrs",
                attrs, "--repeat", "2", timeout_s=4 * HOUR, label=f"{peers} x {attrs}")
            for peers in (1, 4) for attrs in ("identical", "varied")]


def fib_install_runs(quick: bool) -> list[Run]:
    if quick:
        return [_py("fib_install_bench.py", "--routes", "20000", "--poll-s", "0.01",
                    "--settle-s", "0.2", "--frr-update-delay", "30", timeout_s=180)]
    return [_py("fib_install_bench.py", "--routes", "100000,1000000", timeout_s=2 * HOUR)]


def fib_failover_runs(quick: bool) -> list[Run]:
    if quick:
        return ([_bin("fib_bench", "--mode", "failover", "--routes", "1000", "--compat_mode",
                      str(c), "--failovers", "3", "--core", "1", timeout_s=60)
                 for c in (0, 1)]
                + [_bin("fib_bench", "--mode", "failover", "--routes", "1000",
                        "--nexthop_objects=false", "--failovers", "2", "--core", "1",
                        timeout_s=60)])
    runs = [_bin("fib_bench", "--mode", "failover", "--routes", str(n), "--compat_mode", str(c),
                 "--failovers", "5", "--core", "1", timeout_s=1800)
            for c in (0, 1) for n in (1, 1000, 100000, 1000000)]
    runs += [_bin("fib_bench", "--mode", "failover", "--routes", str(n),
                  "--nexthop_objects=false", "--failovers", "3", "--core", "1", timeout_s=1800)
             for n in (1000, 100000, 1000000)]
    return runs


def tor_runs(quick: bool) -> list[Run]:
    if quick:
        return [_py("tor_failover_bench.py", "--runs", "2", "--vips", "1", "--json",
                    json_arg=False, timeout_s=180)]
    return [_py("tor_failover_bench.py", "--runs", "10", "--vips", "1,1000", "--json",
                json_arg=False, timeout_s=2 * HOUR)]


# --------------------------------------------------------------------------------------------
# hardware this machine may lack

def vfio_devices() -> list[str]:
    d = Path("/sys/bus/pci/drivers/vfio-pci")
    return sorted(p.name for p in d.glob("0000:*")) if d.is_dir() else []


def nic_unavailable() -> str | None:
    devices = vfio_devices()
    if len(devices) < 2:
        found = ", ".join(devices) if devices else "none"
        return ("needs two NIC ports bound to vfio-pci and cabled to each other (DPDK on a "
                f"physical NIC; devices bound to vfio-pci here: {found}); no driver in "
                "tests/bench runs over PCI ports yet")
    return ("two vfio-pci ports found (" + ", ".join(devices) + "), but no driver in "
            "tests/bench runs over PCI ports yet")


def nic_runs(quick: bool) -> list[Run]:
    return []


SECTIONS: list[Section] = [
    Section("ladder", "BFD scale ladder: sessions held with zero false Down (xdp backend, "
            "against Strobe, FRR bfdd and BIRD)", ladder_runs),
    Section("ladder_dpdk", "BFD scale ladder on the dpdk backend over net_memif: sessions held, "
            "CPU per packet, timer precision", ladder_dpdk_runs),
    Section("bfd_cpu", "CPU of N BFD sessions: socket and xdp backends against FRR bfdd and "
            "BIRD", bfd_cpu_runs),
    Section("loadgen", "The device under test's timers, as strobe-loadgen sees them: FRR bfdd, "
            "BIRD and Strobe", loadgen_runs),
    Section("tor_failover", "Top-of-rack failover: Strobe edge against FRR edge", tor_runs),
    Section("bgp_rib", "BGP: receiving and selecting N prefixes, Strobe against BIRD and FRR",
            bgp_rib_runs),
    Section("rib", "The RIB alone (rib_bench)", rib_runs),
    Section("fib_install", "FIB writer: install rate against ip -batch, BIRD and FRR zebra",
            fib_install_runs),
    Section("fib_failover", "FIB writer: prefix-independent failover (fib_bench)",
            fib_failover_runs),
    Section("xdp", "XDP program: cost per packet (BPF_PROG_TEST_RUN)", xdp_runs),
    Section("af_xdp_tx", "AF_XDP transmit: frames per millisecond from one pinned core",
            af_xdp_runs),
    Section("ring", "Shared-memory events ring: latency and throughput", ring_runs),
    Section("timer", "Timing wheel: cost per timer operation", timer_runs),
    Section("nic", "DPDK and AF_XDP zero-copy on a physical NIC", nic_runs, nic_unavailable),
]

BY_NAME = {s.name: s for s in SECTIONS}


def binaries(build_dir: str) -> dict[str, str]:
    """The environment the drivers read to find the binaries of `build_dir` (relative to the
    source root, as the drivers are run from there)."""
    b = build_dir.rstrip("/")
    return {"STROBE_DATAPLANE": f"{b}/dataplane/strobe-dataplane",
            "STROBECTL": f"{b}/controlplane/strobectl",
            "STROBE_BGPD": f"{b}/controlplane/bgpd/strobe-bgpd",
            "STROBE_LOADGEN": f"{b}/dataplane/strobe-loadgen",
            "STROBE_BFD_WATCH": f"{b}/tests/tools/strobe-bfd-watch",
            "FIB_BENCH": f"{b}/tests/bench/fib_bench"}


def missing_binaries(root: Path, build_dir: str) -> list[str]:
    out = [p for p in binaries(build_dir).values() if not os.access(root / p, os.X_OK)]
    for name in ("ring_bench", "timer_bench", "xdp_bench", "af_xdp_tx_bench", "rib_bench"):
        p = f"{build_dir.rstrip('/')}/tests/bench/{name}"
        if not os.access(root / p, os.X_OK):
            out.append(p)
    return out
