#!/usr/bin/python3
"""The pandas + XGBoost baseline for binfer's tree benchmark: what a user would
write to score a CSV with a saved booster.

usage: bench_xgb_python.py MODEL IN.csv OUT.jsonl.zst [--nthread 2] [--no-predict-only]

  pandas.read_csv -> xgboost.DMatrix(df[booster.feature_names]) ->
  Booster.predict (nthread) -> JSON lines {"id": ..., "score": ...} -> zstd
  level 3 (python3-zstandard)

score = Booster.predict(): P(class 1) for binary:logistic, the value for
regression objectives; multi:softprob writes "probs": [...] instead.
Afterwards (unless --no-predict-only) the in-memory predict alone is timed:
a fresh DMatrix from the frame already in memory (timed on its own), then
Booster.predict on it.
Prints the stage times on stderr and one summary line on stdout.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import zstandard


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="XGBoost model (.json, .ubj or legacy binary)")
    ap.add_argument("csv", help="input CSV with an id column and the model's features")
    ap.add_argument("out", help="output .jsonl.zst")
    ap.add_argument("--nthread", type=int, default=2)
    ap.add_argument("--no-predict-only", action="store_true",
                    help="skip the second, in-memory predict timing")
    args = ap.parse_args()
    import xgboost as xgb

    t_start = time.perf_counter()
    bst = xgb.Booster(model_file=args.model)
    bst.set_param({"nthread": args.nthread})
    features = bst.feature_names
    obj = json.loads(bst.save_config())["learner"]["objective"]["name"]
    t_load = time.perf_counter() - t_start

    t = time.perf_counter()
    df = pd.read_csv(args.csv)
    t_read = time.perf_counter() - t

    t = time.perf_counter()
    x = df[features] if features else df.drop(columns=["id"])
    dm = xgb.DMatrix(x, nthread=args.nthread)
    t_dmatrix = time.perf_counter() - t
    t = time.perf_counter()
    pred = bst.predict(dm)
    t_pred = time.perf_counter() - t

    t = time.perf_counter()
    dumps = json.dumps
    ids = df["id"].tolist()
    if pred.ndim == 2:
        lines = [dumps({"id": i, "probs": p}) for i, p in zip(ids, pred.tolist())]
    else:
        lines = [dumps({"id": i, "score": s}) for i, s in zip(ids, pred.tolist())]
    cctx = zstandard.ZstdCompressor(level=3)
    with open(args.out, "wb") as fh, cctx.stream_writer(fh) as zw:
        zw.write(("\n".join(lines) + "\n").encode("utf-8") if lines else b"")
    t_write = time.perf_counter() - t
    total = time.perf_counter() - t_start
    rows = len(df)
    sys.stderr.write("bench_xgb_python: model load %.2f s; read_csv %.2f s, DMatrix %.2f s, "
                     "predict %.2f s, jsonl+zstd %.2f s (%s, %d features, nthread=%d)\n"
                     % (t_load, t_read, t_dmatrix, t_pred, t_write, obj, x.shape[1],
                        args.nthread))

    extra = ""
    if not args.no_predict_only:
        del dm
        t = time.perf_counter()
        dm2 = xgb.DMatrix(x, nthread=args.nthread)
        t_dm2 = time.perf_counter() - t
        t = time.perf_counter()
        pred2 = bst.predict(dm2)
        t_pred2 = time.perf_counter() - t
        assert np.array_equal(pred, pred2)
        extra = ("; in memory: DMatrix %.3f s, predict %.3f s = %.0f rows/s"
                 % (t_dm2, t_pred2, rows / t_pred2 if t_pred2 > 0 else 0.0))
    print("bench_xgb_python: %d rows in %.2f s = %.0f rows/s (%s)%s"
          % (rows, total, rows / total if total > 0 else 0.0, os.path.basename(args.model),
             extra))


if __name__ == "__main__":
    main()
