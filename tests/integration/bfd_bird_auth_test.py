#!/usr/bin/env python3
"""Strobe against BIRD 2 with each RFC 5880 authentication type (simple password, keyed MD5,
meticulous keyed MD5, keyed SHA1, meticulous keyed SHA1): every session comes Up on both sides
and stays Up across several sequence numbers; a session with the wrong key never comes Up and its
packets are counted as auth_failed.

BIRD sets authentication per interface, so each type gets its own veth.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import Strobe, check  # noqa: E402

SECRET = "s3cret-Key"
# (our config name, BIRD's name)
TYPES = [
    ("simple-password", "simple"),
    ("keyed-md5", "keyed md5"),
    ("meticulous-keyed-md5", "meticulous keyed md5"),
    ("keyed-sha1", "keyed sha1"),
    ("meticulous-keyed-sha1", "meticulous keyed sha1"),
]


def main() -> int:
    lab.require_root_tools(frr=False, tshark=False)
    with lab.Lab() as L:
        edge, bird = L.ns("edge"), L.ns("bird")
        links = [L.link(edge, bird, v6=False) for _ in range(len(TYPES) + 1)]
        wrong = links[-1]

        conf = ["router id 198.18.255.1;", "protocol device {}", "protocol bfd {"]
        for (_, bird_type), link in zip(TYPES + [("keyed-sha1", "keyed sha1")], links):
            conf += [f'  interface "{link.if_b}" {{', "    interval 100 ms;", "    multiplier 3;",
                     f"    authentication {bird_type};",
                     f'    password "{SECRET}" {{ id 7; }};', "  };"]
        for link in links:
            conf.append(f'  neighbor {link.v4_a} dev "{link.if_b}" local {link.v4_b};')
        conf.append("}")
        b = L.start_bird(bird, "\n".join(conf) + "\n")

        profiles = [{"name": name, "desired_min_tx_us": 100000, "required_min_rx_us": 100000,
                     "detect_mult": 3, "auth": {"type": name, "key_id": 7, "secret": SECRET}}
                    for name, _ in TYPES]
        profiles.append({"name": "wrong-key", "desired_min_tx_us": 100000,
                         "required_min_rx_us": 100000, "detect_mult": 3,
                         "auth": {"type": "keyed-sha1", "key_id": 7, "secret": "not-the-key"}})
        sessions = [{"peer": link.v4_b, "local": link.v4_a, "interface": link.if_a,
                     "profile": p["name"]} for link, p in zip(links, profiles)]
        strobe = Strobe(L, edge, profiles, sessions)

        good = [link.v4_b for link in links[:-1]]
        lab.wait_until(lambda: all(strobe.states()[p] == "up" for p in good), 20,
                       what="every authenticated session up at Strobe")
        lab.wait_until(lambda: all(lab.bird_bfd_sessions(b.ctl).get(link.v4_a) == "Up"
                                   for link in links[:-1]), 20,
                       what="every authenticated session up at BIRD")
        time.sleep(3)  # hold: dozens of sequence numbers must keep verifying
        by_peer = {s["peer"]: s for s in strobe.sessions()}
        for (name, _), peer in zip(TYPES, good):
            s = by_peer[peer]
            check(s["state"] == "up" and s["down_transitions"] == 0, f"{name}: {s}")
            check(s["auth_type"] == name, f"{name}: auth_type {s['auth_type']}")
            check(sum(s["rx_dropped"].values()) == 0, f"{name}: drops {s['rx_dropped']}")
            check(s["rx_packets"] >= 20, f"{name}: only {s['rx_packets']} packets accepted")
            print(f"PASS: {name} up on both sides, {s['rx_packets']} packets verified")

        w = by_peer[wrong.v4_b]
        bird_states = lab.bird_bfd_sessions(b.ctl)
        check(w["state"] != "up" and w["up_transitions"] == 0, f"wrong key came up: {w}")
        check(bird_states.get(wrong.v4_a) != "Up", f"BIRD took the wrong key: {bird_states}")
        # BIRD sends once a second while Down: wait for a few of its packets to be refused.
        w = lab.wait_until(lambda: (x := strobe.session(wrong.v4_b))["rx_dropped"]["auth_failed"] >= 5
                           and x, 10, what="the wrong key's packets counted as auth_failed")
        check(w["state"] != "up" and w["up_transitions"] == 0, f"wrong key came up: {w}")
        check(strobe.counters()["rx_dropped"]["auth_failed"] == w["rx_dropped"]["auth_failed"],
              "auth_failed drops charged to another session")
        print(f"PASS: the wrong key never came up; {w['rx_dropped']['auth_failed']} packets "
              "counted as auth_failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
