#!/usr/bin/python3
"""Self-test of the lab helper (tests/integration/lab.py), no Strobe involved.

1. Two namespaces over a veth; FRR (zebra + bfdd) in one, BIRD in the other;
   single-hop BFD sessions over IPv4 and IPv6 come Up on both sides; silencing
   the BIRD side (tc clsact + BPF drop, no carrier change) takes FRR's sessions
   Down; unsilencing brings them back Up.
2. An exception inside the `with` block still cleans everything up.
3. SIGTERM to a process holding a Lab cleans everything up.
After each, no namespace, veth, run directory or process the Lab made remains.
Prints one PASS/FAIL line; exits non-zero on failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lab  # noqa: E402
from lab import Lab, wait_until  # noqa: E402


# ---------------------------------------------------------------- helpers

def _starttime(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def snapshot(L: Lab) -> dict:
    """What the lab made, recorded while it is alive."""
    return {
        "namespaces": list(L.namespaces),
        "netns_inodes": [os.stat(f"/run/netns/{ns}").st_ino for ns in L.namespaces],
        "ifnames": [n for l in L.links for n in (l.if_a, l.if_b)],
        "procs": [(pid, _starttime(pid)) for pid in L.pids],
        "run_dir": str(L.run_dir),
    }


def _procs_in_netns(inodes: set[int]) -> list[str]:
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat(f"/proc/{d}/ns/net").st_ino in inodes:
                found.append(f"{d} ({Path(f'/proc/{d}/comm').read_text().strip()})")
        except OSError:
            pass
    return found


def assert_clean(snap: dict) -> None:
    problems = []
    left = set(lab.netns_list())
    for ns in snap["namespaces"]:
        if ns in left or os.path.exists(f"/run/netns/{ns}"):
            problems.append(f"namespace {ns} still exists")
        if (lab.FRR_RUN_DIR / ns).exists():
            problems.append(f"{lab.FRR_RUN_DIR / ns} still exists")
    holders = _procs_in_netns(set(snap["netns_inodes"]))
    if holders:
        problems.append(f"processes still in the lab's namespaces: {holders}")
    for pid, st in snap["procs"]:
        if st is not None and _starttime(pid) == st and lab._alive(pid):
            problems.append(f"process {pid} still running")
    # interface names must appear nowhere: root namespace and every named one
    ip = lab._need("ip")
    listings = [lab.run([ip, "-o", "link"]).stdout]
    for ns in left:
        listings.append(lab.run([ip, "-n", ns, "-o", "link"], check=False).stdout)
    for ifn in snap["ifnames"]:
        if any(f": {ifn}@" in out or f": {ifn}:" in out for out in listings):
            problems.append(f"interface {ifn} still exists")
    if os.path.exists(snap["run_dir"]):
        problems.append(f"run dir {snap['run_dir']} still exists")
    if problems:
        raise AssertionError("lab did not clean up: " + "; ".join(problems))


# ---------------------------------------------------------------- tests

def test_bfd_frr_bird() -> str:
    t0 = time.monotonic()
    with Lab() as L:
        a, b = L.ns("frr"), L.ns("bird")
        link = L.link(a, b)
        L.start_frr(a, f"""\
bfd
 peer {link.v4_b} interface {link.if_a}
  transmit-interval 300
  receive-interval 300
  detect-multiplier 3
 exit
 peer {link.v6_b} interface {link.if_a}
  transmit-interval 300
  receive-interval 300
  detect-multiplier 3
 exit
exit
""")
        bird = L.start_bird(b, f"""\
router id {link.v4_b};
protocol device {{ }}
protocol bfd labbfd {{
  interface "{link.if_b}" {{
    interval 300 ms;
    multiplier 3;
  }};
  neighbor {link.v4_a} dev "{link.if_b}";
  neighbor {link.v6_a} dev "{link.if_b}";
}}
""")
        peers_frr = (link.v4_b, link.v6_b)
        peers_bird = (link.v4_a, link.v6_a)

        def all_up() -> bool:
            s = lab.bird_bfd_sessions(bird.ctl)
            return (all(L.frr_bfd_status(a, p) == "up" for p in peers_frr)
                    and all(s.get(p) == "Up" for p in peers_bird))
        wait_until(all_up, 20, what="FRR and BIRD BFD sessions (IPv4+IPv6) Up")
        t_up = time.monotonic() - t0

        # FRR JSON view sanity: negotiated timers as configured.
        peer = next(p for p in L.frr_json(a, "show bfd peers json")
                    if p["peer"] == link.v4_b)
        assert peer["interface"] == link.if_a and peer["multihop"] is False, peer
        assert peer["transmit-interval"] == 300 and peer["detect-multiplier"] == 3, peer
        assert peer["remote-receive-interval"] == 300, peer

        L.silence(b, link.if_b)
        t1 = time.monotonic()
        wait_until(lambda: all(L.frr_bfd_status(a, p) == "down" for p in peers_frr),
                   5, what="FRR to report BFD Down after silencing the BIRD side")
        t_down = time.monotonic() - t1
        assert L.link_is_up(b, link.if_b), "silence() must not change carrier"
        wait_until(lambda: all(lab.bird_bfd_sessions(bird.ctl).get(p) == "Down"
                               for p in peers_bird),
                   5, what="BIRD to report BFD Down while silenced")

        L.unsilence(b, link.if_b)
        wait_until(all_up, 20, what="BFD sessions Up again after unsilence")
        snap = snapshot(L)
        assert len(snap["procs"]) == 3, snap   # zebra, bfdd, bird
    assert_clean(snap)
    return f"up in {t_up:.1f}s, down {t_down:.2f}s after silence"


class Boom(Exception):
    pass


def test_exception_cleans_up() -> str:
    snap = None
    try:
        with Lab(dump_logs_on_error=False) as L:
            a, b = L.ns(), L.ns()
            link = L.link(a, b)
            L.spawn(a, ["sleep", "1000"])
            L.start_bird(b, 'router id 198.18.0.9;\nprotocol device { }\n')
            L.silence(a, link.if_a)
            snap = snapshot(L)
            raise Boom("deliberate")
    except Boom:
        pass
    else:
        raise AssertionError("exception was swallowed")
    assert snap is not None and len(snap["procs"]) == 2, snap
    assert_clean(snap)
    return "ok"


CHILD = r"""
import json, signal, sys
sys.path.insert(0, sys.argv[1])
import lab
with lab.Lab(dump_logs_on_error=False) as L:
    a, b = L.ns(), L.ns()
    link = L.link(a, b, v6=False)
    p = L.spawn(b, ["sleep", "1000"])
    print(json.dumps({"namespaces": L.namespaces, "ifnames": [link.if_a, link.if_b],
                      "pids": L.pids, "run_dir": str(L.run_dir)}), flush=True)
    while True:
        signal.pause()
"""


def test_sigterm_cleans_up() -> str:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(HERE)],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        info = json.loads(line)
        snap = {
            "namespaces": info["namespaces"],
            "netns_inodes": [os.stat(f"/run/netns/{ns}").st_ino for ns in info["namespaces"]],
            "ifnames": info["ifnames"],
            "procs": [(pid, _starttime(pid)) for pid in info["pids"]],
            "run_dir": info["run_dir"],
        }
        assert all(lab._alive(pid) for pid in info["pids"]), info
        child.send_signal(signal.SIGTERM)
        rc = child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert rc == 128 + signal.SIGTERM, f"child exit status {rc}, expected 143"
    assert_clean(snap)
    return "ok"


def main() -> int:
    try:
        lab.require_root_tools()
    except lab.LabError as e:
        print(f"FAIL lab_selftest: {e}")
        return 1
    results = []
    for t in (test_bfd_frr_bird, test_exception_cleans_up, test_sigterm_cleans_up):
        t0 = time.monotonic()
        try:
            detail = t()
        except BaseException as e:  # noqa: BLE001
            traceback.print_exc()
            print(f"FAIL lab_selftest: {t.__name__}: {type(e).__name__}: {e}")
            return 1
        results.append(f"{t.__name__} ({detail}; {time.monotonic() - t0:.1f}s)")
        print(f"  ok {results[-1]}", flush=True)
    print("PASS lab_selftest: " + ", ".join(r.split(' (')[0] for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
