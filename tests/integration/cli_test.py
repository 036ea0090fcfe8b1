#!/usr/bin/env python3
"""The binaries' command-line contract: a bad configuration is refused whole with file:line and
exit code 2 (before anything is opened), --check accepts a good one, --help documents the
program, and strobectl says clearly when the daemon is not there or the command is wrong.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strobe import BGPD, DATAPLANE, STROBECTL, check  # noqa: E402

GOOD = """[dataplane]
backend = "socket"
workers = [0]
control_socket = "/run/strobe/cli-test.sock"

[[bfd.session]]
peer = "198.18.0.2"
local = "198.18.0.1"
interface = "eth0"
"""


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=20)


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        good, bad = Path(d) / "good.toml", Path(d) / "bad.toml"
        good.write_text(GOOD)
        bad.write_text(GOOD.replace('interface = "eth0"', 'interface = "eth0"\ndetect_mult = 3'))

        cp = run(DATAPLANE, "--config", str(good), "--check")
        check(cp.returncode == 0 and "OK" in cp.stdout, f"--check on a good file: {cp}")
        for argv in ([DATAPLANE, "--config", str(bad)], [DATAPLANE, "--config", str(bad), "--check"]):
            cp = run(*argv)
            check(cp.returncode == 2, f"{argv}: exit {cp.returncode}, want 2")
            check(f"{bad}:10:" in cp.stderr and "detect_mult" in cp.stderr,
                  f"error should name {bad}:10 and the key: {cp.stderr!r}")
        cp = run(DATAPLANE, "--config", str(Path(d) / "missing.toml"))
        check(cp.returncode == 2 and "missing.toml" in cp.stderr, f"missing file: {cp}")
        cp = run(DATAPLANE)
        check(cp.returncode == 2 and "--config" in cp.stderr, f"no --config: {cp}")
        cp = run(DATAPLANE, "--help")
        check("strobe-dataplane --config FILE" in cp.stdout + cp.stderr, "--help lacks the usage")

        sock = str(Path(d) / "nobody.sock")
        cp = run(STROBECTL, "--socket", sock, "show", "bfd", "sessions")
        check(cp.returncode == 1 and "cannot connect" in cp.stderr and sock in cp.stderr,
              f"no daemon: {cp}")
        cp = run(STROBECTL, "--socket", sock, "show", "bgp", "frobnicate")
        check(cp.returncode == 2 and "unknown command" in cp.stderr, f"bad command: {cp}")
        cp = run(STROBECTL, "--config", str(bad), "show", "bfd", "sessions")
        check(cp.returncode == 2 and f"{bad}:10:" in cp.stderr, f"strobectl with a bad config: {cp}")
        cp = run(STROBECTL, "--help")
        check("show bfd sessions" in cp.stdout + cp.stderr, "strobectl --help lacks the commands")
        check("show bgp" in cp.stdout + cp.stderr, "strobectl --help lacks the bgp commands")

        # strobe-bgpd: the same contract.
        bgp_good = Path(d) / "bgp_good.toml"
        bgp_good.write_text('[bgp]\nasn = 64512\nrouter_id = "198.18.0.1"\n')
        cp = run(BGPD, "--config", str(bgp_good), "--check")
        check(cp.returncode == 0, f"strobe-bgpd --check on a good file: {cp}")
        bgp_bad = Path(d) / "bgp_bad.toml"
        bgp_bad.write_text('[bgp]\nasn = 64512\nrouter_id = "0.0.0.0"\n')
        for argv in ([BGPD, "--config", str(bgp_bad)], [BGPD, "--config", str(bgp_bad), "--check"]):
            cp = run(*argv)
            check(cp.returncode == 2 and f"{bgp_bad}:3:" in cp.stderr and "router_id" in cp.stderr,
                  f"{argv}: want exit 2 naming {bgp_bad}:3 and router_id: {cp}")
        cp = run(BGPD, "--config", str(bgp_good), "--log_level", "loud")
        check(cp.returncode == 2 and "--log_level" in cp.stderr, f"bad --log_level: {cp}")
        cp = run(BGPD, "--help")
        check("strobe-bgpd --config FILE" in cp.stdout + cp.stderr, "strobe-bgpd --help")

        # strobectl config check: the daemons' parser, the daemons' exit codes.
        cp = run(STROBECTL, "config", "check", str(good))
        check(cp.returncode == 0 and "OK (0 BFD profiles, 1 BFD sessions" in cp.stdout,
              f"config check on a good file: {cp}")
        cp = run(STROBECTL, "config", "check", str(bad))
        check(cp.returncode == 2 and f"{bad}:10:" in cp.stderr, f"config check on a bad file: {cp}")
        cp = run(STROBECTL, "--json", "config", "check", str(bad))
        check(cp.returncode == 2 and '"valid": false' in cp.stdout, f"config check --json: {cp}")

        # show version and show workers against live daemons (no sessions, no neighbors, FIB off).
        live = Path(d) / "live.toml"
        live.write_text(f"""[dataplane]
backend = "socket"
workers = [0]
control_socket = "{d}/dp.sock"

[controlplane]
control_socket = "{d}/bgp.sock"

[bgp]
asn = 64512
router_id = "198.18.0.1"

[fib]
enabled = false
""")
        procs = [subprocess.Popen([DATAPLANE, "--config", str(live)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL),
                 subprocess.Popen([BGPD, "--config", str(live)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
        try:
            import json
            import time
            deadline = time.monotonic() + 10
            while True:
                cp = run(STROBECTL, "--config", str(live), "--json", "show", "version")
                v = json.loads(cp.stdout) if cp.returncode == 0 else {}
                if v.get("dataplane") and v.get("bgpd"):
                    break
                check(time.monotonic() < deadline, f"show version never saw both daemons: {cp}")
                time.sleep(0.05)
            check(v["dataplane"]["pid"] == procs[0].pid and v["bgpd"]["pid"] == procs[1].pid,
                  f"show version pids: {v}")
            check(v["strobectl"] == v["dataplane"]["version"] == v["bgpd"]["version"],
                  f"versions: {v}")
            cp = run(STROBECTL, "--config", str(live), "show", "version")
            check(cp.returncode == 0 and "strobe-dataplane" in cp.stdout
                  and "strobe-bgpd" in cp.stdout, f"show version text: {cp}")
            cp = run(STROBECTL, "--config", str(live), "--json", "--interval_ms", "200", "show",
                     "workers")
            w = json.loads(cp.stdout)
            check(cp.returncode == 0 and len(w["workers"]) == 1 and w["workers"][0]["core"] == 0
                  and 150 <= w["interval_ms"] and 0 <= w["workers"][0]["busy_percent"] <= 100,
                  f"show workers: {cp}")
            cp = run(STROBECTL, "--config", str(live), "--interval_ms", "100", "show", "workers")
            check(cp.returncode == 0 and "Busy%" in cp.stdout, f"show workers text: {cp}")
            procs[1].terminate()
            procs[1].wait(timeout=10)
            cp = run(STROBECTL, "--config", str(live), "--json", "show", "version")
            v = json.loads(cp.stdout)
            check(cp.returncode == 0 and v["bgpd"] is None and v["dataplane"] is not None,
                  f"show version with strobe-bgpd stopped: {cp}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait(timeout=10)
    print("PASS: exit codes and messages of strobe-dataplane, strobe-bgpd and strobectl; "
          "config check, show version, show workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
