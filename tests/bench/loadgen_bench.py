#!/usr/bin/env python3
"""The device under test's BFD timers as strobe-loadgen sees them: FRR bfdd, BIRD 2 and
strobe-dataplane (xdp backend), each holding the same N sessions at the same interval, one after
the other in one run.

Topology (tests/integration/loadgen_test.py's): namespaces `gen` (strobe-loadgen, xdp backend,
its worker on core 1) and `dut`, one veth; the emulated peers' sources come from 198.19.240.0/22,
which the loadgen adds to its end and the DUT reaches on-link. The DUT runs on core 0 (FRR's
daemons and BIRD pinned with taskset; Strobe's worker by `workers = [0]`). Each DUT gets one
session per source at --interval-ms x 3; the loadgen ramps them up, holds them --hold-s seconds
and silences --silence of them one second into the hold, so that the DUT's detection time is
measured too.

Reported per DUT and interval: sessions Up at the end, flaps (either side), the DUT's transmit
intervals as received (count, p50, p90, p99, max; RFC 5880 section 6.8.7 jitter puts them at
75-100 % of the negotiated interval) and its detection time (p50, max, against the configured
3 x interval).

Usage (root):
  tests/bench/loadgen_bench.py [--sessions 1000] [--intervals-ms 300,10] [--hold-s 20]
      [--duts frr,bird,strobe] [--silence 10] [--json FILE]
One line per run on stdout; with --json FILE, also one JSON object per run appended to FILE.
STROBE_LOADGEN, STROBE_DATAPLANE and STROBECTL select the binaries (default build/).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
import lab  # noqa: E402
import loadgen_test  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import Strobe  # noqa: E402

DUT_CORE, GEN_CORE = 0, 1
DUTS = ("frr", "bird", "strobe")


def start_dut(L: lab.Lab, kind: str, ns: str, link: lab.Link, sources: list[str],
              interval_ms: float) -> None:
    us = int(round(interval_ms * 1000))
    if kind == "frr":
        if us % 1000 or us < 10_000:
            raise lab.LabError(f"FRR bfdd takes whole milliseconds from 10 ms, not {interval_ms}")
        conf = ["bfd"]
        for s in sources:
            conf += [f" peer {s} local-address {link.v4_b} interface {link.if_b}",
                     f"  transmit-interval {us // 1000}", f"  receive-interval {us // 1000}",
                     " !"]
        inst = L.start_frr(ns, "\n".join(conf) + "\n", timeout_s=120)
        for p in inst.procs.values():
            lab.run(["taskset", "-a", "-p", "-c", str(DUT_CORE), str(p.pid)])
    elif kind == "bird":
        # BIRD takes a neighbor only on a prefix of one of the interface's addresses (a route
        # is not enough): one in the sources' range, without a prefix route of its own.
        net = ipaddress.ip_network(loadgen_test.SOURCES)
        L.exec(ns, ["ip", "addr", "add", f"{net.broadcast_address - 1}/{net.prefixlen}", "dev",
                    link.if_b, "noprefixroute"])
        conf = [f"router id {link.v4_b};", "protocol device {}", "protocol bfd {",
                f'  interface "{link.if_b}" {{ interval {us} us; multiplier 3; }};']
        conf += [f'  neighbor {s} dev "{link.if_b}" local {link.v4_b};' for s in sources]
        conf.append("}")
        inst = L.start_bird(ns, "\n".join(conf) + "\n", timeout_s=60)
        lab.run(["taskset", "-a", "-p", "-c", str(DUT_CORE), str(inst.proc.pid)])
    else:
        profiles = [{"name": "p", "desired_min_tx_us": us, "required_min_rx_us": us,
                     "detect_mult": 3}]
        strobe_mod.BACKEND = "xdp"
        Strobe(L, ns, profiles, [{"peer": s, "local": link.v4_b, "interface": link.if_b,
                                  "profile": "p"} for s in sources],
               workers=[DUT_CORE], name="dut")


def one_run(kind: str, sessions: int, interval_ms: float, hold_s: float, silence: int) -> dict:
    res: dict = {"bench": "loadgen", "dut": kind, "sessions": sessions,
                 "interval_ms": interval_ms, "hold_s": hold_s, "silenced": silence,
                 "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                     timespec="seconds"),
                 "loadavg": os.getloadavg()[0]}
    try:
        with lab.Lab() as L:
            gen, dut, link = loadgen_test.topology(L)
            sources = [str(h) for h in ipaddress.ip_network(loadgen_test.SOURCES).hosts()]
            sources = sources[:sessions]
            start_dut(L, kind, dut, link, sources, interval_ms)
            us = int(round(interval_ms * 1000))
            r = loadgen_test.run_loadgen(L, gen, link.if_a, link.v4_b, L.run_dir / "report.json",
                                         backend="xdp", interval_us=us, hold_s=hold_s,
                                         core=GEN_CORE, sessions=sessions, silence=silence)
    except (lab.LabError, AssertionError, OSError, ValueError, subprocess.SubprocessError) as e:
        res["error"] = str(e).strip().splitlines()[-1][:300] if str(e).strip() else repr(e)
        return res
    iv = r.get("dut_interval_us", {})
    det = r.get("detection_ms") or {}
    res.update({
        "up_at_end": r["up_at_end"], "time_to_all_up_s": r["time_to_all_up_s"],
        "flaps": r["flaps"], "flaps_by_cause": r["flaps_by_cause"],
        "dut_interval_us": {k: v for k, v in iv.items() if k != "buckets"},
        "detection_ms": {k: v for k, v in det.items() if k not in ("samples", "sessions")},
        "configured_detection_ms": 3 * interval_ms})
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1000, help="at most 1,021")
    ap.add_argument("--intervals-ms", default="300,10")
    ap.add_argument("--hold-s", type=float, default=20)
    ap.add_argument("--silence", type=int, default=10)
    ap.add_argument("--duts", default=",".join(DUTS))
    ap.add_argument("--json", type=Path, help="also append one JSON object per run to FILE")
    a = ap.parse_args()
    duts = [d for d in a.duts.split(",") if d]
    if any(d not in DUTS for d in duts):
        ap.error(f"--duts: choose from {', '.join(DUTS)}")
    if not 1 <= a.sessions <= 1021 or not 0 <= a.silence < a.sessions:
        ap.error("--sessions 1..1021, --silence below it")
    lab.require_root_tools(frr="frr" in duts, bird="bird" in duts, tshark=False)
    if not os.access(loadgen_test.LOADGEN, os.X_OK):
        raise SystemExit(f"{loadgen_test.LOADGEN} not built")
    failed = 0
    for interval in [float(x) for x in a.intervals_ms.split(",") if x]:
        for kind in duts:
            r = one_run(kind, a.sessions, interval, a.hold_s, a.silence)
            failed += "error" in r
            iv, det = r.get("dut_interval_us", {}), r.get("detection_ms", {})
            print(f"{kind:6} {interval:g} ms x 3, {a.sessions} sessions: "
                  + (f"FAILED: {r['error']}" if "error" in r else
                     f"up {r['up_at_end']}, flaps {r['flaps']}, intervals p50 {iv.get('p50')} "
                     f"p99 {iv.get('p99')} max {iv.get('max')} us, detection p50 "
                     f"{det.get('p50')} max {det.get('max')} ms"), flush=True)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(json.dumps(r) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
