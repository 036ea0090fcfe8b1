#!/usr/bin/env python3
"""Hold timer expiry against a raw-socket peer (issue: BGP speaker; RFC 4271 §4.2, §6.5, §8).

`edge` runs strobe-bgpd (AS 64512) with one passive neighbor (AS 64999) offering a Hold Time of
90 s; this test is that neighbor, a plain TCP socket in the `peer` namespace (the helpers of
bgp_malformed_test.py). Its OPEN offers 3 s. Shown:
  1. the session uses the smaller offer: hold 3 s, keepalives every 1 s (strobectl and the wire);
  2. the peer goes silent after its KEEPALIVE: strobe-bgpd keeps sending KEEPALIVEs, then sends
     NOTIFICATION 4/0 (Hold Timer Expired) 3 to 4 s after the peer's last message and closes;
  3. `show bgp neighbors` shows last_notification_sent {code: 4, subcode: 0}, the neighbor left
     Established and its route left the Loc-RIB.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from bgp_malformed_test import (PEER_AS, RawPeer, message, notification_of,  # noqa: E402
                                open_msg, update)
from strobe import Bgpd, check  # noqa: E402

LOCAL_AS = 64512
PEER_HOLD_S = 3
ROUTE = "198.19.77.0/24"


def main() -> int:
    lab.require_root_tools(frr=False, bird=False, tshark=False)
    with lab.Lab() as L:
        edge, peer_ns = L.ns("edge"), L.ns("peer")
        link = L.link(edge, peer_ns, v6=False)
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]},
                    neighbors=[{"address": link.v4_b, "remote_as": PEER_AS, "passive": True,
                                "hold_time_s": 90}])
        lab.wait_until(lambda: bgpd.state(link.v4_b) == "active", 10,
                       what="the passive neighbor to wait for a connection")

        # 1. OPEN with Hold Time 3; KEEPALIVE and one route in answer to strobe-bgpd's.
        p = RawPeer(peer_ns, link.v4_b, link.v4_a)
        p.sock.sendall(open_msg(PEER_AS, link.v4_b, hold=PEER_HOLD_S))
        msgs: list[tuple[int, bytes]] = []
        deadline = time.monotonic() + 5
        while 4 not in [t for t, _ in msgs] and time.monotonic() < deadline:
            got, closed = p.read(0.2)
            msgs += got
            check(not closed and notification_of(msgs) is None, f"session refused: {msgs}")
        check([t for t, _ in msgs][:2] == [1, 4], f"OPEN, KEEPALIVE expected: {msgs}")
        our_hold = int.from_bytes(msgs[0][1][3:5], "big")
        check(our_hold == 90, f"strobe-bgpd's OPEN offers hold {our_hold}, configured 90")
        p.send(message(4))
        p.send(update([ROUTE], link.v4_b))
        last_sent = time.monotonic()
        n = bgpd.wait_established(link.v4_b, 5)
        check(n["hold_time_s"] == PEER_HOLD_S and n["keepalive_s"] == 1,
              f"negotiated hold {n['hold_time_s']}, keepalive {n['keepalive_s']}")
        lab.wait_until(lambda: ROUTE in bgpd.route_map(), 5, what=f"{ROUTE} in the Loc-RIB")
        print(f"PASS: Established with hold {PEER_HOLD_S} s (the smaller offer), keepalive 1 s")

        # 2. Silence: KEEPALIVEs from strobe-bgpd, then Hold Timer Expired.
        msgs = []
        closed = False
        notified_at = None
        while not closed and time.monotonic() < last_sent + 10:
            got, closed = p.read(0.1)
            msgs += got
            if notified_at is None and notification_of(got) is not None:
                notified_at = time.monotonic()
        p.close()
        n = notification_of(msgs)
        check(n is not None and n[:2] == (4, 0), f"NOTIFICATION 4/0 expected: {msgs}")
        check(closed, "connection not closed after Hold Timer Expired")
        elapsed = notified_at - last_sent
        check(PEER_HOLD_S - 0.05 <= elapsed <= PEER_HOLD_S + 1,
              f"NOTIFICATION {elapsed:.2f} s after the peer's last message, hold {PEER_HOLD_S} s")
        keepalives = sum(1 for t, _ in msgs if t == 4)
        check(keepalives >= 2, f"{keepalives} KEEPALIVEs during {elapsed:.2f} s of silence")
        print(f"PASS: silent peer: {keepalives} KEEPALIVEs, then NOTIFICATION 4/0 after "
              f"{elapsed:.2f} s")

        # 3. What strobectl shows.
        def reset() -> dict | None:
            n = bgpd.neighbor(link.v4_b)
            return n if n["state"] != "established" and n["last_notification_sent"] else None
        n = lab.wait_until(reset, 2, what="the neighbor to show the NOTIFICATION sent")
        sent = n["last_notification_sent"]
        check((sent["code"], sent["subcode"]) == (4, 0), f"last_notification_sent {sent}")
        check(n["messages_sent"]["notification"] == 1, f"sent {n['messages_sent']}")
        lab.wait_until(lambda: ROUTE not in bgpd.route_map(), 2,
                       what=f"{ROUTE} withdrawn with the session")
        bgpd.check_alive()
        print(f"PASS: last_notification_sent {sent}, state {n['state']}, route withdrawn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
