#!/usr/bin/env python3
"""Configuration reload of strobe-dataplane applies only the difference (operations, item 3).

Strobe (namespace `edge`) holds single-hop sessions A, B and C with FRR bfdd (namespace `frr`) at
50 ms x 3, while tshark captures every BFD packet on FRR's end of the link. Then:
  1. the file changes B's timers (a new profile, 100 ms) and adds D; SIGHUP;
  2. a file with an error: `strobectl config reload` exits 2 naming FILE:LINE, nothing changes;
  3. the file drops C; `strobectl config reload`.
Checked: D comes Up; B's new interval goes through a Poll Sequence; C is sent AdminDown and
removed; and A, untouched, never paused: in the capture its packets keep their discriminator,
state Up and timers, no Poll bit, and no gap between two of them exceeds its interval (plus
scheduling slack) across all three reloads. Strobe's own counters for A show no transition.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import STROBECTL, Strobe, check, frr_counters, make_config  # noqa: E402

INTERVAL_US = 50_000
SLACK_US = 10_000  # timer lateness on a busy 2-core machine, far below a missed packet


def tshark_fields(pcap: Path) -> list[dict]:
    fields = ["frame.time_epoch", "ip.src", "ip.dst", "bfd.sta", "bfd.flags.p", "bfd.flags.f",
              "bfd.my_discriminator", "bfd.desired_min_tx_interval",
              "bfd.required_min_rx_interval", "bfd.detect_time_multiplier"]
    argv = ["tshark", "-r", str(pcap), "-Y", "bfd", "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        argv += ["-e", f]
    out = lab.run(argv, timeout=60).stdout
    rows = []
    for line in out.splitlines():
        v = line.split("\t")
        if len(v) != len(fields):
            continue
        rows.append({"t": float(v[0]), "src": v[1], "dst": v[2], "sta": int(v[3], 0),
                     "poll": v[4] in ("1", "True"), "final": v[5] in ("1", "True"),
                     "my": int(v[6], 0), "tx": int(v[7]), "rx": int(v[8]), "mult": int(v[9])})
    return rows


def main() -> int:
    lab.require_root_tools(bird=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        link = L.link(edge, frr, v6=False)
        base = link.v4_a.rsplit(".", 1)[0]
        a, b, c, d = (f"{base}.{n}" for n in (10, 11, 12, 13))
        for addr in (a, b, c, d):
            L.addr_add(edge, link.if_a, f"{addr}/24")
        conf = ["bfd", " profile fast", "  transmit-interval 50", "  receive-interval 50", " !"]
        for addr in (a, b, c, d):
            conf += [f" peer {addr} local-address {link.v4_b} interface {link.if_b}",
                     "  profile fast", " !"]
        L.start_frr(frr, "\n".join(conf) + "\n")

        fast = {"name": "fast", "desired_min_tx_us": INTERVAL_US,
                "required_min_rx_us": INTERVAL_US, "detect_mult": 3}
        slow = {"name": "slow", "desired_min_tx_us": 100_000, "required_min_rx_us": 100_000,
                "detect_mult": 3}

        def session(local: str, profile: str = "fast") -> dict:
            return {"peer": link.v4_b, "local": local, "interface": link.if_a, "profile": profile}

        strobe = Strobe(L, edge, [fast, slow], [session(a), session(b), session(c)])

        def by_local() -> dict:
            return {s["local"]: s for s in strobe.sessions()}

        def settled(expect: dict) -> bool:
            have = by_local()
            return set(have) == set(expect) and all(
                have[k]["state"] == "up" and not have[k]["poll_in_progress"]
                and have[k]["tx_interval_us"] == v for k, v in expect.items())

        lab.wait_until(lambda: settled({a: INTERVAL_US, b: INTERVAL_US, c: INTERVAL_US}), 30,
                       what="A, B and C Up at 50 ms")
        before = by_local()

        pcap = L.run_dir / "bfd.pcap"
        cap = L.spawn(frr, ["tshark", "-Q", "-i", link.if_b, "-f", "udp port 3784", "-w",
                            str(pcap)], L.run_dir / "tshark.log", desc="tshark")
        # Capturing once packets from A land in the file (the header alone is 24 bytes).
        lab.wait_until(lambda: pcap.exists() and pcap.stat().st_size > 2000, 20,
                       what="tshark to capture")
        t_start = time.time()

        # 1. B's timers change and D is added; SIGHUP.
        strobe.config_path.write_text(make_config(
            strobe.socket, [fast, slow], [session(a), session(b, "slow"), session(c), session(d)],
            (0,)))
        os.kill(strobe.proc.pid, signal.SIGHUP)
        lab.wait_until(lambda: settled({a: INTERVAL_US, b: 100_000, c: INTERVAL_US,
                                        d: INTERVAL_US}), 30,
                       what="B at 100 ms and D Up after SIGHUP")
        t_sighup_done = time.time()

        # 2. A broken file is refused whole.
        good = strobe.config_path.read_text()
        strobe.config_path.write_text(good + "\n[[bfd.session]]\npeer = \"not an address\"\n")
        cp = subprocess.run([STROBECTL, "--socket", strobe.socket, "config", "reload"],
                            capture_output=True, text=True, timeout=10)
        print("broken file:", cp.returncode, (cp.stdout + cp.stderr).strip())
        check(cp.returncode == 2, f"a broken file: exit {cp.returncode}, want 2")
        check(f"{strobe.config_path}:" in cp.stdout + cp.stderr, "the error does not name FILE:LINE")
        check(set(by_local()) == {a, b, c, d}, "the broken file changed the sessions")

        # 3. C goes; strobectl config reload --json.
        strobe.config_path.write_text(make_config(
            strobe.socket, [fast, slow], [session(a), session(b, "slow"), session(d)], (0,)))
        reply = strobe.ctl("config", "reload")["dataplane"]
        print("reload reply:", reply)
        check([s["local"] for s in reply["sessions_removed"]] == [c], f"removed: {reply}")
        check(reply["sessions_unchanged"] == 3 and not reply["sessions_added"]
              and not reply["sessions_changed"], f"only C should differ: {reply}")
        lab.wait_until(lambda: L.frr_bfd_status(frr, c) == "down", 10,
                       what="FRR to see C AdminDown")
        time.sleep(0.5)  # a last stretch of A's packets after the last reload, to be judged too
        L.stop(cap, sig=signal.SIGINT)
        after = by_local()

        rows = tshark_fields(pcap)
        check(rows, "tshark captured nothing")
        from_a = [r for r in rows if r["src"] == a]
        span = from_a[-1]["t"] - from_a[0]["t"]
        check(from_a[0]["t"] <= t_start and from_a[-1]["t"] >= t_sighup_done,
              "the capture does not cover the reloads")
        gaps = [(y["t"] - x["t"]) * 1e6 for x, y in zip(from_a, from_a[1:])]
        print(f"A: {len(from_a)} packets over {span:.2f} s, largest gap {max(gaps) / 1000:.1f} ms")
        check(max(gaps) <= INTERVAL_US + SLACK_US,
              f"A paused: a gap of {max(gaps) / 1000:.1f} ms between two packets")
        odd = [r for r in from_a if r["sta"] != 3 or r["poll"] or r["final"]
               or r["my"] != before[a]["local_discriminator"] or r["tx"] != INTERVAL_US
               or r["rx"] != INTERVAL_US or r["mult"] != 3]
        check(not odd, f"A's packets changed: {odd[:3]}")
        to_a = [r for r in rows if r["dst"] == a]
        check(all(r["sta"] == 3 for r in to_a), "FRR saw A leave Up")
        for key in ("up_transitions", "down_transitions", "local_discriminator"):
            check(after[a][key] == before[a][key], f"A's {key} changed: "
                  f"{before[a][key]} -> {after[a][key]}")
        check(frr_counters(L, frr)[a]["session-down"] == 0, "FRR counted A down")

        # B: its new interval went through a Poll Sequence, and its discriminator stayed.
        from_b = [r for r in rows if r["src"] == b]
        check(any(r["poll"] and r["tx"] == 100_000 for r in from_b), "B sent no Poll for 100 ms")
        check(after[b]["local_discriminator"] == before[b]["local_discriminator"]
              and after[b]["down_transitions"] == 0, "B was re-created or went down")
        # D: new, Up; C: AdminDown (state 0) on the wire, then gone.
        check(any(r["src"] == d and r["sta"] == 3 for r in rows), "D never sent Up")
        check(any(r["src"] == c and r["sta"] == 0 for r in rows), "C was not sent AdminDown")
        check(c not in after, "C is still there")
        print(f"PASS: A never paused across SIGHUP and two reloads ({len(from_a)} packets, "
              f"largest gap {max(gaps) / 1000:.1f} ms); B re-timed by Poll, D added, C removed "
              "with AdminDown, a broken file refused with FILE:LINE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
