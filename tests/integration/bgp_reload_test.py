#!/usr/bin/env python3
"""strobe-bgpd reloads its configuration applying only the difference (issue: reload without a
flap; what MetalLB users suffer today).

strobe-bgpd (AS 64512) in `edge` peers over eBGP with four FRR bgpd: A (AS 64601) and B
(AS 64602) configured from the start, C (AS 64603) not yet (it keeps trying to connect and is
refused), D (AS 64604) a dynamic neighbor from a [[bgp.listen_range]]. Each FRR announces one
network; strobe-bgpd announces 198.19.100.0/24 and exports only that to A (policy "to-a"), so
that nothing A is sent depends on the other neighbors. A offers a 9 s hold time: KEEPALIVEs every
3 s prove the capture sees the session. tshark captures A's link (edge side) from before the
first reload to the end. Then:
  1. the file gets C, loses B, keeps A as it was (its table moves within the file); SIGHUP.
     One log line tells the counts; C reaches Established and its network is in our Loc-RIB and
     the kernel; B received Cease/Peer De-configured (RFC 4486) and its network is gone here and
     ours is gone at B;
  2. a file with a syntax error: `strobectl config reload` exits 2 naming FILE:LINE, and nothing
     changes;
  3. B comes back, C's export policy becomes "to-a" and it gets an import policy, and so does the
     export of the listen range of D, a dynamic neighbor (policy-only changes): `strobectl config
     reload --json`; B is Established again; C and D keep their sessions (no reset: FRR's
     counters do not move), lose the routes "to-a" does not export, and C's routes come again
     through a ROUTE-REFRESH with the new import policy's LOCAL_PREF (soft reconfiguration);
  4. D's listen range goes: D is closed with Cease/Peer De-configured and its routes go; C's hold
     time changes (a session setting): C gets Cease/Other Configuration Change (seen in a capture
     of its link) and a new session with the new hold time.
Throughout, A is not touched: FRR's connectionsEstablished/connectionsDropped for us do not move,
our uptime_s keeps growing and our message counters to A do not change but for KEEPALIVEs, and
the capture holds no OPEN, NOTIFICATION or UPDATE and no TCP FIN or RST.
"""

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import (STROBECTL, Bgpd, check, frr_bgp_neighbor, frr_bgp_routes,  # noqa: E402
                    frr_bgp_state, make_bgp_config)

LOCAL_AS = 64512
AS_A, AS_B, AS_C, AS_D = 64601, 64602, 64603, 64604
NET_A, NET_B, NET_C, NET_D = "198.19.1.0/24", "198.19.2.0/24", "198.19.3.0/24", "198.19.4.0/24"
OURS = "198.19.100.0/24"
BGP = {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]}
POLICIES = [{"name": "to-a", "default_action": "reject",
             "terms": [{"name": "ours", "prefix": [OURS], "action": "accept"}]},
            {"name": "from-c", "default_action": "accept",
             "terms": [{"name": "prefer", "set_local_pref": 150, "action": "accept"}]}]
NETWORKS = [{"prefix": OURS}]
SUSPECT = "bgp.type == 1 or bgp.type == 2 or bgp.type == 3 or tcp.flags.fin == 1 " \
          "or tcp.flags.reset == 1"


def frr_config(asn: int, link: lab.Link, network: str) -> str:
    edge = link.v4_a
    return (f"router bgp {asn}\n bgp router-id {link.v4_b}\n"
            " no bgp ebgp-requires-policy\n no bgp network import-check\n"
            f" neighbor {edge} remote-as {LOCAL_AS}\n neighbor {edge} timers connect 1\n"
            f" address-family ipv4 unicast\n  network {network}\n exit-address-family\n")


def kernel_has(L: lab.Lab, ns: str, prefix: str) -> bool:
    out = L.exec(ns, ["ip", "-j", "route", "show", prefix]).stdout
    return bool(json.loads(out or "[]"))


def reload_reply(cp: subprocess.CompletedProcess) -> dict:
    """strobe-bgpd's reply in `strobectl --socket S --json config reload`'s output (strobectl
    names the one daemon of --socket after its first slot)."""
    out = json.loads(cp.stdout)
    replies = [v for v in out.values() if isinstance(v, dict)]
    check(len(replies) == 1, f"config reload output: {out}")
    return replies[0]


def main() -> int:
    lab.require_root_tools(bird=False)
    with lab.Lab() as L:
        edge, ns_a, ns_b, ns_c, ns_d = (L.ns("edge"), L.ns("a"), L.ns("b"), L.ns("c"),
                                        L.ns("d"))
        la, lb, lc, ld = (L.link(edge, ns_a), L.link(edge, ns_b), L.link(edge, ns_c),
                          L.link(edge, ns_d))
        for ns, asn, link, net in ((ns_a, AS_A, la, NET_A), (ns_b, AS_B, lb, NET_B),
                                   (ns_c, AS_C, lc, NET_C), (ns_d, AS_D, ld, NET_D)):
            L.start_frr(ns, frr_config(asn, link, net), daemons=("zebra", "bgpd"))
        A, B, C, D = la.v4_b, lb.v4_b, lc.v4_b, ld.v4_b
        neighbor_a = {"address": A, "remote_as": AS_A, "connect_retry_s": 2, "hold_time_s": 9,
                      "description": "a", "export": ["to-a"]}
        neighbor_b = {"address": B, "remote_as": AS_B, "connect_retry_s": 2, "description": "b"}
        neighbor_c = {"address": C, "remote_as": AS_C, "connect_retry_s": 2, "description": "c"}
        # D is a dynamic neighbor, from a listen range.
        range_d = {"prefix": str(ipaddress.ip_network(f"{D}/{ld.v4_plen}", strict=False)),
                   "remote_as": AS_D}
        bgpd = Bgpd(L, edge, BGP, neighbors=[neighbor_a, neighbor_b], ranges=[range_d],
                    networks=NETWORKS, policies=POLICIES)
        path = bgpd.config_path

        def write_config(neighbors: list[dict], ranges: list[dict]) -> None:
            path.write_text(make_bgp_config(bgpd.socket, BGP, neighbors, ranges,
                                            networks=NETWORKS, policies=POLICIES))

        def ours_from(prefix: str, neighbor: str) -> bool:
            return any(p["neighbor"] == neighbor and p["best"]
                       for p in bgpd.route_map().get(prefix, []))

        def frr_has(ns: str, prefix: str) -> bool:
            paths = frr_bgp_routes(L, ns).get(prefix, [])
            return any(p.get("path") == str(LOCAL_AS) for p in paths)

        def frr_has_via_us(ns: str, prefix: str) -> bool:
            return prefix in from_us(ns)

        def from_us(ns: str) -> list[str]:
            """The prefixes FRR in `ns` learnt from us (AS_PATH starting with ours)."""
            return sorted(prefix for prefix, paths in frr_bgp_routes(L, ns).items()
                          if any(p.get("path", "").split()[:1] == [str(LOCAL_AS)] for p in paths))

        # Before: A, B and D Established both ways, routes exchanged; C refused.
        for address in (A, B, D):
            bgpd.wait_established(address, 30)
        for ns, link in ((ns_a, la), (ns_b, lb), (ns_d, ld)):
            lab.wait_until(lambda ns=ns, link=link: frr_bgp_state(L, ns, link.v4_a) ==
                           "Established", 15, what=f"FRR in {ns} Established")
        lab.wait_until(lambda: ours_from(NET_A, A) and ours_from(NET_B, B), 15,
                       what="A's and B's networks in our Loc-RIB")
        lab.wait_until(lambda: frr_has(ns_a, OURS) and frr_has(ns_b, OURS), 15,
                       what="our network at A and B")
        lab.wait_until(lambda: ours_from(NET_D, D) and frr_has_via_us(ns_d, NET_A), 15,
                       what="D's network in our Loc-RIB, A's at D")
        lab.wait_until(lambda: kernel_has(L, edge, NET_B), 10, what=f"{NET_B} in the kernel")
        check(C not in [n["address"] for n in bgpd.neighbors()], "C configured too early")
        check(from_us(ns_a) == [OURS], f"A learnt {from_us(ns_a)} from us: want only {OURS}")
        check(bgpd.neighbor(A)["hold_time_s"] == 9, f"A's hold time {bgpd.neighbor(A)}")
        print("PASS: A, B and dynamic D Established, routes exchanged; C refused (not configured)")

        frr_a0 = frr_bgp_neighbor(L, ns_a, la.v4_a)
        ours_a0 = bgpd.neighbor(A)
        # A's link, and C's for the NOTIFICATION of step 4 (FRR forgets it once Established).
        pcap, pcap_c = L.run_dir / "a.pcapng", L.run_dir / "c.pcapng"
        caps = []
        for link, file in ((la, pcap), (lc, pcap_c)):
            log = L.run_dir / f"tshark-{file.stem}.log"
            caps.append(L.spawn(edge, ["tshark", "-i", link.if_a, "-f", "tcp port 179", "-w",
                                       str(file)], log, desc="tshark"))
            lab.wait_until(lambda log=log: "Capturing on" in log.read_text(), 20,
                           what="tshark to capture")
        time.sleep(0.5)
        t_start = time.time()

        # 1. C added, B removed, A the same; SIGHUP.
        write_config([neighbor_c, neighbor_a], [range_d])
        os.kill(bgpd.proc.pid, signal.SIGHUP)
        want = (f"config reload (SIGHUP) of {path}: neighbors 1 added, 1 removed, 0 changed "
                "(0 reset), 1 unchanged; 0 dynamic neighbors closed; networks 0 added, 0 removed, "
                "0 changed; restart required: none")
        lab.wait_until(lambda: want in bgpd.log.read_text(), 10, what="the SIGHUP log line")
        bgpd.wait_established(C, 30)
        lab.wait_until(lambda: frr_bgp_state(L, ns_c, lc.v4_a) == "Established", 15,
                       what="FRR C Established")
        lab.wait_until(lambda: ours_from(NET_C, C), 15, what=f"{NET_C} from C in our Loc-RIB")
        lab.wait_until(lambda: kernel_has(L, edge, NET_C), 10, what=f"{NET_C} in the kernel")
        lab.wait_until(lambda: frr_has(ns_c, OURS), 15, what="our network at C")
        print("PASS: SIGHUP: C added, Established, its network in our Loc-RIB and the kernel")

        check(bgpd.ctl_raw("show", "bgp", "neighbors", B).returncode != 0,
              "B still a neighbor after the reload")

        nb = lab.wait_until(
            lambda: (n := frr_bgp_neighbor(L, ns_b, lb.v4_a)).get("bgpState") != "Established"
            and n.get("lastNotificationReason") and n, 10, what="FRR B to record a NOTIFICATION")
        check(nb.get("lastNotificationReason") == "Cease/Peer De-configured" and
              nb.get("lastErrorCodeSubcode") == "0603",
              f"B's last NOTIFICATION: {json.dumps(nb, indent=1)}")
        lab.wait_until(lambda: NET_B not in bgpd.route_map(), 10, what=f"{NET_B} withdrawn")
        lab.wait_until(lambda: not kernel_has(L, edge, NET_B), 10,
                       what=f"{NET_B} out of the kernel")
        lab.wait_until(lambda: not frr_has(ns_b, OURS), 10, what="our network gone at B")
        print(f"PASS: SIGHUP: B sent Cease/3 ({nb['lastNotificationReason']}), its routes gone")

        # 2. A broken file: refused whole with FILE:LINE, nothing changes.
        good = path.read_text()
        broken_line = good.count("\n") + 3
        path.write_text(good + "\n[[bgp.neighbor]]\naddress = \n")
        cp = subprocess.run([STROBECTL, "--socket", bgpd.socket, "config", "reload"],
                            capture_output=True, text=True, timeout=10)
        print("broken file:", cp.returncode, (cp.stdout + cp.stderr).strip())
        check(cp.returncode == 2, f"a broken file: exit {cp.returncode}, want 2")
        check(f"{path}:{broken_line}:" in cp.stdout + cp.stderr,
              f"the error does not name {path}:{broken_line}")
        check(f"config reload (control command) of {path} refused, nothing changed: "
              f"{path}:{broken_line}:" in bgpd.log.read_text(), "no log line for the refusal")
        check(sorted(n["address"] for n in bgpd.neighbors()) == sorted([A, C, D]),
              f"the broken file changed the neighbors: {bgpd.neighbors()}")
        check(all(n["state"] == "established" for n in bgpd.neighbors()), "a session went down")
        print(f"PASS: a broken file is refused (exit 2, {path.name}:{broken_line}), "
              "nothing changes")

        # 3. B back, C's and D's range's policies changed (live settings); strobectl config
        # reload --json.
        frr_c0 = frr_bgp_neighbor(L, ns_c, lc.v4_a)
        frr_d0 = frr_bgp_neighbor(L, ns_d, ld.v4_a)
        ours_c0 = bgpd.neighbor(C)
        check(frr_has_via_us(ns_c, NET_A), "C should have A's network before its export changes")
        check([p["local_pref"] for p in bgpd.route_map()[NET_C]] == [100],
              f"{NET_C} before C's import policy: {bgpd.route_map()[NET_C]}")
        neighbor_c3 = dict(neighbor_c, export=["to-a"], **{"import": ["from-c"]})
        write_config([neighbor_a, neighbor_b, neighbor_c3], [dict(range_d, export=["to-a"])])
        cp = bgpd.ctl_raw("config", "reload")
        check(cp.returncode == 0, f"config reload: exit {cp.returncode}: {cp.stderr}")
        reply = reload_reply(cp)
        print("reload reply:", json.dumps(reply))
        check(reply == {"config": str(path), "neighbors_added": [B], "neighbors_removed": [],
                        "neighbors_changed": [C], "neighbors_reset": [],
                        "neighbors_unchanged": 1, "dynamic_neighbors_closed": [],
                        "networks_added": [], "networks_removed": [], "networks_changed": [],
                        "restart_required": []}, f"reply {reply}")
        bgpd.wait_established(B, 30)
        lab.wait_until(lambda: ours_from(NET_B, B), 15, what=f"{NET_B} back in our Loc-RIB")
        for ns in (ns_c, ns_d):
            lab.wait_until(lambda ns=ns: from_us(ns) == [OURS], 10,
                           what=f"{ns} to keep only our network (export now to-a)")
        lab.wait_until(lambda: [p["local_pref"] for p in bgpd.route_map()[NET_C]] == [150], 10,
                       what=f"{NET_C} imported again with LOCAL_PREF 150")
        frr_c1 = frr_bgp_neighbor(L, ns_c, lc.v4_a)
        ours_c1 = bgpd.neighbor(C)
        check(frr_c1["bgpState"] == "Established" and
              frr_c1["connectionsEstablished"] == frr_c0["connectionsEstablished"] and
              frr_c1["connectionsDropped"] == frr_c0["connectionsDropped"],
              f"C's session was reset: {frr_c0.get('connectionsEstablished')} -> {frr_c1}")
        check(ours_c1["established_transitions"] == ours_c0["established_transitions"],
              f"C's session was reset here: {ours_c0} -> {ours_c1}")
        check(ours_c1["messages_sent"]["route_refresh"] > ours_c0["messages_sent"]["route_refresh"],
              f"no ROUTE-REFRESH to C: {ours_c1['messages_sent']}")
        frr_d1 = frr_bgp_neighbor(L, ns_d, ld.v4_a)
        check(frr_d1["bgpState"] == "Established" and
              frr_d1["connectionsEstablished"] == frr_d0["connectionsEstablished"],
              f"D's session was reset: {frr_d0.get('connectionsEstablished')} -> {frr_d1}")
        print("PASS: strobectl config reload: B back; C's export and import policies and D's "
              "range's export policy applied without a reset (import through a ROUTE-REFRESH)")

        # 4. D's listen range goes: D is closed with Cease/Peer De-configured, its routes go. C's
        # hold time changes: a session setting, Cease/Other Configuration Change and a new session.
        write_config([neighbor_a, neighbor_b, dict(neighbor_c3, hold_time_s=30)], [])
        reply = reload_reply(bgpd.ctl_raw("config", "reload"))
        check(reply["dynamic_neighbors_closed"] == [D] and reply["neighbors_unchanged"] == 2 and
              reply["neighbors_changed"] == [C] and reply["neighbors_reset"] == [C],
              f"reply {reply}")
        nd = lab.wait_until(
            lambda: (n := frr_bgp_neighbor(L, ns_d, ld.v4_a)).get("bgpState") != "Established"
            and n, 10, what="FRR D to leave Established")
        check(nd.get("lastNotificationReason") == "Cease/Peer De-configured",
              f"D's last NOTIFICATION: {nd.get('lastNotificationReason')}")
        lab.wait_until(lambda: NET_D not in bgpd.route_map(), 10, what=f"{NET_D} withdrawn")
        check(D not in [n["address"] for n in bgpd.neighbors()], "D still a neighbor")
        print("PASS: listen range removed: dynamic neighbor D closed with Cease/3, routes gone")
        lab.wait_until(
            lambda: (n := frr_bgp_neighbor(L, ns_c, lc.v4_a))["connectionsEstablished"] >
            frr_c1["connectionsEstablished"] and n["bgpState"] == "Established" and n, 20,
            what="C's session to start again")
        n = bgpd.wait_established(C, 10)
        check(n["hold_time_s"] == 30, f"C's hold time {n['hold_time_s']}")
        lab.wait_until(lambda: [p["local_pref"] for p in bgpd.route_map().get(NET_C, [])] == [150],
                       10, what=f"{NET_C} back from C's new session")
        print("PASS: C's hold time changed: a new session with the new settings")

        time.sleep(3.5)  # a last KEEPALIVE interval of A after the last reload, to be judged too
        t_end = time.time()
        for cap in caps:
            L.stop(cap, sig=signal.SIGINT)

        # A: not touched at all.
        frr_a1 = frr_bgp_neighbor(L, ns_a, la.v4_a)
        ours_a1 = bgpd.neighbor(A)
        for key in ("connectionsEstablished", "connectionsDropped"):
            check(frr_a1[key] == frr_a0[key], f"FRR A's {key} {frr_a0[key]} -> {frr_a1[key]}")
        check(frr_a1["bgpState"] == "Established", f"FRR A: {frr_a1['bgpState']}")
        check(ours_a1["state"] == "established" and
              ours_a1["established_transitions"] == ours_a0["established_transitions"],
              f"A's session was reset: {ours_a0} -> {ours_a1}")
        check(ours_a1["uptime_s"] >= ours_a0["uptime_s"] + int(t_end - t_start) - 1,
              f"A's uptime {ours_a0['uptime_s']} -> {ours_a1['uptime_s']} over "
              f"{t_end - t_start:.1f} s")
        for kind in ("open", "update", "notification", "route_refresh"):
            check(ours_a1["messages_sent"][kind] == ours_a0["messages_sent"][kind],
                  f"{kind} sent to A: {ours_a0['messages_sent']} -> {ours_a1['messages_sent']}")
        check(ours_a1["messages_sent"]["keepalive"] > ours_a0["messages_sent"]["keepalive"],
              "no KEEPALIVE sent to A meanwhile")

        def tshark(display_filter: str, file: Path = pcap,
                   fields: tuple[str, ...] = ("frame.time_epoch", "ip.src", "bgp.type",
                                              "tcp.flags")) -> list[str]:
            cp = L.exec(None, ["tshark", "-r", str(file), "-Y", display_filter, "-T", "fields",
                               *[a for f in fields for a in ("-e", f)]])
            return [line for line in cp.stdout.splitlines() if line.strip()]
        cease_to_c = tshark(f"bgp.type == 3 and ip.src == {lc.v4_a}", pcap_c,
                            ("bgp.notify.major_error", "bgp.notify.minor_error_cease"))
        check(cease_to_c.count("6\t6") == 1,
              f"NOTIFICATIONs to C (want one Cease/6, at step 4): {cease_to_c}")
        print("PASS: C received Cease/Other Configuration Change once")
        keepalives = tshark("bgp.type == 4")
        times = [float(line.split("\t")[0]) for line in keepalives]
        check(len(keepalives) >= 4 and times[0] <= t_start + 3.5 and times[-1] >= t_end - 3.5,
              f"the capture does not cover the reloads: {len(keepalives)} KEEPALIVEs "
              f"{times[:1]}..{times[-1:]} for {t_start:.1f}..{t_end:.1f}")
        suspect = tshark(SUSPECT)
        check(not suspect, "A's link carried an OPEN, UPDATE, NOTIFICATION, FIN or RST:\n"
              + "\n".join(suspect))
        print(f"PASS: A untouched across SIGHUP and three reloads: FRR's counters unchanged, "
              f"uptime {ours_a0['uptime_s']} -> {ours_a1['uptime_s']} s, "
              f"{len(keepalives)} KEEPALIVEs and nothing else on its link")

        rc = bgpd.stop(signal.SIGTERM)
        check(rc == 0, f"strobe-bgpd exit status {rc} after SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
