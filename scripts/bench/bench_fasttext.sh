#!/bin/bash
# bench_fasttext.sh: binfer against `fasttext predict-prob` (Debian's fasttext,
# single-threaded) on the same >= 1M-line file and model, k=1 and k=5; binfer
# with 1 and 2 threads, reading JSON lines {"id","text"} and writing zstd
# JSON lines (plain, as fastText writes plain text); fastText reading the bare
# text lines and writing to a file. Each timing is the whole command (wall
# clock: reading, tokenizing, scoring, writing). Fails unless both give the
# same labels in the same order and the same probabilities to the 6 digits
# fastText prints, on the first 100k lines.
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh
ROOT=$PWD
B=$ROOT/bench/fasttext
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-5}
MODEL=${FT_MODEL:-$ROOT/testdata/fasttext/softmax_bigram.bin}
mkdir -p "$B"
need fasttext bc

if [ ! -f "$B/in_$ROWS.jsonl" ]; then
	$PY - "$ROOT/testdata/fasttext/train.txt" "$ROWS" "$B/in_$ROWS" <<'PY'
import json, random, sys
random.seed(1)
texts = [" ".join(t for t in l.split() if not t.startswith("__label__")) for l in open(sys.argv[1])]
n, out = int(sys.argv[2]), sys.argv[3]
with open(out + ".txt", "w") as f, open(out + ".jsonl", "w") as g:
    for i in range(n):
        t = random.choice(texts)
        f.write(t + "\n")
        g.write(json.dumps({"id": i, "text": t}) + "\n")
PY
fi
cat > "$B/job.yaml" <<YAML
version: 1
name: bench-fasttext
input: {path: $B/in_$ROWS.jsonl, id_field: id, text_fields: [text]}
model: {kind: fasttext, path: $MODEL}
output: {path: $B/binfer.jsonl}   # plain text, as fastText writes
YAML
echo "fasttext: $ROWS lines ($(du -m "$B/in_$ROWS.txt" | cut -f1) MB of text), model $(basename "$MODEL"), $RUNS runs, medians"
for k in 1 5; do
	tf=() t1=() t2=()
	for i in $(seq "$RUNS"); do
		a=$(now)
		fasttext predict-prob "$MODEL" "$B/in_$ROWS.txt" "$k" > "$B/ft.txt"
		b=$(now)
		./binfer run "$B/job.yaml" -q -j 1 --set model.top_k=$k
		c=$(now)
		./binfer run "$B/job.yaml" -q -j 2 --set model.top_k=$k
		d=$(now)
		tf+=("$(echo "$b - $a" | bc -l)")
		t1+=("$(echo "$c - $b" | bc -l)")
		t2+=("$(echo "$d - $c" | bc -l)")
	done
	mf=$(printf '%s\n' "${tf[@]}" | median)
	m1=$(printf '%s\n' "${t1[@]}" | median)
	m2=$(printf '%s\n' "${t2[@]}" | median)
	printf '  k=%d  fasttext predict-prob %7.3f s %9.0f lines/s\n' "$k" "$mf" "$(echo "$ROWS / $mf" | bc -l)"
	printf '  k=%d  binfer 1 thread       %7.3f s %9.0f lines/s  %.1fx\n' "$k" "$m1" "$(echo "$ROWS / $m1" | bc -l)" \
		"$(echo "$mf / $m1" | bc -l)"
	printf '  k=%d  binfer 2 threads      %7.3f s %9.0f lines/s  %.1fx\n' "$k" "$m2" "$(echo "$ROWS / $m2" | bc -l)" \
		"$(echo "$mf / $m2" | bc -l)"
	# fastText's output as binfer's: labels without the prefix, best first
	head -100000 "$B/ft.txt" | $PY -c 'import json, sys
for i, l in enumerate(sys.stdin):
    t = l.split()
    print(json.dumps({"id": i, "tags": [{"label": t[j][len("__label__"):], "score": float(t[j + 1])}
                                        for j in range(0, len(t), 2)]}))' > "$B/want.jsonl"
	head -100000 "$B/binfer.jsonl" > "$B/got.jsonl"
	same "k=$k, first 100k lines: labels, and probabilities to fastText's 6 digits" "$B/want.jsonl" \
		"$B/got.jsonl" --rel 5.1e-6
done
tok=$(python3 -c "import json; r=json.load(open('$B/binfer.report.json')); print(int(r['throughput']['tokens_per_s']))")
echo "  binfer report (last run, 2 threads): $tok tokens/s"
