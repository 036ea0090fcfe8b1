#!/usr/bin/env python3
"""`scripts/bench --quick` still works: every benchmark section runs with tiny parameters and the
report is rendered from the results (the pipeline that makes docs/benchmarks.md).

Runs scripts/bench --quick --no-build on this build (STROBE_BENCH_BUILD_DIR, which meson sets;
default build/) with its results and its report in BUILD/bench-results/quick-test/ (replaced
by each run), then checks:
- it exits 0 and leaves docs/benchmarks.md and docs/bench/ as they were;
- the report has the quick-run banner, the machine table with the commit, and the headline: the
  ladder table with a row per party and interval holding numbers, and bench/ladder.svg, an SVG
  drawn by gnuplot, next to the report;
- every section of tests/bench/suite.py is in the report, in order, each (but one that needs
  hardware this machine lacks, which must say so) with a table whose rows hold numbers, its
  commands (exit 0) and its note; none is marked FAILED;
- every section's results follow the schema (tests/bench/results.py) and no command left a
  namespace behind;
- `scripts/bench --update DIR --only timer` runs that section again into the same results,
  keeps the others byte for byte, records the update and says so in the report; an update of a
  quick run without --quick is refused (exit 2).
Needs root, FRR, BIRD, gnuplot: fails, never skips, without them. About two minutes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/bench"))
import results  # noqa: E402
import suite  # noqa: E402

BUILD = os.environ.get("STROBE_BENCH_BUILD_DIR", str(ROOT / "build"))
TIMEOUT_S = 360


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p).encode())
        h.update(p.read_bytes() if p.is_file() else b"-")
    return h.hexdigest()


def docs_state() -> str:
    docs = ROOT / "docs"
    return digest([docs / "benchmarks.md"] + list((docs / "bench").glob("*")))


def data_rows(text: str) -> list[str]:
    """Markdown table rows (header and separator left out) that hold a number."""
    rows, in_table = [], False
    for line in text.splitlines():
        if line.startswith("|"):
            if not in_table:                       # the header
                in_table = True
                continue
            if re.fullmatch(r"\|( *-+:? *\|)+", line.replace(" ", "")) or set(line) <= set("|-: "):
                continue
            if re.search(r"\d", line):
                rows.append(line)
        else:
            in_table = False
    return rows


def main() -> int:
    before = docs_state()
    t0 = time.monotonic()
    # Kept after the test (in the build directory, replaced by the next run) to be looked at.
    keep = Path(BUILD) / "bench-results" / "quick-test"
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    out, rdir = keep / "benchmarks.md", keep / "results"
    cmd = [sys.executable, str(ROOT / "scripts/bench"), "--quick", "--no-build",
           "--build-dir", BUILD, "--results-dir", str(rdir), "--out", str(out)]
    print("$", " ".join(cmd), flush=True)
    cp = subprocess.run(cmd, cwd=ROOT, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL,
                        capture_output=True, text=True)
    wall = time.monotonic() - t0
    print(cp.stdout)
    print(cp.stderr, file=sys.stderr)
    check(cp.returncode == 0, f"scripts/bench --quick exited with {cp.returncode}")
    check(docs_state() == before, "scripts/bench --quick touched docs/ without --out")
    check(out.exists(), f"no report at {out}")
    text = out.read_text()

    # The results, against the schema.
    run, sections, records = results.load(rdir)
    check(run["quick"] and run["sections"] == [s.name for s in suite.SECTIONS],
          f"run.json: quick {run['quick']}, sections {run['sections']}")
    check(bool(run["machine"].get("commit")), "run.json: no commit")
    for name, sec in sections.items():
        for r in sec["runs"]:
            check(not r["leftover_namespaces"],
                  f"{name}: `{r['command']}` left {r['leftover_namespaces']}")
            check(r["rc"] == 0 and not r["timed_out"], f"{name}: `{r['command']}` failed")

    # The header.
    check("**Quick run**" in text, "no quick-run banner")
    check(run["machine"]["commit"][:12] in text, "the commit is not in the report")
    for fact in ("CPU", "kernel", "FRR", "BIRD", "DPDK", "compilers"):
        check(re.search(rf"^\| {fact} \| \S", text, re.M) is not None,
              f"machine table: no {fact}")

    # The headline: the ladder table and its plot.
    m = re.search(r"^## Headline: the BFD scale ladder$(.*?)^<a id=", text, re.M | re.S)
    check(m is not None, "no headline")
    head = m.group(1)
    rows = data_rows(head)
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    for party in ("Strobe xdp <-> Strobe xdp", "Strobe dpdk <-> Strobe dpdk", "FRR bfdd",
                  "BIRD"):
        ivs = sorted(c[0] for c in cells if c[1].startswith(party))
        check(ivs == ["10 ms", "3.3 ms", "50 ms"], f"headline: {party}: rows {ivs}")
        check(all(re.match(r"(\d[\d,]*|none|n/a)", c[2]) for c in cells
                  if c[1].startswith(party)), f"headline: {party}: no sessions held")
        pivot = [c for c in cells if c[0].startswith(party)]
        check(len(pivot) == 1 and len(pivot[0]) == 4
              and all(re.match(r"(\*\*\d[\d,]*\*\*\+?$|none$|n/a)", x) for x in pivot[0][1:]),
              f"headline: {party}: the table of sessions held by interval: {pivot}")
    check("](bench/ladder.svg)" in head, "headline: the plot is not referenced")
    svg = out.parent / "bench/ladder.svg"
    check(svg.exists() and "<svg" in svg.read_text()[:2000]
          and "Strobe xdp" in svg.read_text(), f"{svg}: not the ladder's SVG")

    # Every section, in order, with numbers, commands and its note.
    markers = re.findall(r"^<!-- section: (\w+) -->$", text, re.M)
    check(markers == [s.name for s in suite.SECTIONS],
          f"sections in the report: {markers}")
    check("**FAILED**" not in text, "a section is marked FAILED")
    parts = re.split(r"^<!-- section: \w+ -->$", text, flags=re.M)[1:]
    for s, body in zip(suite.SECTIONS, parts):
        note_start = (ROOT / "tests/bench/notes" / f"{s.name}.md").read_text().split()[:6]
        check(" ".join(note_start) in " ".join(body.split()), f"{s.name}: its note is missing")
        if sections[s.name]["status"] == "unavailable":
            check("**Not run on this machine**" in body and not s.runs(True),
                  f"{s.name}: unavailable but not said so")
            continue
        check(sections[s.name]["status"] == "ok", f"{s.name}: {sections[s.name]}")
        n = len(data_rows(body))
        check(n >= 1, f"{s.name}: no table row with numbers")
        cmds = len(re.findall(r"^- `.*`  $", body, re.M))
        check(cmds == len(s.runs(True)) and body.count(", exit 0, ") == cmds,
              f"{s.name}: {cmds} commands listed, want {len(s.runs(True))}, all exit 0")
        print(f"{s.name}: {n} rows, {cmds} command(s), {len(records[s.name])} records")

    # --update: one section run again into these results; the others are kept as they were.
    kept = {n: (rdir / n / "results.jsonl").read_bytes() for n in run["sections"]}
    cmd = [sys.executable, str(ROOT / "scripts/bench"), "--quick", "--no-build",
           "--build-dir", BUILD, "--update", str(rdir), "--only", "timer", "--out", str(out)]
    print("$", " ".join(cmd), flush=True)
    cp = subprocess.run(cmd, cwd=ROOT, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL,
                        capture_output=True, text=True)
    print(cp.stdout)
    print(cp.stderr, file=sys.stderr)
    check(cp.returncode == 0, f"scripts/bench --update exited with {cp.returncode}")
    run2, sections2, _ = results.load(rdir)
    check(run2["sections"] == run["sections"] and run2["started"] == run["started"],
          "--update changed the run it updates")
    check([u["sections"] for u in run2.get("updates", [])] == [["timer"]],
          f"--update not recorded: {run2.get('updates')}")
    check(sections2["timer"]["runs"][0]["started"] > sections["timer"]["runs"][0]["started"],
          "--update did not run the timer section again")
    for n in run["sections"]:
        if n != "timer":
            check((rdir / n / "results.jsonl").read_bytes() == kept[n],
                  f"--update changed section {n}")
    text2 = out.read_text()
    check(re.findall(r"^<!-- section: (\w+) -->$", text2, re.M) == markers,
          "--update: the report lost sections")
    check(re.search(r"^Then `scripts/bench .*--update .*` ran timer again", text2, re.M)
          is not None and "Run again by `scripts/bench" in text2,
          "--update: the report does not say which section ran again")
    bad = subprocess.run([sys.executable, str(ROOT / "scripts/bench"), "--update", str(rdir),
                          "--no-build", "--build-dir", BUILD, "--only", "timer",
                          "--out", str(keep / "never.md")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    check(bad.returncode == 2 and "quick" in bad.stderr,
          f"--update of a quick run without --quick: exit {bad.returncode}, {bad.stderr!r}")

    print(f"PASS: scripts/bench --quick rendered every section in {wall:.0f} s; --update kept "
          "the others")
    return 0


if __name__ == "__main__":
    sys.exit(main())
