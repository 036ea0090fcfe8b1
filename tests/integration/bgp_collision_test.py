#!/usr/bin/env python3
"""BGP connection collision (RFC 4271 §6.8) against a raw-socket peer (issue: BGP speaker).

`edge` runs strobe-bgpd (AS 64512, router id 198.18.0.1) with an active neighbor; this test is
that neighbor, listening on port 179 in its namespace and also connecting out, so two connections
exist at once. Each time strobe-bgpd's connection (A) is accepted and its OPEN read, then the
peer connects itself (B), exchanges OPENs on B (strobe-bgpd reaches OpenConfirm there), and only
then answers on A with an OPEN: the collision is detected on A.
  1. the peer's BGP identifier is higher: strobe-bgpd keeps the connection the peer initiated
     (B), sends Cease/7 on its own (A), and B becomes Established;
  2. the peer's identifier is lower: strobe-bgpd keeps its own connection (A), sends Cease/7 on
     B, and A becomes Established.
"""

import socket
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from bgp_malformed_test import (PEER_AS, RawPeer, message, notification_of,  # noqa: E402
                                open_msg, socket_in_netns)
from strobe import Bgpd, check  # noqa: E402

LOCAL_AS = 64512


class Accepted(RawPeer):
    """The peer's side of a connection strobe-bgpd opened."""

    def __init__(self, sock: socket.socket) -> None:  # noqa: D107 - no super().__init__
        self.sock = sock
        self.buf = b""


def read_until(p: RawPeer, msg_type: int, timeout: float = 10) -> list[tuple[int, bytes]]:
    got: list[tuple[int, bytes]] = []
    for _ in range(int(timeout / 0.2)):
        m, closed = p.read(0.2)
        got += m
        if any(t == msg_type for t, _ in got) or closed:
            break
    return got


def collide(bgpd: Bgpd, peer_ns: str, link: lab.Link, router_id: str) -> None:
    high = struct.unpack("!I", socket.inet_aton(router_id))[0] > 0xC6120001
    listener = socket_in_netns(peer_ns)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((link.v4_b, 179))
    listener.listen(4)
    listener.settimeout(15)
    try:
        conn, _ = listener.accept()  # A: strobe-bgpd's outgoing connection
    finally:
        listener.close()
    a = Accepted(conn)
    got = read_until(a, 1)
    check(any(t == 1 for t, _ in got), f"no OPEN on A: {got}")
    b = RawPeer(peer_ns, link.v4_b, link.v4_a)  # B: the peer's own connection
    b.send(open_msg(PEER_AS, router_id))
    got_b = read_until(b, 4)
    check([t for t, _ in got_b][:2] == [1, 4], f"B: OPEN and KEEPALIVE expected: {got_b}")
    # strobe-bgpd is in OpenConfirm on B; now the OPEN on A makes the collision.
    a.send(open_msg(PEER_AS, router_id))
    loser, winner = (a, b) if high else (b, a)
    if not high:
        # A is kept: it answers the OPEN with a KEEPALIVE; B gets the Cease.
        got_a = read_until(a, 4)
        check(any(t == 4 for t, _ in got_a), f"A: KEEPALIVE expected: {got_a}")
    msgs, closed = loser.read(5)
    n = notification_of(msgs)
    check(n is not None and n[:2] == (6, 7) and closed,
          f"the {'outgoing' if high else 'incoming'} connection: Cease/7 expected, got {n}")
    winner.send(message(4))
    nb = bgpd.wait_established(link.v4_b, 10)
    kept_remote_port = winner.sock.getsockname()[1]
    check(nb["remote_port"] == kept_remote_port,
          f"established on port {nb['remote_port']}, want {kept_remote_port}")
    msgs, closed = winner.read(0.5)
    check(not closed and notification_of(msgs) is None, f"winner closed: {msgs}")
    print(f"PASS: peer identifier {router_id} {'higher' if high else 'lower'} than ours: kept "
          f"the connection {'the peer' if high else 'strobe-bgpd'} initiated, Cease/7 on the "
          f"other, Established")
    winner.send(message(3, bytes([6, 2])))  # Cease/Administrative Shutdown
    winner.close()


def main() -> int:
    lab.require_root_tools(frr=False, bird=False, tshark=False)
    with lab.Lab() as L:
        edge, peer_ns = L.ns("edge"), L.ns("peer")
        link = L.link(edge, peer_ns, v6=False)
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]},
                    neighbors=[{"address": link.v4_b, "remote_as": PEER_AS,
                                "connect_retry_s": 1}])
        collide(bgpd, peer_ns, link, "198.18.200.200")
        lab.wait_until(lambda: bgpd.state(link.v4_b) != "established", 10,
                       what="the session to close")
        collide(bgpd, peer_ns, link, "10.0.0.1")
        bgpd.check_alive()
    return 0


if __name__ == "__main__":
    sys.exit(main())
