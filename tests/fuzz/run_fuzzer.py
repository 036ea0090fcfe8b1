#!/usr/bin/env python3
"""Runs one libFuzzer target for a bounded time on a copy of its seed corpus (meson suite 'fuzz').

The seconds come from STROBE_FUZZ_SECONDS (default 60; 0 runs the seed corpus once and stops).
The seeds are copied to a temporary directory, which libFuzzer grows and which is removed at the
end: nothing is written into the source tree. Any crash, leak, timeout, out-of-memory or
sanitizer report makes libFuzzer exit non-zero, and this test fail; the input that caused it is
kept in --artifacts (see docs/testing.md, "Fuzzing", to reproduce and minimise it). The last
lines printed say how many inputs ran and the coverage reached.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PER_INPUT_TIMEOUT_S = 10  # one input running longer than this is a hang (a bug)
RSS_LIMIT_MB = 2048
# After --seconds libFuzzer still has to finish the input it runs and print its stats.
GRACE_S = 120


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--fuzzer", required=True, type=Path)
    p.add_argument("--seeds", required=True, type=Path)
    p.add_argument("--dict", type=Path)
    p.add_argument("--artifacts", required=True, type=Path)
    return p.parse_args()


def summary(log: str) -> str:
    """Executions, coverage and corpus size from libFuzzer's output."""
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    speed = re.findall(r"stat::average_exec_per_sec:\s*(\d+)", log)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", log)
    inited = re.search(r"INITED cov: (\d+) ft: (\d+) corp: (\d+)/", log)
    parts = [f"executions {runs[-1] if runs else '?'}"]
    if speed:
        parts.append(f"{speed[-1]}/s")
    if cov:
        c, ft, corp, size = cov[-1]
        parts.append(f"coverage {c} edges, {ft} features")
        parts.append(f"corpus {corp} inputs ({size})")
    if inited:
        parts.append(f"seeds alone: {inited.group(1)} edges")
    return ", ".join(parts)


def main() -> int:
    args = parse_args()
    seconds = int(os.environ.get("STROBE_FUZZ_SECONDS", "60"))
    seeds = sorted(p for p in args.seeds.glob("*") if p.is_file())
    if not seeds:
        print(f"fuzz_{args.name}: no seed corpus in {args.seeds}", file=sys.stderr)
        return 1
    args.artifacts.mkdir(parents=True, exist_ok=True)
    earlier = set(args.artifacts.iterdir())

    env = dict(os.environ)
    # -fno-sanitize-recover=all makes UBSan fatal already; this also says so at run time.
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1:" + env.get("UBSAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = "detect_leaks=1:" + env.get("ASAN_OPTIONS", "")

    with tempfile.TemporaryDirectory(prefix=f"strobe-fuzz-{args.name}-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(args.seeds, corpus)
        log_path = args.artifacts / "fuzz.log"
        cmd = [
            str(args.fuzzer),
            f"-timeout={PER_INPUT_TIMEOUT_S}",
            f"-rss_limit_mb={RSS_LIMIT_MB}",
            "-print_final_stats=1",
            f"-artifact_prefix={args.artifacts}/",
        ]
        if seconds > 0:
            cmd.append(f"-max_total_time={seconds}")
        else:
            cmd.append("-runs=0")
        if args.dict is not None and args.dict.is_file():
            cmd.append(f"-dict={args.dict}")
        cmd.append(str(corpus))
        print("$ " + " ".join(cmd), flush=True)
        start = time.monotonic()
        with open(log_path, "w") as log_file:
            try:
                proc = subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                      timeout=max(seconds, 0) + GRACE_S, check=False)
                code = proc.returncode
            except subprocess.TimeoutExpired:
                code = None
        elapsed = time.monotonic() - start
        log = log_path.read_text(errors="replace")
        new_inputs = len(list(corpus.iterdir())) - len(seeds)

    lines = log.splitlines()
    if code != 0:
        # The report (sanitizer, leak, timeout, FUZZ_CHECK) and the artifact's path are at the end.
        print("\n".join(lines[-200:]))
        reason = "did not stop in time" if code is None else f"exited with {code}"
        crashes = sorted(str(p) for p in set(args.artifacts.iterdir()) - earlier
                         if p.name != "fuzz.log")
        print(f"fuzz_{args.name}: FAILED: libFuzzer {reason} after {elapsed:.0f} s; "
              f"full log: {log_path}")
        for crash in crashes:
            print(f"fuzz_{args.name}: reproduce with: {args.fuzzer} {crash}")
        return 1
    print(f"fuzz_{args.name}: {elapsed:.0f} s, {summary(log)}, {new_inputs} new inputs "
          f"(discarded with the temporary corpus); log: {log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
