#!/usr/bin/env python3
"""strobe-bgpd and FRR bgpd over iBGP, IPv4 and IPv6: LOCAL_PREF and MED (issue: BGP speaker).

One veth between `edge` (strobe-bgpd, AS 64512) and `frr` (FRR bgpd, AS 64512). Two iBGP
sessions, one over IPv4 and one over IPv6, each carrying both IPv4 and IPv6 unicast, so every
FRR network reaches us twice. FRR's outbound route-maps set LOCAL_PREF (and MED) per session:
  P1/Q1: 200 (MED 33) over the IPv4 session, 50 over the IPv6 one;
  P2/Q2: 50 over the IPv4 session, 200 (MED 33) over the IPv6 one;
  P3/Q3: nothing (LOCAL_PREF 100); our import policy sets 300 on them.
Shown:
  1. both sessions Established as iBGP with both families;
  2. our Loc-RIB keeps FRR's LOCAL_PREF and MED, and the higher LOCAL_PREF decides, whichever
     session it came over (so no later tie-break can be what picked it); P3/Q3 carry the import
     policy's 300 on both paths, which form a 2-path multipath set;
  3. our networks reach FRR over iBGP: empty AS_PATH, next hop self, and the LOCAL_PREF and MED
     set by our export policy (the network it does not match goes with LOCAL_PREF 100, no MED);
  4. nothing learnt over iBGP goes back to FRR (RFC 4271 §9.2).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check, frr_bgp_routes, frr_bgp_state  # noqa: E402

AS = 64512
P1, P2, P3 = "198.19.10.0/24", "198.19.12.0/24", "198.19.11.0/24"
Q1, Q2, Q3 = "2001:db8:ff10::/48", "2001:db8:ff12::/48", "2001:db8:ff11::/48"
OUR_V4, OUR_V4_PLAIN, OUR_V6 = "198.19.100.0/24", "198.19.101.0/24", "2001:db8:ff00::/48"
POLICIES = [
    {"name": "from-frr", "default_action": "accept",
     "terms": [{"name": "prefer", "prefix": [P3, Q3], "set_local_pref": 300,
                "action": "accept"}]},
    {"name": "to-frr", "default_action": "accept",
     "terms": [{"name": "tag", "prefix": [OUR_V4, OUR_V6], "set_local_pref": 250, "set_med": 44,
                "action": "accept"}]},
]


def frr_config(link: lab.Link) -> str:
    def route_map(name: str, high: tuple[str, str], low: tuple[str, str]) -> str:
        return f"""
route-map {name} permit 10
 match ip address prefix-list {high[0]}
 set local-preference 200
 set metric 33
route-map {name} permit 11
 match ipv6 address prefix-list {high[1]}
 set local-preference 200
 set metric 33
route-map {name} permit 20
 match ip address prefix-list {low[0]}
 set local-preference 50
route-map {name} permit 21
 match ipv6 address prefix-list {low[1]}
 set local-preference 50
route-map {name} permit 100
"""
    sessions = ""
    for afi, nets in (("ipv4", (P1, P2, P3)), ("ipv6", (Q1, Q2, Q3))):
        sessions += f" address-family {afi} unicast\n"
        sessions += "".join(f"  network {n}\n" for n in nets)
        for peer, rm in ((link.v4_a, "VIA4"), (link.v6_a, "VIA6")):
            sessions += f"  neighbor {peer} activate\n  neighbor {peer} route-map {rm} out\n"
        sessions += " exit-address-family\n"
    return f"""
ip prefix-list P1 seq 5 permit {P1}
ip prefix-list P2 seq 5 permit {P2}
ipv6 prefix-list Q1 seq 5 permit {Q1}
ipv6 prefix-list Q2 seq 5 permit {Q2}
{route_map("VIA4", ("P1", "Q1"), ("P2", "Q2"))}
{route_map("VIA6", ("P2", "Q2"), ("P1", "Q1"))}
router bgp {AS}
 bgp router-id {link.v4_b}
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {link.v4_a} remote-as internal
 neighbor {link.v4_a} timers connect 1
 neighbor {link.v6_a} remote-as internal
 neighbor {link.v6_a} timers connect 1
{sessions}"""


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr)
        L.start_frr(frr, frr_config(link), daemons=("zebra", "bgpd"))
        session = {"remote_as": AS, "connect_retry_s": 2, "import": ["from-frr"],
                   "export": ["to-frr"]}
        bgpd = Bgpd(L, edge, {"asn": AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0", "::"],
                              "max_paths": 4},
                    neighbors=[{"address": link.v4_b, **session},
                               {"address": link.v6_b, **session}],
                    networks=[{"prefix": OUR_V4}, {"prefix": OUR_V4_PLAIN}, {"prefix": OUR_V6}],
                    policies=POLICIES)

        # 1. Two iBGP sessions, both families on each.
        for addr in (link.v4_b, link.v6_b):
            n = bgpd.wait_established(addr, 30)
            check(n["type"] == "ibgp" and n["remote_as"] == AS, f"{addr}: {n['type']}")
            check("ipv4-unicast" in n["capabilities"] and "ipv6-unicast" in n["capabilities"],
                  f"{addr} families {n['capabilities']}")
        for addr in (link.v4_a, link.v6_a):
            lab.wait_until(lambda a=addr: frr_bgp_state(L, frr, a) == "Established", 15,
                           what=f"FRR's neighbor {addr} Established")
        print("PASS: iBGP with FRR over IPv4 and over IPv6, each with IPv4 and IPv6 unicast")

        # 2. LOCAL_PREF and MED from FRR, and the decision they drive.
        def all_paths() -> dict | None:
            routes = bgpd.route_map()
            want = (P1, P2, P3, Q1, Q2, Q3)
            ok = all(len(routes.get(p, [])) == 2 for p in want)
            return routes if ok else None
        routes = lab.wait_until(all_paths, 20, what="two paths for each of FRR's six networks")
        for prefix, winner in ((P1, link.v4_b), (Q1, link.v4_b), (P2, link.v6_b),
                               (Q2, link.v6_b)):
            by_neighbor = {p["neighbor"]: p for p in routes[prefix]}
            loser = link.v6_b if winner == link.v4_b else link.v4_b
            best, other = by_neighbor[winner], by_neighbor[loser]
            check(best["best"] and best["local_pref"] == 200 and best["med"] == 33 and
                  not best["ebgp"] and best["as_path"] == [], f"{prefix} best: {best}")
            # (FRR's own networks carry MED 0.)
            check(not other["best"] and not other["multipath"] and other["local_pref"] == 50 and
                  other["med"] == 0, f"{prefix} other: {other}")
            family_hop = link.v4_b if ":" not in prefix else link.v6_b
            check(all(p["next_hop"] == family_hop for p in routes[prefix]),
                  f"{prefix} next hops {[p['next_hop'] for p in routes[prefix]]}")
        for prefix in (P3, Q3):
            paths = routes[prefix]
            check(all(p["local_pref"] == 300 and p["multipath"] for p in paths) and
                  sum(p["best"] for p in paths) == 1, f"{prefix}: {paths}")
        print("PASS: FRR's LOCAL_PREF 200/50 and MED 33 kept; the higher LOCAL_PREF wins over "
              "either session; import policy LOCAL_PREF 300 gives a 2-path multipath set")

        # 3. Our networks at FRR: iBGP attributes, export policy's LOCAL_PREF and MED.
        def frr_ours(afi: str, prefix: str) -> list[dict] | None:
            paths = [p for p in frr_bgp_routes(L, frr, afi).get(prefix, [])
                     if p.get("valid") and p.get("path") == ""]
            return paths if len(paths) == 2 else None
        for afi, prefix, lp, med, hop in (("ipv4", OUR_V4, 250, 44, link.v4_a),
                                          ("ipv4", OUR_V4_PLAIN, 100, None, link.v4_a),
                                          ("ipv6", OUR_V6, 250, 44, link.v6_a)):
            paths = lab.wait_until(lambda a=afi, p=prefix: frr_ours(a, p), 15,
                                   what=f"FRR to learn {prefix} over both sessions")
            for p in paths:
                check(p.get("locPrf") == lp and p.get("metric") == med,
                      f"FRR's {prefix}: locPrf {p.get('locPrf')} metric {p.get('metric')}, "
                      f"expected {lp} {med}")
                check(any(h.get("ip") == hop for h in p.get("nexthops", [])),
                      f"FRR's {prefix} next hops {p.get('nexthops')}")
        print("PASS: our networks at FRR over iBGP with the export policy's LOCAL_PREF 250 and "
              "MED 44 (LOCAL_PREF 100 and no MED where it did not match)")

        # 4. iBGP-learnt routes never go back to an iBGP peer.
        for addr in (link.v4_b, link.v6_b):
            n = bgpd.neighbor(addr)
            check(n["prefixes_advertised"] == 3, f"{addr} advertised {n['prefixes_advertised']}")
        for afi, prefixes in (("ipv4", (P1, P2, P3)), ("ipv6", (Q1, Q2, Q3))):
            frr_routes = frr_bgp_routes(L, frr, afi)
            for prefix in prefixes:
                learnt = [p for p in frr_routes.get(prefix, []) if p.get("peerId") in
                          (link.v4_a, link.v6_a)]
                check(not learnt, f"FRR got {prefix} back from us: {learnt}")
        print("PASS: no iBGP-learnt route advertised back to FRR")
    return 0


if __name__ == "__main__":
    sys.exit(main())
