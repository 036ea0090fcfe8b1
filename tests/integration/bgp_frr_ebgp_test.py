#!/usr/bin/env python3
"""strobe-bgpd against FRR bgpd over eBGP, IPv4 and IPv6 (issue: BGP speaker).

One veth between `edge` (strobe-bgpd, AS 64512) and `frr` (FRR bgpd, AS 4200000001: a 4-octet
AS on the FRR side). Two sessions: one over IPv4 carrying IPv4 unicast, one over IPv6 carrying
IPv6 unicast. Shown:
  1. both sessions Established on both sides, 4-octet AS negotiated;
  2. our [[bgp.network]]s reach FRR with next hop self and AS_PATH "64512";
  3. FRR's networks reach our Loc-RIB with FRR's AS in the path;
  4. a withdrawal in FRR removes the route here; route refresh (soft in) makes FRR send again;
     FRR's own ROUTE-REFRESH is answered with BoRR, the routes and EoRR (RFC 7313); a hard
     clear sends Cease/Administrative Reset and the session comes back;
  5. `strobectl` text output works, also with --config (the [controlplane] socket); SIGTERM
     sends Cease/Administrative Shutdown, exit status 0.
Both sessions use TCP-MD5 (RFC 2385), the IPv4 one also GTSM (RFC 5082, TTL 255 both ways).
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import (STROBECTL, Bgpd, check, frr_bgp_neighbor, frr_bgp_routes,  # noqa: E402
                    frr_bgp_state)

LOCAL_AS = 64512
FRR_AS = 4200000001
OUR_V4 = "198.19.100.0/24"
OUR_V6 = "2001:db8:ff00::/48"
FRR_V4 = "198.19.1.0/24"
FRR_V6 = "2001:db8:ff01::/48"
PASSWORD = "strobe-md5-secret"


def frr_config(link: lab.Link) -> str:
    return f"""
router bgp {FRR_AS}
 bgp router-id {link.v4_b}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {link.v4_a} remote-as {LOCAL_AS}
 neighbor {link.v4_a} timers connect 1
 neighbor {link.v4_a} password {PASSWORD}
 neighbor {link.v4_a} ttl-security hops 1
 neighbor {link.v6_a} remote-as {LOCAL_AS}
 neighbor {link.v6_a} timers connect 1
 neighbor {link.v6_a} password {PASSWORD}
 address-family ipv4 unicast
  network {FRR_V4}
  neighbor {link.v4_a} activate
 exit-address-family
 address-family ipv6 unicast
  network {FRR_V6}
  neighbor {link.v6_a} activate
 exit-address-family
"""


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr)
        L.start_frr(frr, frr_config(link), daemons=("zebra", "bgpd"))
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0", "::"]},
                    neighbors=[
                        {"address": link.v4_b, "remote_as": FRR_AS, "connect_retry_s": 2,
                         "ipv6_unicast": False, "description": "frr-v4",
                         "md5_password": PASSWORD, "ttl_security": True},
                        {"address": link.v6_b, "remote_as": FRR_AS, "connect_retry_s": 2,
                         "ipv4_unicast": False, "description": "frr-v6",
                         "md5_password": PASSWORD},
                    ],
                    networks=[{"prefix": OUR_V4}, {"prefix": OUR_V6}])

        # 1. Established, both sides.
        for addr in (link.v4_b, link.v6_b):
            n = bgpd.wait_established(addr, 30)
            check(n["remote_as"] == FRR_AS, f"remote_as {n['remote_as']}")
            check("4-octet-as" in n["capabilities"], f"capabilities {n['capabilities']}")
        for addr in (link.v4_a, link.v6_a):
            lab.wait_until(lambda a=addr: frr_bgp_state(L, frr, a) == "Established", 15,
                           what=f"FRR's neighbor {addr} Established")
        v4 = bgpd.neighbor(link.v4_b)
        check("ipv4-unicast" in v4["capabilities"] and "ipv6-unicast" not in v4["capabilities"],
              f"v4 session families {v4['capabilities']}")
        print(f"PASS: eBGP sessions Established over IPv4 and IPv6, AS {FRR_AS} (4-octet), "
              "TCP-MD5 on both, GTSM on IPv4")

        # 2. Our networks at FRR, next hop self, AS_PATH 64512.
        def frr_has(afi: str, prefix: str, next_hop: str) -> bool:
            paths = frr_bgp_routes(L, frr, afi).get(prefix, [])
            return any(p.get("path") == str(LOCAL_AS) and
                       any(h.get("ip") == next_hop for h in p.get("nexthops", []))
                       for p in paths)
        lab.wait_until(lambda: frr_has("ipv4", OUR_V4, link.v4_a), 15,
                       what=f"FRR to learn {OUR_V4} via {link.v4_a}")
        lab.wait_until(lambda: frr_has("ipv6", OUR_V6, link.v6_a), 15,
                       what=f"FRR to learn {OUR_V6} via {link.v6_a}")
        print("PASS: FRR learnt our IPv4 and IPv6 networks with next hop self and AS_PATH 64512")

        # 3. FRR's networks in our Loc-RIB.
        def ours(prefix: str, next_hop: str) -> dict | None:
            for p in bgpd.route_map().get(prefix, []):
                if p["next_hop"] == next_hop and p["as_path"] == [FRR_AS] and p["best"]:
                    return p
            return None
        p4 = lab.wait_until(lambda: ours(FRR_V4, link.v4_b), 15, what=f"{FRR_V4} in our Loc-RIB")
        lab.wait_until(lambda: ours(FRR_V6, link.v6_b), 15, what=f"{FRR_V6} in our Loc-RIB")
        check(p4["neighbor"] == link.v4_b, f"neighbor {p4}")
        n = bgpd.neighbor(link.v4_b)
        # FRR also sends our own network back (AS_PATH 4200000001 64512): received, refused by
        # loop detection, so not accepted.
        check(n["prefixes_accepted"] == 1 and n["prefixes_received"] in (1, 2), f"counts {n}")
        check(not any(p["neighbor"] == link.v4_b for p in bgpd.route_map().get(OUR_V4, [])),
              "our own network came back through FRR: loop detection failed")
        check(n["prefixes_advertised"] == 1, f"advertised {n['prefixes_advertised']}")
        print("PASS: FRR's IPv4 and IPv6 networks in strobe-bgpd's Loc-RIB")

        # 4. Withdrawal, then route refresh.
        L.frr_configure(frr, [f"router bgp {FRR_AS}", "address-family ipv4 unicast",
                              f"no network {FRR_V4}"])
        lab.wait_until(lambda: FRR_V4 not in bgpd.route_map(), 10, what=f"{FRR_V4} withdrawn")
        L.frr_configure(frr, [f"router bgp {FRR_AS}", "address-family ipv4 unicast",
                              f"network {FRR_V4}"])
        lab.wait_until(lambda: ours(FRR_V4, link.v4_b), 10, what=f"{FRR_V4} back")
        before = bgpd.neighbor(link.v4_b)["messages_received"]["update"]
        out = bgpd.ctl("clear", "bgp", "neighbor", link.v4_b, "soft", "in")
        check(out["neighbors_cleared"] == 1, f"clear soft in: {out}")
        lab.wait_until(lambda: bgpd.neighbor(link.v4_b)["messages_received"]["update"] > before,
                       10, what="FRR to answer the ROUTE-REFRESH with UPDATEs")
        out = bgpd.ctl("clear", "bgp", "neighbor", link.v6_b, "soft", "out")
        check(out["neighbors_cleared"] == 1, f"clear soft out: {out}")
        check(bgpd.state(link.v4_b) == "established", "still established after soft clears")
        # FRR asks us (ROUTE-REFRESH); enhanced route refresh: BoRR, the routes, EoRR.
        n0 = bgpd.neighbor(link.v4_b)
        L.frr_vtysh(frr, f"clear bgp ipv4 unicast {link.v4_a} soft in")
        n1 = lab.wait_until(
            lambda: (x := bgpd.neighbor(link.v4_b))["messages_sent"]["route_refresh"] >=
            n0["messages_sent"]["route_refresh"] + 2 and x, 10,
            what="our BoRR and EoRR in answer to FRR's ROUTE-REFRESH")
        check(n1["messages_received"]["route_refresh"] > n0["messages_received"]["route_refresh"],
              "FRR's ROUTE-REFRESH not counted")
        check("enhanced-route-refresh" in n1["capabilities"], f"{n1['capabilities']}")
        check(n1["messages_sent"]["update"] > n0["messages_sent"]["update"], "no UPDATE re-sent")
        lab.wait_until(lambda: frr_has("ipv4", OUR_V4, link.v4_a), 10,
                       what=f"FRR to still have {OUR_V4} after its refresh")
        print("PASS: withdrawal, re-announcement and route refresh (soft in/out)")

        # Hard reset: Cease/Administrative Reset, then Established again.
        transitions = bgpd.neighbor(link.v4_b)["established_transitions"]
        out = bgpd.ctl("clear", "bgp", "neighbor", link.v4_b)
        check(out["neighbors_cleared"] == 1, f"clear: {out}")
        lab.wait_until(lambda: (n := bgpd.neighbor(link.v4_b))["state"] == "established" and
                       n["established_transitions"] > transitions, 20,
                       what="the cleared session back to Established")
        n = bgpd.neighbor(link.v4_b)
        sent, received = n["last_notification_sent"], n["last_notification_received"]
        # FRR may connect to us while we reconnect to it: its Cease/7 (collision resolution) on
        # our connection in OpenSent is answered per RFC 4271 section 8.2.2 with an FSM Error,
        # which then is our last NOTIFICATION sent (the Cease/4 went out before it).
        collided = (received is not None and (received["code"], received["subcode"]) == (6, 7)
                    and (sent["code"], sent["subcode"]) == (5, 1))
        check((sent["code"], sent["subcode"]) == (6, 4) or collided, f"clear sent {sent}")
        if collided:
            print("(a connection collision followed the clear; answered with an FSM Error)")
        lab.wait_until(lambda: ours(FRR_V4, link.v4_b), 10, what=f"{FRR_V4} after the clear")
        print("PASS: clear bgp neighbor: Cease/Administrative Reset, session and routes back")

        # 5. Text output (also through --config), then SIGTERM.
        cp = subprocess.run([STROBECTL, "--config", str(bgpd.config_path), "--json", "show",
                             "bgp", "summary"], capture_output=True, text=True, timeout=10)
        check(cp.returncode == 0 and json.loads(cp.stdout)["as"] == LOCAL_AS,
              f"strobectl --config: {cp.stderr}")
        for words in (("show", "bgp", "summary"), ("show", "bgp", "neighbors"),
                      ("show", "bgp", "routes"), ("show", "bgp", "routes", FRR_V4)):
            cp = bgpd.ctl_raw(*words, json_out=False)
            check(cp.returncode == 0 and cp.stdout.strip(), f"strobectl {words}: {cp.stderr}")
        summary = bgpd.ctl_raw("show", "bgp", "summary", json_out=False).stdout
        check(link.v4_b in summary and str(FRR_AS) in summary, f"summary:\n{summary}")
        rc = bgpd.stop(signal.SIGTERM)
        check(rc == 0, f"strobe-bgpd exit status {rc} after SIGTERM")

        def frr_got_cease() -> dict | None:
            nb = frr_bgp_neighbor(L, frr, link.v4_a)
            return nb if nb.get("bgpState") != "Established" and \
                "Administrative Shutdown" in str(nb) else None
        nb = lab.wait_until(frr_got_cease, 10,
                            what="FRR to record Cease/Administrative Shutdown from us")
        print(f"PASS: SIGTERM: exit 0, FRR recorded "
              f"{nb.get('lastNotificationReason', nb.get('lastResetDueTo'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
