#!/bin/bash
# run_tests.sh BUILD [unit|e2e]: runs the unit test programs under BUILD/test
# and the end-to-end cases in testdata/e2e, then prints one summary line:
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WHAT=${2:-all}
passed=0
failed=0
failures=()

# The third-party fixtures are read in place from ../shared/fixtures (CI lays
# shared/ beside the clone); say so once instead of failing thirty tests.
if [ ! -d ../shared/fixtures ]; then
	echo "run_tests: ../shared/fixtures not found: the tests read the shared fixtures" \
		"(treelite, JSONTestSuite, csv-spectrum) from a shared/ folder beside the repository" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

if [ "$WHAT" != e2e ]; then
	for t in $(find "$BUILD/test" -type f -name '*_test' | sort); do
		log=$(mktemp)
		"$t" >"$log" 2>&1
		rc=$?
		# cmocka: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed.*/\1/p' "$log" | tail -1)
		p=${p:-0}
		f=${f:-0}
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1 # crashed before its summary
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		printf '%-40s %4d passed, %d failed\n' "${t#$BUILD/test/}" "$p" "$f"
		if [ "$f" -ne 0 ]; then
			failures+=("${t#$BUILD/test/}")
			grep -E '^\[  (FAILED|ERROR) |^\[  ERROR|Failure|error:|ERROR' "$log" | head -20
			tail -5 "$log"
		fi
		rm -f "$log"
	done
fi

if [ "$WHAT" != unit ]; then
	out=$(scripts/e2e.sh "$BUILD/binfer")
	rc=$?
	echo "$out" | grep -v '^e2e-summary' 
	p=$(echo "$out" | sed -n 's/^e2e-summary \([0-9]*\) \([0-9]*\)$/\1/p')
	f=$(echo "$out" | sed -n 's/^e2e-summary \([0-9]*\) \([0-9]*\)$/\2/p')
	p=${p:-0}
	f=${f:-1}
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -ne 0 ] && failures+=("e2e")
fi

for f in "${failures[@]+"${failures[@]}"}"; do
	echo "FAILED: $f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
