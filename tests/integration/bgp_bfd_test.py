#!/usr/bin/env python3
"""BGP protected by BFD: strobe-bgpd registers a BFD session per neighbor with strobe-dataplane
(socket backend) through the shared-memory rings; when BFD says Down the BGP session is closed at
once with NOTIFICATION Cease/10 "BFD Down" (RFC 9384) and the neighbor's paths leave the Loc-RIB
(issue: BGP speaker, item 6).

`edge` runs strobe-dataplane and strobe-bgpd (AS 64512, multipath with as-path relax); `fr1`
(AS 64601) and `fr2` (AS 64602) run FRR bfdd + bgpd with `neighbor ... bfd`, each on its own veth,
both announcing the VIP. BFD at 100 ms x 3 (detection time 300 ms). Shown:
  1. both sessions Established with BFD up; the VIP has two multipath paths;
  2. fr1's egress is silenced (carrier kept): its path is gone within the detection time plus a
     margin for polling, and strobe-bgpd withdrew it within 5 ms of the dataplane's Down;
  3. strobectl shows last_notification_sent {code 6, subcode 10}; FRR recorded the NOTIFICATION
     Cease/BFD Down as received; fr2's path stays;
  4. unsilenced, BFD and BGP come back and the VIP has two paths again;
  5. the dataplane is killed (-9): BFD is lost for both neighbors, treated as Down (Cease/10);
     when a new dataplane starts the client attaches again and BFD comes back up.
"""

import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import (DATAPLANE, Bgpd, Strobe, check, frr_anycast_node,  # noqa: E402
                    frr_bgp_neighbor)
from strobe import frr_bfd_settled as frr_bfd_settled_on  # noqa: E402

LOCAL_AS = 64512
VIP = "198.19.200.1/32"
DETECT_MS = 300
# strobectl is polled about every 5 ms, and each call takes a few ms on this machine.
POLL_MARGIN_MS = 150


def frr_config(asn: int, link: lab.Link) -> str:
    return frr_anycast_node(asn, link, LOCAL_AS, [VIP])


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, fr1, fr2 = L.ns("edge"), L.ns("fr1"), L.ns("fr2")
        l1, l2 = L.link(edge, fr1, v6=False), L.link(edge, fr2, v6=False)
        L.start_frr(fr1, frr_config(64601, l1), daemons=("zebra", "bfdd", "bgpd"))
        L.start_frr(fr2, frr_config(64602, l2), daemons=("zebra", "bfdd", "bgpd"))
        # The dpdk backend (dpdk_bgp_bfd): a port on each link, BGP through the kernel beside it.
        dataplane = Strobe(L, edge, [], [], name="dataplane", interfaces=[l1.if_a, l2.if_a])
        profile = {"name": "fast", "desired_min_tx_us": 100000, "required_min_rx_us": 100000,
                   "detect_mult": 3}
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"],
                     "max_paths": 16, "multipath_relax": True},
                    neighbors=[{"address": l.v4_b, "remote_as": asn, "connect_retry_s": 2,
                                "bfd_profile": "fast"}
                               for l, asn in ((l1, 64601), (l2, 64602))],
                    profiles=[profile], dataplane_socket=dataplane.socket)

        def vip_paths() -> dict[str, dict]:
            return {p["neighbor"]: p for p in bgpd.route_map().get(VIP, [])}

        def both_up() -> bool:
            ns = bgpd.neighbors()
            paths = vip_paths()
            return (all(n["state"] == "established" and n["bfd"] == "up" for n in ns)
                    and len(paths) == 2 and all(p["multipath"] for p in paths.values()))

        # FRR's bgpd installs its BFD session without an interface and, once BGP is up (it then
        # knows the interface), installs it again: the new session starts Down, which we see as
        # the neighbor signalling Down and answer with Cease/10 once. Steady state is when FRR's
        # session has its interface and is up on both sides.
        def frr_bfd_settled() -> bool:
            return frr_bfd_settled_on(L, (fr1, fr2), (l1, l2))

        # 1. Established, BFD up, two multipath paths.
        lab.wait_until(lambda: frr_bfd_settled() and both_up(), 40,
                       what="both neighbors Established with BFD up, VIP 2-way")
        baseline = {n["address"]: n["established_transitions"] for n in bgpd.neighbors()}
        sessions = dataplane.sessions()
        check(len(sessions) == 2 and all(s["state"] == "up" for s in sessions),
              f"dataplane sessions: {sessions}")
        check({s["peer"] for s in sessions} == {l1.v4_b, l2.v4_b}, f"BFD peers {sessions}")
        print("PASS: BGP Established with BFD up on both neighbors (sessions created by "
              "strobe-bgpd through the rings); VIP has 2 multipath paths")

        # 2. Silence fr1 (its egress only: our NOTIFICATION can still reach it).
        t0 = time.monotonic()
        L.silence(fr1, l1.if_b, ingress=False)
        lab.wait_until(lambda: l1.v4_b not in vip_paths(), 5, interval_s=0.005,
                       what="fr1's path to leave the Loc-RIB")
        observed_ms = (time.monotonic() - t0) * 1000
        n1 = bgpd.neighbor(l1.v4_b)
        latency_us = n1["bfd_last_down_withdraw_latency_us"]
        print(f"fr1's path gone {observed_ms:.1f} ms after the silence (detection time "
              f"{DETECT_MS} ms); withdrawn {latency_us} us after the dataplane's Down")
        check(observed_ms <= DETECT_MS + POLL_MARGIN_MS,
              f"path removed {observed_ms:.1f} ms after the silence, want <= "
              f"{DETECT_MS + POLL_MARGIN_MS}")
        check(latency_us is not None and latency_us < 5000,
              f"withdrawal {latency_us} us after the dataplane's Down, want < 5 ms")
        print(f"PASS: path removed within detection time + {POLL_MARGIN_MS} ms of polling; "
              f"withdrawn {latency_us / 1000:.3f} ms after the dataplane declared Down")

        # 3. Cease/10 on both sides; fr2 untouched.
        check(n1["state"] != "established", f"fr1 still established: {n1['state']}")
        sent = n1["last_notification_sent"]
        check(sent is not None and sent["code"] == 6 and sent["subcode"] == 10,
              f"last_notification_sent {sent}")
        check(n1["bfd"] == "down", f"bfd {n1['bfd']}")

        def frr_got_bfd_down() -> dict | None:
            nb = frr_bgp_neighbor(L, fr1, l1.v4_a)
            text = str(nb.get("lastNotificationReason", "")) + str(nb.get("lastResetDueTo", ""))
            return nb if "BFD" in text else None
        nb = lab.wait_until(frr_got_bfd_down, 10,
                            what="FRR fr1 to record the NOTIFICATION Cease/BFD Down")
        print(f"FRR fr1: lastNotificationReason={nb.get('lastNotificationReason')!r} "
              f"lastResetDueTo={nb.get('lastResetDueTo')!r}")
        paths = vip_paths()
        check(list(paths) == [l2.v4_b] and paths[l2.v4_b]["best"], f"VIP paths {paths}")
        n2 = bgpd.neighbor(l2.v4_b)
        check(n2["state"] == "established" and
              n2["established_transitions"] == baseline[l2.v4_b], f"fr2 flapped: {n2}")
        print("PASS: NOTIFICATION Cease/10 sent (strobectl) and received (FRR); fr2 untouched")

        # 4. Back.
        L.unsilence(fr1, l1.if_b)
        lab.wait_until(both_up, 40, what="fr1 back: Established, BFD up, VIP 2-way")
        print("PASS: unsilenced: BFD and BGP back, VIP 2-way again")

        # 5. The dataplane dies (kill -9): BFD lost, treated as Down for both neighbors.
        before = {n["address"]: n["established_transitions"] for n in bgpd.neighbors()}
        L.stop(dataplane.proc, sig=signal.SIGKILL)
        lab.wait_until(lambda: all(n["last_reset_reason"] == "BFD down (dataplane lost)" and
                                   n["bfd"] != "up" for n in bgpd.neighbors()), 5,
                       what="both neighbors closed as BFD Down after the dataplane died")
        for n in bgpd.neighbors():
            check(n["last_notification_sent"]["subcode"] == 10, f"notification {n}")
        # A new dataplane at the same socket path (the one in strobe-bgpd's config).
        restarted = L.spawn(edge, [DATAPLANE, "--config", str(dataplane.config_path)],
                            L.run_dir / "dataplane" / "dataplane-restarted.log",
                            desc="strobe-dataplane (restarted)")
        lab.wait_until(lambda: restarted.poll() is None and dataplane.ctl_raw(
            "show", "bfd", "counters").returncode == 0, 10, what="the new dataplane to answer")
        lab.wait_until(both_up, 60, what="BFD up again on the new dataplane, BGP Established")
        after = {n["address"]: n["established_transitions"] for n in bgpd.neighbors()}
        check(all(after[a] > before[a] for a in before), f"transitions {before} -> {after}")
        print("PASS: dataplane lost -> BFD Down for both neighbors; a new dataplane: BFD and "
              "BGP back")
        rc = bgpd.stop(signal.SIGTERM)
        check(rc == 0, f"strobe-bgpd exit status {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
