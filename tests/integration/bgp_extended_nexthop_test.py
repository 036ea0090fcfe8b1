#!/usr/bin/env python3
"""RFC 8950 extended next hop with FRR over an IPv6-only link (issue: BGP speaker).

One veth between `edge` (strobe-bgpd, AS 64512) and `frr` (FRR bgpd, AS 64701) with IPv6
addresses only: no IPv4 address anywhere on the link. One eBGP session over IPv6 carrying IPv4
and IPv6 unicast, `extended_next_hop = true` here and `capability extended-nexthop` in FRR.
Shown:
  1. the session is Established with the extended next hop capability both ways;
  2. FRR's IPv4 network reaches our Loc-RIB with FRR's IPv6 address as its next hop;
  3. our IPv4 network reaches FRR with our IPv6 address as its next hop (MP_REACH_NLRI for IPv4
     with an IPv6 next hop), FRR's path valid; IPv6 routes flow both ways as usual;
  4. FRR's withdrawal of its IPv4 network removes it here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check, frr_bgp_routes, frr_bgp_state  # noqa: E402

LOCAL_AS = 64512
FRR_AS = 64701
OUR_V4 = "198.19.100.0/24"
OUR_V6 = "2001:db8:ff00::/48"
FRR_V4 = "198.19.1.0/24"
FRR_V6 = "2001:db8:ff01::/48"


def frr_config(link: lab.Link) -> str:
    peer = link.v6_a
    return f"""
router bgp {FRR_AS}
 bgp router-id 198.18.0.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {peer} remote-as {LOCAL_AS}
 neighbor {peer} timers connect 1
 neighbor {peer} capability extended-nexthop
 address-family ipv4 unicast
  network {FRR_V4}
  neighbor {peer} activate
 exit-address-family
 address-family ipv6 unicast
  network {FRR_V6}
  neighbor {peer} activate
 exit-address-family
"""


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr, v4=False)
        for ns in (edge, frr):
            addrs = L.exec(ns, ["ip", "-4", "-o", "addr", "show"]).stdout
            check("inet " not in addrs.replace("inet 127.0.0.1", ""), f"IPv4 in {ns}: {addrs}")
        L.start_frr(frr, frr_config(link), daemons=("zebra", "bgpd"))
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["::"]},
                    neighbors=[{"address": link.v6_b, "remote_as": FRR_AS, "connect_retry_s": 2,
                                "extended_next_hop": True}],
                    networks=[{"prefix": OUR_V4}, {"prefix": OUR_V6}])

        # 1. Established, capability negotiated both ways.
        n = bgpd.wait_established(link.v6_b, 30)
        caps = n["capabilities"]
        for c in ("ipv4-unicast", "ipv6-unicast", "extended-next-hop-rx", "extended-next-hop-tx"):
            check(c in caps, f"{c} not negotiated: {caps}")
        lab.wait_until(lambda: frr_bgp_state(L, frr, link.v6_a) == "Established", 15,
                       what="FRR's neighbor Established")
        print(f"PASS: eBGP over IPv6 only, capabilities {caps}")

        # 2. FRR's IPv4 network here, next hop FRR's IPv6 address.
        def ours(prefix: str) -> dict | None:
            for p in bgpd.route_map().get(prefix, []):
                if p["neighbor"] == link.v6_b and p["best"]:
                    return p
            return None
        p4 = lab.wait_until(lambda: ours(FRR_V4), 15, what=f"{FRR_V4} in our Loc-RIB")
        check(p4["next_hop"] == link.v6_b and p4["as_path"] == [FRR_AS], f"{FRR_V4}: {p4}")
        p6 = lab.wait_until(lambda: ours(FRR_V6), 15, what=f"{FRR_V6} in our Loc-RIB")
        check(p6["next_hop"] == link.v6_b, f"{FRR_V6}: {p6}")
        print(f"PASS: {FRR_V4} from FRR in our Loc-RIB with IPv6 next hop {p4['next_hop']}")

        # 3. Our IPv4 network at FRR, next hop our IPv6 address.
        def frr_path(afi: str, prefix: str) -> dict | None:
            for p in frr_bgp_routes(L, frr, afi).get(prefix, []):
                if p.get("path") == str(LOCAL_AS) and p.get("valid"):
                    return p
            return None
        fp = lab.wait_until(lambda: frr_path("ipv4", OUR_V4), 15,
                            what=f"FRR to learn {OUR_V4} as a valid path")
        hops = fp.get("nexthops", [])
        check(any(h.get("ip") == link.v6_a and h.get("afi") == "ipv6" for h in hops),
              f"FRR's next hops for {OUR_V4}: {hops}")
        check(not any(h.get("afi") == "ipv4" for h in hops), f"an IPv4 next hop: {hops}")
        fp6 = lab.wait_until(lambda: frr_path("ipv6", OUR_V6), 15, what=f"FRR to learn {OUR_V6}")
        check(any(h.get("ip") == link.v6_a for h in fp6.get("nexthops", [])), f"{fp6}")
        print(f"PASS: FRR learnt {OUR_V4} with our IPv6 next hop {link.v6_a}")

        # 4. Withdrawal of an IPv4 route learnt with an IPv6 next hop.
        L.frr_configure(frr, [f"router bgp {FRR_AS}", "address-family ipv4 unicast",
                              f"no network {FRR_V4}"])
        lab.wait_until(lambda: FRR_V4 not in bgpd.route_map(), 10, what=f"{FRR_V4} withdrawn")
        check(ours(FRR_V6) is not None and bgpd.state(link.v6_b) == "established",
              "the session or the IPv6 route went with the IPv4 withdrawal")
        print(f"PASS: FRR's withdrawal of {FRR_V4} removed it here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
