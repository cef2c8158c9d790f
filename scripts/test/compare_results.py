#!/usr/bin/env python3
"""compare_results.py EXPECTED.jsonl ACTUAL.jsonl [TOL] [--ignore KEY,KEY]

Compares binfer's results with a reference library's, row by row: same ids
in the same order, same labels, numbers within TOL (absolute, default 1e-6).
Prints the largest difference; exits 1 on any mismatch. Standard library only."""
import json
import sys


def numbers(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from numbers(v, f"{prefix}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from numbers(v, f"{prefix}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield prefix, float(obj)


def main():
    args = sys.argv[1:]
    ignore = set()
    if "--ignore" in args:
        i = args.index("--ignore")
        ignore = set(args[i + 1].split(","))
        del args[i:i + 2]
    if len(args) not in (2, 3):
        sys.exit(__doc__)
    sys.argv[1:] = args
    tol = float(args[2]) if len(args) == 3 else 1e-6
    with open(sys.argv[1]) as f:
        want = [json.loads(line) for line in f if line.strip()]
    with open(sys.argv[2]) as f:
        got = [json.loads(line) for line in f if line.strip()]
    if len(want) != len(got):
        print(f"row count: expected {len(want)}, got {len(got)}")
        return 1
    worst, where, bad = 0.0, "", 0
    for i, (w, g) in enumerate(zip(want, got), 1):
        for key in ignore:
            w.pop(key, None)
        for key in w:
            if key not in g:
                print(f"row {i}: key {key!r} missing")
                bad += 1
            elif key in ("id", "label") and str(w[key]) != str(g[key]):
                print(f"row {i}: {key} expected {w[key]!r}, got {g[key]!r}")
                bad += 1
        wn, gn = dict(numbers(w)), dict(numbers(g))
        for key, v in wn.items():
            if key == ".id":
                continue
            if key not in gn:
                print(f"row {i}: {key} missing")
                bad += 1
                continue
            d = abs(v - gn[key])
            if d > worst:
                worst, where = d, f"row {i} {key}"
            if d > tol:
                bad += 1
                if bad <= 5:
                    print(f"row {i}: {key} expected {v!r}, got {gn[key]!r} (diff {d:.3g})")
    print(f"{len(got)} rows, max abs diff {worst:.3g} ({where or '-'}), {bad} mismatches (tol {tol:g})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
