#!/usr/bin/python3
"""The XGBoost benchmark's model and data: a 150-tree, depth-6 binary:logistic
booster trained with Debian's python3-xgboost on all of modeldata::mlc_churn
(numbers + pandas.get_dummies columns, no categorical splits, so that the
xgboost CLI can score the same data), and an N-row CSV of exactly the model's
features, sampled (with replacement, seeded) from the real churn rows.

Writes into OUT_DIR (default bench/trees/):
  churn_xgb150.json     booster.save_model(".json")
  churn_xgb150.ubj      booster.save_model(".ubj")
  churn_xgb150.model    booster.save_model(".model"): the legacy binary format
                        (the 1.7.4 CLI loads all three: model_in=...)
  churn_xgb150_<N>.csv       header "id,<features...>"; id = row number 1..N
                             (an integer, so the CLI can read it as the label
                             column); numbers as R wrote them, dummies 0 / 1
  churn_xgb150_<N>.cli.csv   the same rows without the header line: the CLI's
                             CSV reader (?format=csv&label_column=0) has no
                             header option and would score the header as a row
  churn_xgb150_<N>.raw.csv   (--raw) the same rows with the raw columns instead
                             of the dummies (state "OH", ...), for binfer's
                             one-hot-from-raw-column path

usage: make_tree_bench_data.py [N] [--out-dir DIR] [--seed S] [--raw] [--trees T]
                               [--depth D] [--force-model]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CATS = ["state", "area_code", "international_plan", "voice_mail_plan"]
TARGET = "churn"


def export_churn(path):
    expr = ('data(mlc_churn, package="modeldata"); '
            'write.csv(mlc_churn, "%s", row.names=FALSE, na="")' % path)
    subprocess.run(["Rscript", "-e", expr], check=True)


def model_frame(df, dummy_cols=None):
    """numbers as float64 + pd.get_dummies(prefix=column, prefix_sep="_") of the
    category columns, in data set column order; reindexed to dummy_cols."""
    dums = pd.get_dummies(df[CATS], prefix=CATS, prefix_sep="_")
    if dummy_cols is None:
        dummy_cols = list(dums.columns)
    dums = dums.reindex(columns=dummy_cols, fill_value=0)
    cols = []
    for c in df.columns:
        if c in CATS:
            cols.extend(d for d in dummy_cols if d.startswith(c + "_"))
        elif c not in (TARGET, "id"):
            cols.append(c)
    x = pd.concat([df[[c for c in df.columns if c not in CATS + [TARGET, "id"]]]
                   .astype(np.float64), dums], axis=1)
    return x[cols], dummy_cols


def digits_matrix(nums):
    """ASCII decimal digits of positive int64 nums, right-aligned, and the
    mask of the real (non-leading-zero) digit positions."""
    width = len(str(int(nums.max()))) if len(nums) else 1
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    dig = ((nums[:, None] // pow10[None, :]) % 10 + 48).astype(np.uint8)
    nd = np.floor(np.log10(nums)).astype(np.int64) + 1
    mask = np.arange(width)[None, :] >= (width - nd)[:, None]
    return dig, mask


def write_sampled(files, tails_list, idx_chunks):
    """Write rows "<id><tail>" to several files at once. files: (path, header
    bytes or None, k); tails_list[k][i]: the bytes after the id (",v1,...\\n")
    of source row i; idx_chunks: the sampled source rows, chunk by chunk."""
    mats = []
    for tails in tails_list:
        tlen = np.array([len(t) for t in tails])
        lmax = int(tlen.max())
        pad = np.zeros((len(tails), lmax), dtype=np.uint8)
        for i, t in enumerate(tails):
            pad[i, :len(t)] = np.frombuffer(t, dtype=np.uint8)
        mats.append((pad, np.arange(lmax)[None, :] < tlen[:, None]))
    outs = [open(p, "wb") for p, _, _ in files]
    try:
        for f, (_, h, _) in zip(outs, files):
            if h is not None:
                f.write(h)
        start = 0
        for idx in idx_chunks:
            m = len(idx)
            num = np.arange(start + 1, start + m + 1, dtype=np.int64)
            dig, dmask = digits_matrix(num)
            for f, (_, _, k) in zip(outs, files):
                pad, tmask = mats[k]
                mat = np.concatenate([dig, pad[idx]], axis=1)
                mask = np.concatenate([dmask, tmask[idx]], axis=1)
                f.write(mat[mask].tobytes())
            start += m
    finally:
        for f in outs:
            f.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, nargs="?", default=1_000_000, help="rows (default 1M)")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "trees"))
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--trees", type=int, default=150)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--raw", action="store_true", help="also write the raw-column CSV")
    ap.add_argument("--force-model", action="store_true", help="retrain even if present")
    ap.add_argument("--chunk", type=int, default=250_000)
    args = ap.parse_args()
    import xgboost as xgb

    os.makedirs(args.out_dir, exist_ok=True)
    stem = os.path.join(args.out_dir, "churn_xgb%d" % args.trees)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="binfer_bench_") as tmp:
        r_csv = os.path.join(tmp, "mlc_churn.csv")
        export_churn(r_csv)
        text = pd.read_csv(r_csv, dtype=str, keep_default_na=False)
    # the same rows parsed the way the benchmark's readers parse them
    parsed = text.copy()
    for c in text.columns:
        if c not in CATS + [TARGET]:
            parsed[c] = parsed[c].astype(np.float64)
    x, dummy_cols = model_frame(parsed)
    features = list(x.columns)
    y = (parsed[TARGET] == "yes").astype(int).to_numpy()

    if args.force_model or not os.path.exists(stem + ".json"):
        dtrain = xgb.DMatrix(x, label=y)
        params = dict(objective="binary:logistic", tree_method="hist", max_depth=args.depth,
                      eta=0.1, subsample=0.9, colsample_bytree=0.9, seed=0)
        bst = xgb.train(params, dtrain, num_boost_round=args.trees)
        for ext in ("json", "ubj", "model"):
            bst.save_model(stem + "." + ext)
        sys.stderr.write("make_tree_bench_data: trained %d trees (depth %d, %d features) on "
                         "%d rows\n" % (args.trees, args.depth, len(features), len(x)))
    bst = xgb.Booster(model_file=stem + ".json")
    assert list(bst.feature_names) == features, "model features differ from the data's"

    # source row tails: the original text for numbers, "0"/"1" for dummies
    feat_text = []
    for c in features:
        if c in dummy_cols:
            feat_text.append(np.where(x[c].to_numpy() != 0, "1", "0"))
        else:
            feat_text.append(text[c].to_numpy())
    tails = [("," + ",".join(row) + "\n").encode() for row in zip(*feat_text)]
    raw_cols = [c for c in text.columns if c != TARGET]
    raw_tails = [("," + ",".join(row) + "\n").encode()
                 for row in zip(*[text[c].to_numpy() for c in raw_cols])]

    csv_path = "%s_%d.csv" % (stem, args.n)
    cli_path = "%s_%d.cli.csv" % (stem, args.n)
    raw_path = "%s_%d.raw.csv" % (stem, args.n)
    files = [(csv_path, ("id," + ",".join(features) + "\n").encode(), 0), (cli_path, None, 0)]
    tails_list = [tails]
    if args.raw:
        files.append((raw_path, ("id," + ",".join(raw_cols) + "\n").encode(), 1))
        tails_list.append(raw_tails)
    rng = np.random.default_rng(args.seed)
    chunks = []
    left = args.n
    while left > 0:
        m = min(args.chunk, left)
        chunks.append(rng.integers(0, len(tails), size=m))
        left -= m
    write_sampled(files, tails_list, chunks)
    dt = time.perf_counter() - t0
    for p, _, _ in files:
        sys.stderr.write("make_tree_bench_data: wrote %s (%.0f MB)\n"
                         % (p, os.path.getsize(p) / 1e6))
    sys.stderr.write("make_tree_bench_data: %d rows, %d features in %.1f s\n"
                     % (args.n, len(features), dt))
    print(csv_path)


if __name__ == "__main__":
    main()
