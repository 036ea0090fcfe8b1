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
    print("PASS: exit codes and messages of strobe-dataplane, strobe-bgpd and strobectl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
