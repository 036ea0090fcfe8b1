#!/usr/bin/env python3
"""The dpdk backend's kernel exception path: DPDK owns the link alone and the kernel reaches it
only through a TAP the dataplane creates (exception = "tap").

The edge's veth is the "NIC": net_af_packet reads it, but it has no address, no IPv6, and a tc
ingress drop so the edge's kernel stack never sees a frame that arrives on it (af_packet's tap
runs before tc ingress). The TAP carries the link's name for the sessions, the port's MAC and
the edge's addresses. Then, against FRR (bfdd + bgpd):

  1. BGP over the kernel's TCP, ARP and ND work through the exception path: strobe-bgpd and FRR
     Established, FRR's VIP received, with BFD (registered by strobe-bgpd) Up on the port;
  2. a configured IPv6 BFD session (ND through the TAP) comes Up and transmits on the port;
  3. the counters show both directions of the exception path (frames not BFD passed to the
     kernel, the kernel's frames sent on the port) and BFD kept off it;
  4. a stopped dataplane removes its TAP.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import Bgpd, Strobe, check, frr_anycast_node, frr_bfd_settled  # noqa: E402

LOCAL_AS = 64512
FRR_AS = 64601
VIP = "198.19.201.1/32"
TAP = "edge0"


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    if strobe_mod.BACKEND != "dpdk":
        raise SystemExit("run with STROBE_BACKEND=dpdk (meson does)")
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr)
        L.wait_ipv6_ready(frr)
        # The "NIC": the kernel gives it up.
        L.exec(edge, ["ip", "addr", "flush", "dev", link.if_a])
        L.exec(edge, ["sysctl", "-qw", f"net.ipv6.conf.{link.if_a}.disable_ipv6=1"])
        L.silence(edge, link.if_a, egress=False)
        # A veth leaves TCP/UDP checksums to "the hardware" (CHECKSUM_PARTIAL), and af_packet
        # hands DPDK the frame as it is: the TAP's kernel would drop FRR's TCP. A real wire carries
        # full checksums, so FRR's side computes them, as a NIC would.
        L.exec(frr, ["ethtool", "-K", link.if_b, "tx", "off"])

        profile = {"name": "fast", "desired_min_tx_us": 100000, "required_min_rx_us": 100000,
                   "detect_mult": 3}
        dataplane = Strobe(
            L, edge, [profile],
            [{"peer": link.v6_b, "local": link.v6_a, "interface": TAP, "profile": "fast"}],
            name="dataplane",
            dpdk_ports=[{"interface": TAP, "devargs": f"net_af_packet0,iface={link.if_a}",
                         "exception": "tap"}])
        # The kernel's side of the link is the TAP: it gets the edge's addresses.
        L.exec(edge, ["ip", "addr", "add", f"{link.v4_a}/{link.v4_plen}", "dev", TAP])
        L.exec(edge, ["ip", "addr", "add", f"{link.v6_a}/{link.v6_plen}", "dev", TAP, "nodad"])
        port_mac = dataplane.counters()["dpdk"]["ports"][0]["mac"]
        tap_mac = L.exec(edge, ["cat", f"/sys/class/net/{TAP}/address"]).stdout.strip()
        check(tap_mac == port_mac, f"TAP MAC {tap_mac}, port MAC {port_mac}")

        L.start_frr(frr, frr_anycast_node(FRR_AS, link, LOCAL_AS, [VIP]) + "\n".join([
            "bfd",
            f" peer {link.v6_a} local-address {link.v6_b} interface {link.if_b}",
            "  transmit-interval 100", "  receive-interval 100", " !",
        ]) + "\n", daemons=("zebra", "bfdd", "bgpd"))
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]},
                    neighbors=[{"address": link.v4_b, "remote_as": FRR_AS, "connect_retry_s": 1,
                                "bfd_profile": "fast"}],
                    profiles=[profile], dataplane_socket=dataplane.socket)

        # 1. BGP through the exception path, BFD on the port.
        def established() -> bool:
            n = bgpd.neighbors()
            return (len(n) == 1 and n[0]["state"] == "established" and n[0]["bfd"] == "up"
                    and VIP in bgpd.route_map())
        lab.wait_until(lambda: frr_bfd_settled(L, [frr], [link]) and established(), 40,
                       what="BGP Established with BFD up and the VIP received, through the TAP")
        print(f"PASS: BGP Established over the exception TAP, {VIP} received, BFD up")

        # 2. The configured IPv6 session (ND through the TAP) and the BGP one, on the port.
        sessions = dataplane.wait_all("up", 20, count=2)
        for s in sessions:
            check(s["interface"] == TAP, f"session not on {TAP}: {s}")
        lab.wait_until(lambda: all(s["tx_path"] == "dpdk" for s in dataplane.sessions()), 5,
                       what="both sessions transmitting on the DPDK port")
        print("PASS: IPv4 (from strobe-bgpd) and IPv6 (configured) sessions Up, sent on the port")

        # 3. Both directions of the exception path; BFD never on it.
        port = dataplane.counters()["dpdk"]["ports"][0]
        exception = port["exception"]
        queue, tap_queue = port["queues"][0], exception["queues"][0]
        check(exception["driver"] == "net_tap" and exception["mac"] == port_mac,
              f"exception port: {exception}")
        check(queue["forwarded"] > 0 and exception["tx"] >= queue["forwarded"],
              f"frames not BFD to the kernel: queue {queue}, TAP device tx {exception['tx']}")
        check(tap_queue["forwarded"] > 0 and queue["tx_frames"] >= 0,
              f"the kernel's frames to the port: {tap_queue}")
        check(queue["rx_bfd"] > 0 and queue["rx_own"] == 0, f"port queue: {queue}")
        print(f"PASS: exception path both ways: {queue['forwarded']} frames to the kernel, "
              f"{tap_queue['forwarded']} from it; {queue['rx_bfd']} BFD frames kept off it")

        # 4. The TAP goes with the dataplane (strobe-bgpd sees BFD lost first).
        bgpd.stop()
        status = dataplane.stop()
        check(status == 0, f"strobe-dataplane exited with {status}")
        gone = L.exec(edge, ["ip", "link", "show", TAP], check=False)
        check(gone.returncode != 0, f"{TAP} still exists after the dataplane stopped")
        print(f"PASS: the dataplane stopped cleanly and removed {TAP}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
