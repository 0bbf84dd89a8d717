#!/usr/bin/env python3
"""Mutation score per crate from the parts cargo-mutants wrote (scripts/mutants.sh).

    mutants_summary.py OUT_DIR PART...

Reads OUT_DIR/<part>/mutants.out/outcomes.json and OUT_DIR/<part>/seconds; prints, per crate, the
mutants caught, missed, timed out and unviable, and the score: (caught + timeout) /
(caught + missed + timeout). Unviable mutants (they do not build) count for nothing. Then
lists every missed mutant and the time each part took.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path


def crate_of(path):
    parts = Path(path).parts
    return parts[1] if len(parts) > 1 and parts[0] == "crates" else parts[0]


def main():
    out = Path(sys.argv[1])
    counts = defaultdict(lambda: defaultdict(int))
    missed = []
    for part in sys.argv[2:]:
        outcomes = out / part / "mutants.out" / "outcomes.json"
        if not outcomes.exists():
            continue
        for o in json.loads(outcomes.read_text())["outcomes"]:
            scenario = o["scenario"]
            if not isinstance(scenario, dict) or "Mutant" not in scenario:
                continue
            m = scenario["Mutant"]
            crate = crate_of(m["file"])
            counts[crate][o["summary"]] += 1
            if o["summary"] == "MissedMutant":
                line = m.get("span", {}).get("start", {}).get("line", "?")
                missed.append(m.get("name") or f"{m['file']}:{line}: {describe(m)}")
    print(f"{'crate':<24} {'caught':>7} {'missed':>7} {'timeout':>8} {'unviable':>9} {'score':>7}")
    for crate in sorted(counts):
        c = counts[crate]
        caught, miss, tout = c["CaughtMutant"], c["MissedMutant"], c["Timeout"]
        viable = caught + miss + tout
        score = f"{100 * (caught + tout) / viable:.1f}%" if viable else "-"
        print(f"{crate:<24} {caught:>7} {miss:>7} {tout:>8} {c['Unviable']:>9} {score:>7}")
    if missed:
        print(f"\nmissed ({len(missed)}):")
        for m in missed:
            print("  " + m)
    print("\nwall time per part (last run):")
    for part in sys.argv[2:]:
        seconds = out / part / "seconds"
        if seconds.exists():
            s = int(seconds.read_text().strip())
            print(f"  {part:<12} {s // 60} min {s % 60:02d} s")
        else:
            print(f"  {part:<12} not run")


def describe(m):
    function = m.get("function") or {}
    name = function.get("function_name", "?") if isinstance(function, dict) else function
    return f"replace {name} with {m.get('replacement', '?')}"


if __name__ == "__main__":
    main()
