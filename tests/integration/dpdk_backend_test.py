#!/usr/bin/env python3
"""The dpdk backend's own behaviour, against FRR bfdd over a veth taken by net_af_packet (the
backend-independent suite runs unchanged on it as dpdk_*):

  1. Sessions (IPv4 and IPv6, 20 ms) come Up and every Up session transmits from its prebuilt
     frame on the worker's DPDK queue (tx_path "dpdk", the worker's tx_dpdk, the queue's and the
     device's tx counters).
  2. Reception is polled on the queue: BFD frames are counted there, and the steady state (the
     same 24 bytes as the last packet the FSM accepted) only stamps the session: over 90 % of a
     session's packets never reach the FSM.
  3. The kernel keeps its copy of every frame (ARP, ND: rx_not_bfd > 0) but its BFD listeners
     drop what arrives on the port's interface: each packet is processed once (the FSM's count
     stays small) and the kernel never answers BFD with ICMP port unreachable.
  4. FRR silenced (link left up): Down by detection timeout on the polled path.
  5. Errors at start: a port on a missing interface and a device that cannot be probed are
     refused with the file:line of the port and a reason, exit code 1.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
import strobe as strobe_mod  # noqa: E402
from strobe import DATAPLANE, Strobe, check, frr_peers  # noqa: E402

INTERVAL_MS = 20


def icmp_dest_unreachs(L: lab.Lab, ns: str) -> int:
    snmp = L.exec(ns, ["cat", "/proc/net/snmp"]).stdout.splitlines()
    heads = next(line.split() for line in snmp if line.startswith("Icmp: InMsgs"))
    values = next(line.split() for line in snmp if line.startswith("Icmp: ") and
                  line.split()[1].isdigit())
    return int(values[heads.index("OutDestUnreachs")])


def refused(L: lab.Lab, ns: str, name: str, port: dict, want: str) -> None:
    """A dataplane whose only port is `port` exits 1 with `want` and the port's file:line."""
    d = L.run_dir / name
    d.mkdir()
    config = d / "strobe.toml"
    text = "\n".join(strobe_mod.toml_table("[dataplane]", {
        "backend": "dpdk", "workers": [0], "control_socket": str(d / "strobe.sock")}) +
        strobe_mod.toml_table("[dataplane.dpdk]", {
            "eal_args": ["--no-pci", "--no-huge", "-m", "128", "--no-shconf", "--no-telemetry",
                         "-l", "0"]}) +
        strobe_mod.toml_table("[[dataplane.dpdk.port]]", port))
    config.write_text(text)
    port_line = text.splitlines().index("[[dataplane.dpdk.port]]") + 1
    cp = L.exec(ns, [DATAPLANE, "--config", str(config)], check=False, timeout=60)
    out = cp.stdout + cp.stderr
    check(cp.returncode == 1, f"{name}: exit {cp.returncode}, want 1:\n{out}")
    check(f"{config}:{port_line}: " in out and want in out,
          f"{name}: want {config}:{port_line} and {want!r} in:\n{out}")
    print(f"PASS: {name} refused: "
          + next(line for line in out.splitlines() if want in line).split("ERROR ")[-1])


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    if strobe_mod.BACKEND != "dpdk":
        raise SystemExit("run with STROBE_BACKEND=dpdk (meson does)")
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr)
        L.wait_ipv6_ready(edge)
        L.wait_ipv6_ready(frr)
        L.start_frr(frr, "\n".join([
            "bfd",
            f" peer {link.v4_a} local-address {link.v4_b} interface {link.if_b}",
            f"  transmit-interval {INTERVAL_MS}", f"  receive-interval {INTERVAL_MS}", " !",
            f" peer {link.v6_a} local-address {link.v6_b} interface {link.if_b}",
            f"  transmit-interval {INTERVAL_MS}", f"  receive-interval {INTERVAL_MS}", " !",
        ]) + "\n")
        profiles = [{"name": "fast", "desired_min_tx_us": INTERVAL_MS * 1000,
                     "required_min_rx_us": INTERVAL_MS * 1000, "detect_mult": 3}]
        strobe = Strobe(L, edge, profiles, [
            {"peer": link.v4_b, "local": link.v4_a, "interface": link.if_a, "profile": "fast"},
            {"peer": link.v6_b, "local": link.v6_a, "interface": link.if_a, "profile": "fast"},
        ])
        strobe.wait_all("up", 20, count=2)
        lab.wait_until(lambda: all(p["status"] == "up" for p in frr_peers(L, frr).values()),
                       20, what="FRR peers up")
        # Both ends at 20 ms (FRR's own Poll Sequence done), then two seconds of steady state.
        lab.wait_until(lambda: all(s["tx_interval_us"] == INTERVAL_MS * 1000 and
                                   not s["poll_in_progress"] for s in strobe.sessions()),
                       10, what="both sessions at 20 ms")
        before = {s["peer"]: s for s in strobe.sessions()}
        time.sleep(2)  # traffic to count, not synchronisation
        after = {s["peer"]: s for s in strobe.sessions()}
        counters = strobe.counters()

        # 1. Transmission from the DPDK queue.
        for peer, s in after.items():
            check(s["state"] == "up" and s["tx_path"] == "dpdk", f"session not on dpdk: {s}")
            sent = s["tx_packets"] - before[peer]["tx_packets"]
            check(sent >= 60, f"{peer}: {sent} packets sent in 2 s at 20 ms")
        ports = counters["dpdk"]["ports"]
        check(len(ports) == 1 and ports[0]["interface"] == link.if_a and
              ports[0]["driver"] == "net_af_packet", f"ports: {ports}")
        port = ports[0]
        queue = port["queues"][0]
        worker = counters["workers"][0]
        check(worker["tx_dpdk"] > 0 and queue["tx_frames"] >= worker["tx_dpdk"] and
              port["tx"] >= queue["tx_frames"] and queue["tx_dropped"] == 0 and
              queue["tx_no_mbuf"] == 0,
              f"DPDK transmission: worker tx_dpdk {worker['tx_dpdk']}, queue {queue}, "
              f"device tx {port['tx']}")
        print(f"PASS: Up sessions transmit on the DPDK queue ({worker['tx_dpdk']} frames, "
              f"device counted {port['tx']})")

        # 2. Polled reception and the steady state.
        for peer, s in after.items():
            received = s["rx_packets"] - before[peer]["rx_packets"]
            steady = s["rx_steady"] - before[peer]["rx_steady"]
            check(received >= 60 and steady >= 0.9 * received,
                  f"{peer}: {received} received in 2 s, {steady} of them steady: {s}")
        check(queue["rx_bfd"] >= sum(s["rx_packets"] for s in after.values()),
              f"queue rx_bfd {queue['rx_bfd']} < sessions' rx: {queue}")
        share = sum(s["rx_steady"] for s in after.values()) / sum(
            s["rx_packets"] for s in after.values())
        print(f"PASS: reception polled on the queue ({queue['rx_bfd']} BFD frames); "
              f"{100 * share:.1f} % of the sessions' packets only stamped them (steady state)")

        # 3. The kernel's copy: non-BFD frames seen and left to it; BFD processed once, never
        #    answered with ICMP.
        check(queue["rx_not_bfd"] > 0, f"no non-BFD frame seen (ARP/ND): {queue}")
        to_fsm = sum(s["rx_to_user"] for s in after.values())
        check(to_fsm < 0.1 * sum(s["rx_packets"] for s in after.values()),
              f"{to_fsm} packets reached the FSM: processed twice (listener and queue)?")
        unreachable = icmp_dest_unreachs(L, edge)
        check(unreachable == 0, f"the edge's kernel sent {unreachable} ICMP destination "
              "unreachable messages (its BFD listeners must hold the ports)")
        print(f"PASS: the kernel kept its copy ({queue['rx_not_bfd']} non-BFD frames, "
              f"{queue['rx_own']} of its own) and answered no BFD packet with ICMP")

        # 4. Detection on the polled path.
        L.silence(frr, link.if_b)
        down = lab.wait_until(
            lambda: (lambda s: s if s["state"] == "down" else None)(strobe.session(link.v4_b)),
            5, what="the silenced IPv4 session Down")
        check(down["local_diag"] == 1, f"diag {down['local_diag']}, want 1: {down}")
        latency_ms = down["last_detection_latency_us"] / 1000
        detect_ms = 3 * INTERVAL_MS
        check(detect_ms <= latency_ms <= detect_ms * 1.1 + 1,
              f"Down {latency_ms:.3f} ms after the last packet, detection time {detect_ms} ms")
        print(f"PASS: silenced peer Down {latency_ms:.3f} ms after its last packet "
              f"(detection time {detect_ms} ms)")
        L.unsilence(frr, link.if_b)
        # Ports closed, pools freed, the EAL cleaned up: a clean exit (sanitizers report here).
        status = strobe.stop()
        check(status == 0, f"strobe-dataplane exited with {status} on SIGTERM")

        # 5. Clear errors at start.
        refused(L, edge, "missing_interface",
                {"interface": "nosuch0", "devargs": "net_af_packet0,iface=nosuch0"},
                "no kernel interface named nosuch0")
        refused(L, edge, "unprobeable_device",
                {"interface": link.if_a, "devargs": "net_nosuchdriver0"},
                "cannot probe the device")
    return 0


if __name__ == "__main__":
    sys.exit(main())
