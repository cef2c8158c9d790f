#!/bin/bash
# e2e.sh BINFER: runs every end-to-end case under testdata/e2e.
#
# A case is a folder holding:
#   cmd     bash script run in a scratch copy of the case folder, with
#           $BINFER (the binary) and $ROOT (the repository); exit status 77
#           means skipped, with the reason on the last line of its stderr
#   exit    the expected exit status (default 0)
#   stderr  the expected standard error, exactly (optional; the scratch
#           folder's path is replaced by "." before comparing)
#   check   bash script run after cmd in the same folder (optional): it
#           asserts on the files cmd left and exits non-zero on a mismatch
# Each runs under a timeout of E2E_TIMEOUT seconds (default 900).
# Prints one line a case and "e2e-summary PASSED FAILED SKIPPED" at the end.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BINFER=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TIMEOUT=${E2E_TIMEOUT:-900}
export ROOT BINFER
passed=0
failed=0
skipped=0
for dir in "$ROOT"/testdata/e2e/*/; do
	name=$(basename "$dir")
	work=$(mktemp -d)
	cp -r "$dir". "$work"/
	want_exit=0
	[ -f "$dir/exit" ] && want_exit=$(cat "$dir/exit")
	(cd "$work" && timeout -k 10 "$TIMEOUT" bash ./cmd >"$work/.stdout" 2>"$work/.stderr" </dev/null)
	got_exit=$?
	why=""
	if [ "$got_exit" = 77 ] && [ "$want_exit" != 77 ]; then
		skipped=$((skipped + 1))
		echo "e2e $name: skipped: $(tail -1 "$work/.stderr")"
		rm -rf "$work"
		continue
	elif [ "$got_exit" = 124 ]; then
		why="timed out after $TIMEOUT s"
	elif [ "$got_exit" != "$want_exit" ]; then
		why="exit status $got_exit, expected $want_exit"
	elif [ -f "$dir/stderr" ] && ! diff -u "$dir/stderr" <(sed "s|$work|.|g" "$work/.stderr") >"$work/.diff"; then
		why="stderr differs:
$(head -20 "$work/.diff")"
	elif [ -f "$dir/check" ] && ! (cd "$work" && timeout -k 10 "$TIMEOUT" bash ./check >"$work/.check" 2>&1); then
		why="check failed:
$(tail -20 "$work/.check")"
	fi
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "e2e $name: ok"
	else
		failed=$((failed + 1))
		echo "e2e $name: FAILED: $why"
		echo "  stderr: $(head -c 600 "$work/.stderr")"
	fi
	rm -rf "$work"
done
echo "e2e-summary $passed $failed $skipped"
