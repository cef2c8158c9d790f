#!/bin/bash
# bench_xgb_cli.sh: time Debian's xgboost CLI (1.7.4) scoring a CSV, as the
# third contender of the tree benchmark (binfer, pandas + xgboost python, CLI).
#
#   scripts/bench/bench_xgb_cli.sh MODEL DATA.csv [PRED.txt] [PYTHON_OUT.jsonl.zst]
#
# MODEL      .json, .ubj or legacy binary (.model): the CLI loads all three.
# DATA.csv   id first, then exactly the model's features, no header (the
#            .cli.csv of scripts/bench/make_tree_bench_data.py). A file whose first
#            line starts with "id," gets a headerless copy first (not timed):
#            the CLI's CSV reader has no header option and would score the
#            header line as a row.  The id column is read as the label
#            (label_column=0), so ids must be numbers.
# PRED.txt   the CLI's output: one prediction per line, 9 significant digits
#            (float32 round trip); default DATA without .csv + .xgbcli.txt
# PYTHON_OUT scripts/bench/bench_xgb_python.py's output on the same rows: the first
#            CHECK_ROWS (default 1000) predictions are compared, and so are the
#            CLI's on those rows with the model's other saved formats (MODEL's
#            siblings .json / .ubj / .model, where present).  Exit status 1 if
#            more than MAX_DIFF_SHARE (default 0.005) of them differ: a few
#            rows do, because the CLI's CSV reader (dmlc-core) does not round
#            numbers correctly ("1.59" -> 1 float32 ulp below float32(1.59))
#            and the model splits exactly at such data values; pandas (and so
#            the python baseline) rounds correctly.  On the 1M-row churn data:
#            440 of 1,000,000 rows (total_intl_charge 1.59 and 1.84).
#
# The command it times (NTHREAD, default 2):
#   xgboost /dev/null task=pred model_in=MODEL "test:data=DATA?format=csv&label_column=0" \
#       nthread=2 name_pred=PRED.txt
# (the first argument is the config file; /dev/null = none). Prints one line:
#   bench_xgb_cli: N rows in S s = R rows/s (peak RSS K KB, nthread=2)
set -eu
if [ $# -lt 2 ]; then
	sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
model=$1
data=$2
pred=${3:-${data%.csv}.xgbcli.txt}
pyout=${4:-}
NTHREAD=${NTHREAD:-2}
CHECK_ROWS=${CHECK_ROWS:-1000}
export MAX_DIFF_SHARE=${MAX_DIFF_SHARE:-0.005}
PY=/usr/bin/python3
XGB=${XGB:-xgboost}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_xgb_cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ "$(head -c 3 "$data")" = "id," ]; then
	tail -n +2 "$data" > "$tmp/data.csv"
	data=$tmp/data.csv
fi
rows=$(wc -l < "$data")

run_cli() { # model data pred
	"$XGB" /dev/null task=pred model_in="$1" "test:data=$2?format=csv&label_column=0" \
		nthread="$NTHREAD" name_pred="$3" > "$tmp/log" 2>&1 || {
		cat "$tmp/log" >&2
		echo "bench_xgb_cli: xgboost failed" >&2
		exit 3
	}
}

t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$tmp/rss" "$XGB" /dev/null task=pred model_in="$model" \
	"test:data=$data?format=csv&label_column=0" nthread="$NTHREAD" name_pred="$pred" \
	> "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; echo "bench_xgb_cli: xgboost failed" >&2; exit 3; }
t1=$(date +%s.%N)
secs=$(echo "$t1 - $t0" | bc -l)
npred=$(wc -l < "$pred")
if [ "$npred" -ne "$rows" ]; then
	echo "bench_xgb_cli: $npred predictions for $rows rows" >&2
	exit 3
fi
printf 'bench_xgb_cli: %d rows in %.2f s = %.0f rows/s (peak RSS %s KB, nthread=%s, %s)\n' \
	"$rows" "$secs" "$(echo "$rows / $secs" | bc -l)" "$(tail -1 "$tmp/rss")" "$NTHREAD" \
	"$(basename "$model")"

[ -n "$pyout" ] || exit 0

# agreement on the first rows: python vs this CLI run vs the CLI with the
# model's other formats
head -n "$CHECK_ROWS" "$data" > "$tmp/head.csv"
others=()
stem=${model%.*}
for ext in json ubj model; do
	m=$stem.$ext
	if [ -f "$m" ] && [ "$m" != "$model" ]; then
		run_cli "$m" "$tmp/head.csv" "$tmp/pred.$ext.txt"
		others+=("$ext=$tmp/pred.$ext.txt")
	fi
done
$PY - "$pyout" "$pred" "$CHECK_ROWS" ${others[@]+"${others[@]}"} <<'PY'
import json, os, sys
import numpy as np
import zstandard
pyout, pred, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
others = [a.split("=", 1) for a in sys.argv[4:]]
with open(pyout, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as r:
    import io
    lines = io.TextIOWrapper(r, encoding="utf-8")
    py = []
    for line in lines:
        if len(py) >= n:
            break
        py.append(json.loads(line))
with open(pred) as f:
    cli = [float(next(f)) for _ in range(len(py))]
ids = [int(o["id"]) for o in py]
want = np.array([o["score"] for o in py], dtype=np.float32)
got = np.array(cli, dtype=np.float32)
ok = True
max_share = float(os.environ.get("MAX_DIFF_SHARE", "0.005"))
def report(name, got):
    global ok
    same = int(np.sum(got == want))
    err = float(np.max(np.abs(got.astype(np.float64) - want))) if len(want) else 0.0
    ok &= (len(want) - same) <= max_share * len(want)
    print("  %-22s vs python: %d/%d identical float32, max |diff| %.2e"
          % (name, same, len(want), err))
print("bench_xgb_cli: first %d rows (ids %d..%d):" % (len(py), ids[0], ids[-1]))
report("cli (timed run)", got)
for ext, path in others:
    with open(path) as f:
        report("cli, ." + ext + " model", np.array([float(next(f)) for _ in range(len(py))],
                                                    dtype=np.float32))
sys.exit(0 if ok else 1)
PY
