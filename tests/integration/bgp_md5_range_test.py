#!/usr/bin/env python3
"""TCP-MD5 (RFC 2385) on a listen range: dynamic neighbors must sign (issue: BGP speaker).

`edge` runs strobe-bgpd (AS 64512) with one [[bgp.listen_range]] (198.18.0.0/16, remote AS
64600-64699) that has an `md5_password`, and no configured neighbor. Four FRR nodes, each on its
own veth inside the range, connect in: two with the right password, one with a wrong password and
one with none. Shown:
  1. the two with the right password come up as dynamic neighbors and their routes reach the
     Loc-RIB; our network reaches them;
  2. the kernel of `edge` drops the SYNs of the other two (TcpExt TCPMD5Failure for the wrong
     password, TCPMD5NotFound for the unsigned one: the key is on the listening socket), so
     strobe-bgpd never sees a connection from them: `show bgp neighbors` never lists them, and
     FRR never reaches Established with either, while both keep trying.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check, frr_bgp_neighbor, frr_bgp_routes  # noqa: E402

LOCAL_AS = 64512
PASSWORD = "range-md5-s3cret"
RANGE = "198.18.0.0/16"
OURS = "198.19.100.0/24"


def frr_config(asn: int, link: lab.Link, prefix: str, password: str | None) -> str:
    pw = f" neighbor {link.v4_a} password {password}\n" if password else ""
    return f"""
router bgp {asn}
 bgp router-id {link.v4_b}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {link.v4_a} remote-as {LOCAL_AS}
 neighbor {link.v4_a} timers connect 1
{pw} address-family ipv4 unicast
  network {prefix}
 exit-address-family
"""


def tcp_ext(L: lab.Lab, ns: str) -> dict[str, int]:
    """The TcpExt counters of namespace `ns` (/proc/net/netstat is per network namespace)."""
    lines = [ln.split() for ln in L.exec(ns, ["cat", "/proc/net/netstat"]).stdout.splitlines()]
    for names, values in zip(lines, lines[1:]):
        if names[0] == "TcpExt:" and values[0] == "TcpExt:" and not names[1].isdigit():
            return dict(zip(names[1:], map(int, values[1:])))
    raise lab.LabError("no TcpExt counters in /proc/net/netstat")


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge = L.ns("edge")
        # (tag, AS, password, announced prefix)
        specs = [("good1", 64601, PASSWORD, "198.19.1.0/24"),
                 ("good2", 64602, PASSWORD, "198.19.2.0/24"),
                 ("wrong", 64603, "not-the-password", "198.19.3.0/24"),
                 ("unsigned", 64604, None, "198.19.4.0/24")]
        nodes = {}
        for tag, asn, password, prefix in specs:
            ns = L.ns(tag)
            nodes[tag] = (ns, L.link(edge, ns, v6=False), asn, password, prefix)
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]},
                    ranges=[{"prefix": RANGE, "remote_as": [64600, 64699],
                             "md5_password": PASSWORD}],
                    networks=[{"prefix": OURS}])
        before = tcp_ext(L, edge)
        for ns, link, asn, password, prefix in nodes.values():
            L.start_frr(ns, frr_config(asn, link, prefix, password), daemons=("zebra", "bgpd"))
        good = [nodes["good1"], nodes["good2"]]
        refused = {nodes["wrong"][1].v4_b: "wrong", nodes["unsigned"][1].v4_b: "unsigned"}

        def listed_refused() -> None:
            shown = {n["address"]: n["state"] for n in bgpd.neighbors()}
            for address, tag in refused.items():
                if address in shown:
                    raise AssertionError(f"the {tag} node {address} is a neighbor: "
                                         f"{shown[address]}")

        # 1. The two signing nodes: dynamic neighbors, routes both ways.
        def both_up() -> list[dict] | None:
            listed_refused()
            up = [n for n in bgpd.neighbors() if n["state"] == "established"]
            return up if len(up) == 2 else None
        up = {n["address"]: n for n in lab.wait_until(both_up, 30,
                                                      what="2 signed dynamic neighbors")}
        for ns, link, asn, _, prefix in good:
            n = up.get(link.v4_b)
            check(n is not None and n["dynamic"] and n["listen_range"] == RANGE and
                  n["remote_as"] == asn, f"{link.v4_b}: {n}")
            lab.wait_until(lambda p=prefix, a=link.v4_b: any(
                x["neighbor"] == a for x in bgpd.route_map().get(p, [])), 10,
                what=f"{prefix} from {link.v4_b} in the Loc-RIB")
            lab.wait_until(lambda ns=ns: OURS in frr_bgp_routes(L, ns), 10,
                           what=f"FRR {ns} to learn {OURS}")
        print("PASS: 2 FRR nodes with the range's TCP-MD5 password are dynamic neighbors, "
              "routes both ways")

        # 2. The other two keep trying; the kernel drops every SYN; never a neighbor.
        def dropped() -> dict | None:
            listed_refused()
            now = tcp_ext(L, edge)
            delta = {k: now.get(k, 0) - before.get(k, 0)
                     for k in ("TCPMD5Failure", "TCPMD5NotFound")}
            return delta if min(delta.values()) >= 3 else None
        delta = lab.wait_until(dropped, 20,
                               what="edge's kernel to drop 3 SYNs of each unsigned/wrong node")
        for tag in refused.values():
            ns, link = nodes[tag][0], nodes[tag][1]
            nb = frr_bgp_neighbor(L, ns, link.v4_a)
            check(nb.get("bgpState") != "Established" and
                  nb.get("connectionsEstablished") == 0,
                  f"FRR {tag}: {nb.get('bgpState')}, {nb.get('connectionsEstablished')} "
                  "connections established")
            check(nodes[tag][4] not in bgpd.route_map(), f"{tag}'s prefix in the Loc-RIB")
        listed_refused()
        check(len(both_up() or []) == 2, "the signed neighbors stay Established")
        print(f"PASS: wrong password and no password refused by the kernel ({delta}), never "
              "listed by strobe-bgpd, never Established in FRR")
    return 0


if __name__ == "__main__":
    sys.exit(main())
