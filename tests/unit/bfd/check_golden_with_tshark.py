#!/usr/bin/python3
"""Checks the BFD golden vectors of golden_vectors.h with Wireshark's BFD dissector.

Every vector is wrapped in Ethernet/IPv4/UDP (destination port 3784, TTL 255) and written to a
pcap with scapy. tshark must then decode each one as "BFD Control", with no expert info of
severity warning or error and no malformed-packet marker, and with the header fields this script
expects for the vector (written out here independently of the hex, so that a typo in the
hand-written bytes shows up). A deliberately malformed control packet is checked too, to show
that the check can fail.

Usage: check_golden_with_tshark.py [path/to/golden_vectors.h]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # pylint: disable=no-name-in-module

BFD_PORT = 3784
TSHARK = shutil.which("tshark") or "/usr/bin/tshark"

# tshark's expert severities (epan/proto.h: PI_CHAT, PI_NOTE, PI_WARN, PI_ERROR).
SEVERITY_NAMES = {0x200000: "chat", 0x400000: "note", 0x600000: "warning", 0x800000: "error"}
FAILING_SEVERITY = 0x600000

# Expected dissection per vector: tshark field -> value as tshark prints it with -T fields.
# (bfd.flags is the whole second byte, state bits included.)
COMMON_1S = {
    "bfd.desired_min_tx_interval": "1000000",
    "bfd.required_min_rx_interval": "1000000",
    "bfd.required_min_echo_interval": "0",
}
EXPECTED = {
    "down_plain": {
        "bfd.version": "1", "bfd.diag": "0x00", "bfd.sta": "0x01", "bfd.flags": "0x40",
        "bfd.detect_time_multiplier": "3", "bfd.message_length": "24",
        "bfd.my_discriminator": "0x00000001", "bfd.your_discriminator": "0x00000000",
        **COMMON_1S,
    },
    "down_diag_detect_expired": {
        "bfd.diag": "0x01", "bfd.sta": "0x01", "bfd.message_length": "24", **COMMON_1S,
    },
    "admin_down": {
        "bfd.diag": "0x07", "bfd.sta": "0x00", "bfd.flags": "0x00",
        "bfd.your_discriminator": "0x00000002",
    },
    "init_cpi": {"bfd.sta": "0x02", "bfd.flags.c": "1", "bfd.flags.p": "0", "bfd.flags.a": "0"},
    "up_poll": {
        "bfd.sta": "0x03", "bfd.flags.p": "1", "bfd.flags.f": "0", "bfd.flags.a": "0",
        "bfd.detect_time_multiplier": "5", "bfd.my_discriminator": "0x11223344",
        "bfd.your_discriminator": "0x55667788", "bfd.desired_min_tx_interval": "300000",
        "bfd.required_min_rx_interval": "300000", "bfd.required_min_echo_interval": "50000",
    },
    "up_final": {
        "bfd.sta": "0x03", "bfd.flags.p": "0", "bfd.flags.f": "1",
        "bfd.my_discriminator": "0x55667788", "bfd.your_discriminator": "0x11223344",
    },
    "up_demand": {"bfd.sta": "0x03", "bfd.flags.d": "1", "bfd.flags.p": "0", "bfd.flags.f": "0"},
    "simple_password": {
        "bfd.sta": "0x03", "bfd.flags.a": "1", "bfd.message_length": "35", "bfd.auth.type": "1",
        "bfd.auth.len": "11", "bfd.auth.key": "5", "bfd.auth.password": "password",
    },
    "keyed_md5": {
        "bfd.flags.a": "1", "bfd.message_length": "48", "bfd.auth.type": "2", "bfd.auth.len": "24",
        "bfd.auth.key": "1", "bfd.auth.seq_num": "0x00000064",
        "bfd.checksum": "bd6dffebbf6f824c63c714415eb71a6c",
    },
    "meticulous_keyed_md5": {
        "bfd.sta": "0x02", "bfd.flags.a": "1", "bfd.message_length": "48", "bfd.auth.type": "3",
        "bfd.auth.len": "24", "bfd.auth.key": "7", "bfd.auth.seq_num": "0xfffffffe",
        "bfd.desired_min_tx_interval": "100000",
        "bfd.checksum": "348f34fc11d0897e2daefeac62c0439d",
    },
    "keyed_sha1": {
        "bfd.sta": "0x03", "bfd.flags.a": "1", "bfd.detect_time_multiplier": "5",
        "bfd.message_length": "52", "bfd.auth.type": "4", "bfd.auth.len": "28",
        "bfd.auth.key": "2", "bfd.auth.seq_num": "0x00001000",
        "bfd.desired_min_tx_interval": "500000",
        "bfd.checksum": "33dad2f6b8319fa8e3c9e97ba3c5f0c1cd42258a",
    },
    "meticulous_keyed_sha1": {
        "bfd.diag": "0x03", "bfd.sta": "0x01", "bfd.flags.a": "1", "bfd.message_length": "52",
        "bfd.auth.type": "5", "bfd.auth.len": "28", "bfd.auth.key": "255",
        "bfd.auth.seq_num": "0x80000000",
        "bfd.checksum": "e2eca44d11b38466696109e5729b758e43d7586f",
    },
}

# Keyed MD5 whose Auth Len says 20 instead of 24: tshark must flag it.
NEGATIVE_CONTROL = ("negative_control_bad_auth_len",
                    "20c40330000000010000000200" "0f4240000f4240000000000214010000000064"
                    "bd6dffebbf6f824c63c714415eb71a6c")


def parse_header(path):
    """Returns [(name, bytes)] from the kGoldenVectors initializer of golden_vectors.h."""
    text = path.read_text()
    # Drop comments so that example hex in them is not picked up.
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    match = re.search(r"kGoldenVectors\[\]\s*=\s*\{(.*)\};", text, flags=re.S)
    if not match:
        raise ValueError(f"{path}: no kGoldenVectors initializer")
    vectors = []
    for entry in re.finditer(r"\{([^{}]*)\}", match.group(1)):
        literals = re.findall(r'"((?:[^"\\]|\\.)*)"', entry.group(1))
        if len(literals) < 2:
            raise ValueError(f"{path}: cannot parse entry {entry.group(0)!r}")
        name, hex_text = literals[0], "".join(literals[1:])
        hex_text = re.sub(r"\s+", "", hex_text)
        if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", hex_text):
            raise ValueError(f"{name}: not an even-length hex string: {hex_text!r}")
        vectors.append((name, bytes.fromhex(hex_text)))
    if not vectors:
        raise ValueError(f"{path}: no vectors found")
    return vectors


def write_pcap(vectors, path):
    frames = []
    for i, (_, payload) in enumerate(vectors):
        frames.append(
            Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
            / IP(src="192.0.2.1", dst="192.0.2.2", ttl=255, id=i + 1)
            / UDP(sport=49152 + i, dport=BFD_PORT)
            / Raw(load=payload))
    wrpcap(str(path), frames)


def run_tshark(pcap, fields):
    """Returns one {field: value} dict per frame."""
    # Tab-separated, multiple occurrences of a field joined with '|'.
    args = [TSHARK, "-n", "-r", str(pcap), "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=a", "-E", "aggregator=|"]
    for field in fields:
        args += ["-e", field]
    env = dict(os.environ)
    env.setdefault("HOME", tempfile.gettempdir())
    proc = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"tshark failed ({proc.returncode}): {proc.stderr}")
    rows = []
    for line in proc.stdout.splitlines():
        values = line.split("\t")
        values += [""] * (len(fields) - len(values))
        rows.append(dict(zip(fields, values)))
    return rows


def expert_summary(pcap):
    proc = subprocess.run([TSHARK, "-n", "-q", "-r", str(pcap), "-z", "expert"],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def problems_for(name, payload, row, expected):
    problems = []
    if row.get("_ws.col.Protocol") != "BFD Control":
        problems.append(f"protocol is {row.get('_ws.col.Protocol')!r}, not 'BFD Control'")
    if row.get("_ws.malformed"):
        problems.append("tshark marks it malformed")
    severities = [int(s) for s in row.get("_ws.expert.severity", "").split("|") if s]
    messages = row.get("_ws.expert.message", "").split("|")
    for severity, message in zip(severities, messages + [""] * len(severities)):
        if severity >= FAILING_SEVERITY:
            problems.append(f"expert {SEVERITY_NAMES.get(severity, hex(severity))}: {message}")
    # Always: the Length field matches the bytes, and the A bit matches an auth section.
    if row.get("bfd.message_length") != str(len(payload)):
        problems.append(f"bfd.message_length {row.get('bfd.message_length')!r} != "
                        f"{len(payload)} bytes")
    has_auth = (payload[1] & 0x04) != 0
    if has_auth != bool(row.get("bfd.auth.type")):
        problems.append("A bit and the dissected auth section disagree")
    for field, want in (expected or {}).items():
        got = row.get(field)
        if got != want:
            problems.append(f"{field} = {got!r}, expected {want!r}")
    if expected is None:
        problems.append("no expected fields in check_golden_with_tshark.py for this vector")
    return [f"{name}: {p}" for p in problems]


def main(argv):
    header = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("golden_vectors.h")
    vectors = parse_header(header)
    fields = sorted({"_ws.col.Protocol", "_ws.malformed", "_ws.expert.severity",
                     "_ws.expert.message", "bfd.message_length", "bfd.auth.type"}
                    | {f for exp in EXPECTED.values() for f in exp})
    failures = []
    with tempfile.TemporaryDirectory(prefix="bfd_golden_") as tmp:
        pcap = Path(tmp) / "golden.pcap"
        write_pcap(vectors + [(NEGATIVE_CONTROL[0], bytes.fromhex(NEGATIVE_CONTROL[1]))], pcap)
        rows = run_tshark(pcap, fields)
        if len(rows) != len(vectors) + 1:
            print(f"FAIL: tshark printed {len(rows)} frames for {len(vectors) + 1} packets")
            return 1
        print(f"{'vector':<30} {'len':>4}  {'state':<5} {'auth':<4} tshark")
        for (name, payload), row in zip(vectors, rows):
            problems = problems_for(name, payload, row, EXPECTED.get(name))
            failures += problems
            state = ["admin", "down", "init", "up"][payload[1] >> 6]
            auth = str(payload[24]) if payload[1] & 0x04 else "-"
            verdict = "ok" if not problems else "FAIL"
            print(f"{name:<30} {len(payload):>4}  {state:<5} {auth:<4} "
                  f"{row.get('_ws.col.Protocol')} {verdict}")
        missing = set(EXPECTED) - {name for name, _ in vectors}
        failures += [f"{name}: expected here but not in {header.name}" for name in missing]
        # The negative control must be flagged, or the checks above prove nothing.
        control = rows[-1]
        flagged = any(int(s) >= FAILING_SEVERITY
                      for s in control.get("_ws.expert.severity", "").split("|") if s)
        print(f"{NEGATIVE_CONTROL[0]:<30} {len(NEGATIVE_CONTROL[1]) // 2:>4}  "
              f"{'up':<5} {'2':<4} {'flagged' if flagged else 'NOT flagged'} (must be flagged)")
        if not flagged:
            failures.append(f"{NEGATIVE_CONTROL[0]}: tshark did not flag it; the check is blind")
        if failures:
            print("\ntshark expert summary:\n" + expert_summary(pcap))
    if failures:
        print("\nFAIL:")
        for failure in failures:
            print("  " + failure)
        return 1
    print(f"\nOK: {len(vectors)} golden vectors decode as BFD Control with the expected fields "
          "and no tshark warnings or errors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
