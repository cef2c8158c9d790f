#!/bin/bash
# run_tests.sh BUILD [unit|e2e]: runs the unit test programs of BUILD/test and
# the end-to-end cases of testdata/e2e, then prints one summary line,
# "N passed, N failed, N skipped".
#
# The counts come from each framework's own summary and are checked against
# what each declares: a unit program that is missing, crashes, times out or
# exits before reporting every test it declared counts its unreported tests
# as failed, as does an e2e case that reports nothing. Skips are counted and
# listed with their reason. Every program and case runs under a timeout
# (TEST_TIMEOUT seconds, default 900).
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
WHAT=${2:-all}
TIMEOUT=${TEST_TIMEOUT:-900}
passed=0
failed=0
skipped=0
failures=()
skips=()

count() { # PATTERN FILE: the number in the first line matching PATTERN
	local n
	n=$(sed -n "s/$1/\1/p" "$2" | head -1)
	echo "${n:-0}"
}

if [ "$WHAT" != e2e ]; then
	for src in $(find src -name '*_test.c' | sort); do
		name=${src#src/}
		name=${name%.c}
		bin=$BUILD/test/$name
		if [ ! -x "$bin" ]; then
			printf '%-40s not built\n' "$name"
			failed=$((failed + 1))
			failures+=("$name (not built)")
			continue
		fi
		log=$(mktemp)
		timeout -k 10 "$TIMEOUT" "$bin" >"$log" 2>&1
		rc=$?
		# cmocka: "Running N test(s)." first, then a line per test, then
		# "[  PASSED  ] N test(s)." and the skipped and failed lists.
		declared=$(count '^\[==========\] Running \([0-9]*\) test(s)\.$' "$log")
		p=$(count '^\[  PASSED  \] \([0-9]*\) test(s)\.$' "$log")
		s=$(grep -c '^\[  SKIPPED \] [a-z_0-9]*$' "$log")
		f=$(grep -c '^\[  FAILED  \] [a-z_0-9]*$' "$log")
		# each skip and failure is listed twice: as it happens and in the summary
		s=$((s / 2))
		f=$((f / 2))
		note=""
		if [ "$declared" -eq 0 ]; then
			note=" (declared no tests)"
			f=$((f + 1))
		elif [ $((p + s + f)) -ne "$declared" ]; then
			missing=$((declared - p - s - f))
			[ $rc -eq 124 ] && note=" (timed out after ${TIMEOUT} s)" || note=" (exit $rc before reporting $missing of $declared)"
			f=$((f + missing))
		elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
			note=" (exit $rc)"
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		printf '%-40s %4d passed, %d failed, %d skipped%s\n' "$name" "$p" "$f" "$s" "$note"
		while IFS= read -r why; do
			skips+=("$name: ${why#skipped: }")
		done < <(grep '^skipped: ' "$log")
		if [ "$f" -ne 0 ]; then
			failures+=("$name")
			grep -E '^\[  (FAILED|ERROR) |^\[   LINE   \]|error:|ERROR' "$log" | head -20
			tail -5 "$log"
		fi
		rm -f "$log"
	done
fi

if [ "$WHAT" != unit ]; then
	cases=$(find testdata/e2e -mindepth 1 -maxdepth 1 -type d | wc -l)
	out=$(E2E_TIMEOUT=$TIMEOUT scripts/test/e2e.sh "$BUILD/binfer")
	echo "$out" | grep -v '^e2e-summary'
	read -r p f s < <(echo "$out" | sed -n 's/^e2e-summary \([0-9]*\) \([0-9]*\) \([0-9]*\)$/\1 \2 \3/p')
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	if [ $((p + f + s)) -ne "$cases" ]; then
		echo "e2e: $((cases - p - f - s)) of $cases cases did not report"
		f=$((cases - p - s))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	while IFS= read -r line; do
		skips+=("${line#e2e }")
	done < <(echo "$out" | grep '^e2e [^ ]*: skipped')
	[ "$f" -ne 0 ] && failures+=("e2e")
fi

for f in "${failures[@]+"${failures[@]}"}"; do
	echo "FAILED: $f"
done
for s in "${skips[@]+"${skips[@]}"}"; do
	echo "SKIPPED: $s"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
