#!/usr/bin/env python3
"""strobe-bgpd with BIRD 2: iBGP over IPv4 and IPv6, and the export rules (issue: BGP speaker).

`edge` runs strobe-bgpd (AS 64512). `b1` (BIRD, AS 64512) has two iBGP sessions with it, one over
IPv4 for IPv4 unicast and one over IPv6 for IPv6 unicast; `b2` (BIRD, AS 64512) is a second iBGP
neighbor; `b3` (BIRD, AS 64700) is an eBGP neighbor. Shown:
  1. every session Established;
  2. our networks reach b1 over iBGP: AS_PATH empty, LOCAL_PREF 100, next hop self;
  3. b1's IPv4 and IPv6 routes are in our Loc-RIB as iBGP paths (AS_PATH empty, LOCAL_PREF 100);
  4. b3's eBGP route is re-advertised to b1 and b2 (iBGP) with next hop self and b3's AS path;
  5. b1's iBGP route is not re-advertised to b2 (no iBGP to iBGP), but reaches b3 with our AS
     prepended and next hop self.
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Bgpd, check  # noqa: E402

LOCAL_AS = 64512
EBGP_AS = 64700
OUR_V4, OUR_V6 = "198.19.100.0/24", "2001:db8:ff00::/48"
B1_V4, B1_V6 = "198.19.10.0/24", "2001:db8:ff10::/48"
B2_V4 = "198.19.20.0/24"
B3_V4 = "198.19.30.0/24"


def bird_config(link: lab.Link, asn: int, v4_routes: list[str], v6_routes: list[str],
                v6_session: bool) -> str:
    conf = [f"router id {link.v4_b};", "protocol device {}",
            "protocol direct { ipv4; ipv6; }"]
    if v4_routes:
        conf.append("protocol static { ipv4; " +
                    " ".join(f"route {r} blackhole;" for r in v4_routes) + " }")
    if v6_routes:
        conf.append("protocol static { ipv6; " +
                    " ".join(f"route {r} blackhole;" for r in v6_routes) + " }")
    conf.append(f"""protocol bgp edge4 {{
  local {link.v4_b} as {asn};
  neighbor {link.v4_a} as {LOCAL_AS};
  connect retry time 1;
  error wait time 1, 5;
  direct;
  ipv4 {{ import all; export where source = RTS_STATIC; next hop self; }};
}}""")
    if v6_session:
        conf.append(f"""protocol bgp edge6 {{
  local {link.v6_b} as {asn};
  neighbor {link.v6_a} as {LOCAL_AS};
  connect retry time 1;
  error wait time 1, 5;
  direct;
  ipv6 {{ import all; export where source = RTS_STATIC; next hop self; }};
}}""")
    return "\n".join(conf) + "\n"


def bird_route(bird: lab.BirdInstance, prefix: str) -> dict | None:
    """BIRD's best route for `prefix`: {'via', 'as_path', 'local_pref', 'protocol'} or None."""
    try:
        out = bird.birdc(f"show route for {prefix} all")
    except lab.LabError as e:
        if "Network not found" in str(e):
            return None
        raise
    if prefix.split("/")[0] not in out:
        return None
    r: dict = {}
    m = re.search(r"via (\S+) on", out)
    r["via"] = m.group(1) if m else None
    m = re.search(r"BGP\.as_path:(.*)", out)
    r["as_path"] = m.group(1).split() if m else None
    m = re.search(r"BGP\.local_pref: (\d+)", out)
    r["local_pref"] = int(m.group(1)) if m else None
    m = re.search(r"\[(edge\d)", out)
    r["protocol"] = m.group(1) if m else None
    return r


def main() -> int:
    lab.require_root_tools(frr=False, tshark=False)
    with lab.Lab() as L:
        edge = L.ns("edge")
        n1, n2, n3 = L.ns("b1"), L.ns("b2"), L.ns("b3")
        l1 = L.link(edge, n1)
        l2 = L.link(edge, n2, v6=False)
        l3 = L.link(edge, n3, v6=False)
        b1 = L.start_bird(n1, bird_config(l1, LOCAL_AS, [B1_V4], [B1_V6], True))
        b2 = L.start_bird(n2, bird_config(l2, LOCAL_AS, [B2_V4], [], False))
        b3 = L.start_bird(n3, bird_config(l3, EBGP_AS, [B3_V4], [], False))
        bgpd = Bgpd(L, edge,
                    {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0", "::"]},
                    neighbors=[
                        {"address": l1.v4_b, "remote_as": LOCAL_AS, "connect_retry_s": 2,
                         "ipv6_unicast": False},
                        {"address": l1.v6_b, "remote_as": LOCAL_AS, "connect_retry_s": 2,
                         "ipv4_unicast": False},
                        {"address": l2.v4_b, "remote_as": LOCAL_AS, "connect_retry_s": 2,
                         "ipv6_unicast": False},
                        {"address": l3.v4_b, "remote_as": EBGP_AS, "connect_retry_s": 2,
                         "ipv6_unicast": False},
                    ],
                    networks=[{"prefix": OUR_V4}, {"prefix": OUR_V6}])

        # 1. Established.
        for addr in (l1.v4_b, l1.v6_b, l2.v4_b, l3.v4_b):
            bgpd.wait_established(addr, 30)
        types = {n["address"]: n["type"] for n in bgpd.neighbors()}
        check(types == {l1.v4_b: "ibgp", l1.v6_b: "ibgp", l2.v4_b: "ibgp", l3.v4_b: "ebgp"},
              f"types {types}")
        print("PASS: iBGP over IPv4 and IPv6 with BIRD b1, iBGP with b2, eBGP with b3")

        # 2. Our networks at b1 over iBGP.
        r4 = lab.wait_until(lambda: bird_route(b1, OUR_V4), 15, what=f"b1 to learn {OUR_V4}")
        check(r4["via"] == l1.v4_a and r4["as_path"] == [] and r4["local_pref"] == 100,
              f"b1's {OUR_V4}: {r4}")
        r6 = lab.wait_until(lambda: bird_route(b1, OUR_V6), 15, what=f"b1 to learn {OUR_V6}")
        check(r6["via"] == l1.v6_a and r6["as_path"] == [] and r6["local_pref"] == 100,
              f"b1's {OUR_V6}: {r6}")
        print("PASS: our IPv4 and IPv6 networks at BIRD over iBGP: empty AS_PATH, LOCAL_PREF "
              "100, next hop self")

        # 3. b1's routes here.
        def ours(prefix: str, via: str) -> dict | None:
            for p in bgpd.route_map().get(prefix, []):
                if p["next_hop"] == via and p["best"]:
                    return p
            return None
        p4 = lab.wait_until(lambda: ours(B1_V4, l1.v4_b), 15, what=f"{B1_V4} from b1")
        check(not p4["ebgp"] and p4["as_path"] == [] and p4["local_pref"] == 100, f"{p4}")
        p6 = lab.wait_until(lambda: ours(B1_V6, l1.v6_b), 15, what=f"{B1_V6} from b1")
        check(not p6["ebgp"] and p6["as_path"] == [], f"{p6}")
        print("PASS: b1's IPv4 and IPv6 routes in our Loc-RIB as iBGP paths")

        # 4. b3's eBGP route re-advertised to the iBGP neighbors, next hop self.
        lab.wait_until(lambda: ours(B3_V4, l3.v4_b), 15, what=f"{B3_V4} from b3")
        for bird, link in ((b1, l1), (b2, l2)):
            r = lab.wait_until(lambda bird=bird: bird_route(bird, B3_V4), 15,
                               what=f"{bird.ns} to learn b3's {B3_V4}")
            check(r["via"] == link.v4_a and r["as_path"] == [str(EBGP_AS)] and
                  r["local_pref"] == 100, f"{bird.ns}: {B3_V4} {r}")
        print("PASS: an eBGP route re-advertised to iBGP neighbors with next hop self")

        # 5. No iBGP -> iBGP; iBGP -> eBGP with our AS prepended.
        r = lab.wait_until(lambda: bird_route(b3, B1_V4), 15, what=f"b3 to learn b1's {B1_V4}")
        check(r["via"] == l3.v4_a and r["as_path"] == [str(LOCAL_AS)], f"b3: {B1_V4} {r}")
        # b2 learnt b3's route (above) after b1's route was already here: had we re-advertised
        # b1's iBGP route to b2 it would be there by now too.
        lab.wait_until(lambda: bird_route(b2, OUR_V4), 15, what=f"b2 to learn {OUR_V4}")
        check(bird_route(b2, B1_V4) is None, "b1's iBGP route was re-advertised to iBGP b2")
        n2 = bgpd.neighbor(l2.v4_b)
        check(n2["prefixes_advertised"] == 2, f"advertised to b2: {n2['prefixes_advertised']} "
              f"(want our network and b3's route)")
        print("PASS: no iBGP-to-iBGP re-advertisement; iBGP routes go to eBGP with our AS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
