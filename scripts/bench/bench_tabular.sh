#!/bin/bash
# bench.sh: binfer against the pipeline a user would otherwise write
# (pandas.read_csv + the scikit-learn pipeline's predict_proba + JSON lines +
# zstd), side by side on the same CSV with the same fitted model, 2 threads.
#
#   scripts/bench/bench_tabular.sh          # 1M rows, 5 runs each, medians (make bench runs it)
#   BENCH_ROWS=2000000 BENCH_RUNS=3 scripts/bench/bench_tabular.sh
#
# Prints, per model: median wall seconds, rows/s and the ratio (each timing
# is the whole command: reading, scoring, writing zstd JSON lines); fails
# unless both wrote the same scores; then binfer's peak RSS on ROWS and
# 10 x ROWS.
# Needs Debian's python3-sklearn, python3-pandas, python3-zstandard,
# r-cran-modeldata (scripts/install_deps.sh does not install these: bench only).
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh
ROOT=$PWD
B=$ROOT/bench
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-5}
mkdir -p "$B/models"
need python3-sklearn python3-pandas python3-zstandard r-cran-modeldata zstd time bc

data=$B/churn_$ROWS.csv
[ -f "$data" ] || $PY scripts/bench/make_bench_data.py "$ROWS" "$data" >&2
if [ ! -f "$B/models/churn_logistic.pkl" ] || [ ! -f "$B/models/churn_mlp.pkl" ]; then
	$PY scripts/ref/make_tabular_testdata.py --out-dir "$B/gen" --pickle-dir "$B/models" --only churn >&2
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "input: $data ($ROWS rows, $(du -m "$data" | cut -f1) MB), $RUNS runs each, medians"
printf '%-16s %12s %12s %12s %12s %8s\n' model binfer_s binfer_rows/s python_s python_rows/s ratio
for m in churn_logistic churn_mlp; do
	kind=logistic
	[ "$m" = churn_mlp ] && kind=mlp
	$PY tools/binfer-export-sklearn "$B/models/$m.pkl" "$B/models/$m.json" >/dev/null
	cat > "$B/$m.yaml" <<YAML
version: 1
name: bench-$m
input: {path: $data, id_field: id}
model: {kind: $kind, path: $B/models/$m.json}
output: {path: $B/$m.binfer.jsonl.zst}
threads: 2
YAML
	tb=()
	tp=()
	for i in $(seq "$RUNS"); do
		t0=$(now)
		./binfer run "$B/$m.yaml" -q
		t1=$(now)
		OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 $PY scripts/bench/bench_sklearn.py "$B/models/$m.pkl" "$data" \
			"$B/$m.python.jsonl.zst" >/dev/null 2>&1
		t2=$(now)
		tb+=("$(echo "$t1 - $t0" | bc -l)")
		tp+=("$(echo "$t2 - $t1" | bc -l)")
	done
	mb=$(printf '%s\n' "${tb[@]}" | median)
	mp=$(printf '%s\n' "${tp[@]}" | median)
	printf '%-16s %12.3f %12.0f %12.3f %12.0f %7.1fx\n' "$m" "$mb" "$(echo "$ROWS / $mb" | bc -l)" \
		"$mp" "$(echo "$ROWS / $mp" | bc -l)" "$(echo "$mp / $mb" | bc -l)"
	zhead "$B/$m.python.jsonl.zst" 200000 > "$B/want.jsonl"
	zhead "$B/$m.binfer.jsonl.zst" 200000 > "$B/got.jsonl"
	same "$m, first 200k rows, to the 9 digits binfer prints" "$B/want.jsonl" "$B/got.jsonl"
done

# Bounded memory: peak RSS on ROWS and on 10 x ROWS rows.
big=$B/churn_$((ROWS * 10)).csv
[ -f "$big" ] || $PY scripts/bench/make_bench_data.py $((ROWS * 10)) "$big" >&2
for f in "$data" "$big"; do
	rss=$( { /usr/bin/time -f '%M' ./binfer run "$B/churn_logistic.yaml" -q -i "$f" -o "$B/rss.jsonl.zst"; } 2>&1 | tail -1)
	echo "peak RSS: $rss KB on $(basename "$f")"
done
