#!/usr/bin/python3
"""Train scikit-learn models on real data sets from R's modeldata package and
write binfer's tabular test data:

  testdata/models/<model>.json              exported by tools/binfer-export-sklearn
  testdata/tabular/<dataset>.csv            held-out rows, with an id column,
                                            some blank cells and unseen categories
  testdata/tabular/<model>.expected.jsonl   scikit-learn's own predictions on
                                            that CSV (read back by pandas)

Data sets (exported from R with Rscript + modeldata):
  churn    modeldata::mlc_churn  binary      churn (no/yes), score = P(yes)
  hpc      modeldata::hpc_data   multiclass  class (F/L/M/VF)
  concrete modeldata::concrete   regression  compressive_strength

Every exported JSON model is checked against scikit-learn by an independent
numpy evaluator of the JSON format (ref_predict below), to 1e-9.

usage: make_tabular_testdata.py [--out-dir REPO_ROOT] [--pickle-dir DIR]
  --pickle-dir  where the fitted pipelines are pickled (default
                /tmp/binfer_sklearn_models); scripts/bench/bench_sklearn.py loads them.
"""

import argparse
import csv
import json
import os
import pickle
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXPORTER = os.path.join(ROOT, "tools", "binfer-export-sklearn")

DATASETS = {
    "churn": dict(
        r_name="mlc_churn", target="churn", id_prefix="C-", n_test=500, seed=1,
        cats=["state", "area_code", "international_plan", "voice_mail_plan"],
        unseen={"state": 6}),
    "hpc": dict(
        r_name="hpc_data", target="class", id_prefix="H-", n_test=400, seed=2,
        cats=["protocol", "day"], unseen={"protocol": 4}),
    "concrete": dict(
        r_name="concrete", target="compressive_strength", id_prefix="K-", n_test=300,
        seed=3, cats=[], unseen={}),
}

# Cells equal to one of these would become NaN under pandas' default
# read_csv (keep_default_na=True); the test data must not contain any.
PANDAS_DEFAULT_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                     "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
                     "n/a", "nan", "null"}

NUM_BLANK_RATE = 0.03
CAT_BLANK_RATE = 0.015


# --------------------------------------------------------------------------
# model definitions


def _pre(num, cats, num_impute="median", cat_impute=None):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    cat_impute = cat_impute or dict(strategy="most_frequent")
    parts = [("num", Pipeline([("impute", SimpleImputer(strategy=num_impute)),
                               ("scale", StandardScaler())]), num)]
    if cats:
        parts.append(("cat", Pipeline([("impute", SimpleImputer(**cat_impute)),
                                       ("onehot", OneHotEncoder(handle_unknown="ignore"))]),
                      cats))
    return ColumnTransformer(parts)


def make_models(name, num, cats):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    if name == "churn":
        return {
            "churn_logistic": Pipeline([("pre", _pre(num, cats)),
                                        ("model", LogisticRegression(max_iter=2000))]),
            "churn_mlp": Pipeline([("pre", _pre(num, cats)),
                                   ("model", MLPClassifier(hidden_layer_sizes=(32, 16),
                                                           random_state=0, max_iter=300))]),
        }
    if name == "hpc":
        # category blanks become their own (unknown -> all zeros) value "missing"
        cat_imp = dict(strategy="constant", fill_value="missing")
        return {
            "hpc_logistic": Pipeline([("pre", _pre(num, cats, "mean", cat_imp)),
                                      ("model", LogisticRegression(multi_class="multinomial",
                                                                   max_iter=5000))]),
            "hpc_mlp": Pipeline([("pre", _pre(num, cats, "mean", cat_imp)),
                                 ("model", MLPClassifier(hidden_layer_sizes=(32, 16),
                                                         activation="tanh", random_state=0,
                                                         max_iter=500))]),
        }
    if name == "concrete":
        return {
            # plain pipeline, no ColumnTransformer
            "concrete_ridge": Pipeline([("impute", SimpleImputer(strategy="median")),
                                        ("scale", StandardScaler()),
                                        ("model", Ridge(alpha=1.0))]),
            "concrete_mlp": Pipeline([("pre", _pre(num, cats, "mean")),
                                      ("model", MLPRegressor(hidden_layer_sizes=(64, 32),
                                                             activation="relu",
                                                             random_state=0,
                                                             max_iter=3000))]),
        }
    raise KeyError(name)


# --------------------------------------------------------------------------
# reference evaluator of the binfer-tabular JSON (independent of sklearn)


def ref_predict(m, rows):
    """m: parsed model JSON; rows: list of dicts of cell text ('' = missing).
    Returns P(classes[1]) (binary), class probabilities (multiclass) or y."""
    types = {i["name"]: i["type"] for i in m["inputs"]}
    blocks = []
    for f in m["features"]:
        cells = [r.get(f["input"], "") for r in rows]
        if types[f["input"]] == "number":
            v = np.array([float(s) if s != "" else np.nan for s in cells])
        else:
            v = np.array([s if s != "" else None for s in cells], dtype=object)
        out = None
        for st in f["steps"]:
            if st["op"] == "impute" and v.dtype == object:
                v = np.array([st["value"] if s is None else s for s in v], dtype=object)
            elif st["op"] == "impute":
                v = np.where(np.isnan(v), st["value"], v)
            elif st["op"] == "scale":
                v = (v - st["mean"]) / st["scale"]
            elif st["op"] == "onehot":
                out = np.array([[float(s == c) for c in st["categories"]] for s in v])
        blocks.append(out if out is not None else v.astype(float).reshape(-1, 1))
    x = np.hstack(blocks)
    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if m["kind"] == "linear":
        lin = m["linear"]
        z = x @ np.array(lin["coef"]).T + np.array(lin["intercept"])
        link = lin["link"]
        if link == "ovr":
            p = sigmoid(z)
            return p / p.sum(axis=1, keepdims=True)
        out = {"logistic": sigmoid, "softmax": softmax, "identity": lambda a: a}[link](z)
    else:
        mlp = m["mlp"]
        act = {"relu": lambda a: np.maximum(a, 0), "tanh": np.tanh, "logistic": sigmoid,
               "identity": lambda a: a}[mlp["activation"]]
        layers = mlp["layers"]
        for i, layer in enumerate(layers):
            x = x @ np.array(layer["weights"]) + np.array(layer["bias"])
            if i + 1 < len(layers):
                x = act(x)
        out = {"logistic": sigmoid, "softmax": softmax,
               "identity": lambda a: a}[mlp["output"]](x)
    return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out


# --------------------------------------------------------------------------


def export_r_dataset(r_name, path):
    expr = ('data(%s, package="modeldata"); write.csv(%s, "%s", row.names=FALSE)'
            % (r_name, r_name, path))
    subprocess.run(["Rscript", "-e", expr], check=True)


def read_eval_csv(path, cats, extra_str=()):
    """How the test data are read for sklearn: blanks (and only blanks) are NaN,
    category columns stay strings."""
    dtype = {c: str for c in list(cats) + list(extra_str)}
    return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""])


def write_rows(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def make_test_csv(cfg, text_df, test_idx, num, path):
    """Held-out rows as text, with an id column, blanks and unseen categories."""
    rng = np.random.default_rng(cfg["seed"] + 100)
    t = text_df.iloc[test_idx].reset_index(drop=True).copy()
    n = len(t)
    t.insert(0, "id", ["%s%05d" % (cfg["id_prefix"], i + 1) for i in range(n)])
    blank = rng.random((n, len(num))) < NUM_BLANK_RATE
    for j, c in enumerate(num):
        t.loc[blank[:, j], c] = ""
    for c in cfg["cats"]:
        k = max(3, int(round(CAT_BLANK_RATE * n)))
        t.loc[rng.choice(n, size=k, replace=False), c] = ""
    for c, k in cfg["unseen"].items():
        rows = rng.choice(np.flatnonzero(t[c].to_numpy() != ""), size=k, replace=False)
        t.loc[rows, c] = "ZZ"
    cells = t.to_numpy(dtype=object)
    bad = {s for s in cells.ravel() if s != "" and s in PANDAS_DEFAULT_NA}
    assert not bad, "cells that pandas reads as NA: %r" % bad
    write_rows(path, list(t.columns), cells.tolist())
    return t


def summary_metric(task, y_true, pred, classes=None):
    if task == "binary":
        from sklearn.metrics import roc_auc_score
        yt = (y_true == classes[1]).astype(int)
        acc = float(np.mean((pred >= 0.5) == (yt == 1)))
        return "acc=%.3f auc=%.3f" % (acc, roc_auc_score(yt, pred))
    if task == "multiclass":
        return "acc=%.3f" % float(np.mean(np.asarray(classes)[pred.argmax(axis=1)] == y_true))
    rmse = float(np.sqrt(np.mean((pred - y_true) ** 2)))
    return "rmse=%.3f (target sd %.3f)" % (rmse, float(np.std(y_true)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=ROOT,
                    help="repository root (testdata/ is written below it)")
    ap.add_argument("--pickle-dir", default="/tmp/binfer_sklearn_models",
                    help="where fitted pipelines are pickled (never committed)")
    ap.add_argument("--only", nargs="*", choices=sorted(DATASETS), help="data sets to build")
    args = ap.parse_args()

    import sklearn
    models_dir = os.path.join(args.out_dir, "testdata", "models")
    tab_dir = os.path.join(args.out_dir, "testdata", "tabular")
    for d in (models_dir, tab_dir, args.pickle_dir):
        os.makedirs(d, exist_ok=True)
    print("scikit-learn %s, pandas %s, numpy %s"
          % (sklearn.__version__, pd.__version__, np.__version__))

    failures = 0
    with tempfile.TemporaryDirectory(prefix="binfer_modeldata_") as tmp:
        for ds in (args.only or list(DATASETS)):
            cfg = DATASETS[ds]
            r_csv = os.path.join(tmp, ds + ".csv")
            export_r_dataset(cfg["r_name"], r_csv)
            cats, target = cfg["cats"], cfg["target"]
            text_df = pd.read_csv(r_csv, dtype=str, keep_default_na=False)
            full = pd.read_csv(r_csv, dtype={c: str for c in cats + [target]}
                               if ds != "concrete" else None)
            predictors = [c for c in full.columns if c != target]
            num = [c for c in predictors if c not in cats]
            rng = np.random.default_rng(cfg["seed"])
            perm = rng.permutation(len(full))
            test_idx, train_idx = np.sort(perm[:cfg["n_test"]]), perm[cfg["n_test"]:]
            train = full.iloc[train_idx]

            csv_path = os.path.join(tab_dir, ds + ".csv")
            make_test_csv(cfg, text_df, test_idx, num, csv_path)
            test = read_eval_csv(csv_path, cats, ["id"] + ([target] if cats else []))
            x_test = test[predictors]
            with open(csv_path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            # pandas' float parser vs correctly rounded float(): expect identical
            parse_diff = sum(int(not (np.isnan(a) and r[c] == "" or a == float(r[c] or "nan")))
                             for c in num for a, r in zip(test[c].to_numpy(), rows))

            for mname, pipe in make_models(ds, num, cats).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # ConvergenceWarning of the MLPs
                    pipe.fit(train[predictors], train[target])
                pkl = os.path.join(args.pickle_dir, mname + ".pkl")
                with open(pkl, "wb") as f:
                    pickle.dump(pipe, f, protocol=pickle.HIGHEST_PROTOCOL)
                json_path = os.path.join(models_dir, mname + ".json")
                subprocess.run([sys.executable, EXPORTER, pkl, json_path], check=True)
                with open(json_path, encoding="utf-8") as f:
                    model = json.load(f)

                task = model["task"]
                ids = test["id"].tolist()
                lines = []
                if task == "regression":
                    pred = pipe.predict(x_test).astype(np.float64)
                    for i, y in zip(ids, pred.tolist()):
                        lines.append({"id": i, "score": y})
                else:
                    proba = pipe.predict_proba(x_test).astype(np.float64)
                    classes = model["classes"]
                    if task == "binary":
                        pred = proba[:, 1]
                        for i, p in zip(ids, pred.tolist()):
                            lines.append({"id": i, "score": p})
                    else:
                        pred = proba
                        labels = [str(v) for v in pipe.predict(x_test)]
                        for i, lab, p in zip(ids, labels, proba.tolist()):
                            lines.append({"id": i, "label": lab,
                                          "probs": dict(zip(classes, p))})
                        assert labels == [classes[k] for k in proba.argmax(axis=1)]
                with open(os.path.join(tab_dir, mname + ".expected.jsonl"), "w",
                          encoding="utf-8") as f:
                    for obj in lines:
                        f.write(json.dumps(obj, allow_nan=False) + "\n")

                ref = ref_predict(model, rows)
                err = float(np.max(np.abs(ref - pred)))
                ok = err <= 1e-9 and ref.shape == pred.shape
                failures += not ok
                nfeat = sum(len(ft["steps"][-1]["categories"])
                            if ft["steps"] and ft["steps"][-1]["op"] == "onehot" else 1
                            for ft in model["features"])
                print("%-15s %-6s %-10s inputs=%-2d features=%-3d rows=%d %s  "
                      "max|json-sklearn|=%.2e %s  (csv parse diffs: %d)"
                      % (mname, model["kind"], task, len(model["inputs"]), nfeat, len(rows),
                         summary_metric(task, test[target].to_numpy(), pred,
                                        model.get("classes")),
                         err, "OK" if ok else "FAIL", parse_diff))
    if failures:
        print("self-check FAILED for %d model(s)" % failures)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
