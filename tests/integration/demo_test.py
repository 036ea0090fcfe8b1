#!/usr/bin/env python3
"""scripts/demo runs to the end (issue: operations, item 1): `scripts/demo --quick --json` builds
the top-of-rack lab (Strobe edge, four FRR nodes announcing one VIP with BFD at 10 ms x 3),
silences one node and restores it. Its JSON timeline is checked: 4 next hops before, 3 after
(the silenced one gone, in the kernel as observed by a netlink listener), the kernel updated in
under detection time + 5 ms after the failure, and the node back at the end.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from strobe import check  # noqa: E402


def main() -> int:
    cp = subprocess.run([str(ROOT / "scripts" / "demo"), "--quick", "--json"],
                        capture_output=True, text=True, timeout=600)
    if cp.returncode != 0:
        print(cp.stdout[-4000:], cp.stderr[-4000:], sep="\n", file=sys.stderr)
        raise AssertionError(f"scripts/demo exited with {cp.returncode}")
    result = json.loads(cp.stdout)
    print(json.dumps(result, indent=2))
    before, after = result["before"]["next_hops"], result["after"]["next_hops"]
    check(len(before) == 4, f"next hops before: {before}")
    check(len(after) == 3 and result["silenced"] not in after, f"next hops after: {after}")
    check(result["after"]["kernel_next_hops"] == after,
          f"kernel after: {result['after']['kernel_next_hops']}")
    check(result["after"]["nhid"] == result["before"]["nhid"], "the route changed group")
    limit = result["detection_time_ms"] + 5
    failover = result["failover_ms"]
    check(failover is not None and failover < limit,
          f"failover {failover} ms after the failure, want < {limit} ms")
    t = result["timeline_ms"]
    # The kernel applies the group change, then multicasts it and acks the writer: the listener
    # and the writer stamp their copies independently, so only "after BFD Down" orders them.
    check(t["bfd_down"] is not None and t["bfd_down"] <= t["group_acked"]
          and t["bfd_down"] <= failover, f"timeline out of order: {t}")
    check(len(result["restored_next_hops"]) == 4, f"restored: {result['restored_next_hops']}")
    print(f"PASS: demo: 4 -> 3 next hops, kernel updated {failover} ms after the failure "
          f"(BFD Down at {t['bfd_down']} ms, group acked at {t['group_acked']} ms; limit {limit} "
          f"ms), node restored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
