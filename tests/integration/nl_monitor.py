#!/usr/bin/env python3
"""An independent observer of the kernel FIB: a netlink (NETLINK_ROUTE) listener that records
every nexthop object and IPv4 route change with the time it saw it.

Run inside a namespace as its own process (so that its timing does not depend on the test's
GIL), writing one JSON object per line:

    ip netns exec NS python3 nl_monitor.py --out FILE [--routes] [--route-prefix CIDR]

or from a test, through a Lab (the process is tracked and stopped by the Lab's cleanup):

    mon = nl_monitor.NlMonitor(L, edge, routes=True)   # returns once it is listening
    ...
    events = mon.events()            # every parsed line so far (read incrementally)
    mon.fib.route_gateways("198.19.100.1/32")   # the kernel, replayed from them

Lines ("t" is time.monotonic_ns() taken right after recv() returned the datagram: CLOCK_MONOTONIC,
the clock of the test and of Strobe; the kernel changed at most that long before):

    {"ev": "ready", "t": ..., "pid": ...}
    {"ev": "nh", "type": "new"|"del", "t": ..., "dump": bool, "id": 7, "protocol": 200,
     "group": [[member id, weight], ...] | null, "gateway": "198.18.1.2" | null, "oif": 3,
     "blackhole": false, "flags": 0, "nlflags": 0x...}
    {"ev": "route", "type": "new"|"del", "t": ..., "dump": bool, "dst": "198.19.100.1/32",
     "table": 254, "protocol": 200, "rtype": 1, "nhid": 7 | null,
     "gateways": ["198.18.1.2", ...], "oif": 3 | null, "priority": 20 | null}
    {"ev": "overrun", "t": ...}            (ENOBUFS: notifications were lost)

Subscriptions: RTNLGRP_NEXTHOP (32), and with --routes RTNLGRP_IPV4_ROUTE (7), joined with
setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP). At start the current nexthops (and routes) are
dumped over a second socket and written with "dump": true, after the subscription is in place and
before "ready", so that a reader can rebuild the whole state from the file.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable

SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
RTNLGRP_IPV4_ROUTE = 7
RTNLGRP_NEXTHOP = 32
SO_RCVBUFFORCE = 33

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEXTHOP, RTM_DELNEXTHOP, RTM_GETNEXTHOP = 104, 105, 106

NHA_ID, NHA_GROUP, NHA_GROUP_TYPE, NHA_BLACKHOLE, NHA_OIF, NHA_GATEWAY = 1, 2, 3, 4, 5, 6
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE, RTA_NH_ID = (
    1, 4, 5, 6, 9, 15, 30)

_NLMSGHDR = struct.Struct("=IHHII")
_NHMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTA = struct.Struct("=HH")
_RTNH = struct.Struct("=HBBi")


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attrs(buf: bytes, off: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + 4 <= end:
        length, kind = _RTA.unpack_from(buf, off)
        if length < 4:
            break
        out[kind & 0x3FFF] = buf[off + 4:off + length]
        off += _align(length)
    return out


def _addr(family: int, raw: bytes) -> str:
    if family == socket.AF_INET6 or len(raw) == 16:
        return str(ipaddress.IPv6Address(raw))
    return str(ipaddress.IPv4Address(raw))


def parse_nexthop(msg_type: int, nlflags: int, buf: bytes, off: int, end: int) -> dict:
    family, _scope, protocol, _resvd, flags = _NHMSG.unpack_from(buf, off)
    a = _attrs(buf, off + _NHMSG.size, end)
    group = None
    if NHA_GROUP in a:
        raw = a[NHA_GROUP]
        group = [[struct.unpack_from("=I", raw, i)[0], raw[i + 4] + 1]
                 for i in range(0, len(raw) - 7, 8)]
    gw = a.get(NHA_GATEWAY)
    return {"ev": "nh", "type": "new" if msg_type == RTM_NEWNEXTHOP else "del",
            "id": struct.unpack("=I", a[NHA_ID])[0] if NHA_ID in a else None,
            "protocol": protocol, "group": group,
            "gateway": _addr(family, gw) if gw else None,
            "oif": struct.unpack("=I", a[NHA_OIF])[0] if NHA_OIF in a else None,
            "blackhole": NHA_BLACKHOLE in a, "flags": flags, "nlflags": nlflags}


def parse_route(msg_type: int, nlflags: int, buf: bytes, off: int, end: int) -> dict:
    family, dst_len, _src_len, _tos, table, protocol, _scope, rtype, _flags = \
        _RTMSG.unpack_from(buf, off)
    a = _attrs(buf, off + _RTMSG.size, end)
    if RTA_TABLE in a:
        table = struct.unpack("=I", a[RTA_TABLE])[0]
    dst = a.get(RTA_DST)
    dst_s = (f"{_addr(family, dst)}/{dst_len}" if dst
             else ("0.0.0.0/0" if family == socket.AF_INET else "::/0"))
    gateways: list[str] = []
    if RTA_GATEWAY in a:
        gateways.append(_addr(family, a[RTA_GATEWAY]))
    if RTA_MULTIPATH in a:
        raw = a[RTA_MULTIPATH]
        i = 0
        while i + _RTNH.size <= len(raw):
            length, _f, _hops, _ifi = _RTNH.unpack_from(raw, i)
            if length < _RTNH.size:
                break
            sub = _attrs(raw, i + _RTNH.size, i + length)
            if RTA_GATEWAY in sub:
                gateways.append(_addr(family, sub[RTA_GATEWAY]))
            i += _align(length)
    return {"ev": "route", "type": "new" if msg_type == RTM_NEWROUTE else "del",
            "dst": dst_s, "family": family, "table": table, "protocol": protocol,
            "rtype": rtype,
            "nhid": struct.unpack("=I", a[RTA_NH_ID])[0] if RTA_NH_ID in a else None,
            "gateways": gateways,
            "oif": struct.unpack("=I", a[RTA_OIF])[0] if RTA_OIF in a else None,
            "priority": struct.unpack("=I", a[RTA_PRIORITY])[0] if RTA_PRIORITY in a else None,
            "nlflags": nlflags}


def parse(buf: bytes) -> Iterable[dict | str]:
    """Yield parsed records of one datagram, "done" at NLMSG_DONE, "error" at an error."""
    off = 0
    while off + _NLMSGHDR.size <= len(buf):
        length, kind, nlflags, _seq, _pid = _NLMSGHDR.unpack_from(buf, off)
        if length < _NLMSGHDR.size:
            break
        body, end = off + _NLMSGHDR.size, off + length
        if kind == NLMSG_DONE:
            yield "done"
        elif kind == NLMSG_ERROR:
            code = struct.unpack_from("=i", buf, body)[0]
            if code != 0:
                yield "error"
        elif kind in (RTM_NEWNEXTHOP, RTM_DELNEXTHOP):
            yield parse_nexthop(kind, nlflags, buf, body, end)
        elif kind in (RTM_NEWROUTE, RTM_DELROUTE):
            yield parse_route(kind, nlflags, buf, body, end)
        off += _align(length)


class _Filter:
    def __init__(self, prefix: str | None) -> None:
        self.net = ipaddress.ip_network(prefix) if prefix else None

    def keep(self, rec: dict) -> bool:
        if rec["ev"] != "route" or self.net is None:
            return True
        try:
            return ipaddress.ip_network(rec["dst"]).subnet_of(self.net)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False


def _dump(kind: int, family: int, body: bytes) -> list[dict]:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        s.bind((0, 0))
        s.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP,
                              1, 0) + body)
        out: list[dict] = []
        while True:
            buf = s.recv(1 << 20)
            for rec in parse(buf):
                if rec in ("done", "error"):
                    return out
                out.append(rec)  # type: ignore[arg-type]
    finally:
        s.close()


class Listener:
    """The subscribed socket and a thread that writes every record to `out` (a text file)."""

    def __init__(self, out, routes: bool, route_prefix: str | None = None,
                 rcvbuf: int = 32 << 20) -> None:
        self.out = out
        self.filter = _Filter(route_prefix)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((0, 0))
        groups = [RTNLGRP_NEXTHOP] + ([RTNLGRP_IPV4_ROUTE] if routes else [])
        for g in groups:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g)
        self.routes = routes
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="nl-monitor", daemon=True)

    def write(self, rec: dict) -> None:
        with self.lock:
            self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")
            self.out.flush()

    def start(self) -> None:
        now = time.monotonic_ns()
        for rec in _dump(RTM_GETNEXTHOP, socket.AF_UNSPEC, _NHMSG.pack(0, 0, 0, 0, 0)):
            self.write({**rec, "t": now, "dump": True})
        if self.routes:
            for rec in _dump(RTM_GETROUTE, socket.AF_INET,
                             _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)):
                if self.filter.keep(rec):
                    self.write({**rec, "t": now, "dump": True})
        self.thread.start()
        self.write({"ev": "ready", "t": time.monotonic_ns(), "pid": os.getpid()})

    def _run(self) -> None:
        while True:
            try:
                buf = self.sock.recv(1 << 20)
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    self.write({"ev": "overrun", "t": time.monotonic_ns()})
                    continue
                if e.errno == errno.EINTR:
                    continue
                raise
            t = time.monotonic_ns()
            for rec in parse(buf):
                if isinstance(rec, dict) and self.filter.keep(rec):
                    rec["t"] = t
                    rec["dump"] = False
                    self.write(rec)


# --------------------------------------------------------------------------------------------
# Reading a record back

def read_events(path: str | os.PathLike) -> list[dict]:
    """The complete lines of the monitor's file, parsed."""
    out = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break                      # being written
        out.append(json.loads(line))
    return out


class Fib:
    """The kernel state replayed from records: nexthop objects and routes (one table)."""

    def __init__(self, table: int = 254) -> None:
        self.table = table
        self.nexthops: dict[int, dict] = {}
        self.routes: dict[str, dict] = {}

    def apply(self, rec: dict) -> None:
        if rec["ev"] == "nh":
            if rec["type"] == "new":
                self.nexthops[rec["id"]] = dict(rec)
            else:
                self.nexthops.pop(rec["id"], None)
                # The kernel takes a deleted nexthop out of every group that holds it.
                for nh in self.nexthops.values():
                    if nh.get("group"):
                        nh["group"] = [m for m in nh["group"] if m[0] != rec["id"]]
        elif rec["ev"] == "route" and rec["table"] == self.table:
            if rec["type"] == "new":
                self.routes[rec["dst"]] = rec
            elif self.routes.get(rec["dst"], {}).get("protocol") in (None, rec["protocol"]):
                self.routes.pop(rec["dst"], None)

    def members(self, nhid: int) -> list[int] | None:
        nh = self.nexthops.get(nhid)
        if nh is None:
            return None
        return [m[0] for m in nh["group"]] if nh.get("group") else [nhid]

    def gateways_of_nhid(self, nhid: int) -> set[str]:
        out = set()
        for m in self.members(nhid) or []:
            gw = self.nexthops.get(m, {}).get("gateway")
            if gw:
                out.add(gw)
        return out

    def route_gateways(self, dst: str) -> set[str] | None:
        """The gateways traffic to `dst` (exact prefix) uses, None if there is no route."""
        r = self.routes.get(dst)
        if r is None:
            return None
        if r.get("nhid") is not None:
            return self.gateways_of_nhid(r["nhid"])
        return set(r.get("gateways") or [])


# --------------------------------------------------------------------------------------------
# From a test: the monitor as a process in a Lab namespace

class NlMonitor:
    """nl_monitor.py running in namespace `ns` (spawned by the Lab, stopped by its cleanup)."""

    def __init__(self, L: Any, ns: str, *, routes: bool = False, route_prefix: str | None = None,
                 name: str = "nl-monitor", cpu: int | None = None,
                 timeout_s: float = 10) -> None:
        import lab  # noqa: PLC0415 - the tests' helper, on sys.path when used from a test
        self.lab = L
        self.path = L.run_dir / f"{name}.jsonl"
        self._offset = 0
        self._events: list[dict] = []
        self._overruns = 0
        self.fib = Fib()                # the kernel as of the last poll()
        argv = [sys.executable, str(Path(__file__).resolve()), "--out", str(self.path)]
        if routes:
            argv.append("--routes")
        if route_prefix:
            argv += ["--route-prefix", route_prefix]
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        self.proc = L.spawn(ns, argv, L.run_dir / f"{name}.log", desc=f"{name}@{ns}")

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise lab.LabError(f"nl_monitor exited with {self.proc.returncode}: "
                                   + (L.run_dir / f"{name}.log").read_text()[-2000:])
            return any(e["ev"] == "ready" for e in self.events())
        lab.wait_until(ready, timeout_s, what="nl_monitor to listen")

    def poll(self) -> list[dict]:
        """Read the lines written since the last call; apply them to self.fib; return them."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1            # complete lines only
        self._offset += end
        new = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        for e in new:
            self.fib.apply(e)
            self._overruns += e["ev"] == "overrun"
        self._events.extend(new)
        return new

    def events(self) -> list[dict]:
        """Every record so far (the list grows; do not modify it)."""
        self.poll()
        return self._events

    def overruns(self) -> int:
        self.poll()
        return self._overruns

    def stop(self) -> int:
        return self.lab.stop(self.proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="file to append JSON lines to ('-': stdout)")
    ap.add_argument("--routes", action="store_true", help="also IPv4 route changes")
    ap.add_argument("--route-prefix", help="only routes inside this prefix (e.g. 198.19.96.0/19)")
    args = ap.parse_args()
    out = sys.stdout if args.out == "-" else open(args.out, "a", buffering=1 << 16)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    lst = Listener(out, args.routes, args.route_prefix)
    lst.start()
    while not stop.wait(3600):
        pass
    with lst.lock:
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
