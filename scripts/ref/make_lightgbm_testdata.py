#!/usr/bin/python3
"""Train LightGBM models with LightGBM's own command-line program on real
data sets from R's modeldata package (Debian's r-cran-modeldata), and record
LightGBM's own predictions, for binfer's tests: testdata/lightgbm/.

  <dataset>.csv        held-out rows: the label column first, then the
                       features (categories as LightGBM's integer codes),
                       with "nan" cells (missing), a few "inf" / "-inf",
                       zeros, unseen and negative category codes
  <model>.txt          the model LightGBM saved (task=train)
  <model>.pred         LightGBM's predictions on <dataset>.csv (task=predict):
                       one line per row, the K class values tab-separated
  <model>.raw          the same with predict_raw_score=true (margins)
  manifest.json        per model: data set, objective and parameters, the
                       files, classes, categorical features, the LightGBM
                       version that made them

The models cover every objective binfer reads (binary with its sigmoid
parameter, multiclass, multiclassova, cross_entropy, regression, regression_l1,
huber, fair, quantile, mape, poisson, gamma, tweedie, lambdarank,
rank_xendcg), the three missing types (NaN: the default; Zero:
zero_as_missing; None: use_missing=false), categorical splits, random forest
(average_output) and DART; leaf-wise trees of LightGBM's default 31 leaves.

LightGBM is not packaged for Debian: build its command-line program from
LightGBM's own source (cmake, target `lightgbm`), outside this repository,
and give its path in $LIGHTGBM or put `lightgbm` on PATH.

usage: make_lightgbm_testdata.py [--out-dir REPO_ROOT]
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

sys.path.insert(0, HERE)
# the data sets' columns and how R writes them: as the XGBoost test data has them
from make_tree_testdata import (AMES_NUM, ATTRITION_NUM, CHURN_CATS, CHURN_NUM, CREDIT_NUM,  # noqa: E402
                                HPC_NUM, SACRAMENTO_NUM, export_r_dataset)

# Data sets: the R data set, its label (how it becomes a number), the
# numeric and categorical features, held-out rows, seed.
DATASETS = {
    "churn": dict(r_name="mlc_churn", num=CHURN_NUM, cat=CHURN_CATS, n_test=250, seed=21,
                  label=lambda d: (d["churn"] == "yes").astype(int)),
    "concrete": dict(r_name="concrete", n_test=200, seed=22, cat=[],
                     num=["cement", "blast_furnace_slag", "fly_ash", "water", "superplasticizer",
                          "coarse_aggregate", "fine_aggregate", "age"],
                     label=lambda d: d["compressive_strength"].astype(float)),
    "ames": dict(r_name="ames", num=AMES_NUM, cat=["Neighborhood", "Bldg_Type"], n_test=250,
                 seed=23, label=lambda d: d["Sale_Price"].astype(float) / 1000.0),
    "hpc": dict(r_name="hpc_data", num=HPC_NUM, cat=["protocol", "day"], n_test=250, seed=24,
                label=lambda d: d["class"].map({"VF": 0, "F": 1, "M": 2, "L": 3}).astype(int)),
    "attrition": dict(r_name="attrition", num=ATTRITION_NUM, cat=[], n_test=250, seed=25,
                      label=lambda d: d["NumCompaniesWorked"].astype(float)),
    "credit": dict(r_name="credit_data", num=CREDIT_NUM, cat=[], n_test=250, seed=26,
                   label=lambda d: (d["Status"] == "bad").astype(int)),
    "sacramento": dict(r_name="Sacramento", num=SACRAMENTO_NUM, cat=["type"], n_test=200, seed=27,
                       group="city",
                       label=lambda d: pd.qcut(d["price"].astype(float), 5, labels=False).astype(int)),
}

COMMON = dict(num_iterations=20, learning_rate=0.2, min_data_in_leaf=5, seed=7, deterministic="true",
              force_row_wise="true", num_threads=1, verbosity=-1)

# Models: data set, the parameters besides COMMON.
MODELS = {
    "churn_binary_cat": ("churn", dict(objective="binary", categorical_feature="name:" + ",".join(CHURN_CATS))),
    "churn_binary_sigmoid": ("churn", dict(objective="binary", sigmoid=0.7)),
    "churn_binary_zero": ("churn", dict(objective="binary", zero_as_missing="true")),
    "churn_binary_none": ("churn", dict(objective="binary", use_missing="false")),
    "credit_xentropy": ("credit", dict(objective="cross_entropy")),
    "credit_rf": ("credit", dict(objective="binary", boosting="rf", bagging_fraction=0.7, bagging_freq=1,
                                 feature_fraction=0.8)),
    "credit_dart": ("credit", dict(objective="binary", boosting="dart", drop_rate=0.3)),
    "concrete_l2": ("concrete", dict(objective="regression")),
    "concrete_l1": ("concrete", dict(objective="regression_l1")),
    "concrete_huber": ("concrete", dict(objective="huber", alpha=5.0)),
    "concrete_fair": ("concrete", dict(objective="fair", fair_c=2.0)),
    "concrete_quantile": ("concrete", dict(objective="quantile", alpha=0.8)),
    "ames_mape": ("ames", dict(objective="mape", categorical_feature="name:Neighborhood,Bldg_Type")),
    "ames_gamma": ("ames", dict(objective="gamma")),
    "ames_tweedie": ("ames", dict(objective="tweedie", tweedie_variance_power=1.4)),
    "attrition_poisson": ("attrition", dict(objective="poisson")),
    "hpc_multiclass_cat": ("hpc", dict(objective="multiclass", num_class=4,
                                       categorical_feature="name:protocol,day")),
    "hpc_multiclassova": ("hpc", dict(objective="multiclassova", num_class=4)),
    "sacramento_lambdarank": ("sacramento", dict(objective="lambdarank", categorical_feature="name:type")),
    "sacramento_xendcg": ("sacramento", dict(objective="rank_xendcg")),
}

NUM_NAN_RATE = 0.04
NUM_ZERO_RATE = 0.02
N_INF = 2


def lightgbm_cli():
    cli = os.environ.get("LIGHTGBM") or shutil.which("lightgbm")
    if not cli or not os.access(cli, os.X_OK):
        sys.exit("make_lightgbm_testdata: LightGBM's CLI not found: set LIGHTGBM=/path/to/lightgbm "
                 "(built from LightGBM's source, target lightgbm)")
    return cli


def lightgbm_version(cli):
    """The version LightGBM reports in its model files."""
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "t.csv")
        with open(data, "w") as f:
            f.write("y,x\n" + "".join(f"{i % 2},{i}\n" for i in range(40)))
        run(cli, d, task="train", data=data, header="true", label_column="name:y", objective="binary",
            num_iterations=1, output_model=os.path.join(d, "m.txt"), verbosity=-1)
        for line in open(os.path.join(d, "m.txt")):
            if line.startswith("version="):
                return line.strip()[len("version="):]
    return "?"


def run(cli, cwd, **params):
    args = [cli] + [f"{k}={v}" for k, v in params.items()]
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def prepare(name, cfg, tmp):
    """(train frame, eval frame, category levels): the label first, then the
    features; categories as codes of their sorted levels."""
    raw = os.path.join(tmp, name + ".r.csv")
    export_r_dataset(cfg["r_name"], raw)
    df = pd.read_csv(raw, keep_default_na=False, na_values=[""], dtype={c: str for c in cfg["cat"]})
    out = pd.DataFrame({"label": cfg["label"](df)})
    levels = {}
    for c in cfg["num"]:
        out[c] = df[c].astype(float)
    for c in cfg["cat"]:
        levels[c] = sorted(set(df[c].dropna()))
        codes = {v: i for i, v in enumerate(levels[c])}
        out[c] = df[c].map(codes).astype(float)
    if cfg.get("group"):
        out["_group"] = df[cfg["group"]]
    rng = np.random.default_rng(cfg["seed"])
    idx = rng.permutation(len(out))
    test = out.iloc[np.sort(idx[:cfg["n_test"]])].reset_index(drop=True)
    train = out.iloc[np.sort(idx[cfg["n_test"]:])].reset_index(drop=True)
    if cfg.get("group"):
        train = train.sort_values("_group", kind="stable").reset_index(drop=True)
    # held-out rows: missing, zero and infinite cells, odd category codes
    n = len(test)
    for c in cfg["num"]:
        test.loc[rng.random(n) < NUM_NAN_RATE, c] = np.nan
        test.loc[rng.random(n) < NUM_ZERO_RATE, c] = 0.0
    for k in range(N_INF):
        test.loc[rng.integers(n), cfg["num"][(k * 3) % len(cfg["num"])]] = np.inf if k % 2 == 0 else -np.inf
    for c in cfg["cat"]:
        rows = rng.choice(n, size=4, replace=False)
        test.loc[rows[0], c] = np.nan
        test.loc[rows[1], c] = -1.0
        test.loc[rows[2], c] = float(len(levels[c]) + 2)
        test.loc[rows[3], c] = 0.0
    return train, test, levels


def write_csv(df, path, cols):
    def cell(v):
        if isinstance(v, float):
            if np.isnan(v):
                return "nan"
            if np.isinf(v):
                return "inf" if v > 0 else "-inf"
            return repr(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)
        return str(v)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for row in df[cols].itertuples(index=False):
            w.writerow([cell(v) for v in row])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=ROOT, help="repository root (writes testdata/lightgbm/)")
    args = ap.parse_args()
    cli = lightgbm_cli()
    version = lightgbm_version(cli)
    out = os.path.join(args.out_dir, "testdata", "lightgbm")
    os.makedirs(out, exist_ok=True)
    manifest = {"lightgbm_version": version, "how": __doc__.split("\n\n")[0], "common": COMMON,
                "datasets": {}, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        frames = {}
        for ds in sorted({d for d, _ in MODELS.values()}):
            cfg = DATASETS[ds]
            train, test, levels = prepare(ds, cfg, tmp)
            feats = cfg["num"] + cfg["cat"]
            cols = ["label"] + feats
            train_csv = os.path.join(tmp, ds + ".train.csv")
            write_csv(train, train_csv, cols)
            if cfg.get("group"):
                with open(train_csv + ".query", "w") as f:
                    for size in train.groupby("_group", sort=False).size():
                        f.write(f"{size}\n")
            write_csv(test, os.path.join(out, ds + ".csv"), cols)
            frames[ds] = train_csv
            manifest["datasets"][ds] = dict(csv=ds + ".csv", r_dataset="modeldata::" + cfg["r_name"],
                                            rows_train=len(train), rows_eval=len(test), features=feats,
                                            categories={c: levels[c] for c in cfg["cat"]},
                                            query_groups=cfg.get("group"))
        for name, (ds, params) in MODELS.items():
            p = dict(COMMON, **params)
            model = os.path.join(out, name + ".txt")
            # relative to the scratch folder: the model records its data file's name
            run(cli, tmp, task="train", data=os.path.basename(frames[ds]), header="true",
                label_column="name:label", output_model=model, **p)
            data = os.path.join(out, ds + ".csv")
            for what, extra in (("pred", {}), ("raw", {"predict_raw_score": "true"})):
                run(cli, tmp, task="predict", data=data, header="true", label_column="name:label",
                    input_model=model, output_result=os.path.join(out, f"{name}.{what}"), verbosity=-1,
                    **extra)
            k = params.get("num_class", 1)
            manifest["models"][name] = dict(dataset=ds, csv=ds + ".csv", model=name + ".txt",
                                            pred=name + ".pred", raw=name + ".raw",
                                            objective=params["objective"], params=p, n_classes=k)
            print(f"{name}: {os.path.getsize(model)} bytes", file=sys.stderr)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
