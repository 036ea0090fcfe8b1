"""The results of one `scripts/bench` run: what is written, where, and how it is checked.

A results directory holds:

  run.json                 the run: {
                             "schema": 1,
                             "quick": bool,                 --quick: tiny parameters
                             "command": str,                the full command line, as typed
                             "sections": [str, ...],        the sections asked for, in order
                             "build_dir": str,              relative to the source root
                             "started": ISO 8601 UTC, "finished": ISO 8601 UTC | null,
                             "duration_s": float | null,
                             "machine": {...}}              machine_facts(), below
  SECTION/section.json     one section: {
                             "schema": 1, "section": str, "title": str,
                             "status": "ok" | "failed" | "unavailable",
                             "reason": str | null,          why failed / unavailable
                             "runs": [{                     one per command the section ran
                               "command": str,              as run from the source root
                               "started": ISO 8601 UTC, "duration_s": float, "rc": int | null,
                               "timed_out": bool, "loadavg": [start, end],
                               "leftover_namespaces": [str], "stdout": str, "stderr": str}],
                             "records": int}                lines in results.jsonl
  SECTION/results.jsonl    the section's measurements: one JSON object per line, as its driver
                           wrote it (each driver documents its fields), plus "run": the index of
                           the run (in "runs") that produced it
  SECTION/run-N.stdout, SECTION/run-N.stderr, SECTION/run-N.jsonl   each run's raw output

`scripts/bench` writes them (tests/bench/suite.py says what each section runs); report.py reads
and checks them (load()) and renders docs/benchmarks.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

SCHEMA = 1
STATUSES = ("ok", "failed", "unavailable")


class ResultsError(ValueError):
    """A results directory that does not follow the schema above."""


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# machine facts

def _out(argv: list[str], cwd: Path | None = None) -> str:
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=cwd,
                            stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return cp.stdout.strip() if cp.returncode == 0 else ""


def _dpkg(package: str) -> str | None:
    return _out(["dpkg-query", "-W", "-f", "${Version}", package]) or None


def _first_line(text: str) -> str | None:
    return text.splitlines()[0].strip() if text else None


def _cpuinfo() -> dict:
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            k, _, v = line.partition(":")
            k = k.strip()
            if k in ("model name", "cpu family", "model", "cpu MHz") and k not in info:
                info[k] = v.strip()
    except OSError:
        pass
    return info


def machine_facts(root: Path, build_dir: Path) -> dict:
    """What a reader needs to judge the figures: the CPU, cores, memory, kernel, the versions of
    every party measured and of the toolchain, and the commit the binaries were built from."""
    cpu = _cpuinfo()
    mem_kb = 0
    try:
        m = re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M)
        mem_kb = int(m.group(1)) if m else 0
    except OSError:
        pass
    os_name = ""
    try:
        m = re.search(r'^PRETTY_NAME="?([^"\n]*)', Path("/etc/os-release").read_text(), re.M)
        os_name = m.group(1) if m else ""
    except OSError:
        pass
    lscpu = _out(["lscpu"])
    hypervisor = re.search(r"^Hypervisor vendor:\s+(.*)$", lscpu, re.M)
    clocksource = ""
    try:
        clocksource = Path("/sys/devices/system/clocksource/clocksource0/"
                           "current_clocksource").read_text().strip()
    except OSError:
        pass
    buildtype = None
    try:
        opts = json.loads((build_dir / "meson-info/intro-buildoptions.json").read_text())
        buildtype = next((o["value"] for o in opts if o["name"] == "buildtype"), None)
    except (OSError, ValueError):
        pass
    dirty = _out(["git", "--no-optional-locks", "status", "--porcelain",
                  "--untracked-files=no"], cwd=root)
    return {
        "cpu_model": cpu.get("model name", platform.processor()),
        "cpu_family": cpu.get("cpu family"), "cpu_model_number": cpu.get("model"),
        "cores": os.cpu_count(),
        "hypervisor": hypervisor.group(1).strip() if hypervisor else None,
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "os": os_name,
        "clocksource": clocksource,
        "frr": _dpkg("frr"),
        "bird": _dpkg("bird2"),
        "dpdk": _out(["pkg-config", "--modversion", "libdpdk"]) or _dpkg("libdpdk-dev"),
        "libbpf": _out(["pkg-config", "--modversion", "libbpf"]) or None,
        "iproute2": _dpkg("iproute2"),
        "clang": _first_line(_out(["clang", "--version"])),
        "cxx": _first_line(_out(["c++", "--version"])),
        "python": platform.python_version(),
        "commit": _out(["git", "rev-parse", "HEAD"], cwd=root) or None,
        "commit_subject": _out(["git", "log", "-1", "--format=%s"], cwd=root)[:120] or None,
        "uncommitted_files": len(dirty.splitlines()) if dirty else 0,
        "buildtype": buildtype,
    }


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


# --------------------------------------------------------------------------------------------
# reading and checking

def _need(obj: dict, key: str, types: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise ResultsError(f"{where}: no {key!r}")
    if not isinstance(obj[key], types):
        raise ResultsError(f"{where}: {key!r} is {type(obj[key]).__name__}")
    return obj[key]


def check_run(run: dict, where: str) -> None:
    _need(run, "schema", int, where)
    if run["schema"] != SCHEMA:
        raise ResultsError(f"{where}: schema {run['schema']}, this reader knows {SCHEMA}")
    _need(run, "quick", bool, where)
    _need(run, "command", str, where)
    _need(run, "sections", list, where)
    _need(run, "started", str, where)
    _need(run, "machine", dict, where)
    _need(run, "build_dir", str, where)


def check_section(sec: dict, where: str) -> None:
    _need(sec, "schema", int, where)
    _need(sec, "section", str, where)
    _need(sec, "title", str, where)
    if _need(sec, "status", str, where) not in STATUSES:
        raise ResultsError(f"{where}: status {sec['status']!r}")
    if sec["status"] != "ok" and not sec.get("reason"):
        raise ResultsError(f"{where}: {sec['status']} without a reason")
    for i, r in enumerate(_need(sec, "runs", list, where)):
        w = f"{where} run {i}"
        _need(r, "command", str, w)
        _need(r, "started", str, w)
        _need(r, "duration_s", (int, float), w)
        _need(r, "rc", (int, type(None)), w)
    _need(sec, "records", int, where)


def load(results_dir: Path) -> tuple[dict, dict[str, dict], dict[str, list[dict]]]:
    """(run.json, {section: section.json}, {section: records}), checked against the schema.
    A section named in run.json without its section.json is an error: the run was cut short."""
    results_dir = Path(results_dir)
    try:
        run = json.loads((results_dir / "run.json").read_text())
    except (OSError, ValueError) as e:
        raise ResultsError(f"{results_dir}/run.json: {e}") from e
    check_run(run, "run.json")
    sections: dict[str, dict] = {}
    records: dict[str, list[dict]] = {}
    for name in run["sections"]:
        d = results_dir / name
        try:
            sec = json.loads((d / "section.json").read_text())
        except (OSError, ValueError) as e:
            raise ResultsError(f"section {name}: {e}") from e
        check_section(sec, f"{name}/section.json")
        recs = []
        path = d / "results.jsonl"
        if path.exists():
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if line.strip():
                    try:
                        recs.append(json.loads(line))
                    except ValueError as e:
                        raise ResultsError(f"{path}:{n}: {e}") from e
        if len(recs) != sec["records"]:
            raise ResultsError(f"{name}: {len(recs)} records, section.json says "
                               f"{sec['records']}")
        sections[name], records[name] = sec, recs
    return run, sections, records
