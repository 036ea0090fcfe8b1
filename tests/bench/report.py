#!/usr/bin/env python3
"""Renders docs/benchmarks.md from the results of one `scripts/bench` run.

  tests/bench/report.py RESULTS_DIR [--out docs/benchmarks.md]

The report: a header (the command, the dates, the machine), the headline (the BFD scale ladder
as a table and a plot, bench/ladder.svg next to the report, drawn by gnuplot), then one part per
benchmark section with its tables (ratios to FRR and BIRD where they did the same job in the same
run), its commands, and its fixed explanation from tests/bench/notes/SECTION.md. The notes explain
what is measured and what limits it; every figure comes from the results.
"""

from __future__ import annotations

import argparse
import datetime
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import results  # noqa: E402

NOTES = HERE / "notes"
GNUPLOT_TIMEOUT_S = 60


class ReportError(RuntimeError):
    """The report cannot be rendered (a note missing, gnuplot failing)."""


# --------------------------------------------------------------------------------------------
# formatting

def num(x: Any, nd: int = 0) -> str:
    """1234.5 -> '1,234' (nd 0) or '1,234.5' (nd 1); None -> '-'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, float)):
        return f"{x:,.{nd}f}"
    return str(x)


def auto(x: Any) -> str:
    """A number with as many decimals as its size calls for (3 significant digits below 100)."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return num(x)
    a = abs(x)
    if a >= 100 or float(x).is_integer():
        return num(x, 0)
    if a >= 10:
        return num(x, 1)
    if a >= 1:
        return num(x, 2)
    return num(x, 3)


def span(values: Iterable[Any], fmt: Callable[[Any], str] = auto) -> str:
    """'lo - hi' over the runs, or the one value."""
    vals = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not vals:
        return "-"
    lo, hi = fmt(min(vals)), fmt(max(vals))
    return lo if lo == hi else f"{lo} - {hi}"


def ratio(a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return "-"
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def table(header: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    """A markdown table; `align` one letter per column, l or r (default: first l, rest r)."""
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---" if a == "l" else "---:" for a in align]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def get(d: Any, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def when(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        t = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return f"{h} h {m:02d} min {sec:02d} s" if h else f"{m} min {sec:02d} s" if m else f"{sec} s"


# --------------------------------------------------------------------------------------------
# the BFD scale ladder: the headline

PEER_NAMES = {"strobe": "Strobe", "frr": "FRR bfdd", "bird": "BIRD"}


def party(r: dict) -> str:
    if r.get("peer") == "strobe":
        return f"Strobe {r['backend']} <-> Strobe {r['backend']} ({r.get('link', 'veth')})"
    return f"{PEER_NAMES.get(r.get('peer'), r.get('peer'))} (against Strobe {r['backend']})"


def step_failure(r: dict) -> str:
    if r.get("ok"):
        return ""
    if "error" in r:
        e = r["error"]
        if "bring-up" in e:
            return "not all Up in time"
        # A daemon that refused its configuration: its log's ERROR line says why.
        logged = re.search(r"\bERROR\s+(.+)", e)
        if logged:
            return "refused: " + logged.group(1).strip()[:100]
        return "error: " + e.splitlines()[0][:80]
    downs = (r.get("a_false_downs") or 0) + (r.get("b_false_downs") or 0)
    if downs:
        return (f"{num(r.get('a_false_downs'))} / {num(r.get('b_false_downs'))} false Downs "
                "(A / B)")
    return f"{num(r.get('a_up_at_end'))} / {num(r.get('b_up_at_end'))} Up at the end"


def ladder_summary(recs: list[dict]) -> dict[tuple[str, float], dict]:
    """(party, interval) -> {held, top, fail (record or None), held_rec, hold_s}."""
    out: dict[tuple[str, float], dict] = {}
    for r in recs:
        if r.get("bench") != "bfd_scale":
            continue
        key = (party(r), float(r["interval_ms"]))
        s = out.setdefault(key, {"ok": [], "failed": [], "hold_s": r.get("hold_s"),
                                 "peer": r.get("peer"), "backend": r.get("backend")})
        (s["ok"] if r.get("ok") else s["failed"]).append(r)
    for s in out.values():
        held_rec = max(s["ok"], key=lambda r: r["sessions"], default=None)
        s["held"] = held_rec["sessions"] if held_rec else 0
        s["held_rec"] = held_rec
        above = [r for r in s["failed"] if r["sessions"] > s["held"]]
        s["fail"] = min(above, key=lambda r: r["sessions"], default=None)
        s["top"] = s["fail"] is None
    return out


LADDER_PARTY_ORDER = ("Strobe xdp", "Strobe dpdk", "FRR", "BIRD")


def party_rank(p: str) -> int:
    return next((i for i, k in enumerate(LADDER_PARTY_ORDER) if p.startswith(k)), 99)


def held_cell(s: dict) -> str:
    if s["held"] == 0:
        return "none"
    return f"{num(s['held'])}" + (" (the ladder's top)" if s["top"] else "")


def cores_cell(r: dict | None) -> str:
    c = get(r, "core_busy_pct") or {}
    return " / ".join(f"{v:.0f}" for _, v in sorted(c.items())) if c else "-"


def headline(ladder_recs: list[dict], plot_rel: str | None) -> tuple[str, int]:
    summ = ladder_summary(ladder_recs)
    if not summ:
        return "No ladder results.", 0
    intervals = sorted({k[1] for k in summ}, reverse=True)
    parties = sorted({k[0] for k in summ}, key=lambda p: (party_rank(p), p))
    holds = sorted({s["hold_s"] for s in summ.values() if s["hold_s"] is not None})
    hold = "/".join(f"{h:g}" for h in holds) if holds else "?"
    rows = []
    for iv in intervals:
        frr = next((s for (p, i), s in summ.items() if i == iv and s["peer"] == "frr"), None)
        bird = next((s for (p, i), s in summ.items() if i == iv and s["peer"] == "bird"), None)
        for p in parties:
            s = summ.get((p, iv))
            if s is None:
                if p.startswith("FRR") and iv < 10:
                    rows.append([f"{iv:g} ms", p, "n/a", "FRR bfdd's minimum interval is 10 ms",
                                 "-", "-", "-"])
                continue
            fail = s["fail"]
            fail_cell = ("-" if fail is None else
                         f"{num(fail['sessions'])}: {step_failure(fail)}")
            vs_frr = vs_bird = "-"
            if s["peer"] == "strobe":
                vs_frr = (ratio(s["held"], frr["held"]) if frr and frr["held"] else
                          "FRR held none" if frr else
                          "n/a" if iv < 10 else "-")
                vs_bird = (ratio(s["held"], bird["held"]) if bird and bird["held"] else
                           "BIRD held none" if bird else "-")
            rows.append([f"{iv:g} ms", p, held_cell(s), fail_cell, cores_cell(s["held_rec"]),
                         vs_frr, vs_bird])
    pivot = []
    for p in parties:
        cells = []
        for iv in intervals:
            s = summ.get((p, iv))
            cells.append(("n/a (bfdd's minimum is 10 ms)" if p.startswith("FRR") and iv < 10
                          else "not run") if s is None else
                         "none" if s["held"] == 0 else
                         f"**{num(s['held'])}**" + ("+" if s["top"] else ""))
        pivot.append([p] + cells)
    md = [f"Sessions held Up for {hold} s with zero false Down on either side (detect "
          "multiplier 3), each party on one core of its own; \"+\": the ladder's top step "
          "held, so the limit is higher; \"none\": its first step failed.", "",
          table(["parties"] + [f"{iv:g} ms" for iv in intervals], pivot),
          "", "The steps that end each ladder, and the ratios: sessions held by Strobe "
          "against Strobe over those FRR bfdd and BIRD held at the same interval, in the same "
          "run. \"Cores busy\" is both cores' load (%) during the hold of the last step held.",
          "",
          table(["interval", "parties", "held", "first failing step", "cores busy (%)",
                 "held / FRR's", "held / BIRD's"], [r for r in rows],
                "lllllrr")]
    if plot_rel:
        md += ["", f"![Sessions held with zero false Down, by interval and party]({plot_rel})"]
    return "\n".join(md), len(rows)


def ladder_plot(ladder_recs: list[dict], svg: Path) -> bool:
    """A clustered bar chart (log scale) of the sessions held, by interval and party."""
    summ = ladder_summary(ladder_recs)
    if not summ:
        return False
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        raise ReportError("gnuplot not found (Debian package gnuplot-nox)")
    intervals = sorted({k[1] for k in summ}, reverse=True)
    parties = sorted({k[0] for k in summ}, key=lambda p: (party_rank(p), p))
    n = len(parties)
    holds = sorted({s["hold_s"] for s in summ.values() if s["hold_s"] is not None})
    top = max([s["held"] for s in summ.values()] + [1])
    with tempfile.TemporaryDirectory(prefix="strobe-report-") as tmp:
        t = Path(tmp)
        dat, labels = [], []
        for i, iv in enumerate(intervals):
            cells = []
            for j, p in enumerate(parties):
                s = summ.get((p, iv))
                x = i + (j - (n - 1) / 2) / (n + 1)
                if s is None:
                    cells.append("?")
                    labels.append(f"{x:.4f} 1 \"n/a\"")
                elif s["held"] == 0:
                    cells.append("?")
                    labels.append(f"{x:.4f} 1 \"0\"")
                else:
                    cells.append(str(s["held"]))
                    labels.append(f"{x:.4f} {s['held']} \"{s['held']:,}"
                                  + ("+" if s["top"] else "") + "\"")
            dat.append(f"\"{iv:g} ms\" " + " ".join(cells))
        (t / "ladder.dat").write_text("\n".join(dat) + "\n")
        (t / "labels.dat").write_text("\n".join(labels) + "\n")
        colours = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd"]
        plots = []
        for j, p in enumerate(parties):
            plots.append(f"'ladder.dat' using {j + 2}:xtic(1) title \"{p}\" "
                         f"lc rgb \"{colours[j % len(colours)]}\"")
        plots.append("'labels.dat' using 1:2:3 with labels offset 0,0.7 font \",10\" notitle")
        hold = "/".join(f"{h:g}" for h in holds)
        script = f"""set terminal svg size 960,520 dynamic font "sans,12" background "#ffffff"
set output 'ladder.svg'
set title "BFD sessions held Up for {hold} s with zero false Down (detect multiplier 3)\\n\
{{/*0.85 +: the ladder's top step held (the limit is higher); 0: the first step failed}}" enhanced
set xrange [-0.6:{len(intervals) - 0.4}]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 1
set logscale y
set yrange [1:{top * 4}]
set format y "%.0f"
set ylabel "sessions held (log scale)"
set xlabel "transmit and receive interval"
set grid ytics
set key outside bottom center horizontal
set datafile missing "?"
plot {", ".join(plots)}
"""
        cp = subprocess.run([gnuplot], input=script, cwd=t, capture_output=True, text=True,
                            timeout=GNUPLOT_TIMEOUT_S)
        out = t / "ladder.svg"
        if cp.returncode != 0 or not out.exists() or out.stat().st_size < 1000:
            raise ReportError(f"gnuplot failed: {cp.stderr.strip()[:500]}")
        svg.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, svg)
    return True


def ladder_steps(recs: list[dict]) -> tuple[str, int]:
    rows = []
    for r in recs:
        if r.get("bench") != "bfd_scale":
            continue
        lat = r.get("a_tx_lateness_us") or {}
        rows.append([party(r), f"{r['interval_ms']:g} ms", num(r["sessions"]),
                     "held" if r.get("ok") else "FAILED: " + step_failure(r),
                     f"{num(r.get('a_false_downs'))} / {num(r.get('b_false_downs'))}",
                     cores_cell(r), auto(r.get("bring_up_s")),
                     "/".join(num(lat.get(k)) for k in ("p50", "p99", "max")) if lat else "-",
                     auto(get(r, "a_work", "ns_per_packet")),
                     num(get(r, "a_diag", "loop_max_us", "sleep_overrun"))])
    return table(["parties", "interval", "sessions", "result", "false Downs A / B",
                  "cores busy (%)", "bring-up (s)", "A's TX lateness p50/p99/max (us)",
                  "A's worker ns/packet", "A's longest sleep overrun (us)"], rows,
                 "llrlrrrrrr"), len(rows)


def render_ladder(recs: list[dict], ctx: dict) -> tuple[str, int]:
    md, n = ladder_steps(recs)
    return "Every step, in the order run:\n\n" + md, n


def render_ladder_dpdk(recs: list[dict], ctx: dict) -> tuple[str, int]:
    steps, n = ladder_steps(recs)
    rows = []
    for r in recs:
        if r.get("bench") != "bfd_scale":
            continue
        lat = r.get("a_tx_lateness_us") or {}
        w = r.get("a_work") or {}
        rows.append([f"{num(r['sessions'])} at {r['interval_ms']:g} ms",
                     "held" if r.get("ok") else "failed",
                     num(lat.get("p50")), num(lat.get("p90")), num(lat.get("p99")),
                     num(lat.get("max")), num(w.get("packets")), auto(w.get("cpu_ms")),
                     auto(w.get("ns_per_packet")), num(w.get("packets_per_ms_per_core")),
                     num(get(r, "a_diag", "dpdk", "detection_catch_ups"))])
    precision = table(["step", "result", "TX lateness p50 (us)", "p90", "p99", "max",
                       "packets (A's worker)", "CPU (ms)", "ns per packet",
                       "packets per ms per core", "detection catch-ups"], rows, "llrrrrrrrrr")
    return ("Every step, in the order run:\n\n" + steps + "\n\nTimer precision (how late side "
            "A's transmissions left after their jittered schedule, over the whole step) and CPU "
            "per packet (A's worker thread CPU time over the packets it sent and the BFD packets "
            "it received, idle polling included):\n\n" + precision), n


# --------------------------------------------------------------------------------------------
# the other sections

def render_bfd_cpu(recs: list[dict], ctx: dict) -> tuple[str, int]:
    names = {"socket": "Strobe, socket backend", "xdp": "Strobe, xdp backend",
             "frr": "FRR bfdd (+ zebra)", "bird": "BIRD"}
    by_run: dict[int, dict[str, dict]] = {}
    for r in recs:
        by_run.setdefault(r["run"], {})[r["dut"]] = r
    rows = []
    for run, duts in sorted(by_run.items()):
        frr, bird = duts.get("frr"), duts.get("bird")
        for d, r in duts.items():
            cpu = r.get("dut_process_cpu_pct")
            rows.append([names.get(d, d), num(r.get("sessions")), f"{r.get('interval_ms')} ms",
                         f"{num(r.get('up_at_end'))} / {num(r.get('sessions'))}",
                         num(r.get("flaps")), num(cpu, 1), num(r.get("core0_busy_pct"), 1),
                         num(r.get("core1_busy_pct"), 1),
                         ratio(cpu, get(frr, "dut_process_cpu_pct")) if d != "frr" else "1",
                         ratio(cpu, get(bird, "dut_process_cpu_pct")) if d != "bird" else "1"])
    return table(["device under test (core 1)", "sessions", "interval x 3", "Up at the end",
                  "flaps seen by the partner", "DUT CPU (%)", "core 0 (%)", "core 1 (%)",
                  "CPU / FRR's", "CPU / BIRD's"], rows, "lrrrrrrrrr"), len(rows)


def render_loadgen(recs: list[dict], ctx: dict) -> tuple[str, int]:
    names = {"frr": "FRR bfdd", "bird": "BIRD", "strobe": "strobe-dataplane (xdp)"}
    rows = []
    for r in sorted(recs, key=lambda r: (-r.get("interval_ms", 0), r.get("run", 0))):
        name = names.get(r["dut"], r["dut"])
        iv = f"{r['interval_ms']:g} ms x 3"
        if "error" in r:
            rows.append([name, iv, num(r["sessions"]), "FAILED: " + r["error"][:100],
                         "", "", "", "", "", "", ""])
            continue
        i, d = r.get("dut_interval_us", {}), r.get("detection_ms", {})
        ms = lambda v: "-" if v is None else f"{v / 1000:.2f}"  # noqa: E731
        rows.append([name, iv, num(r["sessions"]), f"{num(r['up_at_end'])}, {num(r['flaps'])}",
                     num(i.get("count")), ms(i.get("p50")), ms(i.get("p90")), ms(i.get("p99")),
                     ms(i.get("max")),
                     f"{auto(d.get('p50'))} / {auto(d.get('max'))} ({num(d.get('count'))})",
                     auto(r.get("configured_detection_ms"))])
    return table(["device under test", "interval", "sessions", "Up at the end, flaps",
                  "gaps measured", "gap p50 (ms)", "p90", "p99", "max",
                  "detection p50 / max, ms (silenced)", "configured detection (ms)"], rows,
                 "llrrrrrrrrr"), len(rows)


def render_tor(recs: list[dict], ctx: dict) -> tuple[str, int]:
    cases = [c for doc in recs for c in doc.get("cases", [])]
    f1 = lambda st, k="median": "-" if not st else f"{st[k]:.1f}"  # noqa: E731
    rows = []
    for c in cases:
        rows.append([c["edge"], num(c["vips"]), num(len(c.get("samples", []))),
                     f1(c.get("last_ms")), f1(c.get("last_ms"), "p90"),
                     f1(c.get("last_ms"), "max"), f1(c.get("first_ms")),
                     f1(c.get("silence_to_down_ms")), f1(c.get("down_to_last_ms")),
                     "-" if not c.get("event_to_ack_ms") else
                     f"{c['event_to_ack_ms']['median']:.2f}",
                     num(len(c.get("discarded", [])))])
    md = [table(["edge", "VIPs", "failovers", "silence -> last VIP off the node: median (ms)",
                 "p90", "max", "first VIP: median", "silence -> BFD Down: median",
                 "BFD Down -> last VIP: median", "Strobe event_to_ack: median (ms)",
                 "runs discarded"], rows, "lrrrrrrrrrr")]
    by = {(c["edge"], c["vips"]): c for c in cases}
    ratios = []
    for n in sorted({c["vips"] for c in cases}):
        s, f = by.get(("strobe", n)), by.get(("frr", n))
        if s and f and s.get("last_ms") and f.get("last_ms"):
            ratios.append([num(n), ratio(f["last_ms"]["median"], s["last_ms"]["median"]),
                           ratio(f["last_ms"]["p90"], s["last_ms"]["p90"]),
                           ratio(f["down_to_last_ms"]["median"],
                                 s["down_to_last_ms"]["median"])])
    if ratios:
        md += ["", "FRR edge over Strobe edge, same run:", "",
               table(["VIPs", "silence -> last VIP, median", "p90", "BFD Down -> last VIP, "
                      "median"], ratios)]
    doc = recs[0] if recs else {}
    if doc.get("strobe_backend"):
        md += ["", f"Strobe's dataplane ran the `{doc['strobe_backend']}` backend."]
    return "\n".join(md), len(rows)


def render_bgp_rib(recs: list[dict], ctx: dict) -> tuple[str, int]:
    groups: dict[tuple, list[dict]] = {}
    for r in recs:
        groups.setdefault((r["prefixes"], r["peers"], r["attrs"]), []).append(r)
    rows = []
    for (n, peers, attrs), rs in groups.items():
        reps: dict[tuple, dict[str, dict]] = {}
        for r in rs:
            reps.setdefault((r["run"], r.get("repeat", 1)), {})[r["receiver"]] = r
        for kind in dict.fromkeys(r["receiver"] for r in rs):
            mine = [r for r in rs if r["receiver"] == kind]
            vs = {}
            for other in ("bird", "frr"):
                vs[other] = ([rep[kind]["cpu_s"] / rep[other]["cpu_s"]
                              for rep in reps.values()
                              if kind in rep and other in rep and rep[other]["cpu_s"] > 0],
                             [rep[kind]["bytes_per_prefix"] / rep[other]["bytes_per_prefix"]
                              for rep in reps.values()
                              if kind in rep and other in rep
                              and rep[other]["bytes_per_prefix"] > 0])
            rf = lambda v: f"{v:.2f}" if v < 10 else f"{v:.1f}"  # noqa: E731
            rows.append([f"{num(n)} x {peers} peer{'s' if peers > 1 else ''}, {attrs}", kind,
                         num(len(mine)), span([r["cpu_s"] for r in mine]),
                         span([r["settled_s"] for r in mine]),
                         span([r["bytes_per_prefix"] for r in mine], num),
                         span([r["bytes_per_path"] for r in mine], num),
                         "1" if kind == "bird" else span(vs["bird"][0], rf),
                         "1" if kind == "bird" else span(vs["bird"][1], rf),
                         "1" if kind == "frr" else span(vs["frr"][0], rf),
                         "" if all(r.get("complete") for r in mine) else "INCOMPLETE"])
    return table(["feed", "receiver", "runs", "CPU (s)", "settled (s)", "bytes/prefix",
                  "bytes/path", "CPU / BIRD's", "bytes / BIRD's", "CPU / FRR's", ""], rows,
                 "llrrrrrrrrl"), len(rows)


def render_rib(recs: list[dict], ctx: dict) -> tuple[str, int]:
    groups: dict[tuple, list[dict]] = {}
    for r in recs:
        groups.setdefault((r["prefixes"], r["peers"], r["attrs"]), []).append(r)
    rows = [[num(n), num(p), a, num(len(rs)), span([r["announce_cpu_s"] for r in rs]),
             span([r["ns_per_path"] for r in rs], num), span([r["bytes_per_prefix"] for r in rs],
                                                             num),
             span([r["bytes_per_path"] for r in rs], num), span([r["clear_cpu_s"] for r in rs])]
            for (n, p, a), rs in groups.items()]
    return table(["prefixes", "peers", "attributes", "runs", "announce CPU (s)", "ns per path",
                  "bytes/prefix", "bytes/path", "withdraw all (s)"], rows, "rrlrrrrrr"), len(rows)


def render_fib_install(recs: list[dict], ctx: dict) -> tuple[str, int]:
    names = {"kernel": "kernel (`ip -batch`)", "strobe": "Strobe", "bird": "BIRD",
             "frr": "FRR zebra"}
    rows = []
    for n in dict.fromkeys(r["routes"] for r in recs):
        rs = [r for r in recs if r["routes"] == n]
        by_run: dict[int, dict[str, dict]] = {}
        for r in rs:
            by_run.setdefault(r["run"], {})[r["installer"]] = r
        for kind in dict.fromkeys(r["installer"] for r in rs):
            mine = [r for r in rs if r["installer"] == kind and "error" not in r]
            errors = [r["error"] for r in rs if r["installer"] == kind and "error" in r]

            def vs(other: str) -> str:
                vals = [run[kind]["routes_per_s"] / run[other]["routes_per_s"]
                        for run in by_run.values()
                        if kind in run and other in run and "error" not in run[kind]
                        and "error" not in run[other] and run[kind].get("routes_per_s")
                        and run[other].get("routes_per_s")]
                return span(vals, lambda v: f"{100 * v:.0f} %")
            rows.append([num(n), names.get(kind, kind), num(len(mine)),
                         span([r["seconds"] for r in mine]),
                         span([r["routes_per_s"] for r in mine], num),
                         "100 %" if kind == "kernel" else vs("kernel"),
                         "100 %" if kind == "bird" else vs("bird"),
                         "100 %" if kind == "frr" else vs("frr"),
                         span([r["user_s"] for r in mine]), span([r["sys_s"] for r in mine]),
                         span([r.get("total_s") for r in mine]),
                         "FAILED: " + "; ".join(errors)[:120] if errors else ""])
    return table(["routes", "installer", "runs", "install (s)", "routes/s", "rate / ip -batch",
                  "rate / BIRD", "rate / FRR", "user (s)", "sys (s)", "from start (s)", ""],
                 rows, "rlrrrrrrrrrl"), len(rows)


def render_fib_failover(recs: list[dict], ctx: dict) -> tuple[str, int]:
    rows, follow = [], []
    for r in recs:
        if r.get("mode") != "failover":
            continue
        kind = (f"nexthop objects, compat_mode {r['compat_mode']}" if r["nexthop_objects"]
                else "RTA_MULTIPATH routes (no nexthop objects)")
        us = lambda v: "-" if v is None else (f"{v:.0f} us" if v < 1000 else  # noqa: E731
                                               f"{v / 1000:.2f} ms" if v < 1e6 else
                                               f"{v / 1e6:.2f} s")
        rows.append([num(r["routes"]), kind, num(r["failovers"]),
                     us(r.get("event_to_ack_us_median")), us(r.get("event_to_ack_us_min")),
                     us(r.get("event_to_ack_us_max")), num(r.get("groups_rewritten"))])
        follow.append([num(r["routes"]), kind, auto(r.get("withdraw_ms_median")),
                       num(r.get("withdraw_route_ops")), auto(r.get("restore_ms_median")),
                       num(r.get("restore_route_ops")), num(r.get("restore_group_ops")),
                       auto(r.get("longest_flush_ms")), auto(get(r, "install", "seconds"))])
    md = table(["routes on the group", "FIB", "failovers", "failover -> kernel ack: median",
                "min", "max", "groups rewritten"], rows, "rlrrrrr")
    md += ("\n\nWhat follows each failover (medians): BGP withdrawing the dead next hop from "
           "every route, and the next hop coming back; with the kernel route operations each "
           "caused (over all failovers), and the longest single `Flush()`:\n\n")
    md += table(["routes", "FIB", "withdraw to the 3 others (ms)", "route ops",
                 "back to the 4 (ms)", "route ops", "group ops", "longest Flush() (ms)",
                 "install first (s)"], follow, "rlrrrrrrr")
    return md, len(rows)


def render_xdp(recs: list[dict], ctx: dict) -> tuple[str, int]:
    paths: dict[str, dict] = {}
    for r in recs:
        for p in r.get("paths", []):
            e = paths.setdefault(p["key"], {"path": p["path"], "median": [], "best": []})
            e["median"].append(p["median_ns"])
            e["best"].append(p["best_ns"])
    repeat = sorted({r.get("repeat") for r in recs if r.get("repeat")})
    rows = [[e["path"], span(e["median"], num), span(e["best"], num)] for e in paths.values()]
    return (f"{num(len(recs))} run(s), each line 5 rounds of `BPF_PROG_TEST_RUN` with repeat = "
            f"{', '.join(num(x) for x in repeat)}; ranges over the runs:\n\n"
            + table(["path", "ns per packet (median round)", "best round"], rows)), len(rows)


def render_af_xdp(recs: list[dict], ctx: dict) -> tuple[str, int]:
    rows = [[num(i + 1), num(r["sessions"]), num(r["batch"]), num(r["core"]),
             auto(r["seconds"]), num(r["frames_per_ms"]), num(r["ns_per_frame"]),
             f"{r['user_pct']:.0f} / {r['sys_pct']:.0f}", num(r["refused"])]
            for i, r in enumerate(recs)]
    return table(["run", "sessions", "batch", "core", "seconds", "frames/ms", "ns/frame",
                  "thread CPU user / sys (%)", "refused (ring full)"], rows), len(rows)


def render_ring(recs: list[dict], ctx: dict) -> tuple[str, int]:
    rows = []
    for i, r in enumerate(recs):
        for mode in ("busy", "sleeping"):
            m = r[mode]
            rows.append([num(i + 1), "busy-polling" if mode == "busy" else "sleeping (eventfd)",
                         auto(m["p50_us"]), auto(m["p99_us"]), auto(m["p999_us"]),
                         auto(m["max_us"]), num(m["over_100us"]), num(m["stalls"]),
                         num(m["doorbells"]), num(m["missed"]),
                         f"{r['throughput_mrecords_per_s']:.1f}" if mode == "busy" else ""])
    r0 = recs[0] if recs else {}
    head = (f"{num(r0.get('events'))} events of {num(r0.get('record_bytes'))} bytes, one every "
            f"{num(r0.get('gap_us'))} us; producer on CPU {r0.get('producer_cpu')}, consumer on "
            f"CPU {r0.get('consumer_cpu')}; throughput over {num(r0.get('throughput_records'))} "
            "records. Latency in microseconds:\n\n")
    return head + table(["run", "consumer", "p50", "p99", "p99.9", "max", ">100 us", "stalls",
                         "doorbells", "missed wake-ups", "throughput (M records/s)"],
                        rows, "llrrrrrrrrr"), len(rows)


def render_timer(recs: list[dict], ctx: dict) -> tuple[str, int]:
    rows = [["arm (unarmed)", span([r["arm_ns"] for r in recs])],
            ["re-arm (armed)", span([r["rearm_ns"] for r in recs])],
            ["cancel", span([r["cancel_ns"] for r in recs])]]
    steps: dict[int, list[dict]] = {}
    for r in recs:
        for a in r.get("advance", []):
            steps.setdefault(a["step_us"], []).append(a)
    adv = [[f"{num(s)} us", num(a[0]["expiries"]), span([x["ns_per_expiry"] for x in a]),
            span([x["ns_per_call"] for x in a]), span([x["next_deadline_ns"] for x in a])]
           for s, a in sorted(steps.items())]
    r0 = recs[0] if recs else {}
    return (f"{num(r0.get('timers'))} sessions, TX every {num(r0.get('period_us'))} us; "
            f"{num(len(recs))} run(s), ranges over the runs, ns per operation:\n\n"
            + table(["operation", "ns"], rows)
            + "\n\nDriving the wheel in simulated time (each expiry re-arms its TX timer and "
              "pushes another session's detection timer back):\n\n"
            + table(["advance step", "expiries", "ns per expiry", "ns per Advance() call",
                     "NextDeadlineNs() ns"], adv), len(rows) + len(adv))


def render_unavailable(recs: list[dict], ctx: dict) -> tuple[str, int]:
    return "", 0


RENDERERS: dict[str, Callable[[list[dict], dict], tuple[str, int]]] = {
    "ladder": render_ladder, "ladder_dpdk": render_ladder_dpdk, "bfd_cpu": render_bfd_cpu,
    "loadgen": render_loadgen, "tor_failover": render_tor, "bgp_rib": render_bgp_rib,
    "rib": render_rib, "fib_install": render_fib_install, "fib_failover": render_fib_failover,
    "xdp": render_xdp, "af_xdp_tx": render_af_xdp, "ring": render_ring, "timer": render_timer,
    "nic": render_unavailable,
}


# --------------------------------------------------------------------------------------------
# the document

def note(name: str) -> str:
    path = NOTES / f"{name}.md"
    if not path.exists():
        raise ReportError(f"no note for section {name!r}: {path}")
    return path.read_text().strip()


def commit_of(m: dict) -> str:
    commit = (m.get("commit") or "?")[:12]
    if m.get("uncommitted_files"):
        commit += f" with {m['uncommitted_files']} uncommitted file(s)"
    if m.get("commit_subject"):
        commit += f" (\"{m['commit_subject'][:70]}\")"
    return commit


def updates_of(run: dict) -> list[dict]:
    """The later `scripts/bench --update` runs of some sections, oldest first."""
    return run.get("updates") or []


def updated_by(name: str, run: dict) -> dict | None:
    """The last update that ran section `name` again, or None."""
    found = None
    for u in updates_of(run):
        if name in u.get("sections", []):
            found = u
    return found


def machine_table(run: dict) -> str:
    m = run["machine"]
    cpu = m.get("cpu_model") or "?"
    if m.get("cpu_family"):
        cpu += f" (family {m['cpu_family']} model {m.get('cpu_model_number')})"
    cpu += f", {m.get('cores')} cores"
    if m.get("hypervisor"):
        cpu += f", a {m['hypervisor']} guest"
    commit = commit_of(m)
    for u in updates_of(run):
        commit += (f"; {'section' if len(u['sections']) == 1 else 'sections'} "
                   f"{', '.join(u['sections'])} ran again from commit "
                   f"{commit_of(u['machine'])}")
    rows = [["CPU", cpu], ["memory", f"{m.get('memory_gib')} GiB"],
            ["kernel", f"{m.get('kernel')} (clocksource {m.get('clocksource') or '?'})"],
            ["OS", m.get("os") or "?"],
            ["FRR", m.get("frr") or "not installed"], ["BIRD", m.get("bird") or "not installed"],
            ["DPDK", m.get("dpdk") or "not installed"], ["libbpf", m.get("libbpf") or "?"],
            ["iproute2", m.get("iproute2") or "?"],
            ["compilers", f"{m.get('cxx') or '?'}; {m.get('clang') or '?'} (BPF)"],
            ["Strobe", f"commit {commit}, built `{m.get('buildtype')}` in `{run['build_dir']}/`"],
            ["load average (1 min)", "at the start of each command: see its line"]]
    return table(["machine", ""], rows, "ll")


def commands(sec: dict, run: dict) -> str:
    rdir = run.get("results_dir", "")
    lines = []
    for r in sec["runs"]:
        cmd = r["command"].replace(rdir, "$RESULTS") if rdir else r["command"]
        status = "timed out" if r.get("timed_out") else f"exit {r['rc']}"
        load = r.get("loadavg") or []
        lines.append(f"- `{cmd}`  \n  {when(r['started'])}, {duration(r['duration_s'])}, "
                     f"{status}, load average {' -> '.join(f'{x:g}' for x in load)}")
    return "\n".join(lines) if lines else "(no command)"


def section_md(name: str, sec: dict, recs: list[dict], run: dict) -> tuple[str, int]:
    out = [f'<a id="{name}"></a>', f"<!-- section: {name} -->", f"## {sec['title']}", ""]
    rows = 0
    if sec["status"] == "unavailable":
        out += [f"**Not run on this machine**: {sec['reason']}.", ""]
    else:
        if sec["status"] == "failed":
            out += [f"**FAILED**: {sec['reason']}", ""]
        try:
            body, rows = RENDERERS[name](recs, {"run": run}) if recs else ("No results.", 0)
        except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError) as e:
            body, rows = (f"**The results could not be rendered**: {type(e).__name__}: {e}", 0)
        out += [body, ""]
    out += [note(name), ""]
    if sec["runs"]:
        again = updated_by(name, run)
        if again:
            out += [f"Run again by `{again['command']}` (started {when(again['started'])}, "
                    f"commit {commit_of(again['machine'])}), after the run this report is "
                    "generated from:", ""]
        out += ["Commands (from the source root, as root):", "", commands(sec, run), ""]
    return "\n".join(out), rows


def render(results_dir: Path, out: Path) -> list[str]:
    """Writes the report to `out` (plots to out's directory/bench/); returns the sections the run
    asked for that the report lacks (failed without results, or rendered without a table)."""
    run, sections, records = results.load(Path(results_dir))
    out = Path(out)
    plot_dir = out.parent / "bench"
    ladder_recs = records.get("ladder", []) + records.get("ladder_dpdk", [])
    plot_rel = None
    if any(r.get("bench") == "bfd_scale" for r in ladder_recs):
        if ladder_plot(ladder_recs, plot_dir / "ladder.svg"):
            plot_rel = "bench/ladder.svg"
    m = run["machine"]
    doc = ["# Benchmarks", "",
           "<!-- Generated by scripts/bench (tests/bench/report.py) from the results of one run; "
           "do not edit: the explanations are tests/bench/notes/*.md. -->", ""]
    if run["quick"]:
        doc += ["> **Quick run** (`scripts/bench --quick`): every section ran with tiny "
                "parameters (tens of sessions, holds of a few seconds, some thousands of routes "
                "or prefixes), to show that every benchmark and this report still work. These "
                "figures say nothing about performance or scale; a full `scripts/bench` "
                "replaces them.", ""]
    doc += [f"Generated by `{run['command']}` (as root, from the source root), started "
            f"{when(run['started'])}, finished {when(run.get('finished'))} "
            f"({duration(run.get('duration_s'))}). `$RESULTS` below is its results directory "
            f"(`{run.get('results_dir', '?')}`, not kept in the repository): every command's "
            "output and the JSON the tables are made of. To run it again: `scripts/bench` (as "
            "root; about an hour), `scripts/bench --dry-run` lists the commands, "
            "`scripts/bench --help`.",
            ""]
    for u in updates_of(run):
        doc += [f"Then `{u['command']}` ran {', '.join(u['sections'])} again, started "
                f"{when(u['started'])}, finished {when(u.get('finished'))} "
                f"({duration(u.get('duration_s'))}), from commit {commit_of(u['machine'])}: "
                "those sections show its results, the others the run's.", ""]
    doc += [machine_table(run), "", note("intro"), ""]
    history = sorted(plot_dir.glob("history-*.md")) if plot_dir.is_dir() else []
    if history:
        doc += ["Measurements made by hand before this report was generated (with their own "
                "dates, machines and commands): "
                + ", ".join(f"[{h.name}](bench/{h.name})" for h in history) + ".", ""]
    doc += ["Contents:", ""]
    for name in run["sections"]:
        sec = sections[name]
        state = {"ok": "", "failed": " (**FAILED**)",
                 "unavailable": " (not run: needs hardware this machine lacks)"}[sec["status"]]
        doc.append(f"- [{sec['title']}](#{name}){state}")
    doc.append("")
    missing = []
    if "ladder" in run["sections"] or "ladder_dpdk" in run["sections"]:
        body, rows = headline(ladder_recs, plot_rel)
        doc += ['<a id="headline"></a>', "## Headline: the BFD scale ladder", "", body, "",
                note("headline"), ""]
        if rows == 0:
            missing.append("headline")
    for name in run["sections"]:
        sec = sections[name]
        md, rows = section_md(name, sec, records[name], run)
        doc.append(md)
        if sec["status"] != "unavailable" and rows == 0:
            missing.append(name)
    text = "\n".join(doc).rstrip() + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return missing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results_dir", type=Path)
    ap.add_argument("--out", type=Path, default=HERE.parents[1] / "docs/benchmarks.md")
    a = ap.parse_args()
    try:
        missing = render(a.results_dir, a.out)
    except (results.ResultsError, ReportError) as e:
        print(f"report: {e}", file=sys.stderr)
        return 1
    print(a.out)
    if missing:
        print(f"report: no results for {', '.join(missing)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
