#!/usr/bin/env python3
"""Link and peer failures, Strobe <-> FRR bfdd at 20 ms (FRR's multiplier 3: Strobe's detection
time 60 ms; Strobe's multiplier 5), and each recovery:

  link flap, peer side   FRR's end of the veth set down (Strobe's end loses carrier) and up
                         again: the IPv4 and IPv6 sessions on it go Down with diag 1 (Control
                         Detection Time Expired: nothing more reaches Strobe) within 60 ms + 10 %,
                         the session on the other veth stays Up; both come Up again;
  link flap, our side    the same with Strobe's own end set down and up: the sessions come back
                         on the same sockets (and AF_XDP queues) without a restart;
  daemon crash           FRR's bfdd killed (SIGKILL) and started again with its configuration:
                         every session to it Down with diag 1 within the detection time + 10 %,
                         then Up again towards new discriminators;
  daemon stop            bfdd stopped with SIGTERM and started again: if FRR said AdminDown or
                         Down on the way out (seen in a capture), the sessions go Down at once
                         with diag 3 (RFC 5880 6.8.6, Neighbor Signaled Session Down), else with
                         diag 1 within the detection time; then Up again;
  peer reboot            a second FRR behind a bridge (a switch: no carrier change at Strobe)
                         loses power: its daemons killed, its namespace deleted with its veth,
                         then a new namespace with the same addresses and MAC and FRR started
                         again: Down with diag 1 within the detection time + 10 %, then Up with
                         the new instance (new remote discriminator); the other peer's sessions
                         never move.
IPv6 addresses survive an administrative down here (keep_addr_on_down), as a router's configured
addresses do.
"""

import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import faults  # noqa: E402
import lab  # noqa: E402
from strobe import BACKEND, Strobe, check, frr_peers  # noqa: E402

INTERVAL_MS = 20
PEER_MULT = 3
DETECT_MS = INTERVAL_MS * PEER_MULT


def frr_peer(local: str, peer: str, ifname: str) -> list[str]:
    return [f" peer {peer} local-address {local} interface {ifname}",
            f"  transmit-interval {INTERVAL_MS}", f"  receive-interval {INTERVAL_MS}",
            f"  detect-multiplier {PEER_MULT}", " !"]


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        t_start = time.monotonic()
        edge, frr, sw = L.ns("edge"), L.ns("frr"), L.ns("switch")
        for ns in (edge, frr):
            L.exec(ns, ["sysctl", "-qw", "net.ipv6.conf.all.keep_addr_on_down=1",
                        "net.ipv6.conf.default.keep_addr_on_down=1"])
        flap = L.link(edge, frr)                 # flapped: IPv4 and IPv6 sessions
        steady = L.link(edge, frr, v6=False)     # never touched
        # The rebooted peer sits behind a bridge in `switch`.
        frr2 = L.ns("frr2")
        boot, up_port, down_port = faults.wire(L, edge, frr2, sw, v6=False)
        L.exec(sw, ["ip", "link", "add", "br0", "type", "bridge"])
        for port in (up_port, down_port):
            L.exec(sw, ["ip", "link", "set", port, "master", "br0"])
        L.exec(sw, ["ip", "link", "set", "br0", "up"])
        frr2_mac = L.exec(frr2, ["cat", f"/sys/class/net/{boot.if_b}/address"]).stdout.strip()

        frr_conf = "\n".join(["bfd"] + frr_peer(flap.v4_b, flap.v4_a, flap.if_b)
                             + frr_peer(flap.v6_b, flap.v6_a, flap.if_b)
                             + frr_peer(steady.v4_b, steady.v4_a, steady.if_b)) + "\n"
        frr2_conf = "\n".join(["bfd"] + frr_peer(boot.v4_b, boot.v4_a, boot.if_b)) + "\n"
        L.start_frr(frr, frr_conf)
        L.start_frr(frr2, frr2_conf)
        us = INTERVAL_MS * 1000
        strobe = Strobe(L, edge, [{"name": "p", "desired_min_tx_us": us, "required_min_rx_us": us,
                                   "detect_mult": 5}],
                        [{"peer": peer, "local": local, "interface": ifname, "profile": "p"}
                         for peer, local, ifname in ((flap.v4_b, flap.v4_a, flap.if_a),
                                                     (flap.v6_b, flap.v6_a, flap.if_a),
                                                     (steady.v4_b, steady.v4_a, steady.if_a),
                                                     (boot.v4_b, boot.v4_a, boot.if_a))],
                        dataplane=faults.DATAPLANE)
        flapped = [flap.v4_b, flap.v6_b]
        to_frr = flapped + [steady.v4_b]
        everyone = to_frr + [boot.v4_b]

        def settled(peers=everyone) -> bool:
            ss = {s["peer"]: s for s in strobe.sessions()}
            return all(ss[p]["state"] == "up" and not ss[p]["poll_in_progress"]
                       and ss[p]["detect_time_us"] == DETECT_MS * 1000 for p in peers)
        lab.wait_until(settled, 20, what="every session Up on 60 ms detection")
        print(f"four sessions up at {INTERVAL_MS} ms ({time.monotonic() - t_start:.1f} s)")

        def by_peer() -> dict[str, dict]:
            return {s["peer"]: s for s in strobe.sessions()}

        def expect_down(what: str, peers: list[str], before: dict[str, dict], t_fault: float,
                        diag: int = 1) -> None:
            """Every session in `peers` went Down once with `diag`; with diag 1 within the
            detection time + 10 % of its last packet; the others did not move."""
            lab.wait_until(lambda: all(s["down_transitions"] > before[p]["down_transitions"]
                                       for p, s in by_peer().items() if p in peers),
                           5, interval_s=0.01, what=f"Down after the {what}")
            seen_ms = (time.monotonic() - t_fault) * 1000
            now = by_peer()
            for p in peers:
                s = now[p]
                latency = s["last_detection_latency_us"] / 1000
                print(f"  {what}: {p} Down, diag {s['local_diag']} ({s['local_diag_text']})"
                      + (f", {latency:.2f} ms after its last packet" if diag == 1 else "")
                      + f"; seen {seen_ms:.0f} ms after the fault")
                check(s["down_transitions"] == before[p]["down_transitions"] + 1,
                      f"{what}: {p} went Down more than once: {s}")
                check(s["local_diag"] == diag, f"{what}: {p} diag {s['local_diag']}, want {diag}")
                if diag == 1:
                    check(DETECT_MS <= latency <= DETECT_MS * 1.1 + 2,
                          f"{what}: {p} Down {latency} ms after its last packet")
            for p in everyone:
                if p not in peers:
                    check(now[p]["state"] == "up" and
                          now[p]["down_transitions"] == before[p]["down_transitions"],
                          f"{what}: {p} moved: {now[p]}")

        def expect_up(what: str, peers: list[str], t0: float) -> None:
            lab.wait_until(lambda: settled(peers), 20, what=f"Up again after the {what}")
            print(f"  {what}: Up again {time.monotonic() - t0:.1f} s after the repair")

        # Link flap, FRR's side.
        before = by_peer()
        t = time.monotonic()
        L.exec(frr, ["ip", "link", "set", flap.if_b, "down"])
        expect_down("peer-side link down", flapped, before, t)
        lab.wait_until(lambda: not L.link_is_up(edge, flap.if_a), 5, what="carrier lost")
        fp = frr_peers(L, frr)
        for p in (flap.v4_a, flap.v6_a):
            print(f"  FRR: {p} {fp[p]['status']}, diagnostic {fp[p].get('diagnostic')}")
        t = time.monotonic()
        L.exec(frr, ["ip", "link", "set", flap.if_b, "up"])
        expect_up("peer-side link flap", flapped, t)
        print("PASS: peer-side link flap: Down with diag 1 within the detection time + 10 %, "
              "Up again; the other link's session never moved")

        # Link flap, Strobe's side.
        before = by_peer()
        t = time.monotonic()
        L.exec(edge, ["ip", "link", "set", flap.if_a, "down"])
        expect_down("our link down", flapped, before, t)
        t = time.monotonic()
        L.exec(edge, ["ip", "link", "set", flap.if_a, "up"])
        expect_up("our link flap", flapped, t)
        after = by_peer()
        print(f"  transmit errors while our link was down: "
              f"{[after[p]['tx_errors'] - before[p]['tx_errors'] for p in flapped]}")
        print("PASS: our link flap: Down with diag 1, Up again on the same sockets")

        # bfdd crashes and comes back.
        before = by_peer()
        t = time.monotonic()
        t_restart = [0.0]

        def crashed() -> None:
            expect_down("bfdd crash", to_frr, before, t)
            t_restart[0] = time.monotonic()
        lab.frr_restart_daemon(L, frr, "bfdd", frr_conf, sig=signal.SIGKILL, while_down=crashed)
        expect_up("bfdd restart", to_frr, t_restart[0])
        after = by_peer()
        check(all(after[p]["remote_discriminator"] != before[p]["remote_discriminator"]
                  for p in to_frr), "the restarted bfdd kept its discriminators?")
        print("PASS: bfdd crash: Down with diag 1 within the detection time + 10 %, Up again "
              "with the new instance")

        # bfdd stopped cleanly and started again.
        before = by_peer()
        cap = faults.Capture(L, frr, steady.if_b, "bfdd-stop")
        rx0 = by_peer()[steady.v4_b]["rx_packets"]
        lab.wait_until(lambda: by_peer()[steady.v4_b]["rx_packets"] >= rx0 + 3, 5,
                       what="FRR's packets in the capture")
        t = time.monotonic()

        def stopped() -> None:
            packets = cap.stop()
            last = [p for p in packets if p.src == steady.v4_b]
            said = last[-1].state_name if last else "nothing"
            print(f"  bfdd's last packet on the way out: {said}"
                  + (f", diag {last[-1].diag}" if last else ""))
            expect_down("bfdd stop", to_frr, before, t,
                        diag=3 if said in ("admin-down", "down") else 1)
            t_restart[0] = time.monotonic()
        lab.frr_restart_daemon(L, frr, "bfdd", frr_conf, sig=signal.SIGTERM, while_down=stopped)
        expect_up("bfdd start", to_frr, t_restart[0])
        print("PASS: bfdd stop: Down with the diagnostic its last packet called for, Up again")

        # The second peer reboots: power lost, namespace (and its veth) gone, then back.
        before = by_peer()
        t = time.monotonic()
        lab.frr_stop(L, frr2)
        L.exec(None, ["ip", "netns", "del", frr2])
        expect_down("peer power loss", [boot.v4_b], before, t)
        frr2b = L.ns("frr2")
        L.exec(None, ["ip", "link", "add", down_port, "netns", sw, "type", "veth", "peer", "name",
                      boot.if_b, "netns", frr2b, "address", frr2_mac])
        L.exec(sw, ["ip", "link", "set", down_port, "master", "br0"])
        L.addr_add(frr2b, boot.if_b, f"{boot.v4_b}/24")
        for ns, ifname in ((sw, down_port), (frr2b, boot.if_b)):
            L.exec(ns, ["ip", "link", "set", ifname, "up"])
        t_boot = time.monotonic()
        L.start_frr(frr2b, frr2_conf)
        expect_up("peer reboot", [boot.v4_b], t_boot)
        after = by_peer()
        check(after[boot.v4_b]["remote_discriminator"] != before[boot.v4_b]["remote_discriminator"],
              "Up with the old discriminator after the reboot?")
        check(all(after[p]["down_transitions"] == before[p]["down_transitions"] for p in to_frr),
              f"the other peer's sessions moved: {after}")
        print(f"PASS: peer reboot: Down with diag 1 within the detection time + 10 %, Up again "
              f"with the new instance ({BACKEND} backend, "
              f"total {time.monotonic() - t_start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
