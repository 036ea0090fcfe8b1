#!/usr/bin/python3
"""Checks the BGP golden vectors in golden_vectors.h with tshark's BGP dissector.

Each kGolden<Type>...Hex vector is wrapped in Ethernet/IPv4/TCP to port 179 (one segment), written
to a pcap and decoded with `tshark -V`. Fails when tshark does not see exactly one BGP message of the
expected type, or reports a malformed packet or an expert warning/error in the BGP part.
Fails (exit 1) when tshark is not installed: a missing prerequisite must never pass as a skip.
"""

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, Ether, Raw, wrpcap  # noqa: E402

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_vectors.h")

EXPECTED = [  # Longest prefix first.
    ("Notification", "NOTIFICATION Message (3)"),
    ("RouteRefresh", "ROUTE-REFRESH Message (5)"),
    ("Keepalive", "KEEPALIVE Message (4)"),
    ("Update", "UPDATE Message (2)"),
    ("Open", "OPEN Message (1)"),
]


def parse_vectors(text):
    vectors = {}
    pattern = re.compile(r'kGolden(\w+)Hex\[\]\s*=\s*((?:\s*"[0-9a-fA-F]*")+)\s*;')
    for name, literals in pattern.findall(text):
        hexstr = "".join(re.findall(r'"([0-9a-fA-F]*)"', literals))
        vectors[name] = bytes.fromhex(hexstr)
    return vectors


def expected_type(name):
    for prefix, label in EXPECTED:
        if name.startswith(prefix):
            return label
    raise ValueError(f"no expected BGP type for vector {name}")


def check(name, payload, tmpdir, port):
    pkt = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
           / IP(src="198.18.0.1", dst="198.18.0.2")
           / TCP(sport=port, dport=179, flags="PA", seq=1000, ack=2000)
           / Raw(load=payload))
    path = os.path.join(tmpdir, f"{name}.pcap")
    wrpcap(path, [pkt])
    proc = subprocess.run(
        ["tshark", "-n", "-r", path, "-V", "-o", "tcp.analyze_sequence_numbers:FALSE"],
        capture_output=True, text=True, check=False)
    out = proc.stdout
    problems = []
    if proc.returncode != 0:
        problems.append(f"tshark exited {proc.returncode}: {proc.stderr.strip()}")
    bgp_start = out.find("Border Gateway Protocol")
    if bgp_start < 0:
        problems.append("not decoded as BGP")
    bgp = out[bgp_start:] if bgp_start >= 0 else ""
    want = expected_type(name)
    types = re.findall(r"^\s+Type: (.+)$", bgp, re.MULTILINE)
    if types[:1] != [want]:
        problems.append(f"expected message type {want!r}, tshark saw {types[:1]}")
    if bgp.count("Border Gateway Protocol - ") != 1:
        problems.append("expected exactly one BGP message")
    if "Malformed" in out:
        problems.append("tshark reports a malformed packet")
    for m in re.finditer(r"\[Expert Info \((Warning|Error)/[^)]*\): ([^\]]*)\]", bgp):
        problems.append(f"expert {m.group(1)}: {m.group(2)}")
    # Lengths as tshark read them must match the vector.
    lengths = re.findall(r"^\s+Length: (\d+)$", bgp, re.MULTILINE)
    if not lengths or int(lengths[0]) != len(payload):
        problems.append(f"BGP length {lengths[:1]} != {len(payload)}")
    return problems, out


def main():
    if shutil.which("tshark") is None:
        print("FAIL: tshark is not installed (scripts/install-deps installs it)")
        return 1
    with open(HEADER, encoding="utf-8") as f:
        vectors = parse_vectors(f.read())
    if len(vectors) < 7:
        print(f"expected at least 7 golden vectors, found {sorted(vectors)}")
        return 1
    failed = False
    with tempfile.TemporaryDirectory() as tmpdir:
        for i, (name, payload) in enumerate(sorted(vectors.items())):
            problems, out = check(name, payload, tmpdir, 40000 + i)
            if problems:
                failed = True
                print(f"FAIL {name}: " + "; ".join(problems))
                print(out)
            else:
                print(f"ok   {name} ({len(payload)} octets): {expected_type(name)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
