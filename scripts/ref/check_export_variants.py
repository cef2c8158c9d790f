#!/usr/bin/python3
"""Exercise tools/binfer-export-sklearn on many pipeline shapes beyond the ones in
make_tabular_testdata.py, on the committed test CSVs (testdata/tabular/), and
check each export against scikit-learn with the reference evaluator
(make_tabular_testdata.ref_predict).  Also checks that unsupported models are
refused with exit status 2.  Writes only to a temporary directory.

usage: check_export_variants.py
"""

import csv
import json
import os
import pickle
import subprocess
import sys
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from make_tabular_testdata import read_eval_csv, ref_predict  # noqa: E402

from sklearn.compose import ColumnTransformer, make_column_selector  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler  # noqa: E402

TAB = os.path.join(ROOT, "testdata", "tabular")
EXPORTER = os.path.join(ROOT, "tools", "binfer-export-sklearn")
TMP = tempfile.mkdtemp(prefix="binfer_export_variants_")


def load(ds, cats, target):
    path = os.path.join(TAB, ds + ".csv")
    df = read_eval_csv(path, cats, ["id"] + ([target] if cats else []))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return df, rows


CHURN_CATS = ["state", "area_code", "international_plan", "voice_mail_plan"]
churn, churn_rows = load("churn", CHURN_CATS, "churn")
hpc, hpc_rows = load("hpc", ["protocol", "day"], "class")
conc, conc_rows = load("concrete", [], "compressive_strength")
CHURN_X = [c for c in churn.columns if c not in ("id", "churn")]
CHURN_NUM = [c for c in CHURN_X if c not in CHURN_CATS]
HPC_X = ["protocol", "compounds", "input_fields", "iterations", "num_pending", "hour", "day"]
CONC_X = [c for c in conc.columns if c not in ("id", "compressive_strength")]

failures = []


def run_export(model, name, fmt="pickle"):
    name = "".join(ch if ch.isalnum() else "_" for ch in name)
    path = os.path.join(TMP, name + (".pkl" if fmt == "pickle" else ".joblib"))
    if fmt == "pickle":
        with open(path, "wb") as f:
            pickle.dump(model, f)
    else:
        import joblib
        joblib.dump(model, path, compress=3)
    out = os.path.join(TMP, name + ".json")
    p = subprocess.run([sys.executable, EXPORTER, path, out], capture_output=True, text=True)
    return p.returncode, p.stderr.strip(), out


def check(name, model, x_train, y_train, x_test, rows, fmt="pickle", expect=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train, y_train)
    rc, err, out = run_export(model, name, fmt)
    if rc != 0:
        failures.append(name)
        print("%-34s FAIL export rc=%d: %s" % (name, rc, err))
        return
    with open(out) as f:
        m = json.load(f)
    if hasattr(model, "predict_proba"):
        pred = model.predict_proba(x_test)
        pred = pred[:, 1] if pred.shape[1] == 2 else pred
    else:
        pred = model.predict(x_test)
    ref = ref_predict(m, rows)
    d = float(np.max(np.abs(ref - pred))) if ref.shape == pred.shape else float("inf")
    extra = ""
    if expect:
        for k, v in expect.items():
            got = eval(k, {"m": m})
            if got != v:
                extra += " [%s = %r, expected %r]" % (k, got, v)
    ok = d <= 1e-9 and not extra
    if not ok:
        failures.append(name)
    print("%-34s %s max|diff|=%.2e%s" % (name, "ok  " if ok else "FAIL", d, extra))


def check_refused(name, model, x_train, y_train):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train, y_train)
    rc, err, out = run_export(model, name)
    ok = rc == 2 and "unsupported" in err and not os.path.exists(out)
    if not ok:
        failures.append(name)
    print("%-34s %s rc=%d %s" % (name, "ok  " if ok else "FAIL", rc, err.replace("\n", " ")[:150]))


def numbered(df, cols):
    """DataFrame / csv rows renamed to x0.. (for models fitted on numpy)."""
    return {c: "x%d" % i for i, c in enumerate(cols)}


yc = churn["churn"]
yh = hpc["class"]
yk = conc["compressive_strength"]

# --- linear links
ct_h = lambda: ColumnTransformer([  # noqa: E731
    ("n", make_pipeline(SimpleImputer(), StandardScaler()), [1, 2, 3, 4, 5]),
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore")), [0, 6])])
check("hpc ovr (int selectors)", make_pipeline(ct_h(), LogisticRegression(
    multi_class="ovr", max_iter=3000)), hpc[HPC_X], yh, hpc[HPC_X], hpc_rows,
    expect={"m['linear']['link']": "ovr"})
check("hpc liblinear (auto -> ovr)", make_pipeline(ct_h(), LogisticRegression(
    solver="liblinear")), hpc[HPC_X], yh, hpc[HPC_X], hpc_rows,
    expect={"m['linear']['link']": "ovr"})
check("hpc multinomial bool masks", make_pipeline(ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
     [False, True, True, True, True, True, False]),
    ("c", make_pipeline(SimpleImputer(strategy="constant", fill_value="?"),
                        OneHotEncoder(handle_unknown="ignore")),
     np.array([True, False, False, False, False, False, True]))]),
    LogisticRegression(max_iter=3000)), hpc[HPC_X], yh, hpc[HPC_X], hpc_rows,
    expect={"m['linear']['link']": "softmax"})
check("churn binary multinomial (2x)", make_pipeline(ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(), StandardScaler()), CHURN_NUM),
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore")), CHURN_CATS)]),
    LogisticRegression(multi_class="multinomial", max_iter=3000)),
    churn[CHURN_X], yc, churn[CHURN_X], churn_rows)
check("churn liblinear binary, drop=first", make_pipeline(ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(), StandardScaler(with_mean=False)), CHURN_NUM),
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore", drop="first")), CHURN_CATS)]),
    LogisticRegression(solver="liblinear")), churn[CHURN_X], yc, churn[CHURN_X], churn_rows)
check("churn drop=if_binary, with_std=False", make_pipeline(ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(), StandardScaler(with_std=False)), CHURN_NUM),
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore", drop="if_binary")),
     CHURN_CATS)]), LogisticRegression(max_iter=5000)),
    churn[CHURN_X], yc, churn[CHURN_X], churn_rows)
check("churn callable selectors+slice", make_pipeline(ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(), StandardScaler()),
     make_column_selector(dtype_include="number")),
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore")), slice("state", "state"))]),
    LogisticRegression(max_iter=3000)), churn[CHURN_X], yc, churn[CHURN_X], churn_rows)

# integer class labels, numeric category column (area code as a number)
churn_int = churn.copy()
churn_int["area_code"] = churn_int["area_code"].str.replace("area_code_", "").astype(float)
rows_int = [dict(r, area_code=r["area_code"].replace("area_code_", "")) for r in churn_rows]
yc01 = (yc == "yes").astype(int)
check("int classes, numeric category", make_pipeline(ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(), StandardScaler()), CHURN_NUM),
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore")), ["area_code", "voice_mail_plan"])]),
    LogisticRegression(max_iter=3000)), churn_int[CHURN_X], yc01, churn_int[CHURN_X], rows_int,
    expect={"m['classes']": ["0", "1"],
            "m['features'][-2]['steps'][-1]['categories']": ["408", "415", "510"]})
check("float classes 1.0/2.0", make_pipeline(SimpleImputer(), StandardScaler(),
                                             LogisticRegression()),
      churn[CHURN_NUM], yc01 + 1.0, churn[CHURN_NUM], churn_rows,
      expect={"m['classes']": ["1", "2"]})

# --- regression, remainder, passthrough, numpy-fitted
check("concrete LinearRegression remainder", make_pipeline(ColumnTransformer(
    [("a", make_pipeline(SimpleImputer(), StandardScaler()), ["cement", "water"])],
    remainder=make_pipeline(SimpleImputer(strategy="median"))), LinearRegression()),
    conc[CONC_X], yk, conc[CONC_X], conc_rows)
check("concrete Ridge passthrough+drop", Pipeline([
    ("imp", SimpleImputer(strategy="constant", fill_value=0.0)),
    ("nothing", "passthrough"),
    ("ct", ColumnTransformer([("s", StandardScaler(), [0, 1, 2]), ("d", "drop", [3]),
                              ("p", "passthrough", [4, 5])], remainder="passthrough")),
    ("model", Ridge(alpha=3.0))]), conc[CONC_X], yk, conc[CONC_X], conc_rows)
ren = numbered(conc, CONC_X)
conc_np = conc[CONC_X].fillna(conc[CONC_X].mean())
rows_np = [{ren[k]: v for k, v in r.items() if k in ren} for r in conc_rows]
rows_np_filled = [{k: (v if v != "" else repr(float(conc_np.iloc[i][CONC_X[int(k[1:])]])))
                   for k, v in r.items()} for i, r in enumerate(rows_np)]
check("bare Ridge on numpy (x0..)", Ridge(), conc_np.to_numpy(), yk, conc_np.to_numpy(),
      rows_np_filled, expect={"m['inputs'][0]['name']": "x0"})
check("MLPRegressor identity, numpy", make_pipeline(
    SimpleImputer(), StandardScaler(), MLPRegressor(hidden_layer_sizes=(8,), activation="identity",
                                                    max_iter=500, random_state=0)),
    conc[CONC_X].to_numpy(), yk, conc[CONC_X].to_numpy(), rows_np)
check("MLPClassifier logistic binary", make_pipeline(ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(), StandardScaler()), CHURN_NUM),
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore")), CHURN_CATS)]),
    MLPClassifier(hidden_layer_sizes=(5,), activation="logistic", max_iter=300,
                  random_state=0)), churn[CHURN_X], yc, churn[CHURN_X], churn_rows,
    fmt="joblib")
check("MLPClassifier relu multiclass", make_pipeline(ct_h(), MLPClassifier(
    hidden_layer_sizes=(6, 5, 4), max_iter=300, random_state=0)),
    hpc[HPC_X], yh, hpc[HPC_X], hpc_rows)
check("column used twice (number)", make_pipeline(ColumnTransformer([
    ("a", StandardScaler(), ["cement"]), ("b", SimpleImputer(), ["cement", "age"])]),
    LinearRegression()), conc[CONC_X].fillna(0), yk, conc[CONC_X].fillna(0),
    [{k: (v or "0") for k, v in r.items()} for r in conc_rows])
all_nan = conc[CONC_X].copy()
all_nan["fly_ash"] = np.nan
rows_all_nan = [dict(r, fly_ash="") for r in conc_rows]
check("imputer drops all-NaN column", make_pipeline(SimpleImputer(), StandardScaler(), Ridge()),
      all_nan, yk, all_nan, rows_all_nan)

# --- refused
check_refused("refuse handle_unknown=error", make_pipeline(ColumnTransformer([
    ("c", OneHotEncoder(), ["day"])]), LogisticRegression()), hpc[HPC_X].fillna("x"), yh)
check_refused("refuse add_indicator", make_pipeline(SimpleImputer(add_indicator=True),
                                                    Ridge()), conc[CONC_X], yk)
check_refused("refuse MinMaxScaler", make_pipeline(SimpleImputer(), MinMaxScaler(), Ridge()),
              conc[CONC_X], yk)
check_refused("refuse RandomForest", make_pipeline(SimpleImputer(),
                                                   RandomForestClassifier(n_estimators=2)),
              conc[CONC_X], yk > 30)
check_refused("refuse NaN category", make_pipeline(ColumnTransformer([
    ("c", OneHotEncoder(handle_unknown="ignore"), ["day"])]), LogisticRegression()),
    hpc[HPC_X], yh)
check_refused("refuse scaler after onehot", make_pipeline(ColumnTransformer([
    ("c", make_pipeline(SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore")), ["day"])]),
    StandardScaler(with_mean=False), LogisticRegression()), hpc[HPC_X], yh)
check_refused("refuse multi-output Ridge", Ridge(), conc_np, np.c_[yk, yk])

print("%d failure(s)" % len(failures) if failures else "all variants ok")
sys.exit(1 if failures else 0)
