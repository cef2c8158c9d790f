#!/bin/bash
# bench_bert.sh: binfer's BERT encoder against the two CPU anchors a user
# would otherwise reach for, on the same model and texts:
#   PyTorch      scripts/bench/bench_bert_torch.py (Debian's python3-torch; tokenize,
#                pad batches of 32 in input order, forward, mean pool, normalize)
#   ONNX Runtime scripts/bench/bench_bert_ort/bench.js (onnxruntime-node, CPU; the same
#                padded batches, token ids precomputed: tokenization not timed)
# and, on the length mix, both again with their batches sorted by length (as
# sentence-transformers' encode() does), so that the ratio shows more than
# padding.
#
# Model: bench/bert/model, all-MiniLM-L6-v2's shape with random weights
# (scripts/bench/make_bert_bench_model.py, also the ONNX export). Workloads
# (scripts/bench/make_bert_bench_texts.py, Debian package descriptions):
#   fixed  FIXED_ROWS texts of exactly 128 tokens
#   mix    MIX_ROWS texts: 3/4 titles (5..15 tokens), 1/4 long descriptions
#          (50..256 tokens), shuffled
# For each workload and thread count, RUNS runs of each engine (interleaved),
# medians. Prints tokens/s (real tokens, [CLS]/[SEP] included), rows/s, the
# padding efficiency (real / computed tokens), useful GFLOP/s (the workload's
# real-token FLOPs, as binfer's report counts them, over the time) and
# binfer's speed over each anchor's; then checks that binfer's and ONNX
# Runtime's embeddings of the first 8 rows equal PyTorch's to 1e-5 (the
# benchmark fails if not).
#
# What is timed: binfer, its whole run as its report's wall_s (model loading,
# reading, tokenizing, output formatting and zstd included); PyTorch, the
# forward passes + pooling after one untimed warm-up batch, shown without and
# with its (pure Python) tokenization; ONNX Runtime, session.run + pooling
# after one warm-up batch. Model loading is excluded for both anchors.
#
#   make && scripts/bench/bench_bert.sh
#   BENCH_BERT_RUNS=1 BENCH_BERT_THREADS=2 BENCH_BERT_FIXED_ROWS=256 BENCH_BERT_MIX_ROWS=512 scripts/bench/bench_bert.sh
#   BENCH_BERT_REGEN=1 scripts/bench/bench_bert.sh     # rewrite the model and texts
#
# Needs: binfer built (make), Debian's python3-torch and python3-onnx,
# libopenblas-openmp-dev, zstd, Node.js >= 18 with npm (onnxruntime-node is
# installed into scripts/bench/bench_bert_ort/node_modules on the first run, with
# its CUDA download skipped; the CPU library ships in the npm package).
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh
ROOT=$PWD
B=$ROOT/bench/bert
RUNS=${BENCH_BERT_RUNS:-3}
THREADS=${BENCH_BERT_THREADS:-"1 2"}
FIXED_ROWS=${BENCH_BERT_FIXED_ROWS:-2048}
MIX_ROWS=${BENCH_BERT_MIX_ROWS:-4096}
ORT=$ROOT/scripts/bench/bench_bert_ort
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BLAS=/usr/lib/$MULTIARCH/openblas-openmp
# Debian's torch runs its GEMMs in OpenBLAS (pthreads) beside its OpenMP pool:
# spinning OpenMP workers would take the cores from OpenBLAS's threads.
export OMP_WAIT_POLICY=PASSIVE

[ -x ./binfer ] || { echo "bench_bert: build binfer first (make)" >&2; exit 2; }
need python3-torch python3-onnx libopenblas-openmp-dev zstd
command -v node >/dev/null && command -v npm >/dev/null || { echo "bench_bert: needs node and npm" >&2; exit 2; }
if [ ! -d "$ORT/node_modules/onnxruntime-node" ]; then
	echo "bench_bert: npm install onnxruntime-node (CPU only)" >&2
	(cd "$ORT" && npm_config_onnxruntime_node_install=skip npm install --no-audit --no-fund >&2)
fi

mkdir -p "$B/log"
if [ -n "${BENCH_BERT_REGEN:-}" ] || [ ! -f "$B/model/onnx/model.onnx" ]; then
	rm -f "$B"/fixed_*.jsonl "$B"/mix_*.jsonl "$B"/*.ids.json
	$PY scripts/bench/make_bert_bench_model.py "$B/model" >&2
else
	node "$ORT/check.js" "$B/model/onnx/model.onnx" "$B/model/onnx/check.json" >&2
fi
declare -A TEXTS
TEXTS[fixed]=$B/fixed_$FIXED_ROWS.jsonl
TEXTS[mix]=$B/mix_$MIX_ROWS.jsonl
[ -f "${TEXTS[fixed]}" ] || $PY scripts/bench/make_bert_bench_texts.py "$B/model" "${TEXTS[fixed]}" --fixed --rows "$FIXED_ROWS"
[ -f "${TEXTS[mix]}" ] || $PY scripts/bench/make_bert_bench_texts.py "$B/model" "${TEXTS[mix]}" --mix --rows "$MIX_ROWS"
for w in fixed mix; do
	ids=${TEXTS[$w]%.jsonl}.ids.json
	[ -f "$ids" ] || $PY scripts/bench/bench_bert_torch.py "$B/model" "${TEXTS[$w]}" --dump-ids "$ids" >&2
done
sorted_ids=${TEXTS[mix]%.jsonl}.sorted.ids.json
[ -f "$sorted_ids" ] || $PY scripts/bench/bench_bert_torch.py "$B/model" "${TEXTS[mix]}" --sort --dump-ids "$sorted_ids" >&2

# The sgemm ceiling of this machine's OpenBLAS (what binfer runs its GEMMs in).
cc -O2 -march=native scripts/bench/sgemm_peak.c -I/usr/include/$MULTIARCH/openblas-openmp -L"$BLAS" \
	-Wl,-rpath,"$BLAS" -lopenblas -fopenmp -o bench/sgemm_peak
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
bench/sgemm_peak | tee "$B/sgemm_peak.txt"

cat > "$B/job.yaml" <<YAML
version: 1
name: bench-bert
input: {path: ${TEXTS[fixed]}, id_field: id, text_fields: [text]}
model: {kind: bert, path: $B/model}
output: {path: $B/out.jsonl.zst}
batch: {rows: 64}
YAML

# binfer's report -> a result line like the anchors' RESULT lines
binfer_result() {
	$PY - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["text"]
print(json.dumps({"engine": "binfer", "threads": int(sys.argv[2]), "rows": r["rows"]["scored"],
                  "real_tokens": t["tokens"], "padding_efficiency": t["padding_efficiency"],
                  "model_gflop": t["model_gflop"], "model_s": r["wall_s"],
                  "rows_per_s": r["throughput"]["rows_per_s"], "tokens_per_s": r["throughput"]["tokens_per_s"],
                  "compute_s": r["time_s"]["compute"]}))
EOF
}

results=$B/results.jsonl
: > "$results"
for w in fixed mix; do
	texts=${TEXTS[$w]}
	ids=${texts%.jsonl}.ids.json
	for t in $THREADS; do
		for i in $(seq "$RUNS"); do
			echo "bench_bert: $w, $t thread(s), run $i/$RUNS" >&2
			./binfer run "$B/job.yaml" -q -j "$t" -i "$texts" 2> "$B/log/binfer.$w.$t.$i.txt"
			binfer_result "$B/out.report.json" "$t" | sed "s/^/{\"workload\": \"$w\", \"run\": $i, /; s/, {/, /" >> "$results"
			emb=()
			if [ "$i" = 1 ]; then
				{ zstd -qdc "$B/out.jsonl.zst" || true; } | head -8 > "$B/binfer_first8.$w.$t.jsonl"
				emb=(--emb-out "$B/torch_first8.$w.$t.jsonl")
			fi
			$PY scripts/bench/bench_bert_torch.py "$B/model" "$texts" --threads "$t" "${emb[@]}" \
				> "$B/log/torch.$w.$t.$i.txt"
			grep '^RESULT ' "$B/log/torch.$w.$t.$i.txt" | sed "s/^RESULT {/{\"workload\": \"$w\", \"run\": $i, /" >> "$results"
			emb=()
			if [ "$i" = 1 ]; then emb=(--emb-out "$B/ort_first8.$w.$t.jsonl"); fi
			node "$ORT/bench.js" "$B/model/onnx/model.onnx" "$ids" --threads "$t" "${emb[@]}" \
				> "$B/log/ort.$w.$t.$i.txt"
			grep '^RESULT ' "$B/log/ort.$w.$t.$i.txt" | sed "s/^RESULT {/{\"workload\": \"$w\", \"run\": $i, /" >> "$results"
			[ "$w" = mix ] || continue
			# the anchors with their batches sorted by length
			emb=()
			if [ "$i" = 1 ]; then emb=(--emb-out "$B/torchsorted_first8.$w.$t.jsonl"); fi
			$PY scripts/bench/bench_bert_torch.py "$B/model" "$texts" --threads "$t" --sort "${emb[@]}" \
				> "$B/log/torchsorted.$w.$t.$i.txt"
			grep '^RESULT ' "$B/log/torchsorted.$w.$t.$i.txt" | sed "s/^RESULT {/{\"workload\": \"$w\", \"run\": $i, /" >> "$results"
			emb=()
			if [ "$i" = 1 ]; then emb=(--emb-out "$B/ortsorted_first8.$w.$t.jsonl"); fi
			node "$ORT/bench.js" "$B/model/onnx/model.onnx" "$sorted_ids" --threads "$t" "${emb[@]}" \
				> "$B/log/ortsorted.$w.$t.$i.txt"
			grep '^RESULT ' "$B/log/ortsorted.$w.$t.$i.txt" | sed "s/^RESULT {/{\"workload\": \"$w\", \"run\": $i, /" >> "$results"
		done
	done
done

echo
echo "$RUNS runs each, medians; tokens = real tokens ([CLS], [SEP] in; padding out)"
$PY - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
key = lambda r: (r["workload"], r["threads"])
groups = {}
for r in rows:
    engine = r["engine"] + ("_sorted" if r.get("sorted") else "")
    groups.setdefault(key(r), {}).setdefault(engine, []).append(r)
print(f"{'workload':8} {'thr':>3} {'engine':22} {'tokens/s':>9} {'rows/s':>8} {'pad_eff':>7} {'GFLOP/s':>8} "
      f"{'binfer_x':>8}")
for (w, t), g in groups.items():
    gflop = g["binfer"][0]["model_gflop"]  # the real tokens' FLOPs, the same work for every engine
    def med(rs, k):
        return statistics.median(r[k] for r in rs)
    lines = [("binfer", med(g["binfer"], "tokens_per_s"), med(g["binfer"], "rows_per_s"),
              g["binfer"][0]["padding_efficiency"], med(g["binfer"], "model_s"))]
    if "torch" in g:
        tr = g["torch"]
        lines.append(("pytorch", med(tr, "tokens_per_s"), med(tr, "rows_per_s"), tr[0]["padding_efficiency"],
                      med(tr, "model_s")))
        lines.append(("pytorch+tokenize(py)", med(tr, "tokens_per_s_with_tok"), med(tr, "rows_per_s_with_tok"),
                      tr[0]["padding_efficiency"], statistics.median(r["model_s"] + r["tokenize_s"] for r in tr)))
    if "onnxruntime" in g:
        o = g["onnxruntime"]
        lines.append(("onnxruntime(no tok)", med(o, "tokens_per_s"), med(o, "rows_per_s"), o[0]["padding_efficiency"],
                      med(o, "model_s")))
    if "torch_sorted" in g:
        tr = g["torch_sorted"]
        lines.append(("pytorch sorted", med(tr, "tokens_per_s"), med(tr, "rows_per_s"), tr[0]["padding_efficiency"],
                      med(tr, "model_s")))
    if "onnxruntime_sorted" in g:
        o = g["onnxruntime_sorted"]
        lines.append(("onnxruntime sorted", med(o, "tokens_per_s"), med(o, "rows_per_s"), o[0]["padding_efficiency"],
                      med(o, "model_s")))
    b = lines[0][1]
    for name, tps, rps, pe, s in lines:
        ratio = "" if name == "binfer" else f"{b / tps:7.2f}x"
        print(f"{w:8} {t:3d} {name:22} {tps:9.0f} {rps:8.1f} {pe:7.3f} {gflop / s:8.1f} {ratio:>8}")
EOF
echo "(binfer: whole run incl. model load + tokenization; pytorch: model only, then + pure-Python tokenization;"
echo " onnxruntime: model only, tokens precomputed; sorted: batches of texts sorted by length, as"
echo " sentence-transformers encodes; GFLOP/s: the real tokens' FLOPs / time, against sgemm_peak above)"

echo
for w in fixed mix; do
	for t in $THREADS; do
		engines="binfer ort"
		[ "$w" = mix ] && engines="$engines torchsorted ortsorted"
		for e in $engines; do
			same "$w, $t thread(s), $e vs pytorch, first 8 rows" "$B/torch_first8.$w.$t.jsonl" \
				"$B/${e}_first8.$w.$t.jsonl" --abs 1e-5 --rel 0
		done
	done
done
