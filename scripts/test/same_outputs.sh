#!/bin/bash
# same_outputs.sh OLD_BINFER NEW_BINFER [CASE...]: runs every end-to-end case
# (testdata/e2e) once with each binary and compares what they leave behind:
# the exit status, every file byte for byte, standard output, and standard
# error and report files with their timings blanked. For a refactoring that
# must not change behaviour: "same" for every case is the check.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
OLD=$(abs "$1")
NEW=$(abs "$2")
shift 2
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=($(ls "$ROOT/testdata/e2e"))
SHARED=$(cd "$ROOT/.." && pwd)/shared
export ROOT SHARED

# Timings and volatile fields vary from run to run: blank them.
normalize_report() {
	python3 - "$1" <<'PY'
import json, sys
p = sys.argv[1]
try:
    r = json.load(open(p))
except Exception:
    sys.exit(0)
def drop(d, keys):
    for k in keys:
        d.pop(k, None)
drop(r, ["start", "end", "wall_s", "throughput", "time_s", "load_s"])
if isinstance(r.get("batches"), dict):
    r["batches"].pop("latency_ms", None)
if isinstance(r.get("cost"), dict):
    for k in list(r["cost"]):
        if k != "usd_per_hour":
            r["cost"].pop(k)
if isinstance(r.get("text"), dict):
    r["text"].pop("gflop_per_s_compute", None)
json.dump(r, open(p, "w"), indent=1, sort_keys=True)
PY
}

run_case() { # BINARY CASE DIR
	cp -r "$ROOT/testdata/e2e/$2/." "$3"/
	(cd "$3" && BINFER=$1 bash ./cmd >.stdout 2>.stderr </dev/null; echo $? >.exit)
	sed -i -E "s|$3|.|g" "$3/.stderr"
	# the stderr summary's figures: "binfer: ... in 0.02 s (26375 rows/s ..."
	grep -rlI '^binfer: ' "$3" | while read -r f; do
		sed -i -E '/^binfer: /s/[0-9]+(\.[0-9]+)?/N/g' "$f"
	done
	find "$3" -name '*report*.json' -type f | while read -r f; do normalize_report "$f"; done
}

same=0
differ=0
for c in "${cases[@]}"; do
	a=$(mktemp -d)
	b=$(mktemp -d)
	run_case "$OLD" "$c" "$a"
	run_case "$NEW" "$c" "$b"
	if d=$(diff -r "$a" "$b" 2>&1); then
		echo "$c: same"
		same=$((same + 1))
	else
		echo "$c: DIFFERENT"
		echo "$d" | head -20 | sed 's/^/  /'
		differ=$((differ + 1))
	fi
	rm -rf "$a" "$b"
done
echo "$same same, $differ different"
[ "$differ" -eq 0 ]
