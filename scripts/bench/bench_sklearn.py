#!/usr/bin/python3
"""The pandas + scikit-learn baseline for binfer's benchmark: what a user
would write to score a CSV with a fitted pipeline.

usage: bench_sklearn.py MODEL.pkl IN.csv OUT.jsonl.zst [--chunksize ROWS]

  pandas.read_csv (category columns as str) -> pipeline.predict_proba
  -> JSONL lines -> zstd level 3 (python3-zstandard)

Output lines, as in testdata/tabular/*.expected.jsonl:
  binary      {"id": ..., "score": P(classes_[1])}
  multiclass  {"id": ..., "label": ..., "probs": {"cls": p, ...}}
  regression  {"id": ..., "score": y}
Prints the stage times and rows/s (on stderr: one summary line on stdout).
Without --chunksize the whole file is read at once (the usual user code).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
from importlib.machinery import SourceFileLoader  # noqa: E402

# the exporter users run, tools/binfer-export-sklearn (no .py: loaded by path)
export_sklearn = SourceFileLoader("export_sklearn", os.path.join(ROOT, "tools", "binfer-export-sklearn")).load_module()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="pickled / joblib'd fitted pipeline")
    ap.add_argument("csv", help="input CSV with an id column")
    ap.add_argument("out", help="output .jsonl.zst")
    ap.add_argument("--chunksize", type=int, default=None,
                    help="process the CSV in chunks of this many rows")
    args = ap.parse_args()

    t0 = time.perf_counter()
    model = export_sklearn.load_model(args.model)
    doc = export_sklearn.build(model)          # only to learn the category columns
    cats = [i["name"] for i in doc["inputs"] if i["type"] == "category"]
    columns = list(model.feature_names_in_)
    task, classes = doc["task"], doc.get("classes")
    t_load = time.perf_counter() - t0

    dtype = {c: str for c in cats + ["id"]}
    dumps = json.dumps
    t_read = t_pred = t_write = 0.0
    rows = 0
    cctx = zstandard.ZstdCompressor(level=3)
    t_start = time.perf_counter()
    with open(args.out, "wb") as fh, cctx.stream_writer(fh) as zw:
        t = time.perf_counter()
        reader = pd.read_csv(args.csv, dtype=dtype, chunksize=args.chunksize)
        t_read += time.perf_counter() - t    # the whole read without --chunksize
        it = iter(reader if args.chunksize else [reader])
        while True:
            t = time.perf_counter()
            try:
                df = next(it)
            except StopIteration:
                break
            t2 = time.perf_counter()
            t_read += t2 - t
            x = df[columns]
            if task == "regression":
                pred = model.predict(x)
            else:
                pred = model.predict_proba(x)
            t3 = time.perf_counter()
            t_pred += t3 - t2
            ids = df["id"].tolist()
            if task == "regression":
                lines = [dumps({"id": i, "score": s}) for i, s in zip(ids, pred.tolist())]
            elif task == "binary":
                lines = [dumps({"id": i, "score": s}) for i, s in zip(ids, pred[:, 1].tolist())]
            else:
                lab = np.asarray(classes, dtype=object)[pred.argmax(axis=1)].tolist()
                lines = [dumps({"id": i, "label": lb, "probs": dict(zip(classes, p))})
                         for i, lb, p in zip(ids, lab, pred.tolist())]
            if lines:
                zw.write(("\n".join(lines) + "\n").encode("utf-8"))
            t_write += time.perf_counter() - t3
            rows += len(df)
    total = time.perf_counter() - t_start
    sys.stderr.write("bench_sklearn: model load %.2f s; read_csv %.2f s, predict %.2f s, "
                     "jsonl+zstd %.2f s\n" % (t_load, t_read, t_pred, t_write))
    print("bench_sklearn: %d rows in %.2f s = %.0f rows/s (%s, %s)"
          % (rows, total, rows / total if total > 0 else 0.0, os.path.basename(args.model),
             task))


if __name__ == "__main__":
    main()
