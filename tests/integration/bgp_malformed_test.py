#!/usr/bin/env python3
"""Malformed BGP messages from a raw-socket peer (issue: BGP speaker; RFC 4271 §6, RFC 7606).

`edge` runs strobe-bgpd (AS 64512) with one passive neighbor (AS 64999); this test is that
neighbor: a plain TCP socket created inside the `peer` namespace, speaking BGP by hand. Shown:
  1. a valid session: OPEN, KEEPALIVE, an UPDATE that lands in the Loc-RIB;
  2. RFC 7606 treat-as-withdraw: an UPDATE with an invalid ORIGIN value withdraws its prefixes
     and the session stays up (no NOTIFICATION);
  3. RFC 7606 attribute discard: a malformed AGGREGATOR is dropped, the route is used;
  4. header errors reset the session with the RFC 4271 §6.1 NOTIFICATION: bad marker -> 1/1,
     bad length -> 1/2 (with the length as data), unknown type -> 1/3; an UPDATE whose withdrawn
     routes overrun the message -> 3/1; an OPEN for the wrong AS -> 2/2;
  5. random garbage after a valid OPEN: a NOTIFICATION, never a crash; strobe-bgpd answers
     strobectl throughout and exits 0 on SIGTERM;
  6. max_prefixes with teardown: one prefix too many -> Cease/1 (RFC 4486).
"""

import ctypes
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check  # noqa: E402

LOCAL_AS = 64512
PEER_AS = 64999
CLONE_NEWNET = 0x40000000
MARKER = b"\xff" * 16


def socket_in_netns(ns: str) -> socket.socket:
    """A TCP socket created inside namespace `ns` (by a thread that entered it)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    result: dict = {}

    def enter() -> None:
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                result["error"] = OSError(ctypes.get_errno(), f"setns {ns}")
                return
        finally:
            os.close(fd)
        result["sock"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t = threading.Thread(target=enter)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["sock"]


def message(msg_type: int, body: bytes = b"", length: int | None = None,
            marker: bytes = MARKER) -> bytes:
    return marker + struct.pack("!HB", length if length is not None else 19 + len(body),
                                msg_type) + body


def open_msg(asn: int, router_id: str, hold: int = 60) -> bytes:
    caps = bytes([1, 4, 0, 1, 0, 1])  # multiprotocol IPv4 unicast
    caps += bytes([65, 4]) + struct.pack("!I", asn)  # 4-octet AS
    params = bytes([2, len(caps)]) + caps
    body = struct.pack("!BHH", 4, asn if asn < 65536 else 23456, hold)
    body += socket.inet_aton(router_id) + bytes([len(params)]) + params
    return message(1, body)


def attr(flags: int, code: int, value: bytes) -> bytes:
    return bytes([flags, code, len(value)]) + value


def nlri(prefix: str) -> bytes:
    addr, plen = prefix.split("/")
    plen = int(plen)
    return bytes([plen]) + socket.inet_aton(addr)[:(plen + 7) // 8]


def update(prefixes: list[str], next_hop: str, origin: int = 0,
           extra: bytes = b"", withdrawn: list[str] = ()) -> bytes:
    attrs = attr(0x40, 1, bytes([origin]))
    attrs += attr(0x40, 2, bytes([2, 1]) + struct.pack("!I", PEER_AS))  # AS_SEQUENCE [PEER_AS]
    attrs += attr(0x40, 3, socket.inet_aton(next_hop))
    attrs += extra
    w = b"".join(nlri(p) for p in withdrawn)
    body = struct.pack("!H", len(w)) + w + struct.pack("!H", len(attrs)) + attrs
    body += b"".join(nlri(p) for p in prefixes)
    return message(2, body)


class RawPeer:
    """One TCP connection to strobe-bgpd, speaking BGP by hand."""

    def __init__(self, ns: str, local: str, remote: str) -> None:
        self.sock = socket_in_netns(ns)
        self.sock.bind((local, 0))
        self.sock.settimeout(5)
        self.sock.connect((remote, 179))
        self.local = local
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float) -> tuple[list[tuple[int, bytes]], bool]:
        """Messages (type, body) read within `timeout`, and whether the peer closed."""
        msgs: list[tuple[int, bytes]] = []
        deadline = time.monotonic() + timeout
        closed = False
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            self.buf += data
            while len(self.buf) >= 19:
                length = struct.unpack("!H", self.buf[16:18])[0]
                if len(self.buf) < length:
                    break
                msgs.append((self.buf[18], self.buf[19:length]))
                self.buf = self.buf[length:]
            if any(t == 3 for t, _ in msgs):
                # After a NOTIFICATION only the close is left to see.
                deadline = min(deadline, time.monotonic() + 1)
        return msgs, closed

    def establish(self, asn: int = PEER_AS) -> list[tuple[int, bytes]]:
        self.send(open_msg(asn, self.local))
        msgs: list[tuple[int, bytes]] = []
        for _ in range(50):
            m, closed = self.read(0.2)
            msgs += m
            if any(t == 4 for t, _ in msgs) or closed or any(t == 3 for t, _ in msgs):
                break
        types = [t for t, _ in msgs]
        if 1 in types and 4 in types:
            self.send(message(4))
        return msgs

    def close(self) -> None:
        self.sock.close()


def notification_of(msgs: list[tuple[int, bytes]]) -> tuple[int, int, bytes] | None:
    for t, body in msgs:
        if t == 3:
            return body[0], body[1], body[2:]
    return None


def main() -> int:
    lab.require_root_tools(frr=False, bird=False, tshark=False)
    with lab.Lab() as L:
        edge, peer_ns = L.ns("edge"), L.ns("peer")
        link = L.link(edge, peer_ns, v6=False)
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]},
                    neighbors=[{"address": link.v4_b, "remote_as": PEER_AS, "passive": True,
                                "hold_time_s": 90, "max_prefixes": 5,
                                "max_prefixes_action": "teardown"}])

        def connect() -> RawPeer:
            # After a reset the neighbor holds in Idle (damping) and refuses connections.
            lab.wait_until(lambda: bgpd.state(link.v4_b) == "active", 15,
                           what="the neighbor to accept connections again")
            return RawPeer(peer_ns, link.v4_b, link.v4_a)

        def established_peer() -> RawPeer:
            p = connect()
            msgs = p.establish()
            check([t for t, _ in msgs][:2] == [1, 4], f"OPEN, KEEPALIVE expected: {msgs}")
            bgpd.wait_established(link.v4_b, 10)
            return p

        def expect_reset(p: RawPeer, data: bytes, code: int, subcode: int, what: str) -> bytes:
            p.send(data)
            msgs, closed = p.read(5)
            n = notification_of(msgs)
            check(n is not None and n[:2] == (code, subcode),
                  f"{what}: NOTIFICATION {code}/{subcode} expected, got {n} ({msgs})")
            check(closed, f"{what}: connection not closed after the NOTIFICATION")
            p.close()
            sent = lab.wait_until(lambda: bgpd.neighbor(link.v4_b)["last_notification_sent"],
                                  5, what="strobectl to show the NOTIFICATION sent")
            check((sent["code"], sent["subcode"]) == (code, subcode), f"{what}: shown {sent}")
            bgpd.check_alive()
            print(f"PASS: {what} -> NOTIFICATION {code}/{subcode} ({sent['name']})")
            return n[2]

        # 1. A valid session and route.
        p = established_peer()
        p.send(update(["198.19.77.0/24"], link.v4_b))
        lab.wait_until(lambda: "198.19.77.0/24" in bgpd.route_map(), 5,
                       what="the valid route in the Loc-RIB")
        print("PASS: raw peer Established; a valid UPDATE lands in the Loc-RIB")

        # 2. Treat-as-withdraw: invalid ORIGIN.
        p.send(update(["198.19.77.0/24", "198.19.78.0/24"], link.v4_b, origin=7))
        lab.wait_until(lambda: "198.19.77.0/24" not in bgpd.route_map(), 5,
                       what="the bad-ORIGIN UPDATE to withdraw 198.19.77.0/24")
        msgs, closed = p.read(0.5)
        check(notification_of(msgs) is None and not closed, f"session reset: {msgs} {closed}")
        check(bgpd.state(link.v4_b) == "established", "session dropped on a bad ORIGIN")
        check("198.19.78.0/24" not in bgpd.route_map(), "bad-ORIGIN prefix accepted")
        print("PASS: invalid ORIGIN treated as withdraw (RFC 7606 §7.1), session kept")

        # 3. Attribute discard: AGGREGATOR of the wrong length.
        bad_aggregator = attr(0xC0, 7, b"\x01\x02\x03")
        p.send(update(["198.19.79.0/24"], link.v4_b, extra=bad_aggregator))
        lab.wait_until(lambda: "198.19.79.0/24" in bgpd.route_map(), 5,
                       what="the route with a malformed AGGREGATOR to be accepted")
        check(bgpd.state(link.v4_b) == "established", "session dropped on a bad AGGREGATOR")
        print("PASS: malformed AGGREGATOR discarded (RFC 7606 §7.7), route used, session kept")

        # 4. Header errors.
        expect_reset(p, message(4, marker=b"\xff" * 15 + b"\x00"), 1, 1, "bad marker")
        lab.wait_until(lambda: "198.19.79.0/24" not in bgpd.route_map(), 5,
                       what="the reset neighbor's routes withdrawn")
        p = established_peer()
        data = expect_reset(p, message(4, length=10), 1, 2, "length 10")
        check(data == struct.pack("!H", 10), f"Bad Message Length data {data!r}")
        p = established_peer()
        expect_reset(p, message(2, b"\x00" * 4, length=5000), 1, 2, "length 5000 > 4096")
        p = established_peer()
        expect_reset(p, message(9, b"abc"), 1, 3, "unknown message type 9")
        p = established_peer()
        expect_reset(p, message(2, struct.pack("!H", 200) + b"\x00" * 4), 3, 1,
                     "withdrawn routes overrunning the UPDATE")
        p = connect()
        p.send(open_msg(64998, link.v4_b))
        msgs, closed = p.read(5)
        n = notification_of(msgs)
        check(n is not None and n[:2] == (2, 2) and closed, f"wrong AS: {n} {msgs}")
        p.close()
        print("PASS: OPEN from the wrong AS -> NOTIFICATION 2/2 (Bad Peer AS)")

        # 5. Garbage after a valid session start; the daemon survives everything.
        rng = random.Random(7)
        for i in range(5):
            p = established_peer()
            junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 600)))
            if i % 2 == 0:
                junk = MARKER + junk  # a valid marker, then nonsense
            p.send(junk)
            msgs, closed = p.read(3)
            p.close()
            bgpd.check_alive()
        n = bgpd.neighbor(link.v4_b)
        check(n["messages_sent"]["notification"] >= 6, f"notifications {n['messages_sent']}")
        print("PASS: random garbage answered with NOTIFICATIONs, no crash")
        # 6. Max-prefix (RFC 4486): the sixth prefix closes the session with Cease/1.
        p = established_peer()
        p.send(update([f"198.19.90.{i}/32" for i in range(6)], link.v4_b))
        msgs, closed = p.read(5)
        n = notification_of(msgs)
        check(n is not None and n[:2] == (6, 1) and closed, f"max-prefix: {n} {msgs}")
        check(n[2][:3] == b"\x00\x01\x01" and struct.unpack("!I", n[2][3:7])[0] == 5,
              f"max-prefix data {n[2]!r}")
        p.close()
        lab.wait_until(lambda: not any(r.startswith("198.19.90.") for r in bgpd.route_map()), 5,
                       what="the over-limit routes withdrawn")
        print("PASS: more than max_prefixes -> NOTIFICATION 6/1 with AFI/SAFI and the limit")
        rc = bgpd.stop(signal.SIGTERM)
        check(rc == 0, f"strobe-bgpd exit status {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
