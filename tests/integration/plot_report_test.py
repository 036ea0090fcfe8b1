#!/usr/bin/env python3
"""scripts/plot-report draws a strobe-loadgen report (issue: operations, load generator).

A realistic report is built here from a seeded random generator (1000 sessions ramped up over a
second, a hold with a silence of ten of them, BFD jitter in the intervals the DUT received, the
silenced sessions' gaps, a detection measurement), and plotted:
- SVG (the default): exit 0, the path printed, an XML document whose text holds the given title
  (with characters that need quoting in gnuplot and escaping in XML), the line of figures, both
  panels' axis labels, the phases, p50/p99/max and the detection times, and a box per bucket;
- PNG: the PNG signature, 1200x900 in its header, more than 5 KB;
- the default output: REPORT with the extension of the format, --format png, -o x.png alone;
- a report with nothing but `sessions` (and one with every other key null) still plots, with
  "no data" in both panels;
- bad input (not JSON, no `sessions`, no file) exits 2 with one line naming the file, and writes
  nothing; gnuplot missing or failing exits 1 with the install hint or gnuplot's message;
- no temporary file is left behind by any run (TMPDIR is watched), nor by this test.

Needs gnuplot (Debian package gnuplot-nox): fails, never skips, without it.
"""

import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strobe import ROOT, check  # noqa: E402

PLOT = ROOT / "scripts" / "plot-report"
TITLE = "Lab run_7: O'Brien's \"DUT\" <xdp> & 1000 peers"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- the report

def bucket(us: int) -> tuple:
    """[lower, upper) of the bucket of `us`, as src/metrics/interval_buckets.h cuts them: one per
    microsecond below 256 us, above 128 per power of two."""
    if us < 256:
        return us, us + 1
    b = us.bit_length() - 1 - 7
    lo = us >> b << b
    return lo, lo + (1 << b)


def percentile(ordered: list, q: float):
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_report(seed: int = 7) -> dict:
    rng = random.Random(seed)
    sessions, tx_us, mult = 1000, 10000, 3
    ramp_end, hold = 1.0, (1.9, 31.9)
    silence, silenced = (16.9, 18.2), 10

    # Sessions registered linearly over the ramp; each comes Up 0.3..0.8 s after registering.
    registered_at = [ramp_end * i / sessions for i in range(sessions)]
    up_at = [t + rng.uniform(0.3, 0.8) for t in registered_at]
    timeline = []
    for step in range(0, 320):
        t = round(step * 0.1, 1)
        reg = sum(1 for r in registered_at if r <= t)
        up = sum(1 for u in up_at if u <= t)
        if silence[0] + 0.03 <= t < silence[1] + 0.3:
            up -= silenced  # detected Down 30 ms after the silence, Up again after it
        timeline.append({"t_s": t, "registered": reg, "up": up})

    # Intervals the DUT received: RFC 5880 jitter (75..100 % of tx), a few late packets, and
    # the silenced sessions' gaps.
    samples = [int(rng.uniform(0.75, 1.0) * tx_us + rng.gauss(40, 15)) for _ in range(60000)]
    samples += [int(tx_us * rng.uniform(1.0, 1.1)) for _ in range(30)]
    samples += [int((silence[1] - silence[0]) * 1e6 + rng.uniform(0, tx_us))
                for _ in range(silenced)]
    counts = {}
    for s in samples:
        counts[bucket(s)] = counts.get(bucket(s), 0) + 1
    samples.sort()
    detection = sorted(round(rng.uniform(27.0, 31.3), 1) for _ in range(silenced))
    return {
        "tool": "strobe-loadgen", "version": "0.1.0", "started_at": "2026-11-25T10:00:00Z",
        "dut": "198.18.0.2", "backend": "xdp", "sessions": sessions,
        "tx_us": tx_us, "rx_us": tx_us, "detect_mult": mult,
        "up_at_end": timeline[-1]["up"], "time_to_all_up_s": round(max(up_at), 2), "flaps": 0,
        "timeline": timeline,
        "phases": [{"name": "ramp", "start_s": 0.0, "end_s": ramp_end},
                   {"name": "hold", "start_s": hold[0], "end_s": hold[1]},
                   {"name": "silence", "start_s": silence[0], "end_s": silence[1]}],
        "dut_interval_us": {
            "count": len(samples),
            **{f"p{q}": percentile(samples, q / 100) for q in (50, 90, 99)},
            "max": samples[-1],
            "buckets": [[lo, hi, n] for (lo, hi), n in sorted(counts.items())]},
        "detection_ms": {"count": len(detection), "p50": percentile(detection, 0.5),
                         "p99": percentile(detection, 0.99), "max": detection[-1],
                         "samples": detection},
    }


# ----------------------------------------------------------------------------- running

class Runner:
    """Runs plot-report with TMPDIR pointed at a directory of its own, checked empty after."""

    def __init__(self, work: Path) -> None:
        self.tmpdir = work / "tmpdir"
        self.tmpdir.mkdir()
        self.runs = 0

    def __call__(self, *args, path: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "TMPDIR": str(self.tmpdir)}
        argv = [str(PLOT), *map(str, args)]
        if path is not None:  # a PATH without gnuplot, or with a fake one: no env lookup
            env["PATH"] = path
            argv.insert(0, sys.executable)
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=env)
        self.runs += 1
        left = list(self.tmpdir.iterdir())
        check(not left, f"plot-report {' '.join(argv[1:])} left {left} in its TMPDIR")
        return cp


def ok(cp: subprocess.CompletedProcess, out: Path) -> None:
    check(cp.returncode == 0, f"{' '.join(cp.args)}: exit {cp.returncode}\n{cp.stderr}")
    check(cp.stdout.strip() == str(out), f"printed {cp.stdout!r}, want the path {out}")
    check(cp.stderr == "", f"messages on success (gnuplot warnings?):\n{cp.stderr}")
    check(out.is_file(), f"{out} was not written")


def svg_root(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise AssertionError(f"{path} is not XML: {e}") from None
    check(root.tag.endswith("svg"), f"{path}: root element {root.tag}")
    return root


def tag(e: ET.Element) -> str:
    return e.tag.rpartition("}")[2]


def svg_text(path: Path) -> list:
    """The SVG's text: the contents of each <text> element, white space collapsed."""
    return [" ".join("".join(e.itertext()).split()) for e in svg_root(path).iter()
            if tag(e) == "text"]


def svg_drawn(path: Path) -> tuple:
    """(points of the lines drawn in the top half, filled polygons in the bottom half): the
    timeline's curves and the histogram's boxes (gnuplot draws each box as a polygon)."""
    root = svg_root(path)
    middle = float(root.get("height", "0").rstrip("px")) / 2
    check(middle > 0, f"{path}: no height on the <svg> element")
    points = boxes = 0
    for e in root.iter():
        coords = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?",
                                               e.get("d" if tag(e) == "path" else "points", ""))]
        ys = coords[1::2]
        if tag(e) == "path" and ys and max(ys) < middle:
            points += len(ys)
        elif tag(e) == "polygon" and ys and min(ys) > middle:
            boxes += 1
    return points, boxes


def ms(v: float) -> str:
    """How plot-report writes milliseconds: to the microsecond, no trailing zeros."""
    return f"{v:.3f}".rstrip("0").rstrip(".")


def has(texts: list, want: str) -> bool:
    return any(want in t for t in texts)


def png_size(path: Path) -> tuple:
    data = path.read_bytes()
    check(data.startswith(PNG_SIGNATURE), f"{path}: no PNG signature: {data[:8]!r}")
    check(data[12:16] == b"IHDR", f"{path}: no IHDR chunk first")
    check(len(data) > 5 * 1024, f"{path}: {len(data)} bytes, a real plot has more than 5 KB")
    return struct.unpack(">II", data[16:24])


# ----------------------------------------------------------------------------- checks

def check_full(run: Runner, d: Path, report: dict) -> None:
    src = d / "report.json"
    src.write_text(json.dumps(report))
    out = d / "titled.svg"
    ok(run(src, "-o", out, "--title", TITLE), out)
    texts = svg_text(out)
    want = [TITLE, "1000 sessions", "tx 10 ms, rx 10 ms, detect mult 3",
            f"Up at end {report['up_at_end']}/1000", "0 flaps", "time (s)", "sessions",
            "interval between received packets (ms)", "share of packets (%, log scale)",
            "ramp", "hold", "silence", "Up", "registered", "sessions (1000)"]
    hist = report["dut_interval_us"]
    want += [f"{k} {ms(hist[k] / 1000)} ms" for k in ("p50", "p99", "max")]
    want += [f"{hist['count']} intervals"]
    det = report["detection_ms"]
    want += ["Detection time of the DUT (10 measured)", f"p50 {ms(det['p50'])}",
             f"p99 {ms(det['p99'])}", f"max {ms(det['max'])} ms"]
    missing = [w for w in want if not has(texts, w)]
    check(not missing, f"{out}: no text {missing}; its texts: {texts}")
    check(not has(texts, "no data"), f"{out}: 'no data' although the report has data")
    points, boxes = svg_drawn(out)
    buckets, timeline = len(hist["buckets"]), len(report["timeline"])
    check(boxes == buckets, f"{out}: {boxes} boxes drawn for {buckets} buckets")
    check(points >= 2 * timeline, f"{out}: {points} points of lines drawn in the top panel for "
                                  f"a timeline of {timeline} (Up and registered)")
    print(f"svg: XML with the title, the figures, both panels' labels, phases, p50/p99/max and "
          f"detection; {boxes} boxes for {buckets} buckets, {points} points of lines for a "
          f"timeline of {timeline}")

    # Without --title: tool, version, DUT, backend and start time.
    default = d / "default-title.svg"
    ok(run(src, "-o", default), default)
    texts = svg_text(default)
    first = "strobe-loadgen 0.1.0 against 198.18.0.2 (xdp backend), 2026-11-25T10:00:00Z"
    check(has(texts, first), f"{default}: no default title {first!r}; texts: {texts}")
    print("svg: default title names the tool, version, DUT, backend and start time")

    png = d / "picture.png"
    ok(run(src, "-o", png, "--format", "png"), png)
    size = png_size(png)
    check(size == (1200, 900), f"{png}: {size[0]}x{size[1]}, want 1200x900")
    print(f"png: signature, 1200x900, {png.stat().st_size} bytes")


def check_default_output(run: Runner, d: Path, report: dict) -> None:
    sub = d / "runs.d"
    sub.mkdir()
    src = sub / "run.1.json"
    src.write_text(json.dumps(report))
    ok(run(src), sub / "run.1.svg")
    svg_text(sub / "run.1.svg")
    ok(run(src, "--format", "png"), sub / "run.1.png")
    png_size(sub / "run.1.png")
    ok(run(src, "-o", sub / "chosen.PNG"), sub / "chosen.PNG")  # the extension picks PNG
    png_size(sub / "chosen.PNG")
    bare = sub / "report"
    bare.write_text(json.dumps(report))
    ok(run(bare), sub / "report.svg")
    expected = {"run.1.json", "run.1.svg", "run.1.png", "chosen.PNG", "report", "report.svg"}
    check({p.name for p in sub.iterdir()} == expected,
          f"{sub}: {sorted(p.name for p in sub.iterdir())}, want {sorted(expected)}")
    cp = run(src, "-o", src)
    check(cp.returncode == 2 and json.loads(src.read_text()) == report,
          f"-o REPORT: exit {cp.returncode}, report overwritten?\n{cp.stderr}")
    print("output: REPORT.svg by default, .png with --format png, -o x.PNG is PNG, "
          "a name without extension gets one, the report itself is refused")


def check_no_data(run: Runner, d: Path) -> None:
    for name, report in (("bare", {"sessions": 16}),
                         ("nulls", {"sessions": 16, "tool": None, "dut": None, "tx_us": None,
                                    "up_at_end": None, "flaps": None, "timeline": None,
                                    "phases": None, "dut_interval_us": None,
                                    "detection_ms": None}),
                         ("empty", {"sessions": 16, "timeline": [], "phases": [],
                                    "dut_interval_us": {"count": 0, "buckets": []}})):
        src = d / f"{name}.json"
        src.write_text(json.dumps(report))
        out = d / f"{name}.svg"
        ok(run(src), out)
        texts = svg_text(out)
        check(sum(t == "no data" for t in texts) == 2, f"{out}: want 'no data' twice: {texts}")
        points, boxes = svg_drawn(out)
        check(boxes == 0, f"{out}: {boxes} boxes drawn without a histogram")
        for want in ("16 sessions", "time (s)", "share of packets (%)"):
            check(has(texts, want), f"{out}: no {want!r}: {texts}")
        ok(run(src, "--format", "png"), d / f"{name}.png")
        png_size(d / f"{name}.png")
    print("no data: reports with nothing but sessions (absent, null, empty) plot 'no data' "
          "in both panels, SVG and PNG")


def check_errors(run: Runner, d: Path, report: dict) -> None:
    cases = [("garbage.json", "{not json", "not JSON"),
             ("list.json", "[1, 2]", "not a report"),
             ("nosessions.json", json.dumps({k: v for k, v in report.items()
                                             if k != "sessions"}), '"sessions"'),
             ("badsessions.json", json.dumps({**report, "sessions": "many"}), '"sessions"'),
             ("missing.json", None, "cannot read")]
    for name, content, reason in cases:
        src = d / name
        if content is not None:
            src.write_text(content)
        out = d / "error-output.svg"
        cp = run(src, "-o", out)
        lines = cp.stderr.splitlines()
        check(cp.returncode == 2, f"{name}: exit {cp.returncode}, want 2\n{cp.stderr}")
        check(len(lines) == 1 and str(src) in lines[0] and reason in lines[0],
              f"{name}: want one line naming {src} and saying {reason!r}:\n{cp.stderr}")
        check(not out.exists() and not d.joinpath(Path(name).stem + ".svg").exists(),
              f"{name}: a picture was written")
    print(f"bad input: {len(cases)} cases exit 2 with one line naming the file and the problem")

    src = d / "report.json"
    src.write_text(json.dumps(report))
    empty = d / "empty-bin"
    empty.mkdir()
    out = d / "never.svg"
    cp = run(src, "-o", out, path=str(empty))
    check(cp.returncode == 1 and "gnuplot not found: apt-get install gnuplot-nox" in cp.stderr,
          f"without gnuplot: exit {cp.returncode}\n{cp.stderr}")
    fake = d / "fake-bin"
    fake.mkdir()
    (fake / "gnuplot").write_text("#!/bin/sh\ncat >/dev/null\n"
                                  "echo 'line 3: fake gnuplot refuses' >&2\nexit 3\n")
    (fake / "gnuplot").chmod(0o755)
    cp = run(src, "-o", out, path=f"{fake}:/usr/bin:/bin")
    check(cp.returncode == 1 and "fake gnuplot refuses" in cp.stderr,
          f"failing gnuplot: exit {cp.returncode}\n{cp.stderr}")
    check(not out.exists(), f"{out} written although gnuplot failed")
    print("gnuplot: missing -> exit 1 with the install hint; failing -> exit 1 with its message, "
          "no picture")


def check_help(run: Runner) -> None:
    cp = run("--help")
    check(cp.returncode == 0, f"--help: exit {cp.returncode}\n{cp.stderr}")
    for want in ("REPORT", "--format", "--title", "top panel", "bottom panel", "no data",
                 "gnuplot-nox", "exit status"):
        check(want in cp.stdout, f"--help does not mention {want!r}:\n{cp.stdout}")
    print("--help: usage, panels, exit status and the package named")


def main() -> int:
    check(shutil.which("gnuplot") is not None, "gnuplot is missing: apt-get install gnuplot-nox")
    check(os.access(PLOT, os.X_OK), f"{PLOT} is not executable")
    report = make_report()
    with tempfile.TemporaryDirectory(prefix="plot_report_test.") as d:
        work = Path(d)
        run = Runner(work)
        check_help(run)
        check_full(run, work, report)
        check_default_output(run, work, report)
        check_no_data(run, work)
        check_errors(run, work, report)
    check(not work.exists(), f"{work} is still there")
    print(f"plot_report: OK ({run.runs} runs of plot-report, nothing left behind)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
