#!/usr/bin/env python3
"""The FIB writer against the real kernel (issue: FIB writer, items 1, 2, 4, 6, 7).

`edge` runs strobe-dataplane and strobe-bgpd (AS 64512, max_paths 16, multipath relax, [fib]
protocol 200 in the main table); four FRR nodes n1..n4 (bgpd + bfdd, AS 64601..64604), each on its
own veth, announce the same VIP with BFD at 100 ms x 3. The kernel is read back with
`ip -j route` and `ip -j nexthop`; `ip monitor route` runs in the edge for the whole test.
Shown:
  1. the VIP is ONE route, `nhid G`, on a group of 4 gateway nexthops (protocol 200), and
     net.ipv4.nexthop_compat_mode is 0;
  2. n1's BFD goes Down (egress silenced): group G is rewritten with 3 members, the route is not
     touched (same nhid, no route event in `ip monitor`); `show fib` records the failover;
  3. n1 back: G has 4 members again, still the same route; the edge's link to n2 down and up:
     G loses n2 and takes it back, still the same route;
  4. `ip nexthop del id G` (an operator's mistake): Strobe re-installs G and the route;
  5. graceful stop (SIGUSR2) and start again: the route and G stay in the kernel untouched (no
     VIP event at all in `ip monitor`: the new instance adopts them), and a route of ours nobody
     announces (added by hand with `proto 200`) is removed once every neighbor has sent
     End-of-RIB;
  6. plain stop (SIGTERM): every route and nexthop of protocol 200 is gone.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, Strobe, check, frr_anycast_node  # noqa: E402
from strobe import frr_bfd_settled as frr_bfd_settled_on  # noqa: E402

LOCAL_AS = 64512
VIP = "198.19.100.1"
STALE = "198.19.250.0/24"
PROTO = 200
NODES = 4


def frr_config(asn: int, link: lab.Link) -> str:
    return frr_anycast_node(asn, link, LOCAL_AS, [f"{VIP}/32"])


def ip_json(L: lab.Lab, ns: str, *args: str):
    out = L.exec(ns, ["ip", "-j", *args]).stdout.strip()
    return json.loads(out) if out else []


def vip_route(L: lab.Lab, ns: str) -> dict | None:
    routes = ip_json(L, ns, "route", "show", "proto", str(PROTO), VIP)
    return routes[0] if len(routes) == 1 else None


def group_members(L: lab.Lab, ns: str, nhid: int) -> dict[int, str] | None:
    """Member id -> gateway of group `nhid` (None when it does not exist)."""
    cp = L.exec(ns, ["ip", "-j", "nexthop", "show", "id", str(nhid)], check=False)
    if cp.returncode != 0 or not cp.stdout.strip():
        return None
    group = json.loads(cp.stdout)[0]
    out = {}
    for m in group.get("group", []):
        nh = ip_json(L, ns, "nexthop", "show", "id", str(m["id"]))[0]
        out[m["id"]] = nh.get("gateway")
    return out


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge = L.ns("edge")
        nodes = [L.ns(f"n{i + 1}") for i in range(NODES)]
        links = [L.link(edge, n, v6=False) for n in nodes]
        for i, (n, link) in enumerate(zip(nodes, links)):
            L.start_frr(n, frr_config(64601 + i, link), daemons=("zebra", "bfdd", "bgpd"))
        dataplane = Strobe(L, edge, [], [], name="dataplane")
        profile = {"name": "fast", "desired_min_tx_us": 100000, "required_min_rx_us": 100000,
                   "detect_mult": 3}
        bgp = {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"],
               "max_paths": 16, "multipath_relax": True}
        neighbors = [{"address": l.v4_b, "remote_as": 64601 + i, "connect_retry_s": 1,
                      "bfd_profile": "fast"} for i, l in enumerate(links)]
        fib = {"table": 254, "protocol": PROTO, "stale_timeout_s": 30}

        def start_bgpd(name: str) -> Bgpd:
            return Bgpd(L, edge, bgp, neighbors=neighbors, profiles=[profile],
                        dataplane_socket=dataplane.socket, fib=fib, name=name)

        bgpd = start_bgpd("bgpd")
        gateways = {l.v4_b for l in links}

        monitor_log = L.run_dir / "ip-monitor-route.log"
        L.spawn(edge, ["ip", "-ts", "monitor", "route"], monitor_log, desc="ip monitor route")

        def vip_events() -> list[str]:
            return [line for line in monitor_log.read_text().splitlines() if VIP in line]

        def frr_bfd_settled() -> bool:
            return frr_bfd_settled_on(L, nodes, links)

        # 1. One route on one group of four.
        def ecmp(want: set[str]):
            def probe():
                r = vip_route(L, edge)
                if r is None or "nhid" not in r:
                    return None
                members = group_members(L, edge, r["nhid"])
                return (r, members) if members and set(members.values()) == want else None
            return probe

        route, members = lab.wait_until(lambda: frr_bfd_settled() and ecmp(gateways)(), 60,
                                        what="the VIP as one route on a 4-way group")
        nhid = route["nhid"]
        # (vip_route() found it with `proto 200`.)
        nhs = ip_json(L, edge, "nexthop", "show", "protocol", str(PROTO))
        groups = [n for n in nhs if "group" in n]
        check(len(groups) == 1 and groups[0]["id"] == nhid, f"groups {groups}")
        check(len([n for n in nhs if "gateway" in n]) == NODES, f"nexthops {nhs}")
        compat = L.exec(edge, ["sysctl", "-n", "net.ipv4.nexthop_compat_mode"]).stdout.strip()
        check(compat == "0", f"nexthop_compat_mode {compat}")
        shown = bgpd.fib(f"{VIP}/32")
        check(shown["routes"][0]["group"] == nhid and shown["routes"][0]["state"] == "installed",
              f"show fib {shown['routes']}")
        print(f"PASS: VIP {VIP} is one route, nhid {nhid}, on a group of {NODES} gateways; "
              f"nexthop_compat_mode 0")

        # 2. n1's BFD Down: the group loses it, the route is not touched.
        events_before = len(vip_events())
        L.silence(nodes[0], links[0].if_b, ingress=False)
        route, members = lab.wait_until(ecmp(gateways - {links[0].v4_b}), 5, interval_s=0.01,
                                        what="group without n1")
        check(route["nhid"] == nhid, f"route moved to another group: {route}")
        fib_state = bgpd.fib("summary")
        failover = fib_state["last_failover"]
        check(failover is not None and links[0].v4_b in failover["next_hops"]
              and failover["groups"] == 1, f"last_failover {failover}")
        # Let the per-route reconciliation that follows the failover run, then look again.
        lab.wait_until(lambda: bgpd.fib("summary")["summary"]["pending_ops"] == 0, 5,
                       what="the FIB writer to be idle")
        check(vip_route(L, edge)["nhid"] == nhid, "route changed group after reconciliation")
        new_events = vip_events()[events_before:]
        check(not new_events, f"the VIP route was touched: {new_events}")
        print(f"PASS: n1 BFD Down -> group {nhid} has 3 members, the route untouched (no route "
              f"event); failover acked {failover['event_to_ack_us']} us after the BFD event")

        # 3. n1 back: 4 members, same group.
        L.unsilence(nodes[0], links[0].if_b)
        route, _ = lab.wait_until(ecmp(gateways), 60, what="n1 back in the group")
        check(route["nhid"] == nhid, f"route on another group after n1 came back: {route}")
        print(f"PASS: n1 back -> group {nhid} has 4 members again, same route")

        # 3b. The edge's interface towards n2 goes down and up again (the kernel itself drops the
        # nexthops on a device that goes down): the group loses n2 and takes it back, in place.
        L.exec(edge, ["ip", "link", "set", links[1].if_a, "down"])
        route, _ = lab.wait_until(ecmp(gateways - {links[1].v4_b}), 10, interval_s=0.02,
                                  what="group without n2 while its link is down")
        check(route["nhid"] == nhid, f"route on another group with n2's link down: {route}")
        L.exec(edge, ["ip", "link", "set", links[1].if_a, "up"])
        route, _ = lab.wait_until(ecmp(gateways), 60, what="n2 back once its link is up")
        check(route["nhid"] == nhid, f"route on another group after n2's link came up: {route}")
        print(f"PASS: n2's link down and up: group {nhid} lost n2 and took it back, same route")

        # 4. An operator deletes our group: repaired.
        repairs = bgpd.fib("summary")["counters"]["repairs"]
        L.exec(edge, ["ip", "nexthop", "del", "id", str(nhid)])
        route, _ = lab.wait_until(ecmp(gateways), 10, interval_s=0.02,
                                  what="the deleted group and its route re-installed")
        check(bgpd.fib("summary")["counters"]["repairs"] > repairs, "repairs counter")
        print(f"PASS: `ip nexthop del id {nhid}` repaired: route back on nhid {route['nhid']}")
        nhid = route["nhid"]

        # 5. Graceful stop and start: no blink; a stale route of ours is removed.
        L.exec(edge, ["ip", "route", "add", STALE, "via", links[1].v4_b, "proto", str(PROTO)])
        events_before = len(vip_events())
        check(bgpd.stop(signal.SIGUSR2) == 0, "graceful stop exit status")
        check(vip_route(L, edge) is not None, "the VIP route left with the graceful stop")
        bgpd = start_bgpd("bgpd-restarted")
        check(bgpd.fib(f"{VIP}/32")["routes"][0]["state"] in ("stale", "installed"),
              "VIP not adopted")
        route, _ = lab.wait_until(lambda: frr_bfd_settled() and ecmp(gateways)() and
                                  bgpd.fib(f"{VIP}/32")["routes"][0]["state"] == "installed"
                                  and ecmp(gateways)(), 60,
                                  what="the VIP announced again and installed")
        check(route["nhid"] == nhid, f"the route moved group across the restart: {route}")
        lab.wait_until(lambda: not ip_json(L, edge, "route", "show", STALE), 15,
                       what="the stale route to be removed after End-of-RIB from all")
        touched = vip_events()[events_before:]
        check(not touched, f"the VIP route was touched across the restart: {touched}")
        print("PASS: graceful stop + start: the VIP route untouched (no event in ip monitor), "
              f"same group {nhid}; the stale route {STALE} removed after End-of-RIB")

        # 6. Plain stop: nothing of ours left.
        check(bgpd.stop(signal.SIGTERM) == 0, "plain stop exit status")
        left_routes = ip_json(L, edge, "route", "show", "proto", str(PROTO))
        left_nhs = ip_json(L, edge, "nexthop", "show", "protocol", str(PROTO))
        check(not left_routes and not left_nhs,
              f"left after a plain stop: {left_routes} {left_nhs}")
        print("PASS: plain stop removed every route and nexthop of protocol 200")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        print(f"FAIL: {e.cmd}: {e.stderr}", file=sys.stderr)
        sys.exit(1)
