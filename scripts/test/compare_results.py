#!/usr/bin/env python3
"""compare_results.py EXPECTED.jsonl ACTUAL.jsonl [--rel R] [--abs A] [--f32] [--ignore KEY,KEY]

Compares binfer's results with a reference library's, row by row: the same
number of rows, the same ids in the same order, the same labels, the same
keys and list lengths, and every number within A + R * |expected| (default
R = 5.1e-9: the 9 significant digits binfer prints; A = 0). With --f32 the
numbers must be the same float32 (for libraries that compute in float32).
Prints the largest absolute and relative differences; exits 1 on any
mismatch. Standard library only."""
import json
import struct
import sys


def leaves(obj, prefix=""):
    """(path, value) of every leaf, lists and dicts included, so that a
    missing key or a shorter list is a mismatch, not a skipped pair."""
    if isinstance(obj, dict):
        yield prefix, ("dict", len(obj))
        for k, v in obj.items():
            yield from leaves(v, f"{prefix}.{k}")
    elif isinstance(obj, list):
        yield prefix, ("list", len(obj))
        for i, v in enumerate(obj):
            yield from leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main():
    args = sys.argv[1:]
    opts = {"--rel": 5.1e-9, "--abs": 0.0}
    ignore, as_f32 = set(), False
    rest = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in opts:
            opts[a] = float(args[i + 1])
            i += 2
        elif a == "--ignore":
            ignore = set(args[i + 1].split(","))
            i += 2
        elif a == "--f32":
            as_f32 = True
            i += 1
        else:
            rest.append(a)
            i += 1
    if len(rest) != 2:
        sys.exit(__doc__)
    rel, tol_abs = opts["--rel"], opts["--abs"]
    with open(rest[0]) as f:
        want = [json.loads(line) for line in f if line.strip()]
    with open(rest[1]) as f:
        got = [json.loads(line) for line in f if line.strip()]
    if len(want) != len(got) or not want:
        print(f"row count: expected {len(want)}, got {len(got)}")
        return 1
    worst_abs = worst_rel = 0.0
    where, bad = "", 0

    def mismatch(msg):
        nonlocal bad
        bad += 1
        if bad <= 5:
            print(msg)

    for row, (w, g) in enumerate(zip(want, got), 1):
        for key in ignore:
            w.pop(key, None)
            g.pop(key, None)
        wl, gl = dict(leaves(w)), dict(leaves(g))
        # binfer may add top-level keys of its own (the winning class's
        # score); everything under the expected keys must match exactly
        extra = [k for k in gl if k not in wl and k.split(".")[1].split("[")[0] in w]
        if set(wl) - set(gl) or extra:
            mismatch(f"row {row}: keys differ: expected only {sorted(set(wl) - set(gl))[:5]}, "
                     f"got only {sorted(extra)[:5]}")
            continue
        for key, v in wl.items():
            u = gl[key]
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool) and \
                isinstance(u, (int, float)) and not isinstance(u, bool)
            if key == "":
                continue  # the row's own size: extra top-level keys are allowed
            if not numeric or key == ".id":
                if v != u and str(v) != str(u):
                    mismatch(f"row {row}: {key} expected {v!r}, got {u!r}")
                continue
            d = abs(float(v) - float(u))
            r = d / abs(v) if v else (0.0 if d == 0 else float("inf"))
            if d > worst_abs:
                worst_abs, where = d, f"row {row} {key}"
            worst_rel = max(worst_rel, r)
            ok = f32(float(v)) == f32(float(u)) if as_f32 else d <= tol_abs + rel * abs(float(v))
            if not ok:
                mismatch(f"row {row}: {key} expected {v!r}, got {u!r} (diff {d:.3g}, relative {r:.3g})")
    how = "float32-equal" if as_f32 else f"tolerance {tol_abs:g} + {rel:g} * |expected|"
    print(f"{len(got)} rows, max diff {worst_abs:.3g} ({where or '-'}), max relative {worst_rel:.3g}, "
          f"{bad} mismatches ({how})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
