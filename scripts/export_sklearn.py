#!/usr/bin/python3
"""Export a fitted scikit-learn model to binfer's tabular model format (JSON).

usage: export_sklearn.py MODEL.pkl|MODEL.joblib OUT.json

Supported objects
  * a bare LogisticRegression, LinearRegression, Ridge, MLPClassifier or
    MLPRegressor;
  * a Pipeline whose last step is one of those, preceded by preprocessing
    steps built from ColumnTransformer, StandardScaler, SimpleImputer,
    OneHotEncoder, nested Pipelines of these, "passthrough" and "drop".

Anything else makes the exporter print a message naming the offending step
and exit with status 2.  The output is written only when the export succeeded.

The JSON written (see binfer's model documentation):
  format, version, kind, source, task, [classes], inputs, features, linear|mlp
All floats are written with repr() (shortest round-trip form, at most 17
significant digits).  Category values (onehot categories, category impute
values, class labels) are written as str(); integral floats without ".0".
"""

import json
import math
import numbers
import pickle
import re
import sys

import numpy as np

EXIT_UNSUPPORTED = 2


class Unsupported(Exception):
    """The model uses something binfer's tabular format cannot express."""


# --------------------------------------------------------------------------
# value formatting


def category_str(v):
    """How a category value (or class label) is written: str(), integral
    floats without '.0'.  Must match how binfer sees the cell text."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (numbers.Integral, np.integer)):
        return str(int(v))
    if isinstance(v, (numbers.Real, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            raise Unsupported("category value %r is not finite" % (v,))
        if f == int(f):
            return str(int(f))
        return repr(f)
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(v)


def is_missing(v):
    if v is None:
        return True
    try:
        return bool(isinstance(v, (float, np.floating)) and math.isnan(v))
    except TypeError:
        return False


def finite_float(v, what):
    f = float(v)
    if not math.isfinite(f):
        raise Unsupported("%s is not finite (%r)" % (what, f))
    return f


def float_list(a, what):
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise Unsupported("%s contains non-finite values" % what)
    return a.tolist()  # Python floats; json writes them with repr()


def short_repr(obj, limit=400):
    """Compact description: the structure of pipelines / column transformers
    and, for the other steps, sklearn's repr (non-default parameters only)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    def desc(o):
        if isinstance(o, str) or o is None:
            return repr(o)
        if type(o) is Pipeline:
            return "Pipeline(%s)" % ", ".join(desc(s) for _, s in o.steps)
        if type(o) is ColumnTransformer:
            ts = getattr(o, "transformers_", o.transformers)
            return "ColumnTransformer(%s)" % ", ".join(
                "%s: %s" % (n, desc(t)) for n, t, _ in ts)
        try:
            r = o.__repr__(N_CHAR_MAX=160)
        except TypeError:
            r = repr(o)
        return re.sub(r"\s+", " ", r)

    r = desc(obj)
    if len(r) > limit:
        r = r[: limit - 3] + "..."
    return r


def step_name(obj):
    return type(obj).__name__


# --------------------------------------------------------------------------
# preprocessing: a "lane" is one column flowing through the transformers.
# Before a OneHotEncoder it is one value wide; the encoder widens it.


class Lane:
    __slots__ = ("input", "steps", "onehot", "numeric_step")

    def __init__(self, input_name):
        self.input = input_name
        self.steps = []          # list of (op, payload)
        self.onehot = None       # list of categories once one-hot encoded
        self.numeric_step = False

    def copy(self):
        c = Lane(self.input)
        c.steps = list(self.steps)
        c.onehot = None if self.onehot is None else list(self.onehot)
        c.numeric_step = self.numeric_step
        return c

    @property
    def width(self):
        return 1 if self.onehot is None else len(self.onehot)


def _require_scalar_lanes(lanes, where):
    for ln in lanes:
        if ln.onehot is not None:
            raise Unsupported(
                "%s is applied to the output of a OneHotEncoder (column %r); "
                "binfer only supports OneHotEncoder as the last step of a column"
                % (where, ln.input))


def _check_n_features(trans, lanes, where):
    n = getattr(trans, "n_features_in_", None)
    if n is not None and n != len(lanes):
        raise Unsupported("%s was fitted on %d columns but receives %d here"
                          % (where, n, len(lanes)))


def _apply_scaler(sc, lanes, where):
    _require_scalar_lanes(lanes, where)
    _check_n_features(sc, lanes, where)
    n = len(lanes)
    mean = sc.mean_ if getattr(sc, "with_mean", True) and sc.mean_ is not None else None
    scale = sc.scale_ if getattr(sc, "with_std", True) and sc.scale_ is not None else None
    mean = np.zeros(n) if mean is None else np.asarray(mean, dtype=np.float64)
    scale = np.ones(n) if scale is None else np.asarray(scale, dtype=np.float64)
    out = []
    for i, ln in enumerate(lanes):
        ln = ln.copy()
        ln.steps.append(("scale", (finite_float(mean[i], where + " mean_"),
                                   finite_float(scale[i], where + " scale_"))))
        ln.numeric_step = True
        out.append(ln)
    return out


def _apply_imputer(imp, lanes, where):
    _require_scalar_lanes(lanes, where)
    _check_n_features(imp, lanes, where)
    mv = imp.missing_values
    if not (isinstance(mv, (float, np.floating)) and math.isnan(mv)):
        raise Unsupported("%s has missing_values=%r; only np.nan (the default) is "
                          "supported" % (where, mv))
    if getattr(imp, "add_indicator", False):
        raise Unsupported("%s uses add_indicator=True, which is not supported" % where)
    stats = imp.statistics_
    keep_all = imp.strategy == "constant" or getattr(imp, "keep_empty_features", False)
    out = []
    for i, ln in enumerate(lanes):
        v = stats[i]
        if is_missing(v):
            if keep_all:
                raise Unsupported("%s has no usable fill value for column %r" % (where, ln.input))
            continue  # sklearn drops columns without any observed value
        ln = ln.copy()
        ln.steps.append(("impute", v))
        out.append(ln)
    return out


def _apply_onehot(enc, lanes, where):
    _require_scalar_lanes(lanes, where)
    _check_n_features(enc, lanes, where)
    if getattr(enc, "_infrequent_enabled", False):
        raise Unsupported("%s groups infrequent categories (min_frequency / "
                          "max_categories), which is not supported" % where)
    if enc.handle_unknown != "ignore":
        raise Unsupported("%s has handle_unknown=%r; binfer encodes unknown categories "
                          "as all zeros, so refit with handle_unknown='ignore'"
                          % (where, enc.handle_unknown))
    drop_idx = getattr(enc, "drop_idx_", None)
    out = []
    for i, ln in enumerate(lanes):
        if ln.numeric_step:
            raise Unsupported("%s encodes column %r after a numeric step (scale); "
                              "not supported" % (where, ln.input))
        cats = list(enc.categories_[i])
        for c in cats:
            if is_missing(c):
                raise Unsupported(
                    "%s learned a missing value (NaN/None) as a category of column %r; "
                    "binfer encodes missing categories as all zeros: put a SimpleImputer "
                    "before the encoder" % (where, ln.input))
        # A dropped category encodes as all zeros, exactly like an unknown one.
        if drop_idx is not None and drop_idx[i] is not None:
            del cats[int(drop_idx[i])]
        strs = [category_str(c) for c in cats]
        if len(set(strs)) != len(strs):
            raise Unsupported("%s: categories of column %r are not distinct as strings: %r"
                              % (where, ln.input, strs))
        ln = ln.copy()
        ln.onehot = strs
        out.append(ln)
    return out


def _resolve_columns(ct, name, columns, n_lanes):
    """Indices into the ColumnTransformer's input for one transformer."""
    t2i = getattr(ct, "_transformer_to_input_indices", None)
    if t2i is not None and name in t2i:
        return [int(i) for i in t2i[name]]
    where = "ColumnTransformer transformer %r" % name
    names = list(getattr(ct, "feature_names_in_", []))

    def by_name(s):
        if s not in names:
            raise Unsupported("%s selects column %r, which the ColumnTransformer "
                              "was not fitted with" % (where, s))
        return names.index(s)

    if callable(columns):
        raise Unsupported("%s uses a callable column selector and the fitted "
                          "ColumnTransformer does not record its columns" % where)
    if isinstance(columns, str):
        return [by_name(columns)]
    if isinstance(columns, (numbers.Integral, np.integer)) and not isinstance(columns, bool):
        return [int(columns) % n_lanes]
    if isinstance(columns, slice):
        start, stop = columns.start, columns.stop
        if isinstance(start, str) or isinstance(stop, str):
            a = 0 if start is None else by_name(start)
            b = n_lanes - 1 if stop is None else by_name(stop)
            return list(range(a, b + 1))  # label slices are inclusive
        return list(range(n_lanes))[columns]
    cols = list(np.asarray(columns, dtype=object).ravel()) if not isinstance(columns, list) else columns
    if len(cols) == 0:
        return []
    if all(isinstance(c, (bool, np.bool_)) for c in cols):
        if len(cols) != n_lanes:
            raise Unsupported("%s: boolean mask has %d entries for %d columns"
                              % (where, len(cols), n_lanes))
        return [i for i, c in enumerate(cols) if c]
    if all(isinstance(c, (numbers.Integral, np.integer)) for c in cols):
        return [int(c) % n_lanes for c in cols]
    if all(isinstance(c, str) for c in cols):
        return [by_name(c) for c in cols]
    raise Unsupported("%s: unsupported column selector %r" % (where, columns))


def _apply_column_transformer(ct, lanes, where):
    _require_scalar_lanes(lanes, where)
    _check_n_features(ct, lanes, where)
    if not hasattr(ct, "transformers_"):
        raise Unsupported("%s is not fitted" % where)
    weights = ct.transformer_weights or {}
    out = []
    for name, trans, columns in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        idx = _resolve_columns(ct, name, columns, len(lanes))
        if not idx:
            continue
        w = weights.get(name, 1)
        if w != 1:
            raise Unsupported("%s uses transformer_weights (%r: %r); not supported"
                              % (where, name, w))
        sub = [lanes[i] for i in idx]
        out.extend(_apply(trans, sub, "%s > %r" % (where, name)))
    return out


def _apply(trans, lanes, where):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if trans is None or (isinstance(trans, str) and trans == "passthrough"):
        return [ln.copy() for ln in lanes]
    if isinstance(trans, str) and trans == "drop":
        return []
    here = "%s (%s)" % (where, step_name(trans)) if where else step_name(trans)
    # exact types: a subclass may change the computation
    t = type(trans)
    if t is Pipeline:
        for name, step in trans.steps:
            lanes = _apply(step, lanes, "%s > %r" % (where, name) if where else repr(name))
        return lanes
    if t is ColumnTransformer:
        return _apply_column_transformer(trans, lanes, here)
    if t is StandardScaler:
        return _apply_scaler(trans, lanes, here)
    if t is SimpleImputer:
        return _apply_imputer(trans, lanes, here)
    if t is OneHotEncoder:
        return _apply_onehot(trans, lanes, here)
    raise Unsupported("step %s is not supported (supported: ColumnTransformer, "
                      "Pipeline, StandardScaler, SimpleImputer, OneHotEncoder, "
                      "'passthrough', 'drop')" % here)


# --------------------------------------------------------------------------
# final estimators


def _classes(est):
    cl = np.asarray(est.classes_)
    if cl.ndim != 1:
        raise Unsupported("%s: multi-output / multilabel classification is not supported"
                          % step_name(est))
    strs = [category_str(c) for c in cl]
    if len(set(strs)) != len(strs):
        raise Unsupported("%s: class labels are not distinct as strings: %r"
                          % (step_name(est), strs))
    return strs


def _export_estimator(est, n_features, where):
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    t = type(est)
    here = "%s (%s)" % (where, step_name(est)) if where else step_name(est)
    nin = getattr(est, "n_features_in_", None)
    if nin is not None and nin != n_features:
        raise Unsupported("%s was fitted on %d features but the preprocessing yields %d"
                          % (here, nin, n_features))
    doc = {}
    if t is LogisticRegression:
        classes = _classes(est)
        coef = np.asarray(est.coef_, dtype=np.float64)
        icpt = np.asarray(est.intercept_, dtype=np.float64).reshape(-1)
        if coef.ndim == 1:
            coef = coef.reshape(1, -1)
        if icpt.size == 1 and coef.shape[0] > 1:
            icpt = np.repeat(icpt, coef.shape[0])
        mc = getattr(est, "multi_class", "auto")
        if mc in ("deprecated", None):
            mc = "auto"
        ovr = mc in ("ovr", "warn") or (
            mc == "auto" and (len(classes) <= 2 or est.solver in ("liblinear", "newton-cholesky")))
        if len(classes) == 2:
            if coef.shape[0] != 1:
                raise Unsupported("%s: unexpected coef_ shape %r" % (here, coef.shape))
            if not ovr:
                # sklearn: softmax([-d, d])[1] == sigmoid(2 d); doubling is exact
                coef = coef * 2.0
                icpt = icpt * 2.0
            link, task = "logistic", "binary"
        elif len(classes) > 2:
            if coef.shape[0] != len(classes):
                raise Unsupported("%s: unexpected coef_ shape %r" % (here, coef.shape))
            link, task = ("ovr" if ovr else "softmax"), "multiclass"
        else:
            raise Unsupported("%s has fewer than two classes" % here)
        doc.update(kind="linear", task=task, classes=classes)
        lin = (coef, icpt, link)
    elif t in (LinearRegression, Ridge):
        coef = np.asarray(est.coef_, dtype=np.float64)
        icpt = np.asarray(est.intercept_, dtype=np.float64).reshape(-1)
        if coef.ndim == 2:
            if coef.shape[0] != 1:
                raise Unsupported("%s: multi-output regression (%d targets) is not supported"
                                  % (here, coef.shape[0]))
        coef = coef.reshape(1, -1)
        if icpt.size != 1:
            raise Unsupported("%s: unexpected intercept_ shape" % here)
        doc.update(kind="linear", task="regression")
        lin = (coef, icpt, "identity")
    elif t in (MLPClassifier, MLPRegressor):
        act = est.activation
        if act not in ("relu", "tanh", "logistic", "identity"):
            raise Unsupported("%s: activation %r is not supported" % (here, act))
        out = est.out_activation_
        if t is MLPClassifier:
            classes = _classes(est)
            if len(classes) == 2 and out == "logistic" and est.n_outputs_ == 1:
                doc.update(kind="mlp", task="binary", classes=classes)
            elif len(classes) > 2 and out == "softmax":
                doc.update(kind="mlp", task="multiclass", classes=classes)
            else:
                raise Unsupported("%s: multilabel or unexpected output (%r, %d outputs) "
                                  "is not supported" % (here, out, est.n_outputs_))
        else:
            if est.n_outputs_ != 1 or out != "identity":
                raise Unsupported("%s: multi-output regression (%d targets) is not supported"
                                  % (here, est.n_outputs_))
            doc.update(kind="mlp", task="regression")
        layers = []
        n_in = n_features
        for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
            w = np.asarray(w, dtype=np.float64)
            b = np.asarray(b, dtype=np.float64)
            if w.shape[0] != n_in or b.shape != (w.shape[1],):
                raise Unsupported("%s: layer %d has inconsistent shapes" % (here, i))
            layers.append({"weights": float_list(w, "%s coefs_[%d]" % (here, i)),
                           "bias": float_list(b, "%s intercepts_[%d]" % (here, i))})
            n_in = w.shape[1]
        mlp = {"activation": act, "output": out, "layers": layers}
        return doc, None, mlp
    else:
        raise Unsupported("final estimator %s is not supported (supported: "
                          "LogisticRegression, LinearRegression, Ridge, MLPClassifier, "
                          "MLPRegressor)" % here)
    coef, icpt, link = lin
    if coef.shape[1] != n_features:
        raise Unsupported("%s: coef_ has %d columns, expected %d" % (here, coef.shape[1], n_features))
    linear = {"coef": float_list(coef, here + " coef_"),
              "intercept": float_list(icpt, here + " intercept_"),
              "link": link}
    return doc, linear, None


# --------------------------------------------------------------------------


def build(model):
    """Return the exported document (a dict) for a fitted sklearn object."""
    import sklearn
    from sklearn.pipeline import Pipeline

    if type(model) is Pipeline:
        steps = [(n, s) for n, s in model.steps]
        if not steps:
            raise Unsupported("empty Pipeline")
        pre, (last_name, est) = steps[:-1], steps[-1]
        first = next((s for _, s in steps if s is not None and not isinstance(s, str)), None)
        where_est = repr(last_name)
    else:
        pre, est, first, where_est = [], model, model, ""
    if est is None or isinstance(est, str):
        raise Unsupported("the Pipeline has no final estimator (last step is %r)" % (est,))

    names = getattr(first, "feature_names_in_", None)
    n_in = getattr(first, "n_features_in_", None)
    if names is not None:
        raw = [str(s) for s in names]
    elif n_in is not None:
        raw = ["x%d" % i for i in range(n_in)]
    else:
        raise Unsupported("cannot tell how many input columns the model reads "
                          "(is it fitted?)")
    if len(set(raw)) != len(raw):
        raise Unsupported("duplicate input column names")

    lanes = [Lane(n) for n in raw]
    for name, step in pre:
        lanes = _apply(step, lanes, repr(name))
    n_features = sum(ln.width for ln in lanes)
    doc, linear, mlp = _export_estimator(est, n_features, where_est)

    # input types: columns that reach a OneHotEncoder are categories
    types = {}
    for ln in lanes:
        ty = "category" if ln.onehot is not None else "number"
        if types.setdefault(ln.input, ty) != ty:
            raise Unsupported("column %r is used both as a number and as a category"
                              % ln.input)
    inputs = [{"name": n, "type": types[n]} for n in raw if n in types]

    features = []
    for ln in lanes:
        steps = []
        cat = types[ln.input] == "category"
        for op, payload in ln.steps:
            if op == "impute":
                if cat:
                    value = category_str(payload)
                else:
                    try:
                        value = finite_float(payload, "impute value of column %r" % ln.input)
                    except (TypeError, ValueError):
                        raise Unsupported("number column %r is imputed with non-number %r"
                                          % (ln.input, payload))
                steps.append({"op": "impute", "value": value})
            elif op == "scale":
                steps.append({"op": "scale", "mean": payload[0], "scale": payload[1]})
        if ln.onehot is not None:
            steps.append({"op": "onehot", "categories": ln.onehot})
        features.append({"input": ln.input, "steps": steps})

    out = {"format": "binfer-tabular", "version": 1, "kind": doc["kind"],
           "source": "scikit-learn %s: %s" % (sklearn.__version__, short_repr(model)),
           "task": doc["task"]}
    if "classes" in doc:
        out["classes"] = doc["classes"]
    out["inputs"] = inputs
    out["features"] = features
    if linear is not None:
        out["linear"] = linear
    else:
        out["mlp"] = mlp
    return out


def _dump(v):
    return json.dumps(v, ensure_ascii=False, allow_nan=False)


def to_json(doc):
    """Readable JSON: one feature / coef row / weight row per line."""
    lines = ["{"]
    items = list(doc.items())
    for k, (key, val) in enumerate(items):
        comma = "," if k + 1 < len(items) else ""
        if key in ("inputs", "features"):
            body = ",\n".join("    " + _dump(x) for x in val)
            lines.append('  %s: [\n%s\n  ]%s' % (_dump(key), body, comma))
        elif key == "linear":
            rows = ",\n".join("      " + _dump(r) for r in val["coef"])
            lines.append('  "linear": {\n    "coef": [\n%s\n    ],\n    "intercept": %s,\n'
                         '    "link": %s\n  }%s'
                         % (rows, _dump(val["intercept"]), _dump(val["link"]), comma))
        elif key == "mlp":
            layers = []
            for layer in val["layers"]:
                rows = ",\n".join("          " + _dump(r) for r in layer["weights"])
                layers.append('      {\n        "weights": [\n%s\n        ],\n'
                              '        "bias": %s\n      }' % (rows, _dump(layer["bias"])))
            lines.append('  "mlp": {\n    "activation": %s,\n    "output": %s,\n'
                         '    "layers": [\n%s\n    ]\n  }%s'
                         % (_dump(val["activation"]), _dump(val["output"]),
                            ",\n".join(layers), comma))
        else:
            lines.append("  %s: %s%s" % (_dump(key), _dump(val), comma))
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    return text


def load_model(path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as e_pickle:
        try:
            import joblib
            return joblib.load(path)
        except Exception as e_joblib:
            raise RuntimeError("cannot load %s: pickle: %s; joblib: %s"
                               % (path, e_pickle, e_joblib))


def export(model, out_path):
    doc = build(model)
    text = to_json(doc)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)
    return doc


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: export_sklearn.py MODEL.pkl|MODEL.joblib OUT.json\n")
        return 2 if len(argv) != 2 else 0
    try:
        model = load_model(argv[1])
    except Exception as e:
        sys.stderr.write("export_sklearn: %s\n" % e)
        return 1
    try:
        doc = export(model, argv[2])
    except Unsupported as e:
        sys.stderr.write("export_sklearn: unsupported model: %s\n" % e)
        return EXIT_UNSUPPORTED
    nfeat = sum(len(f["steps"][-1]["categories"]) if f["steps"] and f["steps"][-1]["op"] == "onehot"
                else 1 for f in doc["features"])
    sys.stderr.write("export_sklearn: wrote %s (%s %s, %d inputs, %d features)\n"
                     % (argv[2], doc["kind"], doc["task"], len(doc["inputs"]), nfeat))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
