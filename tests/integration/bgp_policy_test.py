#!/usr/bin/env python3
"""Import and export [[policy]] against FRR bgpd (issue: BGP speaker; docs/config.md [[policy]]).

One veth between `edge` (strobe-bgpd, AS 64512) and `frr` (FRR bgpd, AS 64700), eBGP over IPv4.
FRR announces eight prefixes, its outbound route-map giving them varied attributes, and our
import policy (default reject) decides:

  prefix              FRR sets                    import policy               result
  A 198.19.10.0/24    -                           lists: prefix ge 24 le 25   LOCAL_PREF 150,
                                                                              + large 64512:1:1
  B 198.19.11.128/25  communities 64700:100,7     tagged (next): -64700:100,  MED 77, 64700:7
                                                  +64512:100, MED 77; lists   64512:100, LP 150
  C 198.19.10.0/26    -                           /26 is past le 25           rejected (default)
  D 198.19.10.128/25  community 64700:666         drop-666: reject            rejected
  E 198.19.20.0/24    AS_PATH prepended: length 3 short: as_path_length_max 2 rejected (default)
  F 198.19.21.0/24    AS_PATH prepended: length 2 short                       accepted
  G 198.19.30.0/24    large community 64700:1:2   large: match, LP 90         accepted
  H 198.19.40.0/24    -                           no term                     rejected (default)

Our four networks meet the export policy (default reject): N1 gets MED 20 and community
64512:200, N2 (community 64512:999) is rejected by a community match, N3 gets large community
64512:5:6 (prefix-list ge 24 le 24), N4 (a /25) fails that prefix list. Shown:
  1. `show bgp routes` holds exactly A, B, F, G with the attributes set; the counters agree;
  2. FRR holds exactly N1 and N3 from us, with the attributes the export policy set.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check, frr_bgp_routes, frr_bgp_state  # noqa: E402

LOCAL_AS = 64512
FRR_AS = 64700
A, B, C, D = "198.19.10.0/24", "198.19.11.128/25", "198.19.10.0/26", "198.19.10.128/25"
E, F, G, H = "198.19.20.0/24", "198.19.21.0/24", "198.19.30.0/24", "198.19.40.0/24"
N1, N2, N3, N4 = "198.19.100.0/24", "198.19.101.0/24", "198.19.102.0/24", "198.19.103.128/25"
POLICIES = [
    {"name": "from-frr", "default_action": "reject",
     "terms": [
         {"name": "drop-666", "community": ["64700:666"], "action": "reject"},
         {"name": "tagged", "community": ["64700:100"], "delete_community": ["64700:100"],
          "add_community": ["64512:100"], "set_med": 77, "action": "next"},
         {"name": "lists", "prefix": ["198.19.10.0/23 ge 24 le 25"], "set_local_pref": 150,
          "add_large_community": ["64512:1:1"], "action": "accept"},
         {"name": "short", "prefix": ["198.19.20.0/22 le 24"], "as_path_length_max": 2,
          "action": "accept"},
         {"name": "large", "large_community": ["64700:1:2"], "set_local_pref": 90,
          "action": "accept"},
     ]},
    {"name": "to-frr", "default_action": "reject",
     "terms": [
         {"name": "n1", "prefix": [N1], "set_med": 20, "add_community": ["64512:200"],
          "action": "accept"},
         {"name": "no-999", "community": ["64512:999"], "action": "reject"},
         {"name": "slash24", "prefix": ["198.19.96.0/20 ge 24 le 24"],
          "add_large_community": ["64512:5:6"], "action": "accept"},
     ]},
]
# prefix -> (local_pref, med, communities, large communities, AS_PATH) after the import policy
# (FRR's own networks carry MED 0).
EXPECTED = {
    A: (150, 0, [], ["64512:1:1"], [FRR_AS]),
    B: (150, 77, ["64700:7", "64512:100"], ["64512:1:1"], [FRR_AS]),
    F: (100, 0, [], [], [FRR_AS, FRR_AS]),
    G: (90, 0, [], ["64700:1:2"], [FRR_AS]),
}


def frr_config(link: lab.Link) -> str:
    peer = link.v4_a
    return f"""
ip prefix-list PB seq 5 permit {B}
ip prefix-list PD seq 5 permit {D}
ip prefix-list PE seq 5 permit {E}
ip prefix-list PF seq 5 permit {F}
ip prefix-list PG seq 5 permit {G}
route-map OUT permit 10
 match ip address prefix-list PB
 set community 64700:100 64700:7
route-map OUT permit 20
 match ip address prefix-list PD
 set community 64700:666
route-map OUT permit 30
 match ip address prefix-list PE
 set as-path prepend {FRR_AS} {FRR_AS}
route-map OUT permit 40
 match ip address prefix-list PF
 set as-path prepend {FRR_AS}
route-map OUT permit 50
 match ip address prefix-list PG
 set large-community {FRR_AS}:1:2
route-map OUT permit 100
router bgp {FRR_AS}
 bgp router-id {link.v4_b}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {peer} remote-as {LOCAL_AS}
 neighbor {peer} timers connect 1
 address-family ipv4 unicast
""" + "".join(f"  network {p}\n" for p in (A, B, C, D, E, F, G, H)) + f"""\
  neighbor {peer} send-community all
  neighbor {peer} route-map OUT out
 exit-address-family
"""


def frr_detail(L: lab.Lab, ns: str, prefix: str) -> list[dict]:
    """FRR's paths for `prefix` (`show bgp ipv4 unicast PREFIX json`), [] when it has none."""
    return L.frr_json(ns, f"show bgp ipv4 unicast {prefix} json").get("paths", [])


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr, v6=False)
        L.start_frr(frr, frr_config(link), daemons=("zebra", "bgpd"))
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]},
                    neighbors=[{"address": link.v4_b, "remote_as": FRR_AS, "connect_retry_s": 2,
                                "ipv6_unicast": False, "import": ["from-frr"],
                                "export": ["to-frr"]}],
                    networks=[{"prefix": N1}, {"prefix": N2, "communities": ["64512:999"]},
                              {"prefix": N3}, {"prefix": N4}],
                    policies=POLICIES)
        bgpd.wait_established(link.v4_b, 30)
        lab.wait_until(lambda: frr_bgp_state(L, frr, link.v4_a) == "Established", 15,
                       what="FRR's neighbor Established")

        # 1. Exactly the accepted prefixes, with the attributes the import policy set.
        # FRR's 8, and our N1 and N3 sent back (AS_PATH 64700 64512: refused, loop detection).
        def received_all() -> dict | None:
            n = bgpd.neighbor(link.v4_b)
            return n if n["prefixes_received"] == 10 else None
        n = lab.wait_until(received_all, 20, what="10 prefixes received from FRR")
        check(n["prefixes_accepted"] == len(EXPECTED), f"accepted {n['prefixes_accepted']}")
        routes = {p: paths for p, paths in bgpd.route_map().items()
                  if any(not x.get("local") for x in paths)}
        check(sorted(routes) == sorted(EXPECTED),
              f"Loc-RIB holds {sorted(routes)}, expected {sorted(EXPECTED)}")
        for prefix, (lp, med, communities, large, as_path) in EXPECTED.items():
            paths = routes[prefix]
            check(len(paths) == 1, f"{prefix}: {paths}")
            p = paths[0]
            got = (p["local_pref"], p["med"], p["communities"], p["large_communities"],
                   p["as_path"])
            check(got == (lp, med, communities, large, as_path),
                  f"{prefix}: (local_pref, med, communities, large, as_path) {got}, expected "
                  f"{(lp, med, communities, large, as_path)}")
        print(f"PASS: import policy: of 8 prefixes exactly {sorted(EXPECTED)} accepted, with "
              "LOCAL_PREF, MED, communities and large communities set; prefix ge/le, community "
              "reject and as_path_length_max refused the others")

        # 2. The export policy at FRR.
        def frr_from_us() -> dict | None:
            routes = frr_bgp_routes(L, frr)
            ours = {p for p, paths in routes.items()
                    if any(x.get("peerId") == link.v4_a for x in paths)}
            return ours if {N1, N3} <= ours else None
        ours = lab.wait_until(frr_from_us, 15, what=f"FRR to learn {N1} and {N3}")
        check(ours == {N1, N3}, f"FRR learnt {sorted(ours)} from us, expected {[N1, N3]}")
        check(bgpd.neighbor(link.v4_b)["prefixes_advertised"] == 2, "prefixes_advertised")
        p1 = [x for x in frr_detail(L, frr, N1) if x.get("peer", {}).get("peerId") == link.v4_a]
        check(len(p1) == 1, f"FRR's {N1}: {p1}")
        check(p1[0].get("metric") == 20 and
              p1[0].get("community", {}).get("string") == "64512:200" and
              p1[0].get("aspath", {}).get("string") == str(LOCAL_AS),
              f"FRR's {N1}: metric {p1[0].get('metric')} community {p1[0].get('community')} "
              f"aspath {p1[0].get('aspath')}")
        p3 = [x for x in frr_detail(L, frr, N3) if x.get("peer", {}).get("peerId") == link.v4_a]
        check(len(p3) == 1 and
              p3[0].get("largeCommunity", {}).get("string") == "64512:5:6" and
              "metric" not in p3[0] and "community" not in p3[0],
              f"FRR's {N3}: {p3}")
        print(f"PASS: export policy: FRR got only {N1} (MED 20, community 64512:200) and {N3} "
              "(large community 64512:5:6); the community-tagged and the /25 network refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
