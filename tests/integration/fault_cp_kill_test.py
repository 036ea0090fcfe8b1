#!/usr/bin/env python3
"""Fault injection: the control plane (strobe-bgpd, which also writes the FIB) killed with -9
(issue 9, item 3).

`edge` runs strobe-dataplane with 1,000 configured BFD sessions against BIRD (one veth, 300 ms x
3) and strobe-bgpd (AS 64512, multipath, [fib] protocol 200), whose three neighbors n1..n3 (FRR
bgpd + bfdd, BFD at 100 ms x 3 registered by strobe-bgpd through the shared-memory rings) each
announce the same VIP: one route on one 3-way nexthop group in the edge's kernel. nl_monitor.py
records every nexthop and VIP route notification in the edge from before the kill to the end.

  1. strobe-bgpd is killed with -9. For HOLD_S seconds (many detection times of both profiles)
     the kernel is read back again and again: the VIP route stays on the same group with the same
     three gateways (`ip -j route`, `ip -j nexthop`), and the three BFD sessions strobe-bgpd
     registered stay in the dataplane, Up (their client died, not the neighbors).
  2. strobe-bgpd is started again with the same configuration: BGP comes back on all three
     neighbors, the VIP is confirmed (installed, not stale) on the same group with all members,
     and the new instance made no kernel operation for it (no route, group or nexthop set).
  3. Across the whole episode: not one nexthop or VIP route notification in nl_monitor (no
     delete, no replace), and not one BFD flap: the dataplane's up/down transition counters
     (`strobectl show bfd sessions --json`) of all 1,003 sessions are unchanged, BIRD shows every
     session Up since before the kill, and FRR's session-down counters of the three BGP
     neighbors did not move.
"""

import datetime
import ipaddress
import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import nl_monitor  # noqa: E402
from strobe import (BIRD_MANY_ADDR, Bgpd, Strobe, check, frr_anycast_node,  # noqa: E402
                    frr_bfd_settled, frr_counters, start_bird_many)

LOCAL_AS = 64512
VIP = "198.19.100.1"
PROTO = 200
NODES = 3
SESSIONS = 1000
BIRD_INTERVAL_MS = 300
HOLD_S = 3.0  # bgpd dead: 10 detection times at 100 ms x 3, 3 at 300 ms x 3


def ip_json(L: lab.Lab, ns: str, *args: str):
    out = L.exec(ns, ["ip", "-j", *args]).stdout.strip()
    return json.loads(out) if out else []


def kernel_vip(L: lab.Lab, ns: str) -> tuple[int, dict[int, str]] | None:
    """(nhid, member id -> gateway) of the VIP's route of protocol 200, None without one."""
    routes = ip_json(L, ns, "route", "show", "proto", str(PROTO), VIP)
    if len(routes) != 1 or "nhid" not in routes[0]:
        return None
    nhid = routes[0]["nhid"]
    nhs = {n["id"]: n for n in ip_json(L, ns, "nexthop", "show", "protocol", str(PROTO))}
    group = nhs.get(nhid, {}).get("group")
    if not group:
        return None
    return nhid, {m["id"]: nhs.get(m["id"], {}).get("gateway") for m in group}


def bird_many(L: lab.Lab, count: int, interval_ms: int):
    """strobe.start_bird_many with BIRD's times to the millisecond (`since` tells a flap however
    short). Returns (edge ns, bird ns, link, BIRD instance, edge addresses)."""
    return start_bird_many(L, count, interval_ms, ms_times=True)


def bird_sessions(inst: lab.BirdInstance) -> dict[str, tuple[str, float]]:
    """Peer -> (state, since as a POSIX time) from `birdc show bfd sessions`. BIRD turns its
    monotonic time into wall-clock time when it prints, so `since` wobbles by a millisecond."""
    out = {}
    for line in inst.birdc("show bfd sessions").splitlines():
        parts = line.split()
        # IP, interface, state, since (date and time with `iso long ms`), interval, timeout
        if len(parts) >= 5 and parts[2] in ("Up", "Down", "Init", "AdminDown"):
            try:
                ipaddress.ip_address(parts[0])
            except ValueError:
                continue
            since = datetime.datetime.fromisoformat(parts[3] + " " + parts[4]).timestamp()
            out[parts[0]] = (parts[2], since)
    return out


def main() -> int:
    lab.require_root_tools(tshark=False)
    t_start = time.monotonic()
    with lab.Lab() as L:
        edge, bird, blink, bird_inst, locals_ = bird_many(L, SESSIONS, BIRD_INTERVAL_MS)
        nodes = [L.ns(f"n{i + 1}") for i in range(NODES)]
        links = [L.link(edge, n, v6=False) for n in nodes]
        for i, (n, link) in enumerate(zip(nodes, links)):
            L.start_frr(n, frr_anycast_node(64601 + i, link, LOCAL_AS, [f"{VIP}/32"]),
                        daemons=("zebra", "bfdd", "bgpd"))
        slow = {"name": "slow", "desired_min_tx_us": BIRD_INTERVAL_MS * 1000,
                "required_min_rx_us": BIRD_INTERVAL_MS * 1000, "detect_mult": 3}
        dataplane = Strobe(L, edge, [slow], [
            {"peer": BIRD_MANY_ADDR, "local": a, "interface": blink.if_a, "profile": "slow"}
            for a in locals_], name="dataplane", interfaces=[l.if_a for l in links])
        fast = {"name": "fast", "desired_min_tx_us": 100000, "required_min_rx_us": 100000,
                "detect_mult": 3}
        bgp = {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"],
               "max_paths": 16, "multipath_relax": True}
        neighbors = [{"address": l.v4_b, "remote_as": 64601 + i, "connect_retry_s": 1,
                      "bfd_profile": "fast"} for i, l in enumerate(links)]
        fib = {"table": 254, "protocol": PROTO, "stale_timeout_s": 30}

        def start_bgpd(name: str) -> Bgpd:
            return Bgpd(L, edge, bgp, neighbors=neighbors, profiles=[fast],
                        dataplane_socket=dataplane.socket, fib=fib, name=name)

        bgpd = start_bgpd("bgpd")
        gateways = {l.v4_b for l in links}
        bgp_peers = set(gateways)

        def dp_summary() -> dict:
            ss = dataplane.sessions()
            return {"count": len(ss), "up": sum(s["state"] == "up" for s in ss),
                    "polling": sum(s["poll_in_progress"] for s in ss)}

        def vip_ready(b: Bgpd) -> tuple[int, dict[int, str]] | None:
            k = kernel_vip(L, edge)
            if k is None or set(k[1].values()) != gateways:
                return None
            shown = b.fib(f"{VIP}/32")["routes"]
            return k if shown and shown[0]["state"] == "installed" else None

        def all_settled() -> bool:
            s = dp_summary()
            return (s["count"] == SESSIONS + NODES and s["up"] == SESSIONS + NODES
                    and s["polling"] == 0 and frr_bfd_settled(L, nodes, links)
                    and all(n["state"] == "established" and n["bfd"] == "up"
                            for n in bgpd.neighbors())
                    and vip_ready(bgpd) is not None)

        lab.wait_until(all_settled, 90, interval_s=0.5,
                       what=f"{SESSIONS} BFD sessions with BIRD Up, BGP with BFD on {NODES} "
                            "neighbors, the VIP on a 3-way group")
        lab.wait_until(lambda: all(s == "Up" for s, _ in bird_sessions(bird_inst).values())
                       and len(bird_sessions(bird_inst)) == SESSIONS, 30,
                       what="BIRD to see every session Up")
        nhid, members = kernel_vip(L, edge)
        print(f"set up in {time.monotonic() - t_start:.1f} s: {SESSIONS} sessions with BIRD at "
              f"{BIRD_INTERVAL_MS} ms x 3 Up, {NODES} BGP neighbors with BFD at 100 ms x 3, "
              f"VIP {VIP} on nhid {nhid} members {sorted(members)}")

        mon = nl_monitor.NlMonitor(L, edge, routes=True, route_prefix=f"{VIP}/32")
        mark = len(mon.events())
        # The monitor sees what we look for: its opening dump holds the group and the route.
        dumped = mon.events()[:mark]
        check(any(e["ev"] == "nh" and e["id"] == nhid for e in dumped)
              and any(e["ev"] == "route" and e.get("nhid") == nhid for e in dumped),
              f"nl_monitor's dump lacks nhid {nhid} or the VIP route")
        dp_before = {(s["peer"], s["local"]): s for s in dataplane.sessions()}
        bird_before = bird_sessions(bird_inst)
        frr_before = {n: frr_counters(L, n)[l.v4_a] for n, l in zip(nodes, links)}
        frr_bgp_before = {n: L.frr_json(n, f"show bgp neighbors {l.v4_a} json")[l.v4_a]
                          for n, l in zip(nodes, links)}

        # 1. kill -9; the kernel keeps the VIP and its group while nobody writes the FIB.
        t_kill = time.monotonic()
        check(bgpd.stop(signal.SIGKILL) == -signal.SIGKILL, "strobe-bgpd was not killed by -9")
        reads = 0
        client_sessions_seen = 0
        while time.monotonic() - t_kill < HOLD_S:
            k = kernel_vip(L, edge)
            check(k is not None and k[0] == nhid and k[1] == members,
                  f"{time.monotonic() - t_kill:.2f} s after the kill the VIP is {k}, want "
                  f"nhid {nhid} with {members}")
            reads += 1
            if reads % 5 == 0:  # the sessions strobe-bgpd registered outlive it, Up
                ours = [s for s in dataplane.sessions() if s["peer"] in bgp_peers]
                check(len(ours) == NODES and all(s["state"] == "up" for s in ours),
                      "strobe-bgpd's BFD sessions after its death: "
                      f"{[(s['peer'], s['state'], s['local_diag']) for s in ours]}")
                client_sessions_seen += 1
        check(client_sessions_seen > 0, "the client sessions were never checked")
        print(f"PASS: strobe-bgpd killed with -9; over {HOLD_S:g} s ({reads} reads of the kernel) "
              f"the VIP stayed on nhid {nhid} with its {NODES} gateways, and the {NODES} BFD "
              "sessions strobe-bgpd registered stayed Up in the dataplane")

        # 2. A new strobe-bgpd reconciles without touching the kernel.
        t_restart = time.monotonic()
        bgpd = start_bgpd("bgpd-restarted")
        shown = bgpd.fib(f"{VIP}/32")["routes"]
        check(shown and shown[0]["state"] in ("stale", "installed") and shown[0]["group"] == nhid,
              f"the new strobe-bgpd did not adopt the VIP: {shown}")
        lab.wait_until(lambda: all(n["state"] == "established" and n["bfd"] == "up"
                                   for n in bgpd.neighbors()) and vip_ready(bgpd), 60,
                       what="BGP back on every neighbor and the VIP installed again")
        lab.wait_until(lambda: bgpd.fib("summary")["summary"]["pending_ops"] == 0, 10,
                       what="the FIB writer to be idle")
        back_s = time.monotonic() - t_restart
        k = kernel_vip(L, edge)
        check(k == (nhid, members), f"after the restart the VIP is {k}, want {(nhid, members)}")
        fib_state = bgpd.fib("summary")
        counters = fib_state["counters"]
        print(f"new strobe-bgpd: BGP back and the VIP confirmed {back_s:.2f} s after its start; "
              f"fib summary {fib_state['summary']}, counters {counters}")
        check(counters["routes_set"] == 0 and counters["groups_set"] == 0
              and counters["nexthops_set"] == 0 and counters["routes_deleted"] == 0,
              f"the new strobe-bgpd wrote to the kernel: {counters}")
        events = [e for e in mon.events()[mark:] if e["ev"] in ("nh", "route", "overrun")]
        check(not events, f"kernel notifications across the kill and restart: {events[:5]}")
        print(f"PASS: restarted strobe-bgpd adopted nhid {nhid} and confirmed the VIP with no "
              "kernel operation; nl_monitor saw no nexthop or VIP route event")

        # 3. No BFD flap anywhere.
        dp_after = {(s["peer"], s["local"]): s for s in dataplane.sessions()}
        check(dp_after.keys() == dp_before.keys(), "the dataplane's sessions changed")
        flapped = [(k, dp_before[k]["down_transitions"], s["down_transitions"], s["state"])
                   for k, s in dp_after.items()
                   if s["state"] != "up"
                   or s["down_transitions"] != dp_before[k]["down_transitions"]
                   or s["up_transitions"] != dp_before[k]["up_transitions"]]
        check(not flapped, f"{len(flapped)} dataplane sessions flapped: {flapped[:5]}")
        bird_after = bird_sessions(bird_inst)
        moved = [(p, bird_before.get(p), s) for p, s in bird_after.items()
                 if s[0] != "Up" or p not in bird_before
                 or abs(s[1] - bird_before[p][1]) > 0.005]
        check(len(bird_after) == SESSIONS and not moved,
              f"BIRD sessions changed: {len(moved)}, e.g. {moved[:3]}")
        for n, l in zip(nodes, links):
            c = frr_counters(L, n)[l.v4_a]
            check(c["session-down"] == frr_before[n]["session-down"]
                  and c["session-up"] == frr_before[n]["session-up"],
                  f"FRR {n}: BFD session-down {frr_before[n]['session-down']} -> "
                  f"{c['session-down']}, session-up {frr_before[n]['session-up']} -> "
                  f"{c['session-up']}")
        frr_bgp_after = {n: L.frr_json(n, f"show bgp neighbors {l.v4_a} json")[l.v4_a]
                         for n, l in zip(nodes, links)}
        print("FRR's BGP view: "
              + ", ".join(f"{n.rsplit('-', 1)[-1]}: established "
                          f"{frr_bgp_before[n].get('connectionsEstablished')} -> "
                          f"{frr_bgp_after[n].get('connectionsEstablished')}, last reset "
                          f"{frr_bgp_after[n].get('lastResetDueTo')!r}" for n in nodes))
        # Each neighbor lost its BGP session with the dead process and established exactly one
        # new one with the restarted strobe-bgpd: the kill was real and nothing flapped after.
        for n in nodes:
            check(frr_bgp_after[n]["connectionsEstablished"]
                  == frr_bgp_before[n]["connectionsEstablished"] + 1
                  and frr_bgp_after[n]["bgpState"] == "Established",
                  f"FRR {n}: BGP established {frr_bgp_before[n]['connectionsEstablished']} -> "
                  f"{frr_bgp_after[n]['connectionsEstablished']}, {frr_bgp_after[n]['bgpState']}")
        print(f"PASS: no BFD flap: {SESSIONS + NODES} dataplane sessions with unchanged "
              f"transition counters, BIRD's {SESSIONS} Up since before the kill, FRR's "
              f"{NODES} session-down counters unchanged")
        print(f"wall time {time.monotonic() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
