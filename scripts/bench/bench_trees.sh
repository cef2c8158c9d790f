#!/bin/bash
# bench_trees.sh: binfer against XGBoost (and LightGBM, where its CLI is
# installed) on the same >= 1M-row CSV and the same 150-tree depth-6
# binary:logistic model, 2 threads. What each timing covers:
#   binfer run              the whole command: read the CSV, score, write zstd
#                           JSON lines (wall clock)
#   xgboost CLI task=pred   the whole command: read the headerless CSV, score,
#                           write a text file of predictions (wall clock)
#   python                  pandas.read_csv + DMatrix + Booster.predict + JSON
#                           lines + zstd (its own timer, interpreter start out)
#   binfer scoring alone    build/bench_score: evaluating rows already in
#                           memory as doubles, 2 OpenMP threads
#   XGBoost predict         Booster.predict on a DMatrix built beforehand
#                           (building it is not timed)
#   LightGBM                the same trees written as a LightGBM model
#                           (scripts/bench/xgb_to_lightgbm.py): binfer run and
#                           scoring alone; LightGBM's CLI task=predict (whole
#                           command) when $LIGHTGBM or `lightgbm` is there
# Every contender's results are checked against the others' (the benchmark
# fails if they differ): python and binfer the same float32 on the first
# 100k rows, the CLI against python (bench_xgb_cli.sh), bench_score against
# binfer run, LightGBM's CLI against binfer's LightGBM run to 9 digits.
#   scripts/bench/bench_trees.sh            (BENCH_ROWS, BENCH_RUNS as bench.sh)
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh
ROOT=$PWD
B=$ROOT/bench/trees
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-5}
LGB=${LIGHTGBM:-$(command -v lightgbm || true)}
mkdir -p "$B"
need python3-xgboost python3-pandas python3-zstandard xgboost r-cran-modeldata zstd time bc

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
	check=()
	if [ "$i" = 1 ]; then check=("$B/py.jsonl.zst"); fi
	$PY scripts/bench/bench_xgb_python.py "$model" "$data" "$B/py.jsonl.zst" --nthread 2 > "$B/py.log" 2>&1
	scripts/bench/bench_xgb_cli.sh "$model" "$data" "$B/cli.txt" "${check[@]}" > "$B/cli.log" 2>&1 || {
		cat "$B/cli.log" >&2
		echo "bench: the xgboost CLI failed or disagreed with python" >&2
		exit 1
	}
	tb+=("$(echo "$t1 - $t0" | bc -l)")
	# each tool's own timing of its run (the python one also times a second,
	# in-memory predict afterwards, which is not part of its end-to-end time)
	tc+=("$(sed -n 's/^bench_xgb_cli: [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$B/cli.log")")
	tp+=("$(sed -n 's/^bench_xgb_python: [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$B/py.log")")
	sp+=("$(sed -n 's/.*in memory: DMatrix [0-9.]* s, predict \([0-9.]*\) s.*/\1/p' "$B/py.log")")
	if [ "$i" = 1 ]; then cp "$B/cli.log" "$B/cli_check.log"; fi
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
score=$(build/bench_score xgboost "$model" "$data" 2 "$RUNS" "$B/score.jsonl" | grep -o 'median [0-9.]*' | cut -d' ' -f2)
printf '  %-34s %8.3f s %10.0f rows/s\n' "binfer scoring alone" "$score" "$(echo "$ROWS / $score" | bc -l)"
printf '  %-34s %8.3f s %10.0f rows/s  -> binfer %.1fx\n' "XGBoost predict (fresh DMatrix)" "$ms" \
	"$(echo "$ROWS / $ms" | bc -l)" "$(echo "$ms / $score" | bc -l)"
grep -A4 '^bench_xgb_cli: first' "$B/cli_check.log" | sed 's/^/  /'
zhead "$B/py.jsonl.zst" 100000 > "$B/want.jsonl"
zhead "$B/binfer.jsonl.zst" 100000 > "$B/got.jsonl"
same "python vs binfer run, first 100k rows" "$B/want.jsonl" "$B/got.jsonl" --f32
$PY -c 'import json, sys
for l in open(sys.argv[1]):
    print(json.dumps({"score": json.loads(l)["score"]}))' "$B/got.jsonl" > "$B/got_scores.jsonl"
head -100000 "$B/score.jsonl" > "$B/score_head.jsonl"
same "binfer run vs scoring alone, first 100k rows" "$B/got_scores.jsonl" "$B/score_head.jsonl" --f32

# The same trees as a LightGBM model.
lgb=$B/churn_xgb150.lightgbm.txt
[ -f "$lgb" ] || $PY scripts/bench/xgb_to_lightgbm.py "$model" "$lgb"
sed "s#kind: xgboost, path: .*}#kind: lightgbm, path: $lgb}#; s#binfer.jsonl.zst#lightgbm.jsonl.zst#" \
	"$B/job.yaml" > "$B/job_lightgbm.yaml"
tl=() tlc=()
for i in $(seq "$RUNS"); do
	t0=$(now)
	./binfer run "$B/job_lightgbm.yaml" -q
	t1=$(now)
	tl+=("$(echo "$t1 - $t0" | bc -l)")
	if [ -n "$LGB" ]; then
		t0=$(now)
		"$LGB" task=predict data="${data%.csv}.cli.csv" header=false label_column=0 input_model="$lgb" \
			output_result="$B/lgb_cli.txt" num_threads=2 verbosity=-1 > "$B/lgb_cli.log" 2>&1
		t1=$(now)
		tlc+=("$(echo "$t1 - $t0" | bc -l)")
	fi
done
ml=$(printf '%s\n' "${tl[@]}" | median)
printf '  %-34s %8.3f s %10.0f rows/s\n' "binfer run, as a LightGBM model" "$ml" "$(echo "$ROWS / $ml" | bc -l)"
if [ -n "$LGB" ]; then
	mlc=$(printf '%s\n' "${tlc[@]}" | median)
	printf '  %-34s %8.3f s %10.0f rows/s  -> binfer %.1fx\n' "LightGBM CLI task=predict" "$mlc" \
		"$(echo "$ROWS / $mlc" | bc -l)" "$(echo "$mlc / $ml" | bc -l)"
	zhead "$B/lightgbm.jsonl.zst" 100000 | $PY -c 'import json, sys
for l in sys.stdin:
    print(json.dumps({"score": json.loads(l)["score"]}))' > "$B/lgb_got.jsonl"
	head -100000 "$B/lgb_cli.txt" | $PY -c 'import json, sys
for l in sys.stdin:
    print(json.dumps({"score": float(l)}))' > "$B/lgb_want.jsonl"
	same "LightGBM CLI vs binfer, first 100k rows, 9 digits" "$B/lgb_want.jsonl" "$B/lgb_got.jsonl"
else
	echo "  (LightGBM's CLI not found: set LIGHTGBM=/path/to/lightgbm to race it)"
fi
sl=$(build/bench_score lightgbm "$lgb" "$data" 2 "$RUNS" | grep -o 'median [0-9.]*' | cut -d' ' -f2)
printf '  %-34s %8.3f s %10.0f rows/s\n' "  scoring alone" "$sl" "$(echo "$ROWS / $sl" | bc -l)"
