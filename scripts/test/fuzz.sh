#!/bin/bash
# fuzz.sh FUZZ_BUILD SECONDS: runs every libFuzzer target built under
# FUZZ_BUILD (from src/*/*_fuzz.c) for SECONDS each, on the corpus folders
# its source names in a "corpus:" line (new inputs go to a scratch folder,
# not into testdata/). Exits non-zero when a target finds a crash.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-10}
failed=0
ran=0
for src in $(find src -name '*_fuzz.c' | sort); do
	name=${src#src/}
	bin=$BUILD/${name%.c}
	corpus=$(sed -n 's/^ \* corpus: //p' "$src" | head -1)
	max_len=$(sed -n 's/^ \* max_len: //p' "$src" | head -1)
	if [ ! -x "$bin" ]; then
		echo "fuzz ${name%.c}: not built"
		failed=$((failed + 1))
		continue
	fi
	work=$(mktemp -d)
	log=$work/log
	mkdir -p "$BUILD/artifacts"
	ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$SECONDS_EACH" -max_len="${max_len:-65536}" \
		-artifact_prefix="$BUILD/artifacts/$(basename "${name%.c}")-" "$work" $corpus >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
	if [ $rc -ne 0 ]; then
		echo "fuzz ${name%.c}: FAILED (exit $rc)"
		grep -E 'ERROR|SUMMARY|crash-|deadly' "$log" | head -10
		ls "$BUILD/artifacts" | sed "s|^|  artifact: $BUILD/artifacts/|"
		failed=$((failed + 1))
	else
		echo "fuzz ${name%.c}: ok (${runs:-no runs} in ${SECONDS_EACH} s)"
	fi
	ran=$((ran + 1))
	rm -rf "$work"
done
echo "fuzz: $ran targets, $failed failed"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
