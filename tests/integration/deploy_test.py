#!/usr/bin/env python3
"""The deployment pieces (deploy/): systemd units, Kubernetes manifests, bash completion.

- systemd: `systemd-analyze verify` passes on the units (ExecStart pointed at the build tree's
  binaries, since verify checks that they exist) with no message at all, and fails on broken
  copies (a misspelt key, a missing binary, a mount unit whose name is not its Where=), so the
  check is known to bite; the capabilities, KillSignal and dependencies are the documented ones.
- Kubernetes: yamllint (Debian package yamllint) passes, every document has apiVersion, kind
  and metadata.name, each DaemonSet's selector matches its template's labels, every volumeMount
  names a volume, the edge containers' capabilities are the units' (drop ALL, not privileged),
  and the configuration in the ConfigMap passes both daemons' --check.
- Completion: deploy/completion/strobectl.bash, sourced in bash, completes every command path
  and flag that `strobectl --help` lists, and a few arguments.

Fails (never skips) when systemd-analyze, yamllint or python3-yaml is missing.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strobe import BGPD, DATAPLANE, ROOT, STROBECTL, check  # noqa: E402

try:
    import yaml
except ImportError:  # fail, never skip
    raise SystemExit("deploy_test: python3-yaml is missing (apt-get install python3-yaml)")

DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
K8S = DEPLOY / "kubernetes"
COMPLETION = DEPLOY / "completion" / "strobectl.bash"

DATAPLANE_CAPS = {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_BPF", "CAP_PERFMON", "CAP_IPC_LOCK",
                  "CAP_SYS_NICE"}
BGPD_CAPS = {"CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"}
BINDIR = "/usr/local/bin"  # meson's default prefix (meson.build sets none)


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


def need(tool: str) -> str:
    path = shutil.which(tool)
    check(path is not None, f"{tool} is missing: apt-get install "
          f"{ {'yamllint': 'yamllint', 'systemd-analyze': 'systemd'}.get(tool, tool) }")
    return path


def unit_keys(path: Path) -> dict:
    """section -> key -> list of values (systemd allows repeated keys)."""
    out, section = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, {})
            continue
        k, _, v = line.partition("=")
        out[section].setdefault(k.strip(), []).append(v.strip())
    return out


def words(values) -> set:
    return {w for v in values for w in v.split()}


# ----------------------------------------------------------------------------- systemd

def verify(directory: Path) -> subprocess.CompletedProcess:
    units = sorted(str(p) for p in directory.iterdir())
    return run(["systemd-analyze", "verify", *units],
               env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""})


def copy_units(dst: Path) -> None:
    """The units with ExecStart pointed at the build tree (verify checks the binaries exist)."""
    for p in UNITS.iterdir():
        text = p.read_text()
        text = text.replace(f"ExecStart={BINDIR}/strobe-dataplane ",
                            f"ExecStart={Path(DATAPLANE).resolve()} ")
        text = text.replace(f"ExecStart={BINDIR}/strobe-bgpd ",
                            f"ExecStart={Path(BGPD).resolve()} ")
        (dst / p.name).write_text(text)


def check_systemd() -> None:
    need("systemd-analyze")
    names = sorted(p.name for p in UNITS.iterdir())
    mounts = [n for n in names if n.endswith(".mount")]
    check({"strobe-dataplane.service", "strobe-bgpd.service"} <= set(names) and len(mounts) == 1,
          f"deploy/systemd holds {names}")
    mount = mounts[0]

    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        copy_units(d)
        cp = verify(d)
        check(cp.returncode == 0 and not cp.stdout.strip() and not cp.stderr.strip(),
              f"systemd-analyze verify on the units: rc {cp.returncode}\n{cp.stdout}{cp.stderr}")

        # The check bites: each broken copy is reported.
        def broken(name: str, old: str, new: str, expect: str) -> None:
            with tempfile.TemporaryDirectory() as b:
                b = Path(b)
                copy_units(b)
                text = (b / name).read_text()
                check(old in text, f"{name} has no {old!r}")
                (b / name).write_text(text.replace(old, new, 1))
                cp = verify(b)
                out = cp.stdout + cp.stderr
                check((cp.returncode != 0 or out.strip()) and expect in out,
                      f"verify did not catch {new!r} in {name}: rc {cp.returncode}\n{out}")
        broken("strobe-bgpd.service", "\nKillSignal=SIGUSR2", "\nKilSignal=SIGUSR2", "Unknown key")
        broken("strobe-dataplane.service", "\nExecStart=/", "\nExecStart=/nonexistent/",
               "not executable")
        with tempfile.TemporaryDirectory() as b:
            b = Path(b)
            shutil.copy(UNITS / mount, b / "dev-hugepages-wrong.mount")
            cp = verify(b)
            check(cp.returncode != 0, "verify accepted a mount unit named apart from its Where=")

    # The mount unit's name is its Where=, escaped; the dataplane wants it.
    m = unit_keys(UNITS / mount)
    where = m["Mount"]["Where"][0]
    escaped = run(["systemd-escape", "-p", "--suffix=mount", where]).stdout.strip()
    check(escaped == mount, f"{mount}: Where={where} is unit {escaped}")
    check(m["Mount"]["Type"] == ["hugetlbfs"], f"{mount}: Type {m['Mount']['Type']}")

    dp = unit_keys(UNITS / "strobe-dataplane.service")
    bg = unit_keys(UNITS / "strobe-bgpd.service")
    for name, u, binary, caps in (("strobe-dataplane", dp, "strobe-dataplane", DATAPLANE_CAPS),
                                  ("strobe-bgpd", bg, "strobe-bgpd", BGPD_CAPS)):
        s = u["Service"]
        check(s["ExecStart"] == [f"{BINDIR}/{binary} --config /etc/strobe/strobe.toml"],
              f"{name}: ExecStart {s['ExecStart']}")
        # `systemctl reload` is SIGHUP, which the daemon documents (and the reload tests use).
        check(s.get("ExecReload") == ["/bin/kill -HUP $MAINPID"],
              f"{name}: ExecReload {s.get('ExecReload')}")
        daemon = DATAPLANE if binary == "strobe-dataplane" else BGPD
        check("SIGHUP" in run([daemon, "--help"], check=False).stdout
              + run([daemon, "--help"], check=False).stderr,
              f"{name}: --help does not document SIGHUP")
        check(s.get("Restart") == ["on-failure"], f"{name}: Restart {s.get('Restart')}")
        for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
            check(words(s.get(key, [])) == caps, f"{name}: {key} {s.get(key)} != {sorted(caps)}")
        for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                           ("ReadWritePaths", "/run/strobe"), ("RuntimeDirectory", "strobe"),
                           ("RuntimeDirectoryPreserve", "yes"), ("ProtectHome", "yes"),
                           ("PrivateTmp", "yes")):
            check(s.get(key) == [value], f"{name}: {key}={s.get(key)}, want {value}")
        check("ProtectKernelTunables" not in s or name != "strobe-bgpd",
              "strobe-bgpd must be able to write nexthop_compat_mode")
    check(dp["Service"].get("LimitMEMLOCK") == ["infinity"], "dataplane: LimitMEMLOCK")
    check(mount in words(dp["Unit"]["Wants"]) and mount in words(dp["Unit"]["After"]),
          f"dataplane: Wants/After {mount}")
    check("RestrictRealtime" not in dp["Service"], "dataplane: RestrictRealtime forbids SCHED_FIFO")
    check(bg["Service"].get("KillSignal") == ["SIGUSR2"], "bgpd: KillSignal=SIGUSR2 (graceful)")
    for key in ("Wants", "After"):
        check("strobe-dataplane.service" in words(bg["Unit"][key]), f"bgpd: {key} dataplane")
    check("Requires" not in bg["Unit"] and "BindsTo" not in bg["Unit"],
          "bgpd must survive a dataplane restart (Wants=, not Requires=/BindsTo=)")
    print("systemd: verify passes, broken copies caught, capabilities and dependencies as documented")


# ----------------------------------------------------------------------------- Kubernetes

def container_caps(c: dict) -> set:
    sc = c.get("securityContext", {})
    check(sc.get("privileged") is False, f"container {c['name']}: privileged must be false")
    check(sc.get("allowPrivilegeEscalation") is False, f"container {c['name']}: escalation")
    caps = sc.get("capabilities", {})
    check(caps.get("drop") == ["ALL"], f"container {c['name']}: drop {caps.get('drop')}")
    return {"CAP_" + x for x in caps.get("add", [])}


def check_daemonset(ds: dict, volumes_expected: set) -> dict:
    name = ds["metadata"]["name"]
    spec = ds["spec"]
    tmpl = spec["template"]
    labels = tmpl["metadata"]["labels"]
    sel = spec["selector"]["matchLabels"]
    check(sel and all(labels.get(k) == v for k, v in sel.items()),
          f"{name}: selector {sel} does not match the template's labels {labels}")
    pod = tmpl["spec"]
    check(pod.get("hostNetwork") is True, f"{name}: hostNetwork")
    check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet", f"{name}: dnsPolicy")
    check(pod.get("nodeSelector"), f"{name}: nodeSelector")
    vols = {v["name"] for v in pod["volumes"]}
    check(len(vols) == len(pod["volumes"]), f"{name}: a volume name twice")
    check(volumes_expected <= vols, f"{name}: volumes {vols}, want {volumes_expected}")
    containers = {}
    for c in pod.get("initContainers", []) + pod["containers"]:
        check(c.get("image") == "registry.example/strobe:0.1.0", f"{name}/{c['name']}: image")
        for m in c.get("volumeMounts", []):
            check(m["name"] in vols, f"{name}/{c['name']}: mount of unknown volume {m['name']}")
    for c in pod["containers"]:
        check(c["name"] not in containers, f"{name}: container {c['name']} twice")
        containers[c["name"]] = c
        check(c.get("args", [])[-2:] == ["--config", "/etc/strobe/strobe.toml"],
              f"{name}/{c['name']}: args {c.get('args')}")
    return containers


def check_kubernetes() -> None:
    need("yamllint")
    files = sorted(K8S.glob("*.yaml"))
    check({p.name for p in files} >= {"configmap.yaml", "edge-daemonset.yaml",
                                      "node-daemonset.yaml"}, f"deploy/kubernetes: {files}")
    cp = run(["yamllint", "--strict", "-d",
              "{extends: default, rules: {line-length: {max: 100}}}", *map(str, files)])
    check(cp.returncode == 0, f"yamllint:\n{cp.stdout}{cp.stderr}")

    docs = {}
    for p in files:
        for doc in yaml.safe_load_all(p.read_text()):
            if doc is None:
                continue
            for key in ("apiVersion", "kind"):
                check(isinstance(doc.get(key), str), f"{p.name}: a document without {key}")
            check(isinstance(doc.get("metadata", {}).get("name"), str),
                  f"{p.name}: a {doc['kind']} without metadata.name")
            docs[(doc["kind"], doc["metadata"]["name"])] = doc
    cm = docs[("ConfigMap", "strobe-config")]
    edge = docs[("DaemonSet", "strobe-edge")]
    node = docs[("DaemonSet", "strobe-node")]
    for d in (cm, edge, node):
        check(d["apiVersion"] == {"ConfigMap": "v1", "DaemonSet": "apps/v1"}[d["kind"]],
              f"{d['metadata']['name']}: apiVersion {d['apiVersion']}")
        check(d["metadata"].get("namespace") == "strobe", f"{d['metadata']['name']}: namespace")

    c = check_daemonset(edge, {"config", "run-strobe", "bpffs", "hugepages"})
    check(set(c) == {"dataplane", "bgpd"}, f"edge containers {set(c)}")
    check(container_caps(c["dataplane"]) == DATAPLANE_CAPS,
          f"edge dataplane capabilities {container_caps(c['dataplane'])} != the unit's")
    check(container_caps(c["bgpd"]) == BGPD_CAPS,
          f"edge bgpd capabilities {container_caps(c['bgpd'])} != the unit's")
    for name in ("dataplane", "bgpd"):
        mounts = {m["mountPath"]: m["name"] for m in c[name]["volumeMounts"]}
        check(mounts.get("/run/strobe") == "run-strobe" and mounts.get("/etc/strobe") == "config",
              f"edge {name}: mounts {mounts}")
    res = c["dataplane"]["resources"]
    check(res["limits"].get("hugepages-2Mi") and
          res["limits"].get("hugepages-2Mi") == res["requests"].get("hugepages-2Mi"),
          "edge dataplane: hugepages-2Mi requests == limits")
    vols = {v["name"]: v for v in edge["spec"]["template"]["spec"]["volumes"]}
    check(vols["hugepages"].get("emptyDir", {}).get("medium") == "HugePages", "hugepages medium")
    check(vols["run-strobe"]["hostPath"]["path"] == "/run/strobe", "run-strobe hostPath")
    check(vols["bpffs"]["hostPath"]["path"] == "/sys/fs/bpf", "bpffs hostPath")
    check(vols["config"]["configMap"]["name"] == "strobe-config", "edge config volume")

    n = check_daemonset(node, {"config", "config-template", "run-strobe"})
    check(set(n) == {"dataplane"}, f"node containers {set(n)}")
    check(container_caps(n["dataplane"]) <= DATAPLANE_CAPS, "node caps beyond the dataplane's")

    # The configuration the pods get passes both daemons' --check.
    with tempfile.TemporaryDirectory() as d:
        edge_toml, node_toml = Path(d) / "edge.toml", Path(d) / "node.toml"
        edge_toml.write_text(cm["data"]["strobe.toml"])
        check("@NODE_IP@" in cm["data"]["node.toml.in"], "node.toml.in has no @NODE_IP@")
        node_toml.write_text(cm["data"]["node.toml.in"].replace("@NODE_IP@", "198.18.2.10"))
        for argv in ([DATAPLANE, "--config", str(edge_toml), "--check"],
                     [BGPD, "--config", str(edge_toml), "--check"],
                     [DATAPLANE, "--config", str(node_toml), "--check"]):
            cp = run(argv)
            check(cp.returncode == 0, f"{' '.join(argv)}: rc {cp.returncode}\n{cp.stderr}")
    print(f"kubernetes: yamllint, structure, capabilities and --check pass on {len(docs)} objects")


# ----------------------------------------------------------------------------- completion

def complete(*line: str) -> list:
    """What _strobectl offers for the last word of `strobectl LINE...`."""
    script = r'''
source "$1"; shift
complete -p strobectl | grep -q -- '-F _strobectl' || { echo "not registered" >&2; exit 3; }
COMP_WORDS=(strobectl "$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
_strobectl
printf '%s\n' "${COMPREPLY[@]}"
'''
    cp = run(["bash", "--norc", "-c", script, "complete", str(COMPLETION), *line], cwd="/")
    check(cp.returncode == 0, f"completion of {line}: rc {cp.returncode} {cp.stderr}")
    return [w for w in cp.stdout.splitlines() if w]


def check_completion() -> None:
    help_text = run([STROBECTL, "--help"]).stdout
    # "  show bfd counters            packets, errors...": the command, then its description.
    commands = [re.split(r"\s{2,}", l.strip())[0] for l in help_text.splitlines()
                if re.match(r"^  (show|set|clear) ", l)]
    check(len(commands) >= 9, f"strobectl --help lists {len(commands)} commands")
    for cmd in commands:
        literal = []
        for w in cmd.split():
            if not re.fullmatch(r"[a-z-]+", w):
                break  # a placeholder (PEER, ADDR|*, [PREFIX|summary]) or an option
            literal.append(w)
        for i, w in enumerate(literal):
            offered = complete(*literal[:i], w[:1])
            check(w in offered, f"`strobectl {' '.join(literal[:i])} {w[:1]}<TAB>` offers "
                                f"{offered}, not {w!r} (strobectl --help: {cmd})")
    flags = re.findall(r"^    -(\w+) \(", help_text.split("Flags from /build")[0], re.M)
    check(set(flags) >= {"config", "socket", "json", "timeout_ms"}, f"strobectl flags {flags}")
    offered = complete("--")
    for f in flags:
        check(f"--{f}" in offered, f"--<TAB> offers {offered}, not --{f}")

    cases = [
        (("",), {"show", "set", "clear", "config"}),
        (("--json", "show", ""), {"bfd", "bgp", "fib", "version", "workers"}),
        (("config", ""), {"check", "reload"}),
        (("--interval_ms", ""), set()),
        (("--config", "/etc/strobe/strobe.toml", "show", "bfd", "s"), {"sessions", "session"}),
        (("--socket=/run/strobe/strobe.sock", "show", "bfd", "c"), {"counters"}),
        (("show", "bfd", "sessions", "state", ""), {"admin-down", "down", "init", "up"}),
        (("show", "bfd", "sessions", ""), {"state", "interface", "peer"}),
        (("show", "bfd", "sessions", "interface", "l"), {"lo"}),
        (("show", "bfd", "session", "198.18.0.2", "m"), {"multihop"}),
        (("show", "bgp", ""), {"summary", "neighbors", "routes"}),
        (("show", "fib", "s"), {"summary"}),
        (("set", "bfd", "session", "198.18.0.2", ""), {"admin-down", "up"}),
        (("clear", "bgp", "neighbor", ""), {"*"}),
        (("clear", "bgp", "neighbor", "198.18.0.2", ""), {"soft"}),
        (("clear", "bgp", "neighbor", "*", "soft", ""), {"in", "out"}),
        (("--timeout_ms", ""), set()),
        (("--t",), {"--timeout_ms"}),
    ]
    for line, want in cases:
        got = set(complete(*line))
        check(got == want, f"strobectl {' '.join(line)}<TAB>: {sorted(got)}, want {sorted(want)}")
    # --config takes a file name.
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "strobe.toml").write_text("")
        got = complete("--config", f"{d}/str")
        check(got == [f"{d}/strobe.toml"], f"--config file completion: {got}")
    print(f"completion: {len(commands)} commands of strobectl --help, {len(flags)} flags, "
          f"{len(cases)} cases")


def main() -> int:
    check_systemd()
    check_kubernetes()
    check_completion()
    print("deploy: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
