#!/usr/bin/env python3
"""Fails when a sanitizer left a report in DIR (its `log_path`), printing each one.

The ThreadSanitizer pass of scripts/test runs the dataplane inside integration tests; a report
from such a child process must fail CI even if the test itself happened to pass (a race found
while shutting down, for example). Run last, after the tests that write into DIR.
"""

import sys
from pathlib import Path


def main() -> int:
    report_dir = Path(sys.argv[1])
    reports = sorted(report_dir.glob("*")) if report_dir.is_dir() else []
    for report in reports:
        print(f"=== {report}")
        print(report.read_text(errors="replace"))
    print(f"{len(reports)} sanitizer report(s) in {report_dir}")
    return 1 if reports else 0


if __name__ == "__main__":
    sys.exit(main())
