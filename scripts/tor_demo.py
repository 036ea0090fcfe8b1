#!/usr/bin/env python3
"""The top-of-rack demo (run through scripts/demo, which installs and builds first).

An edge namespace runs Strobe: strobe-dataplane (BFD on the `xdp` backend by default) and
strobe-bgpd (BGP, programming the edge's kernel FIB through nexthop groups). N node namespaces run
FRR (bgpd + bfdd), each announcing the same service VIP by BGP with BFD. The demo shows the
sessions Up and the N-way ECMP route in the edge's kernel, silences one node (every packet to and
from it dropped, its link left up, as a hung host would be) and prints the timeline: failure, BFD
Down, group updated in the kernel, with the milliseconds between them; then restores the node and
tears everything down. The kernel's side is observed independently, by a netlink listener in the
edge namespace (tests/integration/nl_monitor.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import lab  # noqa: E402
import nl_monitor  # noqa: E402
from strobe import STROBECTL, Bgpd, Strobe, frr_anycast_node, frr_bfd_settled  # noqa: E402

VIP = "198.19.100.1"
LOCAL_AS = 64512


def frr_config(asn: int, link: lab.Link, interval_ms: int, mult: int) -> str:
    return frr_anycast_node(asn, link, LOCAL_AS, [f"{VIP}/32"], interval_ms=interval_ms,
                            mult=mult, profile="tor")


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quiet = args.json

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)

    def pause(self) -> None:
        if not self.args.quick and not self.quiet:
            time.sleep(1.5)  # pacing for a human reader only, never synchronisation

    def show(self, title: str, argv: list[str]) -> None:
        if self.quiet:
            return
        out = subprocess.run(argv, capture_output=True, text=True, timeout=15)
        print(f"\n$ {title}")
        print((out.stdout or out.stderr).rstrip())

    def run(self) -> dict:
        a = self.args
        interval_us = a.interval * 1000
        detect_ms = a.interval * a.detect_mult
        result: dict = {"nodes": a.nodes, "vip": f"{VIP}/32", "backend": a.backend,
                        "interval_ms": a.interval, "detect_mult": a.detect_mult,
                        "detection_time_ms": detect_ms}
        with lab.Lab() as L:
            edge = L.ns("edge")
            nodes = [L.ns(f"node{i + 1}") for i in range(a.nodes)]
            links = [L.link(edge, n, v6=False) for n in nodes]
            self.say(f"Lab: edge + {a.nodes} FRR nodes, BFD {a.interval} ms x {a.detect_mult} "
                     f"(detection time {detect_ms} ms), VIP {VIP}/32 announced by every node")
            for i, (n, link) in enumerate(zip(nodes, links)):
                L.start_frr(n, frr_config(64601 + i, link, a.interval, a.detect_mult),
                            daemons=("zebra", "bfdd", "bgpd"))
            workers = [1 if (os.cpu_count() or 1) > 1 else 0]
            dataplane = Strobe(L, edge, [], [], name="dataplane",
                               dataplane={"backend": a.backend, "workers": workers})
            bgpd = Bgpd(L, edge,
                        {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"],
                         "max_paths": 64, "multipath_relax": True},
                        neighbors=[{"address": l.v4_b, "remote_as": 64601 + i,
                                    "connect_retry_s": 1, "bfd_profile": "tor"}
                                   for i, l in enumerate(links)],
                        profiles=[{"name": "tor", "desired_min_tx_us": interval_us,
                                   "required_min_rx_us": interval_us,
                                   "detect_mult": a.detect_mult}],
                        dataplane_socket=dataplane.socket)
            monitor = nl_monitor.NlMonitor(L, edge, routes=True, route_prefix=f"{VIP}/32")
            gateways = {l.v4_b for l in links}

            def kernel_gateways() -> set[str]:
                monitor.poll()
                return monitor.fib.route_gateways(f"{VIP}/32") or set()

            def settled() -> bool:
                if not frr_bfd_settled(L, nodes, links):
                    return False
                sessions = dataplane.sessions()
                return (len(sessions) == a.nodes and all(s["state"] == "up" for s in sessions)
                        and all(n["state"] == "established" for n in bgpd.neighbors())
                        and kernel_gateways() == gateways)

            self.say("Waiting for BFD Up, BGP Established and the ECMP route in the kernel...")
            t_start = time.monotonic()
            lab.wait_until(settled, 90, interval_s=0.1,
                           what=f"{a.nodes} BFD sessions Up and a {a.nodes}-way VIP route")
            self.say(f"Converged in {time.monotonic() - t_start:.1f} s.")
            ctl_dp = [STROBECTL, "--socket", dataplane.socket]
            ctl_bgp = [STROBECTL, "--socket", bgpd.socket]
            self.show("strobectl show bfd sessions", ctl_dp + ["show", "bfd", "sessions"])
            self.show("strobectl show bgp summary", ctl_bgp + ["show", "bgp", "summary"])
            self.show(f"ip route show {VIP}  (edge)", ["ip", "-n", edge, "route", "show", VIP])
            self.show("ip nexthop show  (edge)", ["ip", "-n", edge, "nexthop", "show"])
            route = json.loads(L.exec(edge, ["ip", "-j", "route", "show", VIP]).stdout)[0]
            result["before"] = {"next_hops": sorted(gateways), "nhid": route.get("nhid")}
            self.pause()

            # The failure.
            victim_ns, victim_link = nodes[0], links[0]
            victim = f"node1 ({victim_link.v4_b})"
            self.say(f"\nSilencing {victim}: every packet to and from it dropped, link up.")
            victim_nh = [n["id"] for n in json.loads(L.exec(edge, ["ip", "-j", "nexthop"]).stdout)
                         if n.get("gateway") == victim_link.v4_b][0]
            before_ns = time.monotonic_ns()
            L.silence(victim_ns, victim_link.if_b)
            t0 = time.monotonic_ns()
            want = gateways - {victim_link.v4_b}
            lab.wait_until(lambda: kernel_gateways() == want, 5, interval_s=0.002,
                           what=f"the kernel to drop {victim_link.v4_b}")
            # The first kernel change after the silence that took the node out of forwarding.
            t_kernel = None
            for ev in monitor.events():
                if ev["t"] < before_ns or ev.get("dump") or ev["ev"] != "nh":
                    continue
                members = [m[0] for m in ev.get("group") or []]
                if (ev["type"] == "new" and members and victim_nh not in members) or \
                        (ev["type"] == "del" and ev["id"] == victim_nh):
                    t_kernel = ev["t"]
                    break
            fib = bgpd.fib("summary")
            failover = fib["last_failover"] or {}
            bfd_down_ns = failover.get("event_ns")
            acked_ns = failover.get("acked_ns")

            def ms(t: int | None) -> float | None:
                return None if t is None else round((t - t0) / 1e6, 3)

            timeline = {"silence_cmd_ms": round((before_ns - t0) / 1e6, 3), "failure": 0.0,
                        "bfd_down": ms(bfd_down_ns), "group_acked": ms(acked_ns),
                        "kernel_observed": ms(t_kernel)}
            route = json.loads(L.exec(edge, ["ip", "-j", "route", "show", VIP]).stdout)[0]
            result["silenced"] = victim_link.v4_b
            result["after"] = {"next_hops": sorted(want), "nhid": route.get("nhid"),
                               "kernel_next_hops": sorted(kernel_gateways())}
            result["timeline_ms"] = timeline
            result["failover_ms"] = timeline["kernel_observed"]
            result["groups_rewritten"] = failover.get("groups")
            self.say("\nTimeline (ms after the failure):")
            self.say(f"  {0.0:9.3f}  failure: {victim} silenced")
            if bfd_down_ns is not None:
                self.say(f"  {timeline['bfd_down']:9.3f}  BFD Down declared by strobe-dataplane "
                         f"(detection time {detect_ms} ms)")
            if acked_ns is not None:
                self.say(f"  {timeline['group_acked']:9.3f}  nexthop group {route.get('nhid')} "
                         f"rewritten without {victim_link.v4_b}, acked by the kernel "
                         f"({(acked_ns - bfd_down_ns) / 1e6:.3f} ms after BFD Down)")
            if t_kernel is not None:
                self.say(f"  {timeline['kernel_observed']:9.3f}  seen by a netlink listener in "
                         f"the edge")
            self.show(f"ip route show {VIP}  (edge)", ["ip", "-n", edge, "route", "show", VIP])
            self.show("ip nexthop show  (edge)", ["ip", "-n", edge, "nexthop", "show"])
            self.pause()

            # Back.
            self.say(f"\nRestoring {victim}...")
            t_restore = time.monotonic()
            L.unsilence(victim_ns, victim_link.if_b)
            lab.wait_until(lambda: kernel_gateways() == gateways, 60, interval_s=0.05,
                           what=f"{victim} back in the group")
            result["restored_s"] = round(time.monotonic() - t_restore, 3)
            result["restored_next_hops"] = sorted(kernel_gateways())
            self.say(f"{victim} back in the group after {result['restored_s']} s (BFD Up, BGP "
                     f"Established again, its path re-announced).")

            if a.keep:
                print(f"\nThe lab is up. Explore, e.g.:\n"
                      f"  {STROBECTL} --socket {dataplane.socket} show bfd sessions\n"
                      f"  {STROBECTL} --socket {bgpd.socket} show bgp summary\n"
                      f"  {STROBECTL} --socket {bgpd.socket} show fib\n"
                      f"  ip -n {edge} nexthop show\n"
                      f"Press Enter to tear it down.", flush=True)
                try:
                    input()
                except EOFError:
                    pass
            self.say("\nTearing the lab down.")
        return result


def main() -> int:
    p = argparse.ArgumentParser(prog="scripts/demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=4, help="FRR nodes announcing the VIP (1-32)")
    p.add_argument("--interval", type=int, default=10, help="BFD interval in ms (>= 10)")
    p.add_argument("--detect-mult", type=int, default=3, help="BFD detect multiplier")
    p.add_argument("--backend", choices=("xdp", "socket"), default="xdp",
                   help="strobe-dataplane's backend")
    p.add_argument("--keep", action="store_true",
                   help="leave the lab up for exploring with strobectl until Enter")
    p.add_argument("--json", action="store_true", help="print only the JSON timeline")
    p.add_argument("--quick", action="store_true", help="no pauses for a human reader (CI)")
    a = p.parse_args()
    if not 1 <= a.nodes <= 32 or a.interval < 10 or not 2 <= a.detect_mult <= 255:
        p.error("--nodes 1..32, --interval >= 10, --detect-mult 2..255")
    if os.geteuid() != 0:
        p.error("must run as root (network namespaces)")
    result = Demo(a).run()
    if a.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
