#!/usr/bin/env python3
"""The FIB writer's other modes against the real kernel (issue: FIB writer, items 1 and 5).

`edge` runs strobe-bgpd (AS 64512, max_paths 16, multipath relax; no BFD needed here); three FRR
nodes n1..n3 sit on IPv6-only links and peer over IPv6 with the extended next hop capability
(RFC 8950), each announcing the same IPv4 VIP and the same IPv6 VIP (both also configured on the
node's loopback, so the edge can ping them). Shown, with `ip -j route` / `ip -j nexthop`:
  1. nexthop objects: the IPv6 VIP is one route on a group of 3 IPv6 gateways, and the IPv4 VIP
     is one route on a group of the same IPv6 gateways (IPv4 over IPv6 next hops); both VIPs
     answer ping through the group;
  2. nexthop_objects = "off" (what Strobe falls back to when the kernel has no nexthop objects):
     after a restart both VIPs are RTA_MULTIPATH routes over the same 3 gateways, no nexthop
     object of ours is left, and both VIPs still answer ping (the same forwarding result);
  3. resilient = true: the group is resilient with the configured number of buckets; when n3
     leaves (its BGP session shut down), the group is rewritten in place and every bucket that
     pointed at n1 or n2 still points at it (compare `ip -j nexthop bucket` before and after);
     when n3 comes back the same group takes it in again.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check  # noqa: E402

LOCAL_AS = 64512
VIP4 = "198.19.100.1"
VIP6 = "2001:db8:100::1"
EDGE_V4 = "198.18.250.1"  # the edge's sources for pinging the VIPs (every node routes them back)
EDGE_V6 = "2001:db8:250::1"
PROTO = 200
BUCKETS = 32
NODES = 3


def frr_config(asn: int, link: lab.Link) -> str:
    peer = link.v6_a
    return f"""
router bgp {asn}
 bgp router-id 198.18.{asn - 64600}.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {peer} remote-as {LOCAL_AS}
 neighbor {peer} timers connect 1
 neighbor {peer} capability extended-nexthop
 address-family ipv4 unicast
  network {VIP4}/32
  neighbor {peer} activate
 exit-address-family
 address-family ipv6 unicast
  network {VIP6}/128
  neighbor {peer} activate
 exit-address-family
"""


def ip_json(L: lab.Lab, ns: str, *args: str):
    cp = L.exec(ns, ["ip", "-j", *args], check=False)
    out = cp.stdout.strip()
    return json.loads(out) if cp.returncode == 0 and out else []


def route_of(L: lab.Lab, ns: str, family: str, vip: str) -> dict | None:
    routes = ip_json(L, ns, family, "route", "show", "proto", str(PROTO), vip)
    return routes[0] if len(routes) == 1 else None


def group_gateways(L: lab.Lab, ns: str, nhid: int) -> set[str] | None:
    group = ip_json(L, ns, "nexthop", "show", "id", str(nhid))
    if not group or "group" not in group[0]:
        return None
    out = set()
    for m in group[0]["group"]:
        nh = ip_json(L, ns, "nexthop", "show", "id", str(m["id"]))
        if nh:
            out.add(nh[0].get("gateway"))
    return out


def multipath_gateways(route: dict) -> set[str]:
    out = set()
    for hop in route.get("nexthops", []):
        via = hop.get("via")
        out.add(via["host"] if isinstance(via, dict) else hop.get("gateway"))
    return out


def buckets(L: lab.Lab, ns: str, nhid: int) -> dict[int, int]:
    """Bucket index -> nexthop id of resilient group `nhid`."""
    rows = ip_json(L, ns, "nexthop", "bucket", "show", "id", str(nhid))
    return {r["bucket"]["index"]: r["bucket"]["nhid"] for r in rows}


def pings(L: lab.Lab, ns: str, family: str, source: str, target: str) -> bool:
    cp = L.exec(ns, ["ping", family, "-c", "1", "-W", "1", "-I", source, target], check=False)
    return cp.returncode == 0


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge = L.ns("edge")
        nodes = [L.ns(f"n{i + 1}") for i in range(NODES)]
        links = [L.link(edge, n, v4=False) for n in nodes]
        L.exec(edge, ["ip", "addr", "add", f"{EDGE_V4}/32", "dev", "lo"])
        L.exec(edge, ["ip", "-6", "addr", "add", f"{EDGE_V6}/128", "dev", "lo"])
        L.exec(edge, ["ip", "link", "set", "lo", "up"])
        for i, (n, link) in enumerate(zip(nodes, links)):
            L.exec(n, ["ip", "link", "set", "lo", "up"])
            L.exec(n, ["ip", "addr", "add", f"{VIP4}/32", "dev", "lo"])
            L.exec(n, ["ip", "-6", "addr", "add", f"{VIP6}/128", "dev", "lo"])
            L.exec(n, ["ip", "route", "add", f"{EDGE_V4}/32", "via", "inet6", link.v6_a])
            L.exec(n, ["ip", "-6", "route", "add", f"{EDGE_V6}/128", "via", link.v6_a])
            L.start_frr(n, frr_config(64601 + i, link), daemons=("zebra", "bgpd"))
        bgp = {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["::"],
               "max_paths": 16, "multipath_relax": True}
        neighbors = [{"address": l.v6_b, "remote_as": 64601 + i, "connect_retry_s": 1,
                      "extended_next_hop": True} for i, l in enumerate(links)]
        gateways = {l.v6_b for l in links}

        def start(name: str, fib: dict) -> Bgpd:
            return Bgpd(L, edge, bgp, neighbors=neighbors,
                        fib={"protocol": PROTO, **fib}, name=name)

        def on_groups(want: set[str]):
            def probe():
                r4, r6 = route_of(L, edge, "-4", VIP4), route_of(L, edge, "-6", VIP6)
                if not r4 or not r6 or "nhid" not in r4 or "nhid" not in r6:
                    return None
                g4, g6 = group_gateways(L, edge, r4["nhid"]), group_gateways(L, edge, r6["nhid"])
                return (r4, r6) if g4 == want and g6 == want else None
            return probe

        # 1. Nexthop objects, IPv6 and IPv4-over-IPv6.
        bgpd = start("bgpd-nhobj", {})
        r4, r6 = lab.wait_until(on_groups(gateways), 60,
                                what="both VIPs on groups of the 3 IPv6 gateways")
        check(pings(L, edge, "-4", EDGE_V4, VIP4), f"ping {VIP4} over IPv6 next hops")
        check(pings(L, edge, "-6", EDGE_V6, VIP6), f"ping {VIP6}")
        print(f"PASS: nexthop objects: {VIP6} on nhid {r6['nhid']} and {VIP4} on nhid "
              f"{r4['nhid']}, both groups of the 3 IPv6 gateways; both VIPs answer ping")
        check(bgpd.stop(signal.SIGTERM) == 0, "plain stop")

        # 2. RTA_MULTIPATH routes: the same forwarding.
        bgpd = start("bgpd-multipath", {"nexthop_objects": "off"})

        def multipath():
            r4, r6 = route_of(L, edge, "-4", VIP4), route_of(L, edge, "-6", VIP6)
            if not r4 or not r6 or "nhid" in r4 or "nhid" in r6:
                return None
            if multipath_gateways(r4) != gateways or multipath_gateways(r6) != gateways:
                return None
            return r4, r6
        r4, r6 = lab.wait_until(multipath, 60, what="both VIPs as RTA_MULTIPATH routes")
        check(not ip_json(L, edge, "nexthop", "show", "protocol", str(PROTO)),
              "nexthop objects in multipath mode")
        check(bgpd.fib("summary")["mode"] == "multipath", "show fib mode")
        check(pings(L, edge, "-4", EDGE_V4, VIP4), f"ping {VIP4} (multipath)")
        check(pings(L, edge, "-6", EDGE_V6, VIP6), f"ping {VIP6} (multipath)")
        print(f"PASS: nexthop_objects = off: both VIPs are RTA_MULTIPATH routes over the same 3 "
              f"gateways ({VIP4} via RTA_VIA inet6), no nexthop object; both answer ping")
        check(bgpd.stop(signal.SIGTERM) == 0, "plain stop")

        # 3. Resilient groups keep surviving buckets in place.
        bgpd = start("bgpd-resilient", {"resilient": True, "resilient_buckets": BUCKETS})
        r4, _ = lab.wait_until(on_groups(gateways), 60, what="both VIPs on resilient groups")
        nhid = r4["nhid"]
        group = ip_json(L, edge, "nexthop", "show", "id", str(nhid))[0]
        check(group.get("type") == "resilient", f"group type {group}")
        before = lab.wait_until(lambda: (b := buckets(L, edge, nhid)) and len(b) == BUCKETS and b,
                                10, what=f"{BUCKETS} buckets")
        members = {m["id"]: None for m in group["group"]}
        for m in members:
            members[m] = ip_json(L, edge, "nexthop", "show", "id", str(m))[0]["gateway"]
        leaving = [m for m, gw in members.items() if gw == links[2].v6_b][0]
        L.frr_vtysh(nodes[2], ["configure terminal", "router bgp 64603",
                               f"neighbor {links[2].v6_a} shutdown"])
        lab.wait_until(on_groups(gateways - {links[2].v6_b}), 20,
                       what="n3 out of the resilient groups")
        check(route_of(L, edge, "-4", VIP4)["nhid"] == nhid, "the route moved group")
        after = buckets(L, edge, nhid)
        moved = [i for i, m in before.items() if m != leaving and after.get(i) != m]
        check(not moved, f"buckets of surviving members moved: {moved} ({before} -> {after})")
        check(leaving not in after.values(), f"n3 still holds buckets: {after}")
        kept = sum(1 for m in before.values() if m != leaving)
        print(f"PASS: resilient group {nhid} ({BUCKETS} buckets): n3 left, the {kept} buckets of "
              f"n1 and n2 stayed where they were, n3's {BUCKETS - kept} went to the survivors")
        L.frr_vtysh(nodes[2], ["configure terminal", "router bgp 64603",
                               f"no neighbor {links[2].v6_a} shutdown"])
        lab.wait_until(on_groups(gateways), 60, what="n3 back in the resilient groups")
        check(route_of(L, edge, "-4", VIP4)["nhid"] == nhid, "the route moved group on rejoin")
        print(f"PASS: n3 back in the same resilient group {nhid}")
        check(bgpd.stop(signal.SIGTERM) == 0, "plain stop")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        print(f"FAIL: {e.cmd}: {e.stderr}", file=sys.stderr)
        sys.exit(1)
