#!/usr/bin/python3
"""xgb_to_lightgbm.py: writes an XGBoost JSON model's trees as a LightGBM text
model, for benchmarking binfer's LightGBM walk on the tree bench's model (no
LightGBM is packaged for Debian to train one). Numerical splits only: each
XGBoost split `x < t` (float32) becomes LightGBM's `x <= t'` with t' the
double just below float32(t), missing type NaN, the same default side; the
leaves keep their values. Scores agree with XGBoost's except where a value
lies between float32 rounding and the double, so this is a speed model, not
an exactness one.

    /usr/bin/python3 scripts/bench/xgb_to_lightgbm.py MODEL.json OUT.txt
"""
import json
import sys

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    j = json.load(open(sys.argv[1]))
    lrn = j["learner"]
    names = lrn["feature_names"]
    trees = lrn["gradient_booster"]["model"]["trees"]
    out = ["tree", "version=v3", "num_class=1", "num_tree_per_iteration=1", "label_index=0",
           "max_feature_idx=%d" % (len(names) - 1), "objective=binary sigmoid:1",
           "feature_names=" + " ".join(names),
           "feature_infos=" + " ".join(["[-1e30:1e30]"] * len(names)), ""]
    for ti, t in enumerate(trees):
        left, right = t["left_children"], t["right_children"]
        cond, dleft, feat = t["split_conditions"], t["default_left"], t["split_indices"]
        if any(t.get("split_type", [0] * len(left))):
            sys.exit("tree %d has categorical splits" % ti)
        internal = [i for i in range(len(left)) if left[i] != -1]
        leaves = [i for i in range(len(left)) if left[i] == -1]
        iid = {n: k for k, n in enumerate(internal)}
        lid = {n: k for k, n in enumerate(leaves)}

        def ref(n):
            return iid[n] if left[n] != -1 else -(lid[n] + 1)

        out += ["Tree=%d" % ti, "num_leaves=%d" % len(leaves), "num_cat=0"]
        if internal:
            below = [np.nextafter(np.float64(np.float32(cond[n])), -np.inf) for n in internal]
            out += ["split_feature=" + " ".join(str(feat[n]) for n in internal),
                    "split_gain=" + " ".join("1" for _ in internal),
                    "threshold=" + " ".join(repr(float(b)) for b in below),
                    # bits: 2 = default left, 8 = missing type NaN
                    "decision_type=" + " ".join(str(8 | (2 if dleft[n] else 0)) for n in internal),
                    "left_child=" + " ".join(str(ref(left[n])) for n in internal),
                    "right_child=" + " ".join(str(ref(right[n])) for n in internal)]
        out += ["leaf_value=" + " ".join(repr(float(cond[n])) for n in leaves),
                "leaf_count=" + " ".join("1" for _ in leaves)]
        if internal:
            out += ["internal_value=" + " ".join("0" for _ in internal),
                    "internal_count=" + " ".join("2" for _ in internal)]
        out += ["shrinkage=1", "", ""]
    out += ["end of trees", ""]
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
