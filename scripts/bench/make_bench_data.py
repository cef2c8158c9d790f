#!/usr/bin/python3
"""Write an N-row benchmark CSV by sampling rows (with replacement, seeded) of
testdata/tabular/churn.csv: same header and columns, cells copied verbatim
(including its blanks and unseen categories), and a fresh unique id per row
("C-" + zero-padded row number).

usage: make_bench_data.py N OUT.csv [--source CSV] [--seed S] [--chunk ROWS]

Vectorised: each chunk of output rows is one uint8 matrix
[prefix | id digits | padded source line tail] from which the padding bytes
are dropped with a boolean mask.
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SOURCE = os.path.join(ROOT, "testdata", "tabular", "churn.csv")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of data rows")
    ap.add_argument("out", help="output CSV path")
    ap.add_argument("--source", default=DEFAULT_SOURCE, help="CSV to sample (first column: id)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--chunk", type=int, default=500_000, help="rows per write")
    args = ap.parse_args()
    if args.n < 0:
        ap.error("N must be >= 0")

    t0 = time.perf_counter()
    with open(args.source, "rb") as f:
        data = f.read()
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    header, body = lines[0], [ln for ln in lines[1:] if ln]
    if not body:
        sys.exit("make_bench_data: %s has no data rows" % args.source)
    if not header.startswith(b"id,"):
        sys.exit("make_bench_data: first column of %s is not 'id'" % args.source)
    first_id = body[0].split(b",", 1)[0]
    prefix = first_id[: first_id.index(b"-") + 1] if b"-" in first_id else b"C-"

    # source line tails: ",<rest of the row>\n", padded into a matrix
    tails = [ln[ln.index(b","):] + b"\n" for ln in body]
    tlen = np.array([len(t) for t in tails])
    lmax = int(tlen.max())
    tailpad = np.zeros((len(tails), lmax), dtype=np.uint8)
    for i, t in enumerate(tails):
        tailpad[i, : len(t)] = np.frombuffer(t, dtype=np.uint8)
    tailmask = np.arange(lmax)[None, :] < tlen[:, None]

    width = max(8, len(str(args.n)))
    plen = len(prefix) + width
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    prefix_arr = np.frombuffer(prefix, dtype=np.uint8)
    rng = np.random.default_rng(args.seed)

    nbytes = 0
    with open(args.out, "wb") as out:
        out.write(header + b"\n")
        for start in range(0, args.n, args.chunk):
            m = min(args.chunk, args.n - start)
            idx = rng.integers(0, len(tails), size=m)
            num = np.arange(start + 1, start + m + 1, dtype=np.int64)
            mat = np.empty((m, plen + lmax), dtype=np.uint8)
            mat[:, : len(prefix)] = prefix_arr
            mat[:, len(prefix): plen] = (num[:, None] // pow10[None, :]) % 10 + 48
            mat[:, plen:] = tailpad[idx]
            mask = np.ones(mat.shape, dtype=bool)
            mask[:, plen:] = tailmask[idx]
            buf = mat[mask].tobytes()
            out.write(buf)
            nbytes += len(buf)
    dt = time.perf_counter() - t0
    sys.stderr.write("make_bench_data: wrote %s: %d rows, %.1f MB in %.2f s (%.0f rows/s)\n"
                     % (args.out, args.n, nbytes / 1e6, dt, args.n / dt if dt > 0 else 0))


if __name__ == "__main__":
    main()
