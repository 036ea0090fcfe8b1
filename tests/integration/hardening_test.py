#!/usr/bin/env python3
"""Hardening (issue 9, item 4), shown on a running edge: strobe-dataplane and strobe-bgpd against
FRR (zebra, bfdd, bgpd) on two veths.

  1. Least privilege: once set up, each daemon holds only what its steady state needs
     (/proc/PID/status: CapEff = CapPrm = CapBnd = {net_admin, net_raw} for the dataplane,
     {net_admin, net_bind_service} for strobe-bgpd; CapInh = CapAmb = 0; NoNewPrivs = 1), and
     still works without the rest: BFD Up, BGP Established with TCP-MD5 + GTSM + max-prefix on,
     FRR's prefix installed in the kernel, a session added by `config reload` comes Up.
  2. Control sockets: mode 0660 and group `control_socket_group` (nogroup): a member (uid and gid
     65534, via setpriv) may query, anyone else is refused by the kernel.
  3. BFD authentication required per profile: a session whose profile has a key stays Down
     against FRR's unauthenticated packets, each dropped and counted as auth_mismatch.
  4. A packet from an unexpected interface (right addresses and discriminators, wrong link) is
     dropped as wrong_source; the session it claims never flaps.
  5. Secrets (the BFD key, the TCP-MD5 password) appear in no log, no `strobectl` output (JSON
     and text), no metrics page, no `config check` or reload answer, and not in the refusal of a
     config whose secret is too long.
"""

import json
import os
import re
import signal  # noqa: F401  (lab.Lab stops what it started)
import stat
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402
from strobe import STROBECTL, Bgpd, Strobe, check, frr_peers  # noqa: E402

BFD_SECRET = "Bfd-K3y-5ecret!x"           # meticulous keyed SHA1: up to 20 bytes
MD5_SECRET = "Tcp-Md5-Pa55word-zq"
LOCAL_AS, FRR_AS = 64512, 64601
FRR_PREFIX = "198.19.7.0/24"
NOGROUP = 65534
CAP = {"net_bind_service": 10, "net_admin": 12, "net_raw": 13}
COUNT = 20
SENDER = r"""
import json, sys
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
p = json.loads(sys.stdin.read())
pkt = (Ether(dst=p["mac"]) / IP(src=p["src"], dst=p["dst"], ttl=255) /
       UDP(sport=49152, dport=3784) / Raw(bytes.fromhex(p["hex"])))
sendp(pkt, iface=p["iface"], count=p["count"], inter=0.002)
"""


def frr_config(plain: lab.Link, secure: lab.Link) -> str:
    return f"""bfd
 peer {plain.v4_a} local-address {plain.v4_b} interface {plain.if_b}
  transmit-interval 100
  receive-interval 100
 !
 peer {secure.v4_a} local-address {secure.v4_b} interface {secure.if_b}
  transmit-interval 100
  receive-interval 100
 !
!
router bgp {FRR_AS}
 bgp router-id {plain.v4_b}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {plain.v4_a} remote-as {LOCAL_AS}
 neighbor {plain.v4_a} timers connect 1
 neighbor {plain.v4_a} password {MD5_SECRET}
 neighbor {plain.v4_a} ttl-security hops 1
 address-family ipv4 unicast
  network {FRR_PREFIX}
 exit-address-family
"""


def capabilities(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Cap"):
            fields[key] = int(value.strip(), 16)
        elif key == "NoNewPrivs":
            fields[key] = int(value.strip())
    return fields


def check_capabilities(name: str, pid: int, keep: list[str]) -> None:
    want = sum(1 << CAP[c] for c in keep)
    got = capabilities(pid)
    for field in ("CapEff", "CapPrm", "CapBnd"):
        check(got[field] == want, f"{name} {field} = {got[field]:#x}, want {want:#x} ({keep})")
    check(got["CapInh"] == 0 and got["CapAmb"] == 0, f"{name} inheritable/ambient: {got}")
    check(got["NoNewPrivs"] == 1, f"{name} NoNewPrivs = {got['NoNewPrivs']}")
    print(f"PASS: {name} (pid {pid}) keeps only {', '.join(keep)}; no_new_privs set")


def ctl_as(socket: str, uid: int, gid: int, *words: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                           STROBECTL, "--socket", socket, "--json", *words],
                          capture_output=True, text=True, timeout=10)


def bfd_packet(my: int, your: int) -> bytes:
    import struct
    return struct.pack("!BBBBIIIII", 1 << 5, 3 << 6, 3, 24, my, your, 100000, 100000, 0)


def main() -> int:
    lab.require_root_tools(bird=False, tshark=False)
    with lab.Lab() as L:
        edge, frr = L.ns("edge"), L.ns("frr")
        plain = L.link(edge, frr, v6=False)
        secure = L.link(edge, frr, v6=False)
        L.start_frr(frr, frr_config(plain, secure), daemons=("zebra", "bfdd", "bgpd"))
        profiles = [
            {"name": "plain", "desired_min_tx_us": 100000, "required_min_rx_us": 100000},
            {"name": "secure", "desired_min_tx_us": 100000, "required_min_rx_us": 100000,
             "auth": {"type": "meticulous-keyed-sha1", "key_id": 7, "secret": BFD_SECRET}},
        ]
        sessions = [
            {"peer": plain.v4_b, "local": plain.v4_a, "interface": plain.if_a, "profile": "plain"},
            {"peer": secure.v4_b, "local": secure.v4_a, "interface": secure.if_a,
             "profile": "secure"},
        ]
        dataplane = Strobe(L, edge, profiles, sessions, name="dataplane",
                           dataplane={"control_socket_group": "nogroup",
                                      "metrics_address": "127.0.0.1:9781"})
        bgpd = Bgpd(L, edge, {"asn": LOCAL_AS, "router_id": "198.18.0.1", "listen": ["0.0.0.0"]},
                    neighbors=[{"address": plain.v4_b, "remote_as": FRR_AS, "connect_retry_s": 2,
                                "md5_password": MD5_SECRET, "ttl_security": True,
                                "max_prefixes": 100}],
                    controlplane={"control_socket_group": "nogroup",
                                  "metrics_address": "127.0.0.1:9782"})

        # 1. Working with what is left.
        lab.wait_until(lambda: dataplane.states().get(plain.v4_b) == "up", 20,
                       what="the plain BFD session Up")
        bgpd.wait_established(plain.v4_b, 30)
        lab.wait_until(lambda: json.loads(L.exec(edge, ["ip", "-j", "route", "show", FRR_PREFIX,
                                                         "proto", "200"]).stdout or "[]"), 15,
                       what=f"{FRR_PREFIX} installed by strobe-bgpd (proto 200)")
        print("PASS: BFD Up, BGP Established with TCP-MD5, GTSM and max-prefix, FRR's prefix in "
              "the kernel: all after the capabilities were dropped")
        check_capabilities("strobe-dataplane", dataplane.proc.pid, ["net_admin", "net_raw"])
        check_capabilities("strobe-bgpd", bgpd.proc.pid, ["net_admin", "net_bind_service"])
        for log, keep in ((dataplane.log, {"net_admin", "net_raw"}),
                          (bgpd.log, {"net_admin", "net_bind_service"})):
            logged = re.search(r"capabilities kept: (\S+)", log.read_text())
            check(logged is not None and set(logged.group(1).split(",")) == keep,
                  f"{log.name}: capabilities logged {logged and logged.group(1)}, want {keep}")

        # A session added by a reload (a new kernel socket, bound to its device) comes Up.
        third = L.link(edge, frr, v6=False)
        L.frr_configure(frr, ["bfd", f"peer {third.v4_a} local-address {third.v4_b} interface "
                                     f"{third.if_b}", "transmit-interval 100",
                              "receive-interval 100"])
        text = dataplane.config_path.read_text()
        dataplane.config_path.write_text(text + "\n[[bfd.session]]\n" + "\n".join(
            f"{k} = {json.dumps(v)}" for k, v in
            {"peer": third.v4_b, "local": third.v4_a, "interface": third.if_a,
             "profile": "plain"}.items()) + "\n")
        reload_answer = dataplane.ctl_raw("config", "reload")
        check(reload_answer.returncode == 0, f"reload: {reload_answer.stderr}")
        lab.wait_until(lambda: dataplane.states().get(third.v4_b) == "up", 20,
                       what="the session added by the reload Up")
        print("PASS: a session added by `config reload` after the drop came Up")

        # 2. Control sockets: 0660, group nogroup; members may talk, others may not.
        for path in (Path(dataplane.socket).parent, Path(bgpd.socket).parent):
            os.chmod(path, 0o711)  # the lab's directories; the socket's own mode is what counts
        for sock in (dataplane.socket, bgpd.socket):
            st = os.stat(sock)
            check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660,
                  f"{sock} mode {oct(st.st_mode)}")
            check(st.st_gid == NOGROUP, f"{sock} group {st.st_gid}, want {NOGROUP}")
        member = ctl_as(dataplane.socket, NOGROUP, NOGROUP, "show", "bfd", "counters")
        check(member.returncode == 0, f"a member of the group was refused: {member.stderr}")
        member = ctl_as(bgpd.socket, NOGROUP, NOGROUP, "show", "bgp", "summary")
        check(member.returncode == 0, f"a member of the group was refused: {member.stderr}")
        for sock, words in ((dataplane.socket, ("show", "bfd", "counters")),
                            (bgpd.socket, ("show", "bgp", "summary"))):
            other = ctl_as(sock, NOGROUP, 4242, *words)
            check(other.returncode != 0 and "ermission denied" in other.stderr,
                  f"a non-member got through: rc {other.returncode} {other.stderr!r}")
        print("PASS: both control sockets are 0660 group nogroup; a member may query, a "
              "non-member is refused (Permission denied)")

        # 3. Authentication required by the profile: FRR (no authentication) never gets Up.
        def secure_drops() -> int:
            return dataplane.session(secure.v4_b)["rx_dropped"]["auth_mismatch"]
        lab.wait_until(lambda: secure_drops() >= 10, 10,
                       what="FRR's unauthenticated packets dropped as auth_mismatch")
        s = dataplane.session(secure.v4_b)
        check(s["state"] != "up" and s["up_transitions"] == 0, f"secure session: {s}")
        check(frr_peers(L, frr)[secure.v4_a]["status"] != "up", "FRR's side came Up")
        print(f"PASS: the 'secure' profile requires authentication: {secure_drops()} packets "
              "without it dropped (auth_mismatch), the session never Up")

        # 4. The plain session's packet on the other link: wrong interface.
        p = dataplane.session(plain.v4_b)
        mac = json.loads(L.exec(edge, ["ip", "-j", "link", "show", secure.if_a]).stdout)[0]["address"]
        before = dataplane.counters()["rx_dropped"]["wrong_source"]
        L.exec(frr, ["/usr/bin/python3", "-c", SENDER], timeout=60, input=json.dumps({
            "mac": mac, "iface": secure.if_b, "src": plain.v4_b, "dst": plain.v4_a,
            "count": COUNT, "hex": bfd_packet(p["remote_discriminator"],
                                              p["local_discriminator"]).hex()}))
        lab.wait_until(lambda: dataplane.counters()["rx_dropped"]["wrong_source"] - before
                       == COUNT, 10, what=f"{COUNT} wrong_source drops")
        after = dataplane.session(plain.v4_b)
        check(after["state"] == "up" and after["down_transitions"] == 0, f"plain flapped: {after}")
        print(f"PASS: {COUNT} packets for the plain session arriving on {secure.if_a} dropped as "
              "wrong_source; the session did not flap")

        # 5. No secret anywhere an operator or a scraper looks.
        outputs: dict[str, str] = {"reload": reload_answer.stdout + reload_answer.stderr}
        for target, commands in ((dataplane, [["show", "bfd", "sessions"],
                                              ["show", "bfd", "session", secure.v4_b],
                                              ["show", "bfd", "counters"], ["show", "version"]]),
                                 (bgpd, [["show", "bgp", "summary"], ["show", "bgp", "neighbors"],
                                         ["show", "bgp", "neighbors", plain.v4_b],
                                         ["show", "bgp", "routes"], ["show", "fib"]])):
            for words in commands:
                for as_json in (True, False):
                    cp = target.ctl_raw(*words, json_out=as_json)
                    check(cp.returncode == 0, f"{words}: {cp.stderr}")
                    outputs[" ".join(words) + (" --json" if as_json else "")] = cp.stdout + cp.stderr
        for port in (9781, 9782):
            cp = L.exec(edge, ["curl", "-s", "-m", "5", f"http://127.0.0.1:{port}/metrics"])
            check("strobe_" in cp.stdout, f"metrics on {port}: {cp.stdout[:200]!r}")
            outputs[f"metrics {port}"] = cp.stdout
        for cfg in (dataplane.config_path, bgpd.config_path):
            cp = subprocess.run([STROBECTL, "--json", "config", "check", str(cfg)],
                                capture_output=True, text=True, timeout=10)
            outputs[f"config check {cfg.name}"] = cp.stdout + cp.stderr
        # A refused file names the line and the rule, never the secret.
        bad = L.run_dir / "bad.toml"
        bad.write_text(bgpd.config_path.read_text().replace(MD5_SECRET, MD5_SECRET * 5)
                       + "\n[[bfd.profile]]\nname = \"x\"\nauth = { type = \"keyed-md5\", "
                       f"secret = \"{BFD_SECRET * 2}\" }}\n")
        cp = subprocess.run([STROBECTL, "config", "check", str(bad)], capture_output=True,
                            text=True, timeout=10)
        check(cp.returncode == 2 and "bad.toml:" in cp.stderr, f"bad config: {cp.returncode} "
              f"{cp.stderr!r}")
        outputs["refused config"] = cp.stdout + cp.stderr
        outputs["dataplane log"] = dataplane.log.read_text()
        outputs["bgpd log"] = bgpd.log.read_text()
        for where, text in outputs.items():
            for secret in (BFD_SECRET, MD5_SECRET):
                check(secret not in text, f"a secret leaked into {where}")
        print(f"PASS: neither secret in {len(outputs)} outputs (logs, show in JSON and text, "
              "metrics, config check, reload, a refused file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
