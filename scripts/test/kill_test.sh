#!/bin/bash
# kill_test.sh BINFER [KILLS]: kills `binfer run` at KILLS random moments
# (default 50; SIGKILL and SIGTERM in turn; input from a CSV file and from
# a zstd file in turn) and checks after each kill that the final names hold
# one complete, consistent set of results, rejects and report: the previous
# run's or the killed run's, never a mix, never a temporary file left once
# a later run has started. Between kills the input changes (two inputs of
# different sizes and rejects), so that the old and the new set differ.
#
# A set is consistent when the report's rows.scored and rows.rejected are
# the line counts of the results and rejects, and its output.bytes and
# rejects.bytes their sizes. A kill inside the commit (between the journal
# and the last rename) leaves the journal ".out.jsonl.binfer-commit": then
# the next run on the same outputs completes the commit first, which is
# checked by starting one that fails right after (a model that does not
# exist) and checking the set it leaves.
set -u
BINFER=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
KILLS=${2:-50}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$ROOT/testdata
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# two inputs: A with a few bad rows, B twice as long without
python3 - "$T/tabular/churn.csv" <<'PY'
import sys
rows = open(sys.argv[1]).read().splitlines()
head, body = rows[0], rows[1:]
with open("a.csv", "w") as f:
    f.write(head + "\n")
    for i in range(120000):
        r = body[i % len(body)]
        if i % 997 == 0:
            r = r.replace(",", ",x", 1)  # a bad number: a reject
        f.write(r + "\n")
with open("b.csv", "w") as f:
    f.write(head + "\n")
    for i in range(240000):
        f.write(body[(i * 7) % len(body)] + "\n")
PY
zstd -q -f a.csv -o a.csv.zst
zstd -q -f b.csv -o b.csv.zst
cat > job.yaml <<YAML
version: 1
input: {path: a.csv, id_field: id}
model: {kind: logistic, path: $T/models/churn_logistic.json}
output: {path: out.jsonl}
rejects: {max_ratio: 1}
YAML

consistent() { # WHEN: the set under the final names is one run's
	python3 - "$1" <<'PY'
import json, os, sys
r = json.load(open("out.report.json"))
lines = lambda p: sum(1 for _ in open(p))
bad = []
if r["rows"]["scored"] != lines("out.jsonl"):
    bad.append(f"results: {lines('out.jsonl')} lines, report says {r['rows']['scored']}")
if r["rows"]["rejected"] != lines("out.rejects.jsonl"):
    bad.append(f"rejects: {lines('out.rejects.jsonl')} lines, report says {r['rows']['rejected']}")
if r["output"]["bytes"] != os.path.getsize("out.jsonl"):
    bad.append(f"results: {os.path.getsize('out.jsonl')} bytes, report says {r['output']['bytes']}")
if r["rejects"]["bytes"] != os.path.getsize("out.rejects.jsonl"):
    bad.append(f"rejects: {os.path.getsize('out.rejects.jsonl')} bytes, report says {r['rejects']['bytes']}")
if bad:
    sys.exit(f"{sys.argv[1]}: a mixed set: " + "; ".join(bad))
PY
}

"$BINFER" run job.yaml -q || { echo "kill_test: the first run failed"; exit 1; }
consistent "first run" || exit 1
t0=$(date +%s%N)
"$BINFER" run job.yaml -q -i b.csv
t1=$(date +%s%N)
run_ms=$(((t1 - t0) / 1000000 + 20))
failed=0
in_commit=0
signals=(KILL TERM)
inputs=(a.csv b.csv.zst b.csv a.csv.zst)
for k in $(seq "$KILLS"); do
	sig=${signals[$((k % 2))]}
	input=${inputs[$((k % 4))]}
	delay_ms=$((RANDOM % run_ms))
	before=$(md5sum out.jsonl out.rejects.jsonl out.report.json)
	"$BINFER" run job.yaml -q -i "$input" 2>/dev/null &
	pid=$!
	sleep "$(printf '0.%03d' "$delay_ms")"
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	if [ -e .out.jsonl.binfer-commit ]; then
		in_commit=$((in_commit + 1))
		"$BINFER" run job.yaml -q --set model.path=missing.json 2>/dev/null
	fi
	if ! consistent "kill $k (SIG$sig after $delay_ms ms, status $status)"; then
		failed=$((failed + 1))
	fi
	after=$(md5sum out.jsonl out.rejects.jsonl out.report.json)
	# a run that is started next removes what a killed one left
	"$BINFER" run job.yaml -q --set model.path=missing.json 2>/dev/null
	left=$(ls -A | grep -E '\.tmp-|binfer-commit' || true)
	if [ -n "$left" ]; then
		echo "kill $k: files left after the next run: $left"
		failed=$((failed + 1))
	fi
	[ "$before" = "$after" ] && kept="old set" || kept="new set"
	echo "kill $k: SIG$sig after $delay_ms of ~$run_ms ms, $input, status $status: $kept"
done
echo "kill_test: $KILLS kills, $in_commit inside the commit, $failed failed"
[ "$failed" -eq 0 ]
