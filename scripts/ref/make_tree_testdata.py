#!/usr/bin/python3
"""Train XGBoost models (Debian's python3-xgboost) on real data sets from R's
modeldata package and write binfer's tree-ensemble test data to testdata/trees/:

  <model>.json             booster.save_model(".json")
  <model>.ubj              booster.save_model(".ubj")  (the same model, UBJSON)
  <model>.expected.jsonl   XGBoost's own predictions on <dataset>.csv, one line
                           per row, in file order:
                             {"id": ..., "margin": m, "score": s}
                           margin = predict(output_margin=True): a number, or a
                           list (one per class) for multi:*; score = predict():
                           P(class 1) / value / class probabilities (list) /
                           class index (multi:softmax) / ranking score.
                           multi:* lines also carry "label" (class name).
                           Rows with +-inf in a column the model reads carry
                           "dmatrix_refuses_inf": true (see below).  Numbers
                           are float32 results widened to double, written
                           with repr() (exact).
  <dataset>.csv            held-out real rows (a few hundred), an "id" column
                           first, the raw columns as in the data set (category
                           columns as strings, e.g. state "OH"); with blank
                           cells (missing), "inf" / "-inf" in a couple of cells,
                           values planted exactly on split thresholds of the
                           models that read it, and unseen category values
  manifest.json            per model: files, objective, features (name, XGBoost
                           feature type, where the value comes from: a number
                           column, a category column with its value -> code map,
                           or a one-hot dummy of a raw column), classes, CSV
                           columns, row counts, self-check results

How each CSV row becomes model input is exactly what the training code did:
pandas.read_csv(keep_default_na=False, na_values=[""]) (blank = NaN, category
columns read as str), then
  number    float64 from pandas, -> float32 inside XGBoost
  category  pd.Categorical(values, categories=<training categories>) and
            XGBoost's pandas path: code = cat.codes, -1 (blank OR unseen) -> NaN,
            i.e. MISSING (the default direction), never "category not in set"
  one-hot   pd.get_dummies(raw column, prefix=<column>, prefix_sep="_") reindexed
            to the training dummy columns with fill 0: blank or unseen -> all 0
            (0.0, not missing)

+-inf: xgboost 1.7.4's DMatrix refuses them ("Input data contains `inf` or
`nan`"); Booster.inplace_predict accepts them and compares them like any number
(-inf < t goes left, +inf right).  Every expected value is computed with
inplace_predict and checked bit for bit against predict(DMatrix) on the rows
without inf (and the .ubj against the .json).

Every model is also re-evaluated from its JSON by an independent numpy
evaluator (ref_margin below: float32 inputs, `x < split`, NaN -> default
child, categorical: code in the node's list -> right child, else left;
float32 sums in tree order), which must match XGBoost's margins bit for bit.

usage: make_tree_testdata.py [--out-dir REPO_ROOT]
"""

import argparse
import csv
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PANDAS_DEFAULT_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                     "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
                     "n/a", "nan", "null"}

CHURN_CATS = ["state", "area_code", "international_plan", "voice_mail_plan"]
CHURN_NUM = ["account_length", "number_vmail_messages", "total_day_minutes", "total_day_calls",
             "total_day_charge", "total_eve_minutes", "total_eve_calls", "total_eve_charge",
             "total_night_minutes", "total_night_calls", "total_night_charge",
             "total_intl_minutes", "total_intl_calls", "total_intl_charge",
             "number_customer_service_calls"]
CREDIT_NUM = ["Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt", "Amount",
              "Price"]
HPC_NUM = ["compounds", "input_fields", "iterations", "num_pending", "hour"]
AMES_NUM = ["Lot_Frontage", "Lot_Area", "Year_Built", "Year_Remod_Add", "Mas_Vnr_Area",
            "Total_Bsmt_SF", "First_Flr_SF", "Second_Flr_SF", "Gr_Liv_Area", "Full_Bath",
            "Half_Bath", "Bedroom_AbvGr", "TotRms_AbvGrd", "Fireplaces", "Garage_Cars",
            "Garage_Area", "Year_Sold", "Longitude", "Latitude"]
ATTRITION_NUM = ["Age", "DailyRate", "DistanceFromHome", "HourlyRate", "JobLevel",
                 "MonthlyIncome", "MonthlyRate", "PercentSalaryHike", "StockOptionLevel",
                 "TotalWorkingYears", "TrainingTimesLastYear", "YearsAtCompany",
                 "YearsInCurrentRole", "YearsSinceLastPromotion", "YearsWithCurrManager"]
SACRAMENTO_NUM = ["beds", "baths", "sqft", "latitude", "longitude"]

# Data sets: the R data set, the columns kept in the evaluation CSV (after
# "id"), the string (category) columns among them, how many held-out rows.
DATASETS = {
    "churn": dict(r_name="mlc_churn", id_prefix="C-", n_test=300, seed=11,
                  columns=CHURN_CATS[:1] + CHURN_NUM[:1] + CHURN_CATS[1:] + CHURN_NUM[1:]
                  + ["churn"],
                  strings=CHURN_CATS + ["churn"], unseen={"state": 5, "area_code": 2}),
    "concrete": dict(r_name="concrete", id_prefix="K-", n_test=250, seed=12,
                     columns=["cement", "blast_furnace_slag", "fly_ash", "water",
                              "superplasticizer", "coarse_aggregate", "fine_aggregate", "age",
                              "compressive_strength"],
                     strings=[], unseen={}),
    "ames": dict(r_name="ames", id_prefix="A-", n_test=300, seed=13,
                 columns=["Neighborhood", "Bldg_Type"] + AMES_NUM + ["Sale_Price"],
                 strings=["Neighborhood", "Bldg_Type"], unseen={"Neighborhood": 4,
                                                                 "Bldg_Type": 2}),
    "hpc": dict(r_name="hpc_data", id_prefix="H-", n_test=250, seed=14,
                columns=["protocol"] + HPC_NUM + ["day", "class"],
                strings=["protocol", "day", "class"], unseen={"protocol": 3, "day": 2}),
    "attrition": dict(r_name="attrition", id_prefix="T-", n_test=250, seed=15,
                      columns=ATTRITION_NUM + ["NumCompaniesWorked"], strings=[], unseen={}),
    "sacramento": dict(r_name="Sacramento", id_prefix="S-", n_test=200, seed=16,
                       columns=["city", "type"] + SACRAMENTO_NUM + ["price"],
                       strings=["city", "type"], unseen={"type": 2}),
    "credit": dict(r_name="credit_data", id_prefix="R-", n_test=300, seed=17,
                   columns=CREDIT_NUM + ["Status"], strings=["Status"], unseen={}),
}


def _ames_target(df):
    lp = np.log(df["Sale_Price"].astype(float))
    return (lp - np.log(12789.0)) / (np.log(755000.0) - np.log(12789.0))


# Models: data set, objective, inputs (numbers, categories (pandas category
# dtype, enable_categorical), onehot (pd.get_dummies columns)), target.
MODELS = {
    "churn_cat_logistic": dict(
        dataset="churn", num=CHURN_NUM, cat=CHURN_CATS, onehot=[], rounds=30,
        target=lambda d: (d["churn"] == "yes").astype(int),
        target_doc='churn == "yes"',
        params=dict(objective="binary:logistic", tree_method="hist", max_depth=4, eta=0.3,
                    max_cat_to_onehot=4)),
    "churn_onehot_logitraw": dict(
        dataset="churn", num=CHURN_NUM, cat=[], onehot=CHURN_CATS, rounds=20,
        target=lambda d: (d["churn"] == "yes").astype(int),
        target_doc='churn == "yes"',
        params=dict(objective="binary:logitraw", tree_method="exact", max_depth=5,
                    eta=0.3)),
    "concrete_squarederror": dict(
        dataset="concrete", num=DATASETS["concrete"]["columns"][:-1], cat=[], onehot=[],
        rounds=25, target=lambda d: d["compressive_strength"].astype(float),
        target_doc="compressive_strength",
        params=dict(objective="reg:squarederror", tree_method="exact", max_depth=4, eta=0.2,
                    base_score=35.8)),
    # deep, lopsided trees (depths 6 to 11 here), so each of binfer's tree
    # walks is used: the vector walk (depth <= 8), the scalar one past it
    "concrete_deep": dict(
        dataset="concrete", num=DATASETS["concrete"]["columns"][:-1], cat=[], onehot=[],
        rounds=16, target=lambda d: d["compressive_strength"].astype(float),
        target_doc="compressive_strength",
        params=dict(objective="reg:squarederror", tree_method="hist", grow_policy="lossguide",
                    max_leaves=20, max_depth=0, eta=0.3)),
    "ames_reglogistic": dict(
        dataset="ames", num=AMES_NUM, cat=["Neighborhood", "Bldg_Type"], onehot=[], rounds=25,
        target=_ames_target,
        target_doc="(log(Sale_Price) - log(12789)) / (log(755000) - log(12789)), in [0, 1]",
        params=dict(objective="reg:logistic", tree_method="hist", max_depth=4, eta=0.3,
                    base_score=0.55)),
    "hpc_softprob": dict(
        dataset="hpc", num=HPC_NUM, cat=["protocol", "day"], onehot=[], rounds=8,
        target="class", classes=["F", "L", "M", "VF"], target_doc="class",
        params=dict(objective="multi:softprob", num_class=4, tree_method="hist",
                    max_depth=4, eta=0.3)),
    "hpc_softmax": dict(
        dataset="hpc", num=HPC_NUM, cat=[], onehot=[], rounds=6,
        target="class", classes=["F", "L", "M", "VF"], target_doc="class",
        params=dict(objective="multi:softmax", num_class=4, tree_method="approx",
                    max_depth=4, eta=0.3)),
    "attrition_poisson": dict(
        dataset="attrition", num=ATTRITION_NUM, cat=[], onehot=[], rounds=20,
        target=lambda d: d["NumCompaniesWorked"].astype(float),
        target_doc="NumCompaniesWorked (a count, 0-9)",
        params=dict(objective="count:poisson", tree_method="hist", max_depth=4, eta=0.3,
                    base_score=2.7)),
    "sacramento_rank": dict(
        dataset="sacramento", num=SACRAMENTO_NUM, cat=["type"], onehot=[], rounds=20,
        group="city",
        target=lambda d: pd.qcut(d["price"].astype(float), 5, labels=False).astype(int),
        target_doc="price quintile (0-4) as relevance, query groups = city",
        params=dict(objective="rank:pairwise", tree_method="hist", max_depth=4, eta=0.3)),
    "credit_missing_logistic": dict(
        dataset="credit", num=CREDIT_NUM, cat=[], onehot=[], rounds=25,
        target=lambda d: (d["Status"] == "bad").astype(int), target_doc='Status == "bad"',
        params=dict(objective="binary:logistic", tree_method="exact", max_depth=4, eta=0.3)),
    "credit_dart": dict(
        dataset="credit", num=CREDIT_NUM, cat=[], onehot=[], rounds=8,
        target=lambda d: (d["Status"] == "bad").astype(int), target_doc='Status == "bad"',
        params=dict(objective="binary:logistic", booster="dart", rate_drop=0.3, skip_drop=0.0,
                    sample_type="uniform", normalize_type="tree", tree_method="hist",
                    max_depth=4, eta=0.3)),
}

NUM_BLANK_RATE = 0.03
CAT_BLANK_RATE = 0.02
PLANT_RATE = 0.12        # share of rows given one planted threshold value
N_INF = 2                # rows that get an inf / -inf cell


# --------------------------------------------------------------------------
# reading and converting, shared by training and evaluation


def read_csv_text(path, strings):
    """How every CSV (the full data set and the evaluation file) is read: blank
    cells and only blank cells are NaN; category columns stay strings."""
    dtype = {c: str for c in list(strings) + ["id"]}
    return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""])


def model_frame(df, m, cat_levels=None, dummy_cols=None):
    """The model input frame, built from a read_csv frame exactly the same way
    for training (levels/dummies None: learned here) and for evaluation."""
    parts = {}
    for c in m["num"]:
        parts[c] = df[c].astype(np.float64)
    x = pd.DataFrame(parts, index=df.index)
    levels = {}
    for c in m["cat"]:
        if cat_levels is None:
            col = df[c].astype("category")
        else:
            col = pd.Series(pd.Categorical(df[c], categories=cat_levels[c]), index=df.index)
        levels[c] = list(col.cat.categories)
        x[c] = col
    if m["onehot"]:
        dums = pd.get_dummies(df[m["onehot"]], prefix=m["onehot"], prefix_sep="_")
        if dummy_cols is None:
            dummy_cols = list(dums.columns)
        dums = dums.reindex(columns=dummy_cols, fill_value=0)
        x = pd.concat([x, dums], axis=1)
    order = feature_order(m, dummy_cols)
    return x[order], levels, dummy_cols


def feature_order(m, dummy_cols):
    """Features in data set column order: numbers and categories as they appear
    in the CSV, the dummies of each one-hot column where that column stood."""
    ds = DATASETS[m["dataset"]]
    out = []
    for c in ds["columns"]:
        if c in m["num"] or c in m["cat"]:
            out.append(c)
        elif c in m["onehot"]:
            out.extend(d for d in dummy_cols if d.startswith(c + "_"))
    return out


# --------------------------------------------------------------------------
# independent evaluator of the XGBoost JSON model


def f32(x):
    return np.float32(x)


def load_trees(j):
    lrn = j["learner"]
    gb = lrn["gradient_booster"]
    weights = None
    if gb["name"] == "dart":
        weights = np.array(gb["weight_drop"], dtype=np.float32)
        gb = gb["gbtree"]
    model = gb["model"]
    return lrn, model, weights


_LIBM = None


def libm():
    """glibc's float functions (logf, expf): XGBoost computes these in float."""
    global _LIBM
    if _LIBM is None:
        import ctypes
        lib = ctypes.CDLL("libm.so.6")
        for fn in ("logf", "expf"):
            getattr(lib, fn).restype = ctypes.c_float
            getattr(lib, fn).argtypes = [ctypes.c_float]
        _LIBM = lib
    return _LIBM


def expf(a):
    a = np.asarray(a, dtype=np.float32)
    return np.array([libm().expf(float(v)) for v in a.ravel()],
                    dtype=np.float32).reshape(a.shape)


def base_margin(lrn):
    """base_score (a probability / mean, as in the JSON) -> margin, in float."""
    obj = lrn["objective"]["name"]
    b = np.float32(float(lrn["learner_model_param"]["base_score"]))
    if obj in ("binary:logistic", "reg:logistic"):
        # ProbToMargin: -logf(1.0f / base_score - 1.0f)
        return np.float32(-libm().logf(float(np.float32(np.float32(1.0) / b - np.float32(1.0)))))
    if obj in ("count:poisson", "reg:gamma", "reg:tweedie"):
        return np.float32(libm().logf(float(b)))
    return b


def ref_margin(j, X, compare="float32"):
    """Margins (n, n_groups) of rows X (float64, NaN = missing; category codes
    as numbers) from the parsed JSON model j.  compare="double": the WRONG
    rule (compare the double input with the widened float32 threshold), to
    count the rows where that matters."""
    lrn, model, weights = load_trees(j)
    n = X.shape[0]
    ngroup = max(1, int(lrn["learner_model_param"]["num_class"]))
    X32 = X.astype(np.float32)
    Xc = X32 if compare == "float32" else X
    out = np.full((n, ngroup), base_margin(lrn), dtype=np.float32)
    ties = 0
    for ti, t in enumerate(model["trees"]):
        left = np.array(t["left_children"])
        right = np.array(t["right_children"])
        feat = np.array(t["split_indices"])
        cond = np.array(t["split_conditions"], dtype=np.float32)
        dleft = np.array(t["default_left"], dtype=bool)
        stype = np.array(t["split_type"])
        cats = {}
        for nid, beg, size in zip(t["categories_nodes"], t["categories_segments"],
                                  t["categories_sizes"]):
            cats[nid] = set(t["categories"][beg:beg + size])
        node = np.zeros(n, dtype=np.int64)
        for _ in range(len(left) + 1):
            inner = left[node] != -1
            if not inner.any():
                break
            idx = np.flatnonzero(inner)
            nd = node[idx]
            x = Xc[idx, feat[nd]]
            x32 = X32[idx, feat[nd]]
            miss = np.isnan(x32)
            go_right = np.zeros(len(idx), dtype=bool)
            num = (stype[nd] == 0) & ~miss
            go_right[num] = ~(x[num] < cond[nd][num].astype(Xc.dtype))
            ties += int(np.sum(x32[num] == cond[nd][num]))
            for k in np.flatnonzero((stype[nd] == 1) & ~miss):
                v = x32[k]
                invalid = v < 0 or v >= 16777216.0
                go_right[k] = (not invalid) and int(v) in cats[nd[k]]
            go_right[miss] = ~dleft[nd[miss]]
            node[idx] = np.where(go_right, right[nd], left[nd])
        leaf = np.array(t["split_conditions"], dtype=np.float32)[node]
        if weights is not None:
            leaf = (leaf * weights[ti]).astype(np.float32)
        g = model["tree_info"][ti]
        out[:, g] = (out[:, g] + leaf).astype(np.float32)
    return out, ties


def transform(obj, margin):
    """The output transform as XGBoost 1.7.4 computes it, in float with glibc's
    expf:  sigmoid  1.0f / (expf(min(-x, 88.7f)) + 1.0f + 1e-16f)
           poisson  expf(x)
           softmax  e_k = expf(x_k - max); wsum = sum e_k in double; e_k / (float)wsum
           softmax  (multi:softmax) index of the largest margin, the first on ties"""
    m = margin.astype(np.float32)
    if obj in ("binary:logistic", "reg:logistic"):
        den = expf(np.minimum(-m[:, 0], np.float32(88.7))) + np.float32(1.0) + np.float32(1e-16)
        return (np.float32(1.0) / den).astype(np.float32)
    if obj == "count:poisson":
        return expf(m[:, 0])
    if obj == "multi:softprob":
        e = expf(m - m.max(axis=1, keepdims=True))
        wsum = e.astype(np.float64).sum(axis=1, keepdims=True)
        return (e / wsum.astype(np.float32)).astype(np.float32)
    if obj == "multi:softmax":
        return m.argmax(axis=1).astype(np.float32)
    return m[:, 0]


# --------------------------------------------------------------------------
# UBJSON reader (only to prove that the .ubj holds the same model)


class UBJ:
    FIXED = {b"i": ">b", b"U": ">B", b"I": ">h", b"l": ">i", b"L": ">q", b"d": ">f",
             b"D": ">d"}

    def __init__(self, data):
        self.b, self.p, self.markers = data, 0, {}

    def _take(self, n):
        s = self.b[self.p:self.p + n]
        self.p += n
        return s

    def _note(self, what):
        self.markers[what] = self.markers.get(what, 0) + 1

    def _int(self, t):
        return struct.unpack(self.FIXED[t], self._take(struct.calcsize(self.FIXED[t])))[0]

    def value(self, t=None):
        t = t or self._take(1)
        if t in self.FIXED:
            self._note("value " + t.decode())
            return self._int(t)
        if t == b"S":
            self._note("string")
            n = self._int(self._take(1))
            return self._take(n).decode("utf-8")
        if t == b"T" or t == b"F":
            return t == b"T"
        if t == b"Z":
            return None
        if t == b"[":
            typ, cnt = None, None
            if self.b[self.p:self.p + 1] == b"$":
                self.p += 1
                typ = self._take(1)
            if self.b[self.p:self.p + 1] == b"#":
                self.p += 1
                cnt = self._int(self._take(1))
            self._note("array" + (" typed " + typ.decode() if typ else "")
                       + (" counted" if cnt is not None else ""))
            if typ is not None and typ in self.FIXED:
                fmt = self.FIXED[typ]
                raw = self._take(struct.calcsize(fmt) * cnt)
                return list(struct.unpack(">" + fmt[1:] * cnt, raw))
            out = []
            while cnt is None or len(out) < cnt:
                if cnt is None and self.b[self.p:self.p + 1] == b"]":
                    self.p += 1
                    break
                out.append(self.value(typ))
            return out
        if t == b"{":
            self._note("object")
            out = {}
            while self.b[self.p:self.p + 1] != b"}":
                n = self._int(self._take(1))
                k = self._take(n).decode("utf-8")
                out[k] = self.value()
            self.p += 1
            return out
        raise ValueError("UBJSON marker %r at %d" % (t, self.p - 1))


def same_tree_json(a, b, path="$"):
    """Deep equality; floats compared as float32 (UBJ 'd' vs JSON text), NaN == NaN."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            same_tree_json(a[k], b[k], path + "." + k)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same_tree_json(x, y, "%s[%d]" % (path, i))
    elif isinstance(a, float) or isinstance(b, float):
        fa, fb = np.float32(a), np.float32(b)
        assert (np.isnan(fa) and np.isnan(fb)) or fa == fb, (path, a, b)
    else:
        assert a == b or str(a) == str(b), (path, a, b)


# --------------------------------------------------------------------------


def export_r_dataset(r_name, path):
    expr = ('data(%s, package="modeldata"); write.csv(%s, "%s", row.names=FALSE, na="")'
            % (r_name, r_name, path))
    subprocess.run(["Rscript", "-e", expr], check=True)


def write_rows(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def split_thresholds(j, feature_names):
    """{feature name: sorted float32 thresholds of its numerical splits}."""
    _, model, _ = load_trees(j)
    th = {}
    for t in model["trees"]:
        for nid, (l, f, c, st) in enumerate(zip(t["left_children"], t["split_indices"],
                                                t["split_conditions"], t["split_type"])):
            if l != -1 and st == 0:
                th.setdefault(feature_names[f], set()).add(float(np.float32(c)))
    return {k: sorted(v) for k, v in th.items()}


def threshold_texts(t):
    """Three spellings of float32 threshold t that XGBoost reads as exactly t
    (after float64 -> float32): the shortest float32 digits, the exact widened
    double, and the double just below it (less than t as a double!)."""
    t32 = np.float32(t)
    shortest = np.format_float_positional(t32, unique=True, trim="-")
    widened = repr(float(t32))
    below = repr(float(np.nextafter(float(t32), -np.inf)))
    for s in (shortest, widened, below):
        assert np.float32(float(s)) == t32, (t, s)
    return [shortest, widened, below]


def make_eval_csv(ds_name, cfg, text_df, test_idx, model_defs, path):
    rng = np.random.default_rng(cfg["seed"] + 100)
    t = text_df.iloc[test_idx][cfg["columns"]].reset_index(drop=True).copy()
    n = len(t)
    t.insert(0, "id", ["%s%04d" % (cfg["id_prefix"], i + 1) for i in range(n)])
    num_cols = [c for c in cfg["columns"] if c not in cfg["strings"]]
    feat_num = sorted({c for m in model_defs for c in m["num"]})
    feat_str = sorted({c for m in model_defs for c in m["cat"] + m["onehot"]})
    # blanks
    for c in feat_num:
        t.loc[rng.random(n) < NUM_BLANK_RATE, c] = ""
    for c in feat_str:
        k = max(2, int(round(CAT_BLANK_RATE * n)))
        t.loc[rng.choice(n, size=k, replace=False), c] = ""
    # unseen category values
    planted_unseen = {}
    for c, k in cfg["unseen"].items():
        rows = rng.choice(np.flatnonzero(t[c].to_numpy() != ""), size=k, replace=False)
        t.loc[rows, c] = "ZZ_unseen" if c != "state" else "ZZ"
        planted_unseen[c] = ["%s" % t.loc[r, "id"] for r in sorted(rows)]
    # thresholds, from every model that reads this CSV
    planted = []
    for m in model_defs:
        ths = m["thresholds"]
        feats = sorted(ths)
        k = int(round(PLANT_RATE * n / len(model_defs)))
        for r in rng.choice(n, size=k, replace=False):
            f = feats[rng.integers(len(feats))]
            th = ths[f][rng.integers(len(ths[f]))]
            texts = threshold_texts(th)
            s = texts[len(planted) % 3]
            t.loc[r, f] = s
            planted.append(dict(id=t.loc[r, "id"], column=f, text=s, threshold=th,
                                model=m["name"]))
    # +-inf, in rows without other planted values
    used = {p["id"] for p in planted}
    free = [r for r in range(n) if t.loc[r, "id"] not in used]
    inf_rows = []
    for i, r in enumerate(rng.choice(free, size=N_INF, replace=False)):
        c = feat_num[rng.integers(len(feat_num))]
        t.loc[r, c] = "inf" if i % 2 == 0 else "-inf"
        inf_rows.append(dict(id=t.loc[r, "id"], column=c, text=t.loc[r, c]))
    cells = t.to_numpy(dtype=object)
    bad = {s for s in cells.ravel() if s != "" and s in PANDAS_DEFAULT_NA}
    assert not bad, "cells that pandas would read as NA: %r" % bad
    write_rows(path, list(t.columns), cells.tolist())
    return dict(rows=n, planted_thresholds=planted, inf_cells=inf_rows,
                unseen_categories=planted_unseen, numeric_columns=num_cols)


def fnum(x):
    """A float32 result as an exact double (repr of the widened value)."""
    return float(np.float64(np.float32(x)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=ROOT,
                    help="repository root (testdata/trees/ is written below it)")
    args = ap.parse_args()

    import xgboost as xgb
    out_dir = os.path.join(args.out_dir, "testdata", "trees")
    os.makedirs(out_dir, exist_ok=True)
    print("xgboost %s, pandas %s, numpy %s" % (xgb.__version__, pd.__version__, np.__version__))

    manifest = dict(
        generator="scripts/ref/make_tree_testdata.py",
        xgboost=xgb.__version__, pandas=pd.__version__, numpy=np.__version__,
        csv_reading=('pandas.read_csv(keep_default_na=False, na_values=[""]), category '
                     'columns as str: blank = missing'),
        category_rule=("pd.Categorical(value, categories=training categories) -> code; "
                       "blank and unseen values -> code -1 -> NaN in XGBoost = missing "
                       "(default direction)"),
        onehot_rule=("pd.get_dummies(raw, prefix=column, prefix_sep='_') reindexed to the "
                     "training dummies, fill 0: blank or unseen -> every dummy 0.0 (not "
                     "missing)"),
        inf_rule=("xgboost 1.7.4 DMatrix refuses inf; expected values come from "
                  "Booster.inplace_predict, which compares +-inf as ordinary numbers"),
        datasets={}, models={})
    failures = 0
    by_ds = {}
    for name, m in MODELS.items():
        m["name"] = name
        by_ds.setdefault(m["dataset"], []).append(m)

    with tempfile.TemporaryDirectory(prefix="binfer_trees_") as tmp:
        for ds_name, model_defs in by_ds.items():
            cfg = DATASETS[ds_name]
            r_csv = os.path.join(tmp, ds_name + ".r.csv")
            export_r_dataset(cfg["r_name"], r_csv)
            # the canonical text of the data set (R wrote NA as a blank cell)
            text_df = pd.read_csv(r_csv, dtype=str, keep_default_na=False)
            full_csv = os.path.join(tmp, ds_name + ".full.csv")
            write_rows(full_csv, list(text_df.columns), text_df.to_numpy(dtype=object).tolist())
            full = read_csv_text(full_csv, cfg["strings"] + [c for c in text_df.columns
                                                              if c not in cfg["columns"]])
            rng = np.random.default_rng(cfg["seed"])
            perm = rng.permutation(len(full))
            test_idx, train_idx = np.sort(perm[:cfg["n_test"]]), np.sort(perm[cfg["n_test"]:])
            train = full.iloc[train_idx].reset_index(drop=True)

            # 1. train every model of this data set
            for m in model_defs:
                tr = train
                if "group" in m:
                    tr = train.sort_values(m["group"], kind="stable").reset_index(drop=True)
                x, levels, dummy_cols = model_frame(tr, m)
                if callable(m["target"]):
                    y = np.asarray(m["target"](tr), dtype=np.float64)
                else:
                    y = np.array([m["classes"].index(v) for v in tr[m["target"]]])
                kw = {}
                if "group" in m:
                    kw["qid"] = pd.factorize(tr[m["group"]])[0]
                dtrain = xgb.DMatrix(x, label=y, enable_categorical=bool(m["cat"]), **kw)
                params = dict(m["params"], seed=0, nthread=1)
                bst = xgb.train(params, dtrain, num_boost_round=m["rounds"])
                m.update(booster=bst, levels=levels, dummy_cols=dummy_cols,
                         features=list(x.columns), ftypes=list(dtrain.feature_types or []),
                         n_train=len(tr), train_missing=int(x.isna().to_numpy().sum()))
                jpath = os.path.join(out_dir, name_json(m))
                bst.save_model(jpath)
                bst.save_model(os.path.join(out_dir, m["name"] + ".ubj"))
                with open(jpath, encoding="utf-8") as f:
                    m["json"] = json.load(f)
                # planted only into number columns (not one-hot dummies)
                m["thresholds"] = {k: v for k, v in
                                   split_thresholds(m["json"], m["features"]).items()
                                   if k in m["num"]}

            # 2. the evaluation CSV, with thresholds of all these models planted
            csv_name = ds_name + ".csv"
            csv_path = os.path.join(out_dir, csv_name)
            info = make_eval_csv(ds_name, cfg, text_df, test_idx, model_defs, csv_path)
            test = read_csv_text(csv_path, [c for c in cfg["strings"]])
            manifest["datasets"][ds_name] = dict(
                csv=csv_name, r_dataset="modeldata::" + cfg["r_name"], rows=info["rows"],
                id_column="id", columns=["id"] + cfg["columns"],
                string_columns=cfg["strings"], rows_in_dataset=len(full),
                inf_cells=info["inf_cells"], unseen_categories=info["unseen_categories"],
                planted_thresholds=len(info["planted_thresholds"]),
                planted_threshold_examples=info["planted_thresholds"][:6])

            # 3. XGBoost's predictions on it, and the checks
            inf_mask = np.zeros(len(test), dtype=bool)
            for m in model_defs:
                x, _, _ = model_frame(test, m, m["levels"], m["dummy_cols"])
                bst = m["booster"]
                obj = m["params"]["objective"]
                num_only = x[[c for c in x.columns if c not in m["cat"]]]
                inf_mask = np.isinf(num_only.to_numpy(dtype=np.float64)).any(axis=1)
                margin = bst.inplace_predict(x, predict_type="margin")
                score = bst.inplace_predict(x, predict_type="value")
                # the usual DMatrix path, on the rows it accepts
                ok_rows = x[~inf_mask]
                dm = xgb.DMatrix(ok_rows, enable_categorical=bool(m["cat"]))
                m2 = bst.predict(dm, output_margin=True)
                s2 = bst.predict(dm)
                ubj = xgb.Booster(model_file=os.path.join(out_dir, m["name"] + ".ubj"))
                m3 = ubj.inplace_predict(x, predict_type="margin")
                same_dm = np.array_equal(m2, margin[~inf_mask]) and np.array_equal(
                    s2, score[~inf_mask])
                same_ubj = np.array_equal(m3, margin)
                with open(os.path.join(out_dir, m["name"] + ".ubj"), "rb") as f:
                    dec = UBJ(f.read())
                    ubj_doc = dec.value()
                same_tree_json(m["json"], ubj_doc)
                m["ubj_markers"] = dec.markers

                # independent evaluation from the JSON
                xnum = x.copy()
                for c in m["cat"]:
                    xnum[c] = x[c].cat.codes.astype(np.float64).replace(-1.0, np.nan)
                X = xnum.to_numpy(dtype=np.float64)
                ref, ties = ref_margin(m["json"], X)
                ref_d, _ = ref_margin(m["json"], X, compare="double")
                mg = margin.reshape(len(x), -1)
                ref_exact = np.array_equal(ref, mg)
                double_rows = int(np.sum(np.any(ref_d != mg, axis=1)))
                sc_ref = transform(obj, ref)
                sc = score.reshape(sc_ref.shape)
                if obj in ("binary:logitraw", "reg:squarederror", "rank:pairwise"):
                    sc_err = float(np.max(np.abs(sc - mg[:, 0])))
                else:
                    sc_err = float(np.max(np.abs(sc_ref.astype(np.float64) - sc)))
                ok = same_dm and same_ubj and ref_exact and sc_err < 1e-6
                failures += not ok

                ids = test["id"].tolist()
                lines = []
                classes = m.get("classes")
                for i in range(len(x)):
                    if mg.shape[1] > 1:
                        obj_line = {"id": ids[i], "margin": [fnum(v) for v in mg[i]]}
                    else:
                        obj_line = {"id": ids[i], "margin": fnum(mg[i, 0])}
                    if obj == "multi:softprob":
                        obj_line["score"] = [fnum(v) for v in sc[i]]
                        obj_line["label"] = classes[int(np.argmax(sc[i]))]
                    elif obj == "multi:softmax":
                        obj_line["score"] = fnum(sc[i])
                        obj_line["label"] = classes[int(sc[i])]
                    else:
                        obj_line["score"] = fnum(sc[i])
                    if inf_mask[i]:
                        obj_line["dmatrix_refuses_inf"] = True
                    lines.append(obj_line)
                exp_name = m["name"] + ".expected.jsonl"
                with open(os.path.join(out_dir, exp_name), "w", encoding="utf-8") as f:
                    for ln in lines:
                        f.write(json.dumps(ln, allow_nan=False) + "\n")

                lrn = m["json"]["learner"]
                feats = []
                for fname, ftype in zip(m["features"], m["ftypes"]):
                    fd = dict(name=fname, xgb_type=ftype)
                    if fname in m["cat"]:
                        fd.update(source=dict(kind="category", column=fname, mapping={
                            v: k for k, v in enumerate(m["levels"][fname])}))
                    elif fname in m["num"]:
                        fd.update(source=dict(kind="number", column=fname))
                    else:
                        col = next(c for c in m["onehot"] if fname.startswith(c + "_"))
                        fd.update(source=dict(kind="onehot", column=col,
                                              value=fname[len(col) + 1:]))
                    feats.append(fd)
                trees = load_trees(m["json"])[1]["trees"]
                n_cat_nodes = sum(len(t["categories_nodes"]) for t in trees)
                n_multi_cat = sum(1 for t in trees for s in t["categories_sizes"] if s > 1)
                entry = dict(
                    dataset=ds_name, csv=csv_name, json=name_json(m), ubj=m["name"] + ".ubj",
                    expected=exp_name, objective=obj,
                    booster=lrn["gradient_booster"]["name"],
                    params={k: v for k, v in m["params"].items()},
                    rounds=m["rounds"], n_trees=len(trees),
                    n_groups=max(1, int(lrn["learner_model_param"]["num_class"])),
                    base_score_json=lrn["learner_model_param"]["base_score"],
                    base_margin=fnum(base_margin(lrn)),
                    target=m["target_doc"], classes=classes,
                    group_column=m.get("group"),
                    features=feats,
                    onehot=({c: dict(prefix=c + "_", dummies=[d for d in m["dummy_cols"]
                                                              if d.startswith(c + "_")])
                             for c in m["onehot"]} if m["onehot"] else None),
                    categorical_split_nodes=n_cat_nodes,
                    categorical_splits_with_several_categories=n_multi_cat,
                    rows_train=m["n_train"], missing_cells_in_training=m["train_missing"],
                    rows_eval=len(x), rows_with_inf=int(inf_mask.sum()),
                    threshold_ties_in_eval=ties,
                    rows_changed_if_compared_in_double=double_rows,
                    checks=dict(inplace_equals_dmatrix=bool(same_dm),
                                ubj_equals_json=bool(same_ubj),
                                ref_margin_bit_exact=bool(ref_exact),
                                max_abs_score_float32_transform_err=sc_err))
                manifest["models"][m["name"]] = entry
                print("%-24s %-16s %-6s trees=%-3d feats=%-3d train=%-5d eval=%d "
                      "ties=%d dbl-rows=%d catnodes=%d  dm=%s ubj=%s ref=%s score_err=%.1e %s"
                      % (m["name"], obj, entry["booster"], len(trees), len(feats),
                         m["n_train"], len(x), ties, double_rows, n_cat_nodes, same_dm,
                         same_ubj, ref_exact, sc_err, "OK" if ok else "FAIL"))
    markers = {}
    for m in MODELS.values():
        for k, v in m["ubj_markers"].items():
            markers[k] = markers.get(k, 0) + v
    manifest["ubj_markers_seen"] = markers
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, allow_nan=False)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(out_dir, p)) for p in os.listdir(out_dir))
    print("wrote %s: %d files, %.0f KB" % (out_dir, len(os.listdir(out_dir)), total / 1024))
    if failures:
        print("self-check FAILED for %d model(s)" % failures)
        return 1
    return 0


def name_json(m):
    return m["name"] + ".json"


if __name__ == "__main__":
    sys.exit(main())
