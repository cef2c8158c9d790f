#!/bin/bash
# bench_trees.sh: binfer against XGBoost on the same >= 1M-row CSV and the
# same 150-tree depth-6 binary:logistic model, 2 threads, end to end (read,
# score, write zstd JSON lines): the xgboost CLI (task=pred) and Python
# (pandas.read_csv + DMatrix + Booster.predict + JSON lines + zstd); then
# scoring alone: binfer's evaluation of rows already in memory vs XGBoost's
# predict on a freshly built DMatrix. Last, binfer alone on the same trees
# written as a LightGBM model (scripts/bench/xgb_to_lightgbm.py).
#   scripts/bench/bench_trees.sh            (BENCH_ROWS, BENCH_RUNS as bench.sh)
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/bench/trees
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-5}
PY=/usr/bin/python3
mkdir -p "$B"
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now() { date +%s.%N; }

data=$B/churn_xgb150_$ROWS.csv
[ -f "$data" ] || $PY scripts/bench/make_tree_bench_data.py "$ROWS" --out-dir "$B" >&2
model=$B/churn_xgb150.json
cat > "$B/job.yaml" <<YAML
version: 1
name: bench-xgb150
input: {path: $data, id_field: id}
model: {kind: xgboost, path: $model}
output: {path: $B/binfer.jsonl.zst}
threads: 2
YAML
tb=() tc=() tp=() sp=()
for i in $(seq "$RUNS"); do
	t0=$(now)
	./binfer run "$B/job.yaml" -q
	t1=$(now)
	scripts/bench/bench_xgb_cli.sh "$model" "$data" "$B/cli.txt" > "$B/cli.log" 2>&1 || true
	$PY scripts/bench/bench_xgb_python.py "$model" "$data" "$B/py.jsonl.zst" --nthread 2 > "$B/py.log" 2>&1
	tb+=("$(echo "$t1 - $t0" | bc -l)")
	# each tool's own timing of its run (the python one also times a second,
	# in-memory predict afterwards, which is not part of its end-to-end time)
	tc+=("$(sed -n 's/^bench_xgb_cli: [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$B/cli.log")")
	tp+=("$(sed -n 's/^bench_xgb_python: [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$B/py.log")")
	sp+=("$(sed -n 's/.*in memory: DMatrix [0-9.]* s, predict \([0-9.]*\) s.*/\1/p' "$B/py.log")")
done
mb=$(printf '%s\n' "${tb[@]}" | median)
mc=$(printf '%s\n' "${tc[@]}" | median)
mp=$(printf '%s\n' "${tp[@]}" | median)
ms=$(printf '%s\n' "${sp[@]}" | median)
echo "trees: $ROWS rows, 150 trees depth 6, 2 threads, $RUNS runs, medians"
printf '  %-34s %8.3f s %10.0f rows/s\n' "binfer run (end to end)" "$mb" "$(echo "$ROWS / $mb" | bc -l)"
printf '  %-34s %8.3f s %10.0f rows/s  -> binfer %.1fx\n' "xgboost CLI task=pred" "$mc" \
	"$(echo "$ROWS / $mc" | bc -l)" "$(echo "$mc / $mb" | bc -l)"
printf '  %-34s %8.3f s %10.0f rows/s  -> binfer %.1fx\n' "python pandas+Booster.predict" "$mp" \
	"$(echo "$ROWS / $mp" | bc -l)" "$(echo "$mp / $mb" | bc -l)"
score=$(build/bench_score xgboost "$model" "$data" 2 "$RUNS" | grep -o 'median [0-9.]*' | cut -d' ' -f2)
printf '  %-34s %8.3f s %10.0f rows/s\n' "binfer scoring alone" "$score" "$(echo "$ROWS / $score" | bc -l)"
printf '  %-34s %8.3f s %10.0f rows/s  -> binfer %.1fx\n' "XGBoost predict (fresh DMatrix)" "$ms" \
	"$(echo "$ROWS / $ms" | bc -l)" "$(echo "$ms / $score" | bc -l)"
# The same trees as a LightGBM model (no LightGBM in Debian to race: binfer's
# own figures, for its LightGBM walk).
lgb=$B/churn_xgb150.lightgbm.txt
[ -f "$lgb" ] || $PY scripts/bench/xgb_to_lightgbm.py "$model" "$lgb"
sed "s#kind: xgboost, path: .*}#kind: lightgbm, path: $lgb}#; s#binfer.jsonl.zst#lightgbm.jsonl.zst#" \
	"$B/job.yaml" > "$B/job_lightgbm.yaml"
tl=()
for i in $(seq "$RUNS"); do
	t0=$(now)
	./binfer run "$B/job_lightgbm.yaml" -q
	t1=$(now)
	tl+=("$(echo "$t1 - $t0" | bc -l)")
done
ml=$(printf '%s\n' "${tl[@]}" | median)
printf '  %-34s %8.3f s %10.0f rows/s\n' "binfer run, as a LightGBM model" "$ml" "$(echo "$ROWS / $ml" | bc -l)"
sl=$(build/bench_score lightgbm "$lgb" "$data" 2 "$RUNS" | grep -o 'median [0-9.]*' | cut -d' ' -f2)
printf '  %-34s %8.3f s %10.0f rows/s\n' "  scoring alone" "$sl" "$(echo "$ROWS / $sl" | bc -l)"
zstd -dc "$B/py.jsonl.zst" | head -100000 > "$B/want.jsonl"
zstd -dc "$B/binfer.jsonl.zst" | head -100000 > "$B/got.jsonl"
$PY scripts/test/compare_results.py "$B/want.jsonl" "$B/got.jsonl" 1e-6 | sed 's/^/  same scores (first 100k rows): /'
