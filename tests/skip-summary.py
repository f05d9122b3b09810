#!/usr/bin/env python3
"""Print the tests CTest skipped, each with the reason it printed.

usage: skip-summary.py LABEL JUNIT.xml
Reads the JUnit file `ctest --output-junit` wrote and prints one line per
skipped test: its name and the first line of its output that starts with
"skipped" (every skipping test here prints one), so a run without Hyperion,
root or a guest says so at the end instead of only in the middle of the log.
Python 3 standard library only.
"""
import sys
import xml.etree.ElementTree as ET


def main():
    label, path = sys.argv[1], sys.argv[2]
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"   {label}: no test report ({e})")
        return 0
    cases = root.iter("testcase")
    skipped = []
    total = 0
    for c in cases:
        total += 1
        if c.find("skipped") is None:
            continue
        out = c.findtext("system-out") or ""
        why = next((ln.strip() for ln in out.splitlines()
                    if ln.strip().lower().startswith("skipped")), "no reason printed")
        skipped.append((c.get("name", "?"), why))
    print(f"   {label}: {len(skipped)} of {total} tests skipped")
    for name, why in skipped:
        print(f"     {name}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
