"""Strobe processes inside a lab: start strobe-dataplane with a generated config, query it with
strobectl --json. Paths of the binaries come from the environment that meson sets
(STROBE_DATAPLANE, STROBECTL), falling back to build/.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterable

import lab

ROOT = Path(__file__).resolve().parents[2]
DATAPLANE = os.environ.get("STROBE_DATAPLANE", str(ROOT / "build/dataplane/strobe-dataplane"))
STROBECTL = os.environ.get("STROBECTL", str(ROOT / "build/controlplane/strobectl"))
# The same tests run against every backend: meson registers them once per backend.
BACKEND = os.environ.get("STROBE_BACKEND", "socket")
# Cores of the dataplane's workers, e.g. "0,1": sessions then spread over two workers and the
# receiving worker hands packets to the other.
WORKERS = tuple(int(c) for c in os.environ.get("STROBE_WORKERS", "0").split(","))


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml_table(header: str, keys: dict) -> list[str]:
    """`header` ("[name]" or "[[name]]"), one line per key, and a blank line."""
    return [header] + [f"{k} = {toml_value(v)}" for k, v in keys.items()] + [""]


def make_config(socket: str, profiles: Iterable[dict], sessions: Iterable[dict],
                workers: Iterable[int] = (0,), dataplane: dict | None = None,
                interfaces: Iterable[str] = (), dpdk_ports: list[dict] | None = None) -> str:
    """The TOML text of a dataplane config (docs/config.md); `dataplane` adds [dataplane] keys.
    With the dpdk backend, `interfaces` get a port besides those the sessions name (sessions a
    client such as strobe-bgpd will create); `dpdk_ports` replaces the generated ports."""
    sessions = list(sessions)
    out = toml_table("[dataplane]", {"backend": BACKEND, "workers": list(workers),
                                     "control_socket": socket, **(dataplane or {})})
    if BACKEND == "dpdk":
        out += dpdk_tables(sessions, list(workers), interfaces, dpdk_ports)
    for p in profiles:
        out += toml_table("[[bfd.profile]]", p)
    for s in sessions:
        out += toml_table("[[bfd.session]]", s)
    return "\n".join(out)


def dpdk_tables(sessions: list[dict], workers: list[int],
                extra_interfaces: Iterable[str] = (),
                ports: list[dict] | None = None) -> list[str]:
    """[dataplane.dpdk] for the lab: no hugepages, no PCI, no shared files; one net_af_packet
    port per interface a single-hop session names, with a queue pair per worker (the kernel
    keeps the veth, its addresses and every non-BFD packet)."""
    out = toml_table("[dataplane.dpdk]", {
        "eal_args": ["--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry",
                     "-l", str(workers[0]), "--log-level", "notice"],
        # Benchmarks choose how a worker waits between empty rounds (0: busy polling).
        **({"idle_sleep_us": int(os.environ["STROBE_DPDK_IDLE_SLEEP_US"])}
           if "STROBE_DPDK_IDLE_SLEEP_US" in os.environ else {})})
    if ports is not None:
        for port in ports:
            out += toml_table("[[dataplane.dpdk.port]]", port)
        return out
    interfaces = sorted({s["interface"] for s in sessions if not s.get("multihop")}
                        | set(extra_interfaces))
    for i, name in enumerate(interfaces):
        devargs = f"net_af_packet{i},iface={name}"
        if len(workers) > 1:
            devargs += f",qpairs={len(workers)}"
        out += toml_table("[[dataplane.dpdk.port]]", {"interface": name, "devargs": devargs})
    return out


class Strobe:
    """One strobe-dataplane in a namespace."""

    def __init__(self, L: lab.Lab, ns: str, profiles: Iterable[dict], sessions: Iterable[dict],
                 workers: Iterable[int] | None = None, name: str = "strobe",
                 dataplane: dict | None = None, interfaces: Iterable[str] = (),
                 dpdk_ports: list[dict] | None = None) -> None:
        workers = WORKERS if workers is None else workers
        self.lab = L
        self.ns = ns
        d = L.run_dir / name
        d.mkdir(parents=True, exist_ok=True)
        self.socket = str(d / "strobe.sock")
        self.config_path = d / "strobe.toml"
        self.config_path.write_text(make_config(self.socket, profiles, sessions, workers,
                                                dataplane, interfaces, dpdk_ports))
        self.log = d / "dataplane.log"
        self.proc = L.spawn(ns, [DATAPLANE, "--config", str(self.config_path)], self.log,
                            desc=f"strobe-dataplane@{ns}")
        lab.wait_until(self._ready, 10, what="strobe-dataplane to answer on its socket")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise lab.LabError(f"strobe-dataplane exited with {self.proc.returncode}:\n"
                               + self.log.read_text())
        return self.ctl_raw("show", "bfd", "counters").returncode == 0

    def ctl_raw(self, *words: str, json_out: bool = True) -> subprocess.CompletedProcess:
        argv = [STROBECTL, "--socket", self.socket] + (["--json"] if json_out else []) + list(words)
        return subprocess.run(argv, capture_output=True, text=True, timeout=10)

    def ctl(self, *words: str) -> Any:
        cp = self.ctl_raw(*words)
        if cp.returncode != 0:
            raise lab.LabError(f"strobectl {' '.join(words)}: {cp.stderr.strip()}")
        return json.loads(cp.stdout)

    def sessions(self) -> list[dict]:
        return self.ctl("show", "bfd", "sessions")

    def session(self, peer: str) -> dict:
        found = self.ctl("show", "bfd", "session", peer)
        assert len(found) == 1, found
        return found[0]

    def counters(self) -> dict:
        return self.ctl("show", "bfd", "counters")

    def states(self) -> dict[str, str]:
        return {s["peer"]: s["state"] for s in self.sessions()}

    def wait_all(self, state: str, timeout_s: float, count: int | None = None) -> list[dict]:
        def done() -> list[dict] | None:
            ss = self.sessions()
            ok = (count is None or len(ss) == count) and all(s["state"] == state for s in ss)
            return ss if ok and ss else None
        return lab.wait_until(done, timeout_s, what=f"every Strobe session {state}")

    def stop(self) -> int:
        return self.lab.stop(self.proc)


def frr_counters(L: lab.Lab, ns: str) -> dict[str, dict]:
    """FRR's `show bfd peers counters json`, by peer address."""
    return {p["peer"]: p for p in L.frr_json(ns, "show bfd peers counters json")}


def frr_peers(L: lab.Lab, ns: str) -> dict[str, dict]:
    return {p["peer"]: p for p in L.frr_json(ns, "show bfd peers json")}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


BFD_WATCH = os.environ.get("STROBE_BFD_WATCH", str(ROOT / "build/tests/tools/strobe-bfd-watch"))


class BfdWatch:
    """One strobe-bfd-watch (a thin ring client, tests/tools/bfd_watch.cc) registering the
    sessions of `sessions_file`; its JSON lines read incrementally from its log."""

    def __init__(self, L: lab.Lab, ns: str, socket: str, sessions_file: Path,
                 name: str = "strobe-bfd-watch") -> None:
        self.lab = L
        self.log = L.run_dir / f"{name}.jsonl"
        self.proc = L.spawn(ns, [BFD_WATCH, "--socket", socket, "--sessions", sessions_file],
                            self.log, desc=name)
        self.offset = 0
        self.events: list[dict] = []
        self.state: dict[str, str] = {}  # "peer>local" -> the last state reported

    def poll(self) -> list[dict]:
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        new = [json.loads(line) for line in data[:end].splitlines() if line.startswith(b"{")]
        for e in new:
            if e["event"] == "state":
                self.state[f"{e['peer']}>{e['local']}"] = e["state"]
        self.events += new
        return new

    def count(self, state: str) -> int:
        self.poll()
        return sum(1 for s in self.state.values() if s == state)


BIRD_MANY_ADDR = "198.19.7.254"


def bird_with_many_neighbors(L: lab.Lab, count: int, interval_ms: int):
    """Namespaces `edge` and `bird` on one veth; the edge holds `count` addresses of
    198.19.0.0/21 (one per session), BIRD one (BIRD_MANY_ADDR) and a BFD neighbor for each.
    Returns (edge namespace, bird namespace, link, the edge's addresses)."""
    edge, bird, link, _, locals_ = start_bird_many(L, count, interval_ms)
    return edge, bird, link, locals_


def start_bird_many(L: lab.Lab, count: int, interval_ms: int, *, ms_times: bool = False):
    """bird_with_many_neighbors, also returning the BIRD instance (edge, bird, link, instance,
    addresses); `ms_times`: BIRD prints times to the millisecond (its `since` then tells a flap
    however short)."""
    import ipaddress
    edge, bird = L.ns("edge"), L.ns("bird")
    link = L.link(edge, bird, v4=False, v6=False)
    net = ipaddress.ip_network("198.19.0.0/21")
    locals_ = [str(net.network_address + 10 + i) for i in range(count)]
    L.exec(edge, ["ip", "-batch", "-"],
           input="".join(f"addr add {a}/21 dev {link.if_a}\n" for a in locals_))
    L.addr_add(bird, link.if_b, f"{BIRD_MANY_ADDR}/21")
    conf = [f"router id {BIRD_MANY_ADDR};"]
    if ms_times:
        conf.append("timeformat protocol iso long ms;")
    conf += ["protocol device {}", "protocol bfd {",
             f'  interface "{link.if_b}" {{ interval {interval_ms} ms; multiplier 3; }};']
    conf += [f'  neighbor {a} dev "{link.if_b}" local {BIRD_MANY_ADDR};' for a in locals_]
    conf.append("}")
    inst = L.start_bird(bird, "\n".join(conf) + "\n")
    return edge, bird, link, inst, locals_


# --------------------------------------------------------------------------------------------
# strobe-bgpd (the BGP issue): a speaker in a namespace, queried with strobectl --json.

BGPD = os.environ.get("STROBE_BGPD", str(ROOT / "build/controlplane/bgpd/strobe-bgpd"))


def make_bgp_config(socket: str, bgp: dict, neighbors: Iterable[dict] = (),
                    ranges: Iterable[dict] = (), networks: Iterable[dict] = (),
                    profiles: Iterable[dict] = (), dataplane_socket: str | None = None,
                    policies: Iterable[dict] = (), fib: dict | None = None,
                    controlplane: dict | None = None) -> str:
    """The TOML text of a strobe-bgpd config: [controlplane] (`controlplane` adds keys), [bgp]
    and its tables, [fib]."""
    out = toml_table("[controlplane]", {"control_socket": socket, **(controlplane or {})})
    if fib is not None:
        out += toml_table("[fib]", fib)
    if dataplane_socket:
        out += toml_table("[dataplane]", {"control_socket": dataplane_socket})
    for p in profiles:
        out += toml_table("[[bfd.profile]]", p)
    out += toml_table("[bgp]", bgp)
    for table, rows in (("bgp.neighbor", neighbors), ("bgp.listen_range", ranges),
                        ("bgp.network", networks)):
        for row in rows:
            out += toml_table(f"[[{table}]]", row)
    for p in policies:
        out += toml_table("[[policy]]", {k: v for k, v in p.items() if k != "terms"})
        for t in p.get("terms", []):
            out += toml_table("[[policy.term]]", t)
    return "\n".join(out)


class Bgpd:
    """One strobe-bgpd in a namespace with a generated config."""

    def __init__(self, L: lab.Lab, ns: str, bgp: dict, neighbors: Iterable[dict] = (),
                 ranges: Iterable[dict] = (), networks: Iterable[dict] = (),
                 profiles: Iterable[dict] = (), dataplane_socket: str | None = None,
                 policies: Iterable[dict] = (), name: str = "bgpd",
                 args: Iterable[str] = ("--idle_hold_ms", "500", "--idle_hold_max_ms", "2000"),
                 fib: dict | None = None, controlplane: dict | None = None) -> None:
        self.lab = L
        self.ns = ns
        d = L.run_dir / name
        d.mkdir(parents=True, exist_ok=True)
        self.socket = str(d / "bgpd.sock")
        self.config_path = d / "bgpd.toml"
        self.config_path.write_text(make_bgp_config(self.socket, bgp, neighbors, ranges, networks,
                                                    profiles, dataplane_socket, policies, fib,
                                                    controlplane))
        self.log = d / "bgpd.log"
        self.proc = L.spawn(ns, [BGPD, "--config", str(self.config_path), *args], self.log,
                            desc=f"strobe-bgpd@{ns}")
        lab.wait_until(self._ready, 10, what="strobe-bgpd to answer on its socket")

    def _ready(self) -> bool:
        self.check_alive()
        return self.ctl_raw("show", "bgp", "summary").returncode == 0

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise lab.LabError(f"strobe-bgpd exited with {self.proc.returncode}:\n"
                               + self.log.read_text()[-4000:])

    def ctl_raw(self, *words: str, json_out: bool = True) -> subprocess.CompletedProcess:
        argv = [STROBECTL, "--socket", self.socket] + (["--json"] if json_out else []) + list(words)
        return subprocess.run(argv, capture_output=True, text=True, timeout=10)

    def ctl(self, *words: str) -> Any:
        cp = self.ctl_raw(*words)
        if cp.returncode != 0:
            self.check_alive()
            raise lab.LabError(f"strobectl {' '.join(words)}: {cp.stderr.strip()}")
        return json.loads(cp.stdout)

    def neighbors(self) -> list[dict]:
        return self.ctl("show", "bgp", "neighbors")

    def neighbor(self, address: str) -> dict:
        return self.ctl("show", "bgp", "neighbors", address)[0]

    def state(self, address: str) -> str:
        return self.neighbor(address)["state"]

    def routes(self, prefix: str | None = None) -> list[dict]:
        return self.ctl("show", "bgp", "routes", *([prefix] if prefix else []))

    def route_map(self) -> dict[str, list[dict]]:
        """prefix -> paths."""
        return {r["prefix"]: r["paths"] for r in self.routes()}

    def summary(self) -> dict:
        return self.ctl("show", "bgp", "summary")

    def fib(self, *words: str) -> dict:
        return self.ctl("show", "fib", *words)

    def wait_established(self, address: str, timeout_s: float = 30) -> dict:
        return lab.wait_until(
            lambda: (n := self.neighbor(address))["state"] == "established" and n, timeout_s,
            what=f"strobe-bgpd neighbor {address} established")

    def stop(self, sig: int | None = None) -> int:
        import signal as _signal
        return self.lab.stop(self.proc, sig=sig or _signal.SIGTERM)


def frr_anycast_node(asn: int, link: lab.Link, edge_as: int, prefixes: Iterable[str], *,
                     interval_ms: int = 100, mult: int = 3, profile: str = "fast") -> str:
    """FRR config of a node that announces `prefixes` (with their length) to the edge at
    link.v4_a (AS `edge_as`) over eBGP protected by BFD (`profile`: interval_ms x mult)."""
    edge = link.v4_a
    networks = "".join(f"  network {p}\n" for p in prefixes)
    return (f"bfd\n profile {profile}\n  transmit-interval {interval_ms}\n"
            f"  receive-interval {interval_ms}\n  detect-multiplier {mult}\n !\n!\n"
            f"router bgp {asn}\n bgp router-id {link.v4_b}\n"
            " no bgp ebgp-requires-policy\n no bgp network import-check\n"
            f" neighbor {edge} remote-as {edge_as}\n neighbor {edge} timers connect 1\n"
            f" neighbor {edge} bfd\n neighbor {edge} bfd profile {profile}\n"
            f" address-family ipv4 unicast\n{networks} exit-address-family\n")


def frr_bfd_settled(L: lab.Lab, nodes: Iterable[str], links: Iterable[lab.Link]) -> bool:
    """Every FRR node's BFD session to the edge (link.v4_a) is up and bound to its interface.
    FRR's bgpd installs the session without an interface first and again once BGP is up; the
    second one starts Down, so steady state is this."""
    for ns, link in zip(nodes, links):
        p = frr_peers(L, ns).get(link.v4_a)
        if not p or p.get("interface") != link.if_b or p.get("status") != "up":
            return False
    return True


def frr_bgp_routes(L: lab.Lab, ns: str, afi: str = "ipv4") -> dict[str, list[dict]]:
    """FRR's `show bgp <afi> unicast json` routes: prefix -> paths."""
    return L.frr_json(ns, f"show bgp {afi} unicast json").get("routes", {})


def frr_bgp_neighbor(L: lab.Lab, ns: str, address: str) -> dict:
    """FRR's `show bgp neighbors ADDR json` entry for ADDR ({} when unknown)."""
    return L.frr_json(ns, f"show bgp neighbors {address} json").get(address, {})


def frr_bgp_state(L: lab.Lab, ns: str, address: str) -> str | None:
    return frr_bgp_neighbor(L, ns, address).get("bgpState")
