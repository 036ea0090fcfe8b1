#!/usr/bin/env python3
"""Dynamic neighbors from a listen range, the ToR edge of the design card (issue: BGP speaker).

`edge` runs strobe-bgpd (AS 64512) with one [[bgp.listen_range]] (198.18.0.0/16, remote AS
64600-64699) and no configured neighbor. Four nodes, each on its own veth and with its own AS,
connect in and announce the same service VIP: two FRR bgpd (AS 64601, 64602) and two BIRD 2
(AS 64603, 64604). Shown:
  1. four dynamic neighbors Established, each with the AS of its OPEN;
  2. the Loc-RIB has one entry for the VIP with 4 paths, all multipath (as-path multipath-relax);
  3. a node whose AS lies outside the range is refused (OPEN Error / Bad Peer AS);
  4. a node that stops (BIRD shut down) is deleted as a neighbor and its path leaves the set.
The range's import policy accepts only the VIP range (setting LOCAL_PREF 200), its export policy
lets out only one of our two networks.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check, frr_bgp_neighbor, frr_bgp_routes  # noqa: E402

LOCAL_AS = 64512
VIP = "198.19.250.1/32"
JUNK = "198.19.251.0/24"      # also announced by every node; refused by the import policy
OURS = "198.19.100.0/24"      # our networks: the export policy lets only OURS out
HIDDEN = "198.19.101.0/24"
POLICIES = [
    {"name": "vips-only", "default_action": "reject",
     "terms": [{"name": "vips", "prefix": ["198.19.250.0/24 le 32"], "set_local_pref": 200,
                "action": "accept"}]},
    {"name": "announce", "default_action": "reject",
     "terms": [{"prefix": [OURS], "action": "accept"}]},
]


def frr_config(asn: int, link: lab.Link) -> str:
    return f"""
router bgp {asn}
 bgp router-id {link.v4_b}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {link.v4_a} remote-as {LOCAL_AS}
 neighbor {link.v4_a} timers connect 1
 address-family ipv4 unicast
  network {VIP}
  network {JUNK}
 exit-address-family
"""


def bird_config(asn: int, link: lab.Link) -> str:
    return f"""
router id {link.v4_b};
protocol device {{}}
protocol static {{
  ipv4;
  route {VIP} blackhole;
  route {JUNK} blackhole;
}}
protocol bgp edge {{
  local {link.v4_b} as {asn};
  neighbor {link.v4_a} as {LOCAL_AS};
  connect retry time 1;
  error wait time 1, 5;
  ipv4 {{ import all; export where source = RTS_STATIC; next hop self; }};
}}
"""


def main() -> int:
    lab.require_root_tools(tshark=False)
    with lab.Lab() as L:
        edge = L.ns("edge")
        nodes = []  # (kind, ns, link, asn)
        for i, (kind, asn) in enumerate((("frr", 64601), ("frr", 64602), ("bird", 64603),
                                         ("bird", 64604))):
            ns = L.ns(f"{kind}{i}")
            link = L.link(edge, ns, v6=False)
            nodes.append((kind, ns, link, asn))
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"],
                     "max_paths": 16, "multipath_relax": True},
                    ranges=[{"prefix": "198.18.0.0/16", "remote_as": [64600, 64699],
                             "import": ["vips-only"], "export": ["announce"]}],
                    networks=[{"prefix": OURS}, {"prefix": HIDDEN}], policies=POLICIES)
        birds = {}
        for kind, ns, link, asn in nodes:
            if kind == "frr":
                L.start_frr(ns, frr_config(asn, link), daemons=("zebra", "bgpd"))
            else:
                birds[ns] = L.start_bird(ns, bird_config(asn, link))

        # 1. Four dynamic neighbors Established.
        def established() -> list[dict] | None:
            ns_ = [n for n in bgpd.neighbors() if n["state"] == "established"]
            return ns_ if len(ns_) == 4 else None
        neighbors = lab.wait_until(established, 40, what="4 dynamic neighbors Established")
        by_addr = {n["address"]: n for n in neighbors}
        for kind, ns, link, asn in nodes:
            n = by_addr.get(link.v4_b)
            check(n is not None and n["dynamic"] and n["remote_as"] == asn and
                  n["listen_range"] == "198.18.0.0/16", f"{kind} {link.v4_b}: {n}")
        print("PASS: 4 dynamic neighbors (2 FRR, 2 BIRD, AS 64601-64604) Established from the "
              "listen range")

        # 2. One VIP, 4 multipath paths.
        def vip_4way() -> list[dict] | None:
            routes = bgpd.routes()
            vip = [r for r in routes if r["prefix"] == VIP]
            if len(vip) != 1 or len(vip[0]["paths"]) != 4:
                return None
            return vip[0]["paths"] if all(p["multipath"] for p in vip[0]["paths"]) else None
        paths = lab.wait_until(vip_4way, 20, what="the VIP with 4 multipath paths")
        check(sum(p["best"] for p in paths) == 1, f"exactly one best: {paths}")
        check({p["next_hop"] for p in paths} == {link.v4_b for _, _, link, _ in nodes},
              f"next hops {paths}")
        check(sorted(p["as_path"][0] for p in paths) == [64601, 64602, 64603, 64604],
              f"as paths {paths}")
        check(all(p["local_pref"] == 200 for p in paths), f"import policy's local_pref: {paths}")
        print(f"PASS: {VIP}: one Loc-RIB entry, 4 paths, all multipath (relax)")

        # Policy: import refused JUNK (received, not accepted); export let only OURS out.
        check(JUNK not in bgpd.route_map(), "JUNK passed the import policy")
        # (FRR also sends our own network back: received, refused by loop detection.)
        for n in bgpd.neighbors():
            check(n["prefixes_received"] in (2, 3) and n["prefixes_accepted"] == 1,
                  f"counts {n}")
        _, frr_ns, frr_link, _ = nodes[0]
        lab.wait_until(lambda: OURS in frr_bgp_routes(L, frr_ns), 10, what=f"FRR to learn {OURS}")
        check(HIDDEN not in frr_bgp_routes(L, frr_ns), f"{HIDDEN} passed the export policy")
        _, bird_ns, _, _ = nodes[2]
        out = birds[bird_ns].birdc("show route")
        check(OURS in out and HIDDEN not in out, f"BIRD routes:\n{out}")
        print("PASS: import policy (prefix list, set local_pref) and export policy applied")

        # 3. An AS outside the range is refused.
        out_ns = L.ns("outside")
        out_link = L.link(edge, out_ns, v6=False)
        L.start_frr(out_ns, frr_config(65010, out_link), daemons=("zebra", "bgpd"))

        def refused() -> dict | None:
            nb = frr_bgp_neighbor(L, out_ns, out_link.v4_a)
            return nb if "Bad Peer AS" in str(nb.get("lastNotificationReason", "")) else None
        nb = lab.wait_until(refused, 20, what="the AS outside the range to get OPEN Error")
        check(nb.get("bgpState") != "Established", f"outside node established: {nb}")
        check(len(established() or []) == 4, "the four others stay")
        print(f"PASS: AS 65010 outside the range refused: {nb.get('lastNotificationReason')}")

        # 4. A node leaves: its dynamic neighbor is deleted, its path leaves the set.
        gone_kind, gone_ns, gone_link, _ = nodes[3]
        birds[gone_ns].birdc("disable edge")

        def deleted() -> bool:
            addrs = {n["address"] for n in bgpd.neighbors()}
            vip = bgpd.route_map().get(VIP, [])
            return gone_link.v4_b not in addrs and len(vip) == 3 and \
                gone_link.v4_b not in {p["neighbor"] for p in vip}
        lab.wait_until(deleted, 15, what="the stopped node's neighbor deleted and its path gone")
        check(all(p["multipath"] for p in bgpd.route_map()[VIP]), "remaining 3 still multipath")
        print("PASS: a node that left was deleted as a neighbor; the VIP has 3 paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
