#!/usr/bin/env python3
"""strobe-bgpd as graceful-restart helper (RFC 4724 §4.2) for FRR, and ADD-PATH receive from FRR
(RFC 7911) (issue: BGP speaker).

`edge` runs strobe-bgpd (AS 64512, add_path_receive on). `frr` (AS 64513, `bgp graceful-restart`,
`preserve-fw-state`) announces P1 and P2, and relays a VIP it learns from two BIRD nodes (AS
64601, 64602) with `addpath-tx-all-paths`. Shown:
  1. Established with graceful-restart and ADD-PATH (receive) negotiated; the VIP arrives as two
     paths from the one neighbor (two path identifiers): received once, used once;
  2. FRR's bgpd is killed (-9): the session ends without a NOTIFICATION; P1 and P2 stay in the
     Loc-RIB, marked stale, the restart timer running;
  3. FRR comes back announcing only P1 (its OPEN has the Restart State and Forwarding State bits):
     P1 is refreshed, P2 is swept when FRR's End-of-RIB arrives;
  4. the stale mark is gone, nothing is stale.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check, frr_bgp_state  # noqa: E402

LOCAL_AS = 64512
FRR_AS = 64513
P1, P2 = "198.19.41.0/24", "198.19.42.0/24"
VIP = "198.19.250.7/32"


def frr_config(edge: lab.Link, birds: list[lab.Link], networks: list[str]) -> str:
    lines = [f"router bgp {FRR_AS}", f" bgp router-id {edge.v4_b}",
             " no bgp ebgp-requires-policy", " no bgp network import-check",
             " bgp graceful-restart", " bgp graceful-restart preserve-fw-state",
             " bgp bestpath as-path multipath-relax",
             f" neighbor {edge.v4_a} remote-as {LOCAL_AS}",
             f" neighbor {edge.v4_a} timers connect 1"]
    for b in birds:
        lines += [f" neighbor {b.v4_a} remote-as external", f" neighbor {b.v4_a} timers connect 1"]
    lines.append(" address-family ipv4 unicast")
    lines += [f"  network {n}" for n in networks]
    lines.append(f"  neighbor {edge.v4_a} addpath-tx-all-paths")
    lines.append(" exit-address-family")
    return "\n".join(lines) + "\n"


def bird_config(link: lab.Link, asn: int) -> str:
    return f"""
router id {link.v4_a};
protocol device {{}}
protocol static {{ ipv4; route {VIP} blackhole; }}
protocol bgp frr {{
  local {link.v4_a} as {asn};
  neighbor {link.v4_b} as {FRR_AS};
  connect retry time 1;
  error wait time 1, 5;
  ipv4 {{ import all; export where source = RTS_STATIC; next hop self; }};
}}
"""


def main() -> int:
    lab.require_root_tools(tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        b1, b2 = L.ns("b1"), L.ns("b2")
        link = L.link(edge, frr, v6=False)
        bl1, bl2 = L.link(b1, frr, v6=False), L.link(b2, frr, v6=False)
        L.start_frr(frr, frr_config(link, [bl1, bl2], [P1, P2]), daemons=("zebra", "bgpd"))
        L.start_bird(b1, bird_config(bl1, 64601))
        L.start_bird(b2, bird_config(bl2, 64602))
        bgpd = Bgpd(L, edge, {"asn": LOCAL_AS, "router_id": "198.18.0.1",
                              "listen": ["0.0.0.0"]},
                    neighbors=[{"address": link.v4_b, "remote_as": FRR_AS, "connect_retry_s": 1,
                                "ipv6_unicast": False, "add_path_receive": True}])

        # 1. GR and ADD-PATH negotiated; the VIP's two paths arrive with two identifiers.
        n = bgpd.wait_established(link.v4_b, 30)
        caps = n["capabilities"]
        check("graceful-restart" in caps and "add-path-rx(ipv4-unicast)" in caps,
              f"capabilities {caps}")
        lab.wait_until(lambda: {P1, P2, VIP} <= set(bgpd.route_map()), 30,
                       what="P1, P2 and the VIP from FRR")
        n = bgpd.neighbor(link.v4_b)
        check(n["prefixes_received"] == 3 and n["prefixes_accepted"] == 3, f"counts {n}")
        lab.wait_until(lambda: bgpd.neighbor(link.v4_b)["paths_received"] == 4, 15,
                       what="4 paths (the VIP twice, by path identifier) from FRR")
        vip = bgpd.route_map()[VIP]
        check(len(vip) == 1 and vip[0]["as_path"][0] == FRR_AS, f"VIP paths {vip}")
        print("PASS: graceful restart and ADD-PATH receive negotiated with FRR; the VIP's "
              "ADD-PATH paths received under one neighbor")

        # 2. FRR's bgpd crashes (-9): routes kept, stale; 3. it comes back with P1 only.
        before = bgpd.neighbor(link.v4_b)["established_transitions"]

        def while_down() -> None:
            n = lab.wait_until(lambda: (x := bgpd.neighbor(link.v4_b))["state"] != "established"
                               and x, 10, what="the session to end when FRR's bgpd died")
            routes = bgpd.route_map()
            check(P1 in routes and P2 in routes, f"routes dropped despite graceful restart: "
                  f"{list(routes)}")
            check(n["paths_stale"] == 4 and n["graceful_restart_helper_active"],
                  f"stale {n['paths_stale']}, helper {n['graceful_restart_helper_active']}")
            check(n["last_notification_received"] is None, f"{n['last_notification_received']}")
            print("PASS: FRR's bgpd killed: its 4 paths (3 prefixes) kept, stale, restart timer "
                  "running")
        lab.frr_restart_daemon(L, frr, "bgpd", frr_config(link, [bl1, bl2], [P1]),
                               while_down=while_down)

        def swept() -> dict | None:
            x = bgpd.neighbor(link.v4_b)
            routes = bgpd.route_map()
            ok = (x["state"] == "established" and x["established_transitions"] > before and
                  P1 in routes and P2 not in routes and x["paths_stale"] == 0)
            return x if ok else None
        n = lab.wait_until(swept, 60, what="P1 refreshed and P2 swept after FRR's End-of-RIB")
        check(frr_bgp_state(L, frr, link.v4_a) == "Established", "FRR side established")
        check(not n["graceful_restart_helper_active"], "helper timer still running")
        print("PASS: FRR back: P1 refreshed, P2 swept at End-of-RIB, nothing stale")
    return 0


if __name__ == "__main__":
    sys.exit(main())
