"""Strobe lab helper: network namespaces, veth pairs, FRR and BIRD peers.

Used by the integration tests, the demo and the benchmarks (see DESIGN.md,
"The lab").  Python 3.11 standard library only; scapy may be imported inside
functions by callers.

Everything a Lab makes is named uniquely per run and removed on every exit
path: the context manager's __exit__, atexit, and SIGTERM/SIGINT handlers.
Only processes the Lab started are stopped, by pid.

    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import lab

    lab.require_root_tools()
    with lab.Lab() as L:
        a, b = L.ns("frr"), L.ns("bird")
        link = L.link(a, b)                      # 198.18.N.1/24 <-> 198.18.N.2/24
        L.start_frr(a, f"bfd\\n peer {link.v4_b} interface {link.if_a}\\n")
        bird = L.start_bird(b, "...")
        lab.wait_until(lambda: L.frr_bfd_status(a, link.v4_b) == "up", 10,
                       what="FRR BFD session up")

Conventions:
  * namespaces      strobe-<pid>-<n>[-<tag>]
  * interfaces      sv<pid % 100000>a<n> / sv<pid % 100000>b<n> (<= 15 chars)
  * link N          198.18.0.0/15 carved into /24s (N = 1..511),
                    2001:db8:<N hex>::/64
  * run directory   $TMPDIR/strobe-lab-<pid>-XXXX (kept if STROBE_LAB_KEEP=1)
  * FRR             foreground daemons with pathspace -N <ns> (vty sockets in
                    /var/run/frr/<ns>/, removed at cleanup), files in
                    <run>/frr/<ns>/; query with `vtysh -N <ns>`
  * BIRD            foreground `bird -f -c CONF -s CTL -P PID` in the namespace
"""

from __future__ import annotations

import atexit
import dataclasses
import ipaddress
import itertools
import json
import os
import pwd
import grp
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

__all__ = [
    "LabError", "WaitTimeout", "Lab", "Link", "FrrInstance", "BirdInstance",
    "require_root_tools", "wait_until", "run", "frr_vtysh", "frr_json",
    "frr_configure", "birdc", "bird_bfd_sessions", "netns_list",
    "FRR_DIR", "FRR_RUN_DIR",
]

FRR_DIR = Path("/usr/lib/frr")
FRR_RUN_DIR = Path("/var/run/frr")
DROP_ALL_BPF = "1,6 0 0 2"  # classic BPF "ret #2" == TC_ACT_SHOT in da mode
_EXTRA_PATH = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")

_counter = itertools.count(1)       # namespaces and links, unique per process
_counter_lock = threading.Lock()


def _next() -> int:
    with _counter_lock:
        return next(_counter)


class LabError(RuntimeError):
    """A lab operation failed (command error, daemon died, bad config...)."""


class WaitTimeout(LabError):
    """wait_until() ran out of time."""


# --------------------------------------------------------------------------
# small helpers

def _tool(name: str) -> str | None:
    """Absolute path of a tool, looking in PATH and the sbin directories."""
    found = shutil.which(name)
    if found:
        return found
    for d in _EXTRA_PATH:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def _need(name: str) -> str:
    p = _tool(name)
    if p is None:
        raise LabError(f"required tool {name!r} not found (PATH or /usr/sbin)")
    return p


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 30,
        input: str | None = None) -> subprocess.CompletedProcess:
    """Run a command to completion, capturing text output; raise LabError on
    failure (if check) with the command line, exit status and output."""
    argv = [str(a) for a in argv]
    try:
        cp = subprocess.run(argv, input=input, capture_output=True, text=True,
                            timeout=timeout, stdin=None if input is not None
                            else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout}s: {shlex.join(argv)}") from e
    except OSError as e:
        raise LabError(f"cannot run {shlex.join(argv)}: {e}") from e
    if check and cp.returncode != 0:
        raise LabError(f"command failed (exit {cp.returncode}): {shlex.join(argv)}\n"
                       f"stdout: {cp.stdout.strip()}\nstderr: {cp.stderr.strip()}")
    return cp


def wait_until(predicate: Callable[[], Any], timeout_s: float,
               interval_s: float = 0.05, what: str = "condition") -> Any:
    """Poll predicate() until it returns a truthy value (which is returned) or
    timeout_s elapses; then raise WaitTimeout naming `what`, with the last
    result and the last exception the predicate raised (exceptions count as
    'not yet')."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            last = predicate()
            last_exc = None
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout_s:g}s waiting for {what}; last result: {last!r}"
            if last_exc is not None:
                msg += f"; last error: {type(last_exc).__name__}: {last_exc}"
            raise WaitTimeout(msg)
        time.sleep(interval_s)


def require_root_tools(*, frr: bool = True, bird: bool = True,
                       tshark: bool = True) -> None:
    """Raise LabError (tests must fail, never skip) unless running as root with
    ip and tc and, as asked, FRR (vtysh, zebra, bfdd, bgpd, staticd), BIRD
    (bird, birdc) and tshark."""
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root privileges (euid 0)")
    names = ["ip", "tc"]
    if frr:
        names.append("vtysh")
    if bird:
        names += ["bird", "birdc"]
    if tshark:
        names.append("tshark")
    missing += [n for n in names if _tool(n) is None]
    if frr:
        for d in ("zebra", "bfdd", "bgpd", "staticd"):
            if not os.access(FRR_DIR / d, os.X_OK):
                missing.append(str(FRR_DIR / d))
    if missing:
        raise LabError("lab prerequisites missing: " + ", ".join(missing))


def netns_list() -> list[str]:
    """Names of all named network namespaces (`ip netns list`)."""
    out = run([_need("ip"), "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


# --------------------------------------------------------------------------
# FRR / BIRD query helpers (usable without a Lab object)

def _frr_dir_for(ns: str) -> Path | None:
    return _FRR_CONFIG_DIRS.get(ns)


_FRR_CONFIG_DIRS: dict[str, Path] = {}   # ns -> --config_dir (holds <ns>/vtysh.conf)


def _vtysh_argv(ns: str, daemon: str | None = None) -> list[str]:
    argv = [_need("vtysh"), "-N", ns]
    cfg = _frr_dir_for(ns)
    if cfg is not None:
        argv += ["--config_dir", str(cfg)]
    if daemon:
        argv += ["-d", daemon]
    return argv


def frr_vtysh(ns: str, cmd: str | Sequence[str], *, daemon: str | None = None,
              timeout: float = 15) -> str:
    """Run one vtysh command (or several, as successive -c, sharing the CLI
    node) against the FRR pathspace `ns`; return stdout, raise on error."""
    cmds = [cmd] if isinstance(cmd, str) else list(cmd)
    argv = _vtysh_argv(ns, daemon)
    for c in cmds:
        argv += ["-c", c]
    return run(argv, timeout=timeout).stdout


def frr_json(ns: str, cmd: str, *, daemon: str | None = None) -> Any:
    """Run a `... json` vtysh command in pathspace `ns`; return parsed JSON."""
    out = frr_vtysh(ns, cmd, daemon=daemon)
    try:
        return json.loads(out)
    except ValueError as e:
        raise LabError(f"vtysh -N {ns} -c {cmd!r}: not JSON: {out[:500]!r}") from e


def frr_configure(ns: str, lines: str | Iterable[str]) -> str:
    """Apply configuration lines (a multi-line string or a list) in one
    `vtysh -c 'configure terminal' -c line ...` call; raise on any error."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    cmds = ["configure terminal"] + [ln.strip() for ln in lines
                                     if ln.strip() and not ln.strip().startswith(("!", "#"))]
    return frr_vtysh(ns, cmds)


def birdc(ctl: str | os.PathLike, cmd: str, *, timeout: float = 15) -> str:
    """Run a birdc command on control socket `ctl`; return its output without
    the 'BIRD x.y ready.' banner; raise LabError on failure."""
    cp = run([_need("birdc"), "-s", str(ctl), cmd], timeout=timeout, check=False)
    out = cp.stdout
    if cp.returncode != 0 or "Unable to connect" in out + cp.stderr:
        raise LabError(f"birdc -s {ctl} {cmd!r} failed (exit {cp.returncode}): "
                       f"{(out + cp.stderr).strip()}")
    lines = out.splitlines()
    if lines and re.match(r"BIRD .* ready\.$", lines[0]):
        lines = lines[1:]
    return "\n".join(lines) + ("\n" if lines else "")


def bird_bfd_sessions(ctl: str | os.PathLike, protocol: str = "") -> dict[str, str]:
    """Map peer IP -> state ('Up', 'Down', 'Init', 'AdminDown') from
    `birdc show bfd sessions [protocol]`."""
    out = birdc(ctl, f"show bfd sessions {protocol}".strip())
    res: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            try:
                ipaddress.ip_address(parts[0])
            except ValueError:
                continue
            # columns: IP, [Interface], State, Since, Interval, Timeout
            for p in parts[1:3]:
                if p in ("Up", "Down", "Init", "AdminDown"):
                    res[parts[0]] = p
                    break
    return res


# --------------------------------------------------------------------------
# data records

@dataclasses.dataclass
class Link:
    """A veth pair between two namespaces, with the addresses Lab.link gave it."""
    index: int
    ns_a: str
    if_a: str
    ns_b: str
    if_b: str
    v4_a: str | None = None   # e.g. "198.18.1.1" (prefix length v4_plen)
    v4_b: str | None = None
    v6_a: str | None = None   # e.g. "2001:db8:1::1" (prefix length v6_plen)
    v6_b: str | None = None
    v4_plen: int = 24
    v6_plen: int = 64


@dataclasses.dataclass
class FrrInstance:
    ns: str
    dir: Path                       # <run>/frr/<ns>: frr.conf, logs, pid files
    config_dir: Path                # vtysh --config_dir
    procs: dict[str, subprocess.Popen]


@dataclasses.dataclass
class BirdInstance:
    ns: str
    conf: Path
    ctl: Path                       # control socket, for birdc()
    pidfile: Path
    log: Path
    proc: subprocess.Popen

    def birdc(self, cmd: str) -> str:
        return birdc(self.ctl, cmd)


@dataclasses.dataclass
class _Proc:
    popen: subprocess.Popen
    ns: str | None
    desc: str


# --------------------------------------------------------------------------

class Lab:
    """Context manager owning namespaces, veths, processes and a run directory."""

    def __init__(self, *, keep_dir: bool | None = None,
                 dump_logs_on_error: bool = True) -> None:
        self.pid = os.getpid()
        self._ip = _need("ip")
        self.keep_dir = (os.environ.get("STROBE_LAB_KEEP", "") not in ("", "0")
                         if keep_dir is None else keep_dir)
        self.dump_logs_on_error = dump_logs_on_error
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"strobe-lab-{self.pid}-"))
        os.chmod(self.run_dir, 0o755)          # FRR daemons run as user frr
        self.namespaces: list[str] = []
        self.links: list[Link] = []
        self._procs: list[_Proc] = []
        self._frr: dict[str, FrrInstance] = {}
        self._bird: dict[str, BirdInstance] = {}
        self._silenced: dict[tuple[str, str], bool] = {}   # -> we added clsact
        self._closed = False
        self._cleaning = False
        self._old_handlers: dict[int, Any] = {}
        atexit.register(self.cleanup)

    # -- context manager / signals ---------------------------------------

    def __enter__(self) -> "Lab":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    old = signal.getsignal(sig)
                    if old is signal.SIG_IGN:
                        continue
                    self._old_handlers[sig] = old
                    signal.signal(sig, self._on_signal)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if (exc_type is not None and self.dump_logs_on_error
                and not issubclass(exc_type, (KeyboardInterrupt, SystemExit))):
            try:
                sys.stderr.write(self.log_tails())
            except Exception:  # noqa: BLE001
                pass
        self.cleanup()

    def _on_signal(self, signum: int, frame: Any) -> None:
        prev = self._old_handlers.get(signum)
        self.cleanup()
        if callable(prev):
            prev(signum, frame)          # chain (e.g. default_int_handler, outer Lab)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def _restore_signals(self) -> None:
        for sig, old in self._old_handlers.items():
            try:
                if signal.getsignal(sig) == self._on_signal:
                    signal.signal(sig, old)
            except (ValueError, OSError, TypeError):
                pass
        self._old_handlers.clear()

    # -- namespaces and links --------------------------------------------

    def ns(self, tag: str = "") -> str:
        """Create a network namespace strobe-<pid>-<n>[-tag] with lo up and
        IPv6 DAD disabled for interfaces created later; return its name."""
        if tag and not re.fullmatch(r"[a-z0-9]{1,12}", tag):
            raise LabError(f"bad namespace tag {tag!r} (want [a-z0-9]{{1,12}})")
        self._check_open()
        name = f"strobe-{self.pid}-{_next()}" + (f"-{tag}" if tag else "")
        self.namespaces.append(name)            # recorded first: cleanup is safe
        run([self._ip, "netns", "add", name])
        run([self._ip, "-n", name, "link", "set", "lo", "up"])
        self.exec(name, ["sh", "-c",
                         "for k in all default; do "
                         "echo 0 > /proc/sys/net/ipv6/conf/$k/accept_dad; done"])
        return name

    def exec(self, ns: str | None, argv: Sequence[str], *, check: bool = True,
             timeout: float = 30, input: str | None = None) -> subprocess.CompletedProcess:
        """Run a command to completion inside namespace ns (None = this one)."""
        prefix = [self._ip, "netns", "exec", ns] if ns else []
        return run(prefix + list(argv), check=check, timeout=timeout, input=input)

    def veth(self, ns_a: str, ns_b: str, *, up: bool = True,
             mtu: int | None = None, queues: int = 1) -> Link:
        """Create a veth pair sv<pid>a<n> (in ns_a) <-> sv<pid>b<n> (in ns_b),
        created directly inside the namespaces; no addresses. `queues` TX and
        RX queues per end (one AF_XDP socket per queue and worker)."""
        self._check_open()
        n = _next()
        p = self.pid % 100000
        if_a, if_b = f"sv{p}a{n}", f"sv{p}b{n}"
        assert len(if_a) <= 15 and len(if_b) <= 15
        link = Link(n, ns_a, if_a, ns_b, if_b)
        self.links.append(link)
        q = ["numtxqueues", str(queues), "numrxqueues", str(queues)] if queues > 1 else []
        run([self._ip, "link", "add", if_a, "netns", ns_a, *q, "type", "veth",
             "peer", "name", if_b, "netns", ns_b, *q])
        for ns, ifn in ((ns_a, if_a), (ns_b, if_b)):
            if mtu:
                run([self._ip, "-n", ns, "link", "set", ifn, "mtu", str(mtu)])
            if up:
                run([self._ip, "-n", ns, "link", "set", ifn, "up"])
        return link

    def link(self, ns_a: str, ns_b: str, *, v4: bool = True, v6: bool = True,
             wait: bool = True, mtu: int | None = None, queues: int = 1) -> Link:
        """veth() plus addresses for link N: 198.18.N.1/24 and .2/24 (N > 255
        continues in 198.19.0.0/16), 2001:db8:<N hex>::1/64 and ::2/64 (nodad);
        waits for carrier and non-tentative IPv6 unless wait=False."""
        link = self.veth(ns_a, ns_b, up=True, mtu=mtu, queues=queues)
        self.address_link(link, v4=v4, v6=v6)
        if wait:
            for ns, ifn in ((ns_a, link.if_a), (ns_b, link.if_b)):
                wait_until(lambda ns=ns, ifn=ifn: self.link_is_up(ns, ifn), 10,
                           what=f"{ifn} in {ns} to have carrier")
                if v6:
                    self.wait_ipv6_ready(ns)
        return link

    def address_link(self, link: Link, *, v4: bool = True, v6: bool = True) -> None:
        """The addresses of link N (see link()) on link.if_a in link.ns_a and link.if_b in
        link.ns_b, recorded in link.v4_a/_b and link.v6_a/_b."""
        n = link.index
        if v4:
            if n > 511:
                raise LabError("out of 198.18.0.0/15 /24 subnets")
            net = ipaddress.IPv4Address("198.18.0.0") + (n << 8)
            link.v4_a, link.v4_b = str(net + 1), str(net + 2)
            self.addr_add(link.ns_a, link.if_a, f"{link.v4_a}/24")
            self.addr_add(link.ns_b, link.if_b, f"{link.v4_b}/24")
        if v6:
            link.v6_a, link.v6_b = f"2001:db8:{n:x}::1", f"2001:db8:{n:x}::2"
            self.addr_add(link.ns_a, link.if_a, f"{link.v6_a}/64")
            self.addr_add(link.ns_b, link.if_b, f"{link.v6_b}/64")

    def addr_add(self, ns: str, ifname: str, cidr: str) -> None:
        """Add an address (IPv6 gets `nodad`) to ifname in ns."""
        ipif = ipaddress.ip_interface(cidr)
        argv = [self._ip, "-n", ns, "addr", "add", str(ipif), "dev", ifname]
        if ipif.version == 6:
            argv.append("nodad")
        run(argv)

    def link_is_up(self, ns: str, ifname: str) -> bool:
        """True if ifname in ns is up with carrier (LOWER_UP)."""
        out = run([self._ip, "-n", ns, "-o", "link", "show", "dev", ifname]).stdout
        m = re.search(r"<([^>]*)>", out)
        flags = set(m.group(1).split(",")) if m else set()
        return {"UP", "LOWER_UP"} <= flags

    def wait_ipv6_ready(self, ns: str, timeout_s: float = 10) -> None:
        """Wait until no IPv6 address in ns is tentative (incl. link-local)."""
        wait_until(lambda: run([self._ip, "-n", ns, "-6", "addr", "show",
                                "tentative"]).stdout.strip() == "",
                   timeout_s, what=f"IPv6 addresses in {ns} to leave tentative state")

    # -- faults --------------------------------------------------------------

    def silence(self, ns: str, ifname: str, *, egress: bool = True,
                ingress: bool = True) -> None:
        """Drop every packet on ifname (clsact + classic-BPF drop, pref 1)
        without a carrier change. Note: ingress tc runs after XDP."""
        tc = _need("tc")
        key = (ns, ifname)
        if key not in self._silenced:
            cp = run([tc, "-n", ns, "qdisc", "add", "dev", ifname, "clsact"], check=False)
            if cp.returncode != 0 and "exist" not in (cp.stderr + cp.stdout).lower():
                raise LabError(f"tc qdisc add clsact on {ifname} in {ns}: {cp.stderr.strip()}")
            self._silenced[key] = cp.returncode == 0
        for direction, on in (("egress", egress), ("ingress", ingress)):
            if on:
                run([tc, "-n", ns, "filter", "replace", "dev", ifname, direction,
                     "pref", "1", "bpf", "da", "bytecode", DROP_ALL_BPF])

    def unsilence(self, ns: str, ifname: str) -> None:
        """Undo silence(): remove the pref-1 filters (and clsact if we added it)."""
        tc = _need("tc")
        added = self._silenced.pop((ns, ifname), False)
        for direction in ("egress", "ingress"):
            run([tc, "-n", ns, "filter", "del", "dev", ifname, direction, "pref", "1"],
                check=False)
        if added:
            run([tc, "-n", ns, "qdisc", "del", "dev", ifname, "clsact"], check=False)

    # -- processes -------------------------------------------------------

    def spawn(self, ns: str | None, argv: Sequence[str],
              log_path: str | os.PathLike | None = None, *,
              env: dict[str, str] | None = None, desc: str | None = None,
              cwd: str | os.PathLike | None = None) -> subprocess.Popen:
        """Start argv in namespace ns (None = current) in its own session,
        stdout+stderr to log_path (default <run>/logs/<name>-<n>.log), tracked
        for cleanup. The Popen's pid is the program's pid (ip netns exec execs)."""
        self._check_open()
        argv = [str(a) for a in argv]
        if log_path is None:
            (self.run_dir / "logs").mkdir(exist_ok=True)
            log_path = self.run_dir / "logs" / f"{Path(argv[0]).name}-{_next()}.log"
        full = ([self._ip, "netns", "exec", ns] if ns else []) + argv
        with open(log_path, "ab") as logf:
            popen = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)
        popen.log_path = Path(log_path)  # type: ignore[attr-defined]
        self._procs.append(_Proc(popen, ns, desc or " ".join(argv)))
        return popen

    def stop(self, proc: subprocess.Popen, *, sig: int = signal.SIGTERM,
             timeout_s: float = 5) -> int:
        """Stop one tracked process: sig, then SIGKILL after timeout_s; reap it
        and return its exit status."""
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._procs = [p for p in self._procs if p.popen is not proc]
        return proc.returncode if proc.returncode is not None else proc.wait()

    @property
    def pids(self) -> list[int]:
        """Pids of the processes this Lab started and still tracks."""
        return [p.popen.pid for p in self._procs]

    def _alive_or_raise(self, proc: subprocess.Popen, what: str) -> None:
        if proc.poll() is not None:
            raise LabError(f"{what} exited with status {proc.returncode}\n"
                           + self._tail(getattr(proc, "log_path", None)))

    # -- FRR -------------------------------------------------------------

    def start_frr(self, ns: str, config: str = "", *,
                  daemons: Sequence[str] = ("zebra", "bfdd"),
                  timeout_s: float = 15) -> FrrInstance:
        """Start FRR daemons (zebra first) in ns with pathspace -N ns, in the
        foreground, as user frr; then apply `config` (integrated frr.conf
        syntax, e.g. a `bfd` block) via `vtysh -f`. Returns the instance."""
        self._check_open()
        if ns in self._frr:
            raise LabError(f"FRR already running in {ns}")
        daemons = list(daemons)
        if "zebra" in daemons:
            daemons.remove("zebra")
            daemons.insert(0, "zebra")
        cfgroot = self.run_dir / "frr"
        d = cfgroot / ns
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(cfgroot, 0o755)
        (d / "vtysh.conf").write_text("")
        (d / "frr.conf").write_text(config)
        (d / "empty.conf").write_text("")
        try:
            uid, gid = pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
            user_args: list[str] = []
            for p in (d, d / "vtysh.conf", d / "frr.conf", d / "empty.conf"):
                os.chown(p, uid, gid)
        except KeyError:
            user_args = ["-u", "root", "-g", "root"]
        _FRR_CONFIG_DIRS[ns] = cfgroot
        vtydir = FRR_RUN_DIR / ns
        shutil.rmtree(vtydir, ignore_errors=True)      # stale from a crashed run
        inst = FrrInstance(ns, d, cfgroot, {})
        self._frr[ns] = inst
        for daemon in daemons:
            binary = FRR_DIR / daemon
            argv = [str(binary), "-N", ns, "-f", str(d / "empty.conf"),
                    "-i", str(d / f"{daemon}.pid"), "-P", "0",
                    "--log", f"file:{d / (daemon + '.log')}"] + user_args
            proc = self.spawn(ns, argv, d / f"{daemon}.out", desc=f"{daemon}@{ns}")
            inst.procs[daemon] = proc

            def ready(daemon=daemon, proc=proc) -> bool:
                self._alive_or_raise(proc, f"{daemon} in {ns}")
                if not (vtydir / f"{daemon}.vty").exists():
                    return False
                frr_vtysh(ns, "show version", daemon=daemon, timeout=5)
                return True
            try:
                wait_until(ready, timeout_s, what=f"FRR {daemon} in {ns} to answer vtysh")
            except WaitTimeout as e:
                raise LabError(f"{e}\n{self._tail(d / (daemon + '.log'))}") from None
        if config.strip():
            cp = run(_vtysh_argv(ns) + ["-f", str(d / "frr.conf")], check=False)
            if cp.returncode != 0:
                raise LabError(f"FRR config for {ns} rejected (vtysh -f exit "
                               f"{cp.returncode}): {(cp.stdout + cp.stderr).strip()}")
        return inst

    def frr_vtysh(self, ns: str, cmd: str | Sequence[str], **kw: Any) -> str:
        """Same as module frr_vtysh()."""
        return frr_vtysh(ns, cmd, **kw)

    def frr_json(self, ns: str, cmd: str, **kw: Any) -> Any:
        """Same as module frr_json()."""
        return frr_json(ns, cmd, **kw)

    def frr_configure(self, ns: str, lines: str | Iterable[str]) -> str:
        """Same as module frr_configure()."""
        return frr_configure(ns, lines)

    def frr_bfd_status(self, ns: str, peer: str, *,
                       multihop: bool | None = None) -> str | None:
        """FRR's status ('up', 'down', 'init', 'shutdown') of the BFD peer with
        address `peer` (and, if given, that multihop flag) in ns, or None if
        there is no such peer."""
        want = ipaddress.ip_address(peer)
        for p in frr_json(ns, "show bfd peers json"):
            if (ipaddress.ip_address(p["peer"]) == want
                    and (multihop is None or p.get("multihop") == multihop)):
                return p.get("status")
        return None

    # -- BIRD ------------------------------------------------------------

    def start_bird(self, ns: str, config: str, *, timeout_s: float = 15) -> BirdInstance:
        """Check `config` with `bird -p`, then run `bird -f -c CONF -s CTL -P PID`
        in ns (a `log "<dir>/bird.log" all;` line is prepended); wait until
        birdc answers."""
        self._check_open()
        if ns in self._bird:
            raise LabError(f"BIRD already running in {ns}")
        d = self.run_dir / "bird" / ns
        d.mkdir(parents=True, exist_ok=True)
        conf, ctl, pidf, log = d / "bird.conf", d / "bird.ctl", d / "bird.pid", d / "bird.log"
        conf.write_text(f'log "{log}" all;\n' + config)
        bird = _need("bird")
        cp = run([bird, "-p", "-c", str(conf)], check=False)
        if cp.returncode != 0:
            raise LabError(f"BIRD config for {ns} rejected: {(cp.stderr + cp.stdout).strip()}"
                           f"\n--- {conf}\n{conf.read_text()}")
        proc = self.spawn(ns, [bird, "-f", "-c", conf, "-s", ctl, "-P", pidf],
                          d / "bird.out", desc=f"bird@{ns}")
        inst = BirdInstance(ns, conf, ctl, pidf, log, proc)
        self._bird[ns] = inst

        def ready() -> bool:
            self._alive_or_raise(proc, f"bird in {ns}")
            return ctl.exists() and "Daemon is up and running" in birdc(ctl, "show status")
        wait_until(ready, timeout_s, what=f"BIRD in {ns} to answer birdc")
        return inst

    def birdc(self, ctl: str | os.PathLike, cmd: str) -> str:
        """Same as module birdc()."""
        return birdc(ctl, cmd)

    # -- diagnostics -----------------------------------------------------

    @staticmethod
    def _tail(path: Path | None, n: int = 20) -> str:
        if path is None:
            return ""
        try:
            lines = Path(path).read_text(errors="replace").splitlines()[-n:]
        except OSError:
            return ""
        return f"--- tail of {path}\n" + "\n".join(lines) + "\n"

    def log_tails(self, n: int = 20) -> str:
        """The last n lines of every log file in the run directory."""
        out = []
        for p in sorted(self.run_dir.rglob("*")):
            if p.is_file() and p.suffix in (".log", ".out") and p.stat().st_size:
                out.append(self._tail(p, n))
        return "".join(out)

    # -- cleanup ---------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed or self._cleaning:
            raise LabError("Lab already cleaned up")

    def cleanup(self) -> None:
        """Stop every process started (by pid: SIGTERM, then SIGKILL), delete
        veths and namespaces, remove FRR vty dirs and the run directory.
        Robust (each step guarded) and idempotent; signals are blocked meanwhile."""
        if self._closed or self._cleaning:
            return
        self._cleaning = True
        blocked = False
        try:
            if threading.current_thread() is threading.main_thread():
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
                blocked = True
        except (ValueError, OSError):
            pass
        try:
            self._cleanup_steps()
        finally:
            self._closed = True
            self._cleaning = False
            self._restore_signals()
            try:
                atexit.unregister(self.cleanup)
            except Exception:  # noqa: BLE001
                pass
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    def _cleanup_steps(self) -> None:
        def guard(fn: Callable[[], Any], what: str) -> None:
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                try:
                    sys.stderr.write(f"lab cleanup: {what}: {e}\n")
                except Exception:  # noqa: BLE001
                    pass

        # 1. processes we started: TERM all (reverse order), then KILL leftovers.
        procs = list(reversed(self._procs))
        for p in procs:
            guard(lambda p=p: p.popen.poll() is None and p.popen.send_signal(signal.SIGTERM),
                  f"SIGTERM {p.desc}")
        deadline = time.monotonic() + 3
        for p in procs:
            def wait_or_kill(p: _Proc = p) -> None:
                try:
                    p.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.popen.kill()
                    p.popen.wait(timeout=10)
            guard(wait_or_kill, f"stopping {p.desc} (pid {p.popen.pid})")
        self._procs.clear()

        # 2. anything else still inside *our* namespaces (children of the above).
        for ns in self.namespaces:
            guard(lambda ns=ns: self._kill_ns_pids(ns), f"processes left in {ns}")

        # 3. veths (synchronous delete; deleting one end deletes the pair), then namespaces.
        for link in self.links:
            guard(lambda l=link: run([self._ip, "-n", l.ns_a, "link", "del", l.if_a],
                                     check=False, timeout=10), f"deleting {link.if_a}")
        self.links.clear()
        for ns in list(self.namespaces):
            def del_ns(ns: str = ns) -> None:
                if os.path.exists(f"/run/netns/{ns}"):
                    run([self._ip, "netns", "del", ns], timeout=10)
            guard(del_ns, f"deleting namespace {ns}")
            guard(lambda ns=ns: shutil.rmtree(FRR_RUN_DIR / ns, ignore_errors=True),
                  f"removing {FRR_RUN_DIR / ns}")
            _FRR_CONFIG_DIRS.pop(ns, None)
        self.namespaces.clear()
        self._frr.clear()
        self._bird.clear()
        self._silenced.clear()

        # 4. run directory.
        if self.keep_dir:
            guard(lambda: sys.stderr.write(f"lab: kept {self.run_dir}\n"), "")
        else:
            guard(lambda: shutil.rmtree(self.run_dir, ignore_errors=True),
                  f"removing {self.run_dir}")

    def _kill_ns_pids(self, ns: str) -> None:
        if not os.path.exists(f"/run/netns/{ns}"):
            return
        cp = run([self._ip, "netns", "pids", ns], check=False, timeout=10)
        pids = [int(x) for x in cp.stdout.split() if x.isdigit() and int(x) != os.getpid()]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            end = time.monotonic() + 2
            while pids and time.monotonic() < end:
                pids = [p for p in pids if _alive(p)]
                if pids:
                    time.sleep(0.05)
            if not pids:
                return


def _alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


# --------------------------------------------------------------------------
# added for the BGP tests

def frr_restart_daemon(L: Lab, ns: str, daemon: str, config: str | None = None, *,
                       sig: int = signal.SIGKILL, while_down: Callable[[], Any] | None = None,
                       timeout_s: float = 15) -> subprocess.Popen:
    """Stop one FRR daemon of the instance in `ns` with `sig` (SIGKILL: a crash, so a graceful
    restart peer sees the TCP session end without a NOTIFICATION), call `while_down()` if given,
    start the daemon again with the same arguments, wait until it answers vtysh, then apply
    `config` (frr.conf syntax; the instance's frr.conf is rewritten) when given. Returns the new
    process."""
    inst = L._frr.get(ns)
    if inst is None or daemon not in inst.procs:
        raise LabError(f"no FRR {daemon} running in {ns}")
    old = inst.procs[daemon]
    argv = list(old.args)
    if argv[:3] == [L._ip, "netns", "exec"]:
        argv = argv[4:]
    L.stop(old, sig=sig)
    if while_down is not None:
        while_down()
    proc = L.spawn(ns, argv, inst.dir / f"{daemon}.out", desc=f"{daemon}@{ns} (restarted)")
    inst.procs[daemon] = proc

    def ready() -> bool:
        L._alive_or_raise(proc, f"{daemon} in {ns}")
        frr_vtysh(ns, "show version", daemon=daemon, timeout=5)
        return True
    wait_until(ready, timeout_s, what=f"restarted FRR {daemon} in {ns} to answer vtysh")
    if config is not None:
        (inst.dir / "frr.conf").write_text(config)
        cp = run(_vtysh_argv(ns) + ["-f", str(inst.dir / "frr.conf")], check=False)
        if cp.returncode != 0:
            raise LabError(f"FRR config for {ns} rejected after the restart: "
                           f"{(cp.stdout + cp.stderr).strip()}")
    return proc


def frr_stop(L: Lab, ns: str, *, sig: int = signal.SIGKILL) -> None:
    """Stop every FRR daemon of the instance in `ns` with `sig` (SIGKILL: the peer loses power)
    and forget the instance, so that L.start_frr() can start another one (a peer's reboot)."""
    inst = L._frr.pop(ns, None)
    if inst is None:
        raise LabError(f"no FRR running in {ns}")
    for proc in reversed(list(inst.procs.values())):
        L.stop(proc, sig=sig)
    shutil.rmtree(FRR_RUN_DIR / ns, ignore_errors=True)
