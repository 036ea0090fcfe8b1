#!/usr/bin/env python3
"""Prometheus metrics (issue: operations, item 5): both daemons serve /metrics on their
`metrics_address`, rendered from the same views as their control sockets; scraped with curl here
and checked against `strobectl --json` taken just before and just after each scrape (a counter
that moves must lie between the two, a state must equal both).

`edge` runs strobe-dataplane (metrics on 127.0.0.1:9311) and strobe-bgpd (127.0.0.1:9312, the
FIB programmed); `fr1` and `fr2` run FRR bfdd + bgpd announcing a VIP, with BFD (100 ms x 3)
registered by strobe-bgpd in the dataplane. Shown:
  1. the text format is well formed (HELP and TYPE before the samples, histograms with +Inf);
  2. BFD sessions by state, transitions, packets, drops, per-worker load, detection-latency
     histogram, per-session state agree with `show bfd counters` / `show bfd sessions`;
  3. BGP neighbor state, prefixes received/accepted, FIB routes by state, FIB requests, batches
     and the batch-duration histogram agree with `show bgp neighbors` / `show fib`;
  4. after fr1 is silenced, the detection histogram and the FIB failover counter moved, and
     still agree;
  5. 404 for another path, 405 for POST;
  6. a bad metrics_address is refused by --check with FILE:LINE and exit status 2.
"""

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import (BGPD, DATAPLANE, Bgpd, Strobe, check, frr_anycast_node,  # noqa: E402
                    frr_bfd_settled)

LOCAL_AS = 64512
VIP = "198.19.200.1/32"
DP_ADDR = "127.0.0.1:9311"
BGP_ADDR = "127.0.0.1:9312"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def frr_config(asn: int, link: lab.Link) -> str:
    return frr_anycast_node(asn, link, LOCAL_AS, [VIP])


def curl(ns: str, url: str, *extra: str) -> tuple[int, str]:
    cp = lab.run(["ip", "netns", "exec", ns, "curl", "-s", "-m", "5", *extra, "-w",
                  "\n%{http_code}", url])
    body, _, code = cp.stdout.rpartition("\n")
    return int(code), body


def parse(text: str) -> dict[tuple, float]:
    """name, sorted labels -> value; checks HELP/TYPE come first and histograms are whole."""
    types: dict[str, str] = {}
    helped: set[str] = set()
    out: dict[tuple, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            check(name in helped, f"TYPE before HELP for {name}")
            check(name not in types, f"family {name} declared twice")
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        check(m is not None, f"malformed line {line!r}")
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        check(name in types or (family in types and types[family] == "histogram"),
              f"sample {name} without TYPE")
        labels = tuple(sorted((k, v) for k, v, _ in LABEL.findall(labels_text)))
        out[(name, labels)] = float(value)
    for family, kind in types.items():
        if kind == "histogram":
            check(any(k[0] == family + "_bucket" and ("le", "+Inf") in k[1] for k in out),
                  f"histogram {family} has no +Inf bucket")
            check((family + "_count", ()) in out and (family + "_sum", ()) in out,
                  f"histogram {family} lacks _sum or _count")
    return out


def get(m: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    check(key in m, f"metric {name}{labels} missing")
    return m[key]


def between(what: str, lo: float, value: float, hi: float) -> None:
    check(lo <= value <= hi, f"{what}: metric {value} not within strobectl [{lo}, {hi}]")


def compare_dataplane(L: lab.Lab, edge: str, dp: Strobe) -> dict:
    before, before_sessions = dp.counters(), dp.sessions()
    code, text = curl(edge, f"http://{DP_ADDR}/metrics")
    after, after_sessions = dp.counters(), dp.sessions()
    check(code == 200, f"dataplane /metrics: HTTP {code}")
    m = parse(text)
    for state in ("admin-down", "down", "init", "up"):
        lo = sum(w["sessions_by_state"][state] for w in before["workers"])
        hi = sum(w["sessions_by_state"][state] for w in after["workers"])
        check(lo == hi, "sessions changed state during the scrape; rerun")
        check(get(m, "strobe_bfd_sessions", state=state) == lo,
              f"strobe_bfd_sessions{{state={state}}} != {lo}")
    for d in ("up", "down"):
        between(f"transitions {d}", sum(w[f"{d}_transitions"] for w in before["workers"]),
                get(m, "strobe_bfd_session_transitions_total", direction=d),
                sum(w[f"{d}_transitions"] for w in after["workers"]))
    for d in ("rx", "tx"):
        between(f"packets {d}", before[f"{d}_packets"],
                get(m, "strobe_bfd_packets_total", direction=d), after[f"{d}_packets"])
    for reason in after["rx_dropped"]:
        between(f"drops {reason}", before["rx_dropped"][reason],
                get(m, "strobe_bfd_rx_drops_total", reason=reason), after["rx_dropped"][reason])
    for wb, wa in zip(before["workers"], after["workers"]):
        lab_ = {"worker": str(wa["worker"]), "core": str(wa["core"])}
        check(get(m, "strobe_bfd_worker_sessions", **lab_) == wa["sessions"] == wb["sessions"],
              "per-worker sessions")
        between("worker tx", wb["tx_packets"],
                get(m, "strobe_bfd_worker_tx_packets_total", **lab_), wa["tx_packets"])
    between("detection histogram count",
            sum(w["detection_latency"]["count"] for w in before["workers"]),
            get(m, "strobe_bfd_detection_latency_seconds_count"),
            sum(w["detection_latency"]["count"] for w in after["workers"]))
    for s in after_sessions:
        b = next(x for x in before_sessions if x["peer"] == s["peer"])
        labels = {"peer": s["peer"], "local": s["local"], "interface": s["interface"]}
        check(b["state"] == s["state"], "a session changed state during the scrape; rerun")
        check(get(m, "strobe_bfd_session_up", **labels) == (s["state"] == "up"),
              f"session {s['peer']} up")
        check(abs(get(m, "strobe_bfd_session_last_detection_latency_seconds", **labels)
                  - s["last_detection_latency_us"] / 1e6) < 1e-9,
              f"session {s['peer']} last detection")
    return m


def compare_bgpd(L: lab.Lab, edge: str, bgpd: Bgpd) -> dict:
    nb, fb = bgpd.neighbors(), bgpd.fib()
    code, text = curl(edge, f"http://{BGP_ADDR}/metrics")
    na, fa = bgpd.neighbors(), bgpd.fib()
    check(code == 200, f"bgpd /metrics: HTTP {code}")
    m = parse(text)
    for n in na:
        a = n["address"]
        check(n["state"] == next(x for x in nb if x["address"] == a)["state"], "state moved")
        check(get(m, "strobe_bgp_neighbor_state", neighbor=a, state=n["state"]) == 1,
              f"{a} state {n['state']}")
        check(get(m, "strobe_bgp_neighbor_up", neighbor=a) == (n["state"] == "established"),
              f"{a} up")
        for key in ("prefixes_received", "prefixes_accepted", "prefixes_installed"):
            check(get(m, f"strobe_bgp_{key}", neighbor=a) == n[key], f"{a} {key}")
        check(n["prefixes_installed"] <= n["prefixes_accepted"], f"{a}: installed > accepted")
    # Every installed route forwards over some neighbor's path, so the neighbors' counts cover
    # the FIB's installed routes (ECMP routes count once for each neighbor in the set).
    check(sum(n["prefixes_installed"] for n in na) >= fa["summary"]["installed"] > 0,
          f"prefixes_installed {[n['prefixes_installed'] for n in na]} against "
          f"{fa['summary']['installed']} installed routes")
    for state in ("installed", "pending", "failed", "stale"):
        check(fb["summary"][state] == fa["summary"][state], "FIB moved during the scrape")
        check(get(m, "strobe_fib_routes", state=state) == fa["summary"][state],
              f"strobe_fib_routes{{state={state}}}")
    for name, key in (("strobe_fib_requests_total", "requests"),
                      ("strobe_fib_requests_failed_total", "failed"),
                      ("strobe_fib_failovers_total", "failovers"),
                      ("strobe_fib_batches_total", "batches")):
        between(name, fb["counters"][key], get(m, name), fa["counters"][key])
    between("batch duration count", fb["batch_duration"]["count"],
            get(m, "strobe_fib_batch_duration_seconds_count"), fa["batch_duration"]["count"])
    check(fa["batch_duration"]["count"] == fa["counters"]["batches"],
          "every batch has its duration observed")
    inf = get(m, "strobe_fib_batch_duration_seconds_bucket", le="+Inf")
    check(inf == get(m, "strobe_fib_batch_duration_seconds_count"), "+Inf bucket == count")
    return m


def check_refused(binary: str, path: Path, text: str, line: int) -> None:
    path.write_text(text)
    cp = subprocess.run([binary, "--config", str(path), "--check"], capture_output=True,
                        text=True, timeout=10)
    check(cp.returncode == 2, f"{binary} --check: exit {cp.returncode}, want 2 ({cp.stderr})")
    check(f"{path}:{line}: " in cp.stderr and "metrics_address" in cp.stderr,
          f"{binary} --check: want {path}:{line}: ... metrics_address, got {cp.stderr!r}")


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, fr1, fr2 = L.ns("edge"), L.ns("fr1"), L.ns("fr2")
        l1, l2 = L.link(edge, fr1, v6=False), L.link(edge, fr2, v6=False)
        L.start_frr(fr1, frr_config(64601, l1), daemons=("zebra", "bfdd", "bgpd"))
        L.start_frr(fr2, frr_config(64602, l2), daemons=("zebra", "bfdd", "bgpd"))
        dataplane = Strobe(L, edge, [], [], name="dataplane",
                           dataplane={"metrics_address": DP_ADDR})
        profile = {"name": "fast", "desired_min_tx_us": 100000, "required_min_rx_us": 100000,
                   "detect_mult": 3}
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"],
                     "max_paths": 16, "multipath_relax": True},
                    neighbors=[{"address": l.v4_b, "remote_as": asn, "connect_retry_s": 2,
                                "bfd_profile": "fast"}
                               for l, asn in ((l1, 64601), (l2, 64602))],
                    profiles=[profile], dataplane_socket=dataplane.socket,
                    controlplane={"metrics_address": BGP_ADDR})

        def settled() -> bool:
            if not frr_bfd_settled(L, (fr1, fr2), (l1, l2)):
                return False
            ns_ = bgpd.neighbors()
            return (all(n["state"] == "established" and n["bfd"] == "up" for n in ns_)
                    and any(r["prefix"] == VIP and r["state"] == "installed"
                            and len(r["next_hops"]) == 2 for r in bgpd.fib()["routes"])
                    and all(s["state"] == "up" for s in dataplane.sessions()))
        lab.wait_until(settled, 40, what="both neighbors Established, BFD up, VIP installed 2-way")

        # 1-3. Steady state.
        m = compare_dataplane(L, edge, dataplane)
        check(get(m, "strobe_bfd_sessions", state="up") == 2, "two BFD sessions up")
        check(get(m, "strobe_bfd_packets_total", direction="tx") > 0, "packets sent")
        print("PASS: dataplane /metrics agrees with show bfd counters/sessions "
              f"({len(m)} samples)")
        m = compare_bgpd(L, edge, bgpd)
        check(get(m, "strobe_fib_routes", state="installed") >= 1, "VIP installed")
        check(get(m, "strobe_fib_batch_duration_seconds_count") >= 1, "batches timed")
        print(f"PASS: bgpd /metrics agrees with show bgp neighbors / show fib ({len(m)} samples)")

        # 4. A detection: fr1 silenced.
        L.silence(fr1, l1.if_b, ingress=False)
        lab.wait_until(lambda: any(s["state"] == "down" for s in dataplane.sessions()), 5,
                       what="fr1's BFD session Down")
        lab.wait_until(lambda: bgpd.fib()["counters"]["failovers"] >= 1, 5,
                       what="a FIB failover")
        m = compare_dataplane(L, edge, dataplane)
        check(get(m, "strobe_bfd_detection_latency_seconds_count") >= 1, "a detection observed")
        check(get(m, "strobe_bfd_session_transitions_total", direction="down") >= 1,
              "a Down transition")
        m = compare_bgpd(L, edge, bgpd)
        check(get(m, "strobe_fib_failovers_total") >= 1, "failover counted")
        print("PASS: after a BFD Down the detection histogram and FIB failovers agree")

        # 5. Other paths and methods.
        for addr in (DP_ADDR, BGP_ADDR):
            code, _ = curl(edge, f"http://{addr}/other")
            check(code == 404, f"{addr}/other: HTTP {code}, want 404")
            code, _ = curl(edge, f"http://{addr}/metrics", "-X", "POST", "-d", "x")
            check(code == 405, f"{addr} POST: HTTP {code}, want 405")
        print("PASS: 404 for /other, 405 for POST")

        # 6. Bad addresses refused with FILE:LINE and exit status 2.
        bad = L.run_dir / "bad.toml"
        check_refused(DATAPLANE, bad, '[dataplane]\nmetrics_address = "127.0.0.1:99999"\n', 2)
        check_refused(DATAPLANE, bad, '[dataplane]\n\nmetrics_address = "localhost:9311"\n', 3)
        check_refused(BGPD, bad, '[controlplane]\nmetrics_address = "::1:9312"\n', 2)
        check_refused(BGPD, bad, '[dataplane]\nmetrics_address = "127.0.0.1:9311"\n'
                      '[controlplane]\nmetrics_address = "127.0.0.1:9311"\n', 4)
        print("PASS: bad metrics_address refused by --check with FILE:LINE, exit 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
