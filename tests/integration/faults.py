"""Fault injection for the fault_* integration tests: the impairment bridge (strobe-impair) between
two namespaces, random loss from nftables, packet captures (a plain AF_PACKET socket) read back,
Strobe's transitions from its log, and the check that a session went Down exactly when the
arrival gaps said it had to (RFC 5880 6.8.4).

Also a small UDP probe, run as a script inside a namespace (the impair test's traffic):

    python3 faults.py udp-recv PORT COUNT IDLE_S      # prints one JSON object when done
    python3 faults.py udp-send ADDR PORT COUNT INTERVAL_US

and the capture (BFD packets only, to a pcap file, until SIGTERM):

    python3 faults.py sniff IFNAME FILE
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import ipaddress
import json
import os
import re
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
IMPAIR = os.environ.get("STROBE_IMPAIR", str(ROOT / "build/tests/tools/strobe-impair"))
BFD_PORTS = (3784, 4784)
# [dataplane] keys of the fault tests: the worker runs SCHED_FIFO, as on an appliance, so what is
# measured is Strobe's detection, not how long a normal thread waits for a core shared with
# compilers (several milliseconds on this 2-core machine). strobe-impair runs below it.
DATAPLANE = {"realtime_priority": 20}
STATE_NAMES = {0: "admin-down", 1: "down", 2: "init", 3: "up"}
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # <asm-generic/socket.h>; not in 3.11


# --------------------------------------------------------------------------------------------
# topology

def wire(L: lab.Lab, ns_a: str, ns_b: str, ns_wire: str, *,
         v6: bool = True) -> tuple[lab.Link, str, str]:
    """ns_a <-> ns_wire <-> ns_b: two veth pairs whose wire ends (returned as wa, wb) carry no
    address and no IPv6 (so the wire namespace adds no frame of its own). ns_a and ns_b get
    198.18.N.1/24 and .2/24 (and 2001:db8:N::1/64, ::2/64) as if on one link. Returns the
    Link (if_a in ns_a, if_b in ns_b), wa and wb; frames cross only once strobe-impair (or a
    bridge) joins wa and wb."""
    first = L.veth(ns_a, ns_wire, up=False)
    second = L.veth(ns_wire, ns_b, up=False)
    wa, wb = first.if_b, second.if_a
    for ifname in (wa, wb):
        L.exec(ns_wire, ["sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1"])
    link = lab.Link(first.index, ns_a, first.if_a, ns_b, second.if_b)
    L.address_link(link, v6=v6)
    for ns, ifname in ((ns_a, link.if_a), (ns_wire, wa), (ns_wire, wb), (ns_b, link.if_b)):
        L.exec(ns, ["ip", "link", "set", ifname, "up"])
    for ns, ifname in ((ns_a, link.if_a), (ns_wire, wa), (ns_wire, wb), (ns_b, link.if_b)):
        lab.wait_until(lambda ns=ns, ifname=ifname: L.link_is_up(ns, ifname), 10,
                       what=f"{ifname} in {ns} to have carrier")
    if v6:
        L.wait_ipv6_ready(ns_a)
        L.wait_ipv6_ready(ns_b)
    return link, wa, wb


class Impair:
    """strobe-impair in `ns` between wa and wb, driven over its control socket. It runs under
    SCHED_FIFO (`realtime_priority`): it is the wire, and on a 2-core machine shared with
    compilers an ordinary process misses its release times by milliseconds now and then."""

    def __init__(self, L: lab.Lab, ns: str, wa: str, wb: str, *, seed: int = 1,
                 name: str = "impair", realtime_priority: int = 10,
                 args: Sequence[str] = ()) -> None:
        self.lab = L
        d = L.run_dir / name
        d.mkdir(parents=True, exist_ok=True)
        self.control = str(d / "control.sock")
        self.reply_path = str(d / "client.sock")
        self.log = d / "impair.log"
        self.proc = L.spawn(ns, [IMPAIR, "--a", wa, "--b", wb, "--seed", str(seed),
                                 "--control_socket", self.control,
                                 "--realtime_priority", str(realtime_priority), *args], self.log,
                            desc=f"strobe-impair@{ns}")
        self.ready = lab.wait_until(lambda: self._event("ready"), 10,
                                    what="strobe-impair to open its sockets")
        self._client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if os.path.exists(self.reply_path):
            os.unlink(self.reply_path)
        self._client.bind(self.reply_path)
        self._client.settimeout(5)
        self.final: dict | None = None

    def _event(self, name: str, running: bool = True) -> dict | None:
        if running and self.proc.poll() is not None:
            raise lab.LabError(f"strobe-impair exited with {self.proc.returncode}:\n"
                               + self.log.read_text(errors="replace"))
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                j = json.loads(line)
                if j.get("event") == name:
                    return j
        return None

    def command(self, text: str) -> dict:
        self._client.sendto(text.encode(), self.control)
        reply = json.loads(self._client.recv(65536))
        if "error" in reply:
            raise lab.LabError(f"strobe-impair {text!r}: {reply['error']}")
        return reply

    def set(self, direction: str = "both", **settings: Any) -> dict:
        """New settings (delay_ms, jitter_ms, distribution, reorder, swap_every,
        swap_max_hold_ms, loss_pct) for frames arriving from now on."""
        words = [f"direction={direction}"] + [
            f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in settings.items()]
        return self.command("set " + " ".join(words))

    def stats(self) -> dict:
        return self.command("stats")

    def stop(self) -> dict:
        """SIGTERM; returns the counters it printed on the way out."""
        self._client.close()
        status = self.lab.stop(self.proc)
        if status != 0:
            raise lab.LabError(f"strobe-impair exited with {status}:\n" + self.log.read_text())
        self.final = self._event("stopped", running=False)
        if self.final is None:
            raise lab.LabError("strobe-impair printed no counters:\n" + self.log.read_text())
        return self.final


# --------------------------------------------------------------------------------------------
# nftables loss

class NftLoss:
    """Random loss of BFD packets leaving `ns` through `ifname` (an output chain in table
    inet strobe_fault): `numgen random mod 100 < pct drop`, with a counter."""

    TABLE = "strobe_fault"

    def __init__(self, L: lab.Lab, ns: str, ifname: str) -> None:
        self.lab, self.ns, self.ifname = L, ns, ifname
        L.exec(ns, ["nft", "-f", "-"], input=(
            f"table inet {self.TABLE} {{\n"
            "  chain out { type filter hook output priority 0; policy accept; }\n}\n"))

    def set(self, pct: int) -> None:
        """One nft transaction: the old rule and the new one never coexist."""
        match = f'oifname "{self.ifname}" udp dport {{ {", ".join(map(str, BFD_PORTS))} }}'
        rule = "" if pct <= 0 else (
            f"add rule inet {self.TABLE} out {match} counter drop\n" if pct >= 100 else
            f"add rule inet {self.TABLE} out {match} numgen random mod 100 < {pct} "
            "counter drop\n")
        self.lab.exec(self.ns, ["nft", "-f", "-"],
                      input=f"flush chain inet {self.TABLE} out\n{rule}")

    def dropped(self) -> int:
        """Packets the current rule dropped (set() starts a new rule and counter)."""
        out = self.lab.exec(self.ns, ["nft", "-j", "list", "chain", "inet", self.TABLE, "out"])
        total = 0
        for item in json.loads(out.stdout).get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    total += expr["counter"]["packets"]
        return total


# --------------------------------------------------------------------------------------------
# captures

@dataclasses.dataclass
class BfdPacket:
    ts: float          # seconds since the epoch (capture clock: CLOCK_REALTIME)
    src: str
    dst: str
    sport: int
    dport: int
    ttl: int
    diag: int
    state: int
    flags: int
    mult: int
    my_disc: int
    your_disc: int
    desired_tx_us: int
    required_rx_us: int
    auth_seq: int | None

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state]


class Capture:
    """The BFD packets crossing `ifname` in `ns`, both directions, into a pcap file in the run
    directory: a plain AF_PACKET socket in a child process (`faults.py sniff`), so every packet
    is in the file as soon as the capture stops (dumpcap's ring hands packets over in blocks and
    loses the last ones on SIGINT). Kernel timestamps, nanoseconds, CLOCK_REALTIME."""

    def __init__(self, L: lab.Lab, ns: str, ifname: str, name: str) -> None:
        self.lab = L
        d = L.run_dir / "captures"
        d.mkdir(parents=True, exist_ok=True)
        self.path = d / f"{name}.pcap"
        self.log = d / f"{name}.log"
        self.proc = L.spawn(ns, [sys.executable, str(Path(__file__).resolve()), "sniff", ifname,
                                 str(self.path)], self.log, desc=f"sniff {ifname}@{ns}")
        lab.wait_until(lambda: self._event("ready"), 10, what=f"the capture on {ifname}")

    def _event(self, name: str, running: bool = True) -> dict | None:
        if running and self.proc.poll() is not None:
            raise lab.LabError(f"capture exited with {self.proc.returncode}: "
                               + self.log.read_text(errors="replace"))
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and json.loads(line).get("event") == name:
                return json.loads(line)
        return None

    def stop(self) -> list[BfdPacket]:
        status = self.lab.stop(self.proc)
        done = self._event("stopped", running=False)
        if status != 0 or done is None:
            raise lab.LabError(f"capture exited with {status}: " + self.log.read_text())
        if done["drops"]:
            raise lab.LabError(f"the capture dropped {done['drops']} packets: it is incomplete")
        return read_pcap(self.path)


def _bfd(ts: float, src: str, dst: str, ttl: int, udp: bytes) -> BfdPacket | None:
    if len(udp) < 8 + 24:
        return None
    sport, dport = struct.unpack("!HH", udp[:4])
    if dport not in BFD_PORTS:
        return None
    b = udp[8:]
    flags = b[1] & 0x3f
    auth_seq = None
    if flags & 0x04 and len(b) >= 24 + 8 and b[24] in (2, 3, 4, 5):  # keyed MD5 / SHA1
        auth_seq = struct.unpack("!I", b[28:32])[0]
    return BfdPacket(ts, src, dst, sport, dport, ttl, b[0] & 0x1f, b[1] >> 6, flags, b[2],
                     *struct.unpack("!IIII", b[4:20]), auth_seq)


def read_pcap(path: Path) -> list[BfdPacket]:
    """The BFD control packets of a classic pcap file (Ethernet or Linux cooked), in order."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    out: list[BfdPacket] = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:
            ethertype, l3 = struct.unpack("!H", frame[12:14])[0], 14
            if ethertype == 0x8100:
                ethertype, l3 = struct.unpack("!H", frame[16:18])[0], 18
        elif linktype == 113:
            ethertype, l3 = struct.unpack("!H", frame[14:16])[0], 16
        else:
            raise lab.LabError(f"{path}: link type {linktype} not handled")
        ip = frame[l3:]
        if ethertype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
            ihl = (ip[0] & 0x0f) * 4
            p = _bfd(ts, str(ipaddress.IPv4Address(ip[12:16])),
                     str(ipaddress.IPv4Address(ip[16:20])), ip[8], ip[ihl:])
        elif ethertype == 0x86dd and len(ip) >= 40 and ip[6] == 17:
            p = _bfd(ts, str(ipaddress.IPv6Address(ip[8:24])),
                     str(ipaddress.IPv6Address(ip[24:40])), ip[7], ip[40:])
        else:
            p = None
        if p is not None:
            out.append(p)
    return out


def flow(packets: Iterable[BfdPacket], src: str, dst: str) -> list[BfdPacket]:
    """The packets from src to dst (addresses compared as addresses)."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    return [p for p in packets
            if ipaddress.ip_address(p.src) == s and ipaddress.ip_address(p.dst) == d]


# --------------------------------------------------------------------------------------------
# Strobe's log

@dataclasses.dataclass
class Transition:
    ts: float          # seconds since the epoch (the log's clock: CLOCK_REALTIME)
    peer: str
    local: str
    old: str
    new: str
    diag: int
    latency_ms: float | None   # "X ms after the last packet", on detection-time Downs


_TRANSITION = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z .*?bfd session (\S+) local (\S+)"
    r"(?: multihop| interface \S*): (\S+) -> (\S+), diag (\d+) \([^)]*\)"
    r"(?:, ([\d.]+) ms after the last packet)?")


def strobe_transitions(log: Path) -> list[Transition]:
    """Every session state change strobe-dataplane logged, in order."""
    out = []
    for line in Path(log).read_text(errors="replace").splitlines():
        m = _TRANSITION.search(line)
        if not m:
            continue
        ts = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1e6
        out.append(Transition(ts, m.group(3), m.group(4), m.group(5), m.group(6), int(m.group(7)),
                              float(m.group(8)) if m.group(8) else None))
    return out


# --------------------------------------------------------------------------------------------
# Down iff a gap exceeded the detection time

@dataclasses.dataclass
class GapVerdict:
    session: str
    packets: int
    max_gap_ms: float
    long_gaps: list[tuple[float, float]]        # (start, length ms) beyond detection time
    downs: list[tuple[float, int, float]]       # (time, diag, ms since the last arrival)
    problems: list[str]


def check_downs_match_gaps(name: str, peer_packets: Sequence[BfdPacket],
                           transitions: Sequence[Transition], detect_ms: float,
                           window: tuple[float, float], *, tolerance_ms: float, late_ms: float,
                           settle_s: float = 1.0) -> GapVerdict:
    """RFC 5880 6.8.4 on one session, from the peer's packets as they reached the link
    (`peer_packets`, captured) and Strobe's logged transitions (`transitions`, this session's),
    within `window` (seconds since the epoch, both clocks CLOCK_REALTIME):

    * every Up -> Down with diag 1 (Control Detection Time Expired) falls in a gap of at least
      detect_ms - tolerance_ms between two arrivals, at least that long after its start (no
      false Down);
    * every Up -> Down with diag 3 (Neighbor Signaled Session Down) comes after a packet from
      the peer in state Down or AdminDown; no other diag is expected;
    * every gap (overlapping the window) longer than detect_ms + tolerance_ms that starts while
      the session has been Up for settle_s (its Poll Sequence to the fast timers done) ends in a
      Down with diag 1 no later than detect_ms + late_ms after the gap's start (no missed Down).

    tolerance_ms covers the capture's and the log's clocks and where each stamps a packet
    (microseconds apart, plus the receiving thread's scheduling); gaps inside the tolerance band
    may go either way and are only reported."""
    said_down = sorted(p.ts for p in peer_packets if p.state <= 1)
    arrivals = sorted(p.ts for p in peer_packets)
    tol, late = tolerance_ms / 1e3, late_ms / 1e3
    downs, long_gaps, problems = [], [], []
    up_since: float | None = None
    ups: list[tuple[float, float]] = []       # Strobe's Up periods
    for t in transitions:
        if t.new == "up":
            up_since = t.ts
            continue
        if t.old != "up":
            continue
        ups.append((up_since if up_since is not None else float("-inf"), t.ts))
        up_since = None
        if not window[0] <= t.ts <= window[1]:
            continue
        # The gap the Down fell into: from the last arrival clearly before it to the next one
        # (a packet captured just before the Down may not have reached Strobe's worker yet).
        i = bisect.bisect_right(arrivals, t.ts - tol) - 1
        last = arrivals[i] if i >= 0 else window[0]
        nxt = arrivals[i + 1] if i + 1 < len(arrivals) else float("inf")
        since_ms, gap_ms = (t.ts - last) * 1e3, (nxt - last) * 1e3
        downs.append((t.ts, t.diag, since_ms))
        if t.diag == 1 and (since_ms < detect_ms - tolerance_ms
                            or gap_ms < detect_ms - tolerance_ms):
            problems.append(f"{name}: false Down at {t.ts:.6f}: the gap around it is "
                            f"{gap_ms:.2f} ms, {since_ms:.2f} ms of it before the Down; "
                            f"detection time {detect_ms:g} ms")
        elif t.diag == 3 and not any(t.ts - 1.0 <= x <= t.ts for x in said_down):
            problems.append(f"{name}: Down with diag 3 at {t.ts:.6f}, but the peer said "
                            "nothing of the kind in the second before")
        elif t.diag not in (1, 3):
            problems.append(f"{name}: Down with diag {t.diag} at {t.ts:.6f}")
    if up_since is not None:
        ups.append((up_since, float("inf")))
    max_gap = 0.0
    for a, b in zip(arrivals, arrivals[1:]):
        if b < window[0] or a > window[1]:
            continue        # gaps that overlap the window count (one may open just before)
        gap = (b - a) * 1e3
        max_gap = max(max_gap, gap)
        if gap <= detect_ms + tolerance_ms:
            continue
        if not any(u0 + settle_s <= a < u1 for u0, u1 in ups):
            continue        # not Up (or not yet on the fast timers) when the gap began
        long_gaps.append((a, gap))
        if not any(d[1] == 1 and a + detect_ms / 1e3 - tol <= d[0] <= a + detect_ms / 1e3 + late
                   for d in downs):
            problems.append(f"{name}: no Down within {detect_ms:g} + {late_ms:g} ms for the "
                            f"{gap:.2f} ms gap from {a:.6f}")
    packets = sum(window[0] <= a <= window[1] for a in arrivals)
    return GapVerdict(name, packets, max_gap, long_gaps, downs, problems)


# --------------------------------------------------------------------------------------------
# the UDP probe (run inside a namespace)

def _udp_recv(port: int, count: int, idle_s: float) -> None:
    fam = socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("::", port))
    print(json.dumps({"event": "ready"}), flush=True)
    got: list[tuple[int, int]] = []    # (seq, one-way delay ns) in arrival order
    s.settimeout(30)
    while len(got) < count:
        try:
            data, anc, _, _ = s.recvmsg(2048, 1024)
        except socket.timeout:
            break
        s.settimeout(idle_s)
        rx_ns = None
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", value[:16])
                rx_ns = sec * 1_000_000_000 + nsec
        seq, tx_ns = struct.unpack("!QQ", data[:16])
        got.append((seq, (rx_ns or time.clock_gettime_ns(time.CLOCK_REALTIME)) - tx_ns))
    print(json.dumps({"event": "done", "received": got}), flush=True)


def _udp_send(addr: str, port: int, count: int, interval_us: int) -> None:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    t0 = time.monotonic_ns()
    for seq in range(count):
        target = t0 + seq * interval_us * 1000
        while (left := target - time.monotonic_ns()) > 0:
            time.sleep(left / 1e9)
        s.sendto(struct.pack("!QQ", seq, time.clock_gettime_ns(time.CLOCK_REALTIME)) + bytes(48),
                 (addr, port))


def _sniff(ifname: str, path: str) -> None:
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)                              # SO_RCVBUFFORCE
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((ifname, 0x0003))
    s.settimeout(0.05)
    out = open(path, "wb")
    out.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))  # pcap, ns, Ethernet
    print(json.dumps({"event": "ready"}), flush=True)
    captured = 0

    def take() -> bool:
        nonlocal captured
        try:
            data, anc, _, _ = s.recvmsg(65535, 64)
        except (socket.timeout, BlockingIOError, InterruptedError):
            return False
        # Only BFD: IPv4 or IPv6 (no extension headers), UDP to 3784 or 4784.
        et = data[12:14]
        if et == b"\x08\x00" and len(data) > 34 and data[23] == 17:
            udp = 14 + (data[14] & 0x0f) * 4
        elif et == b"\x86\xdd" and len(data) > 54 and data[20] == 17:
            udp = 54
        else:
            return True
        if len(data) < udp + 4 or struct.unpack("!H", data[udp + 2:udp + 4])[0] not in BFD_PORTS:
            return True
        ts = time.time_ns()
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", value[:16])
                ts = sec * 1_000_000_000 + nsec
        out.write(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000, len(data),
                              len(data)) + data)
        captured += 1
        return True

    while not stop:
        take()
    s.setblocking(False)
    while take():  # what arrived before the signal
        pass
    out.close()
    packets, drops = struct.unpack("II", s.getsockopt(263, 6, 8))  # SOL_PACKET, PACKET_STATISTICS
    print(json.dumps({"event": "stopped", "captured": captured, "drops": drops}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["udp-recv"]:
        _udp_recv(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    elif sys.argv[1:2] == ["sniff"]:
        _sniff(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["udp-send"]:
        _udp_send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
