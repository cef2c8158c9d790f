# common.sh: what the benchmarks share; sourced by scripts/bench/bench_*.sh
# from the repository root.
set -euo pipefail
PY=/usr/bin/python3

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now() { date +%s.%N; }

# same WHAT WANT.jsonl GOT.jsonl [compare_results options]: the two tools'
# results must agree (scripts/test/compare_results.py); a benchmark whose
# contenders computed different things is no benchmark: it fails.
same() {
	local what=$1 want=$2 got=$3 out
	shift 3
	if ! out=$($PY scripts/test/compare_results.py "$want" "$got" "$@"); then
		echo "bench: $what: the results differ:" >&2
		echo "$out" >&2
		exit 1
	fi
	echo "  same results, $what: ${out##*$'\n'}"
}

# need PACKAGE...: installs the Debian packages a benchmark needs.
need() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "bench: installing$missing" >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi
}

# zhead FILE.zst N: the first N lines of a zstd file (zstd's SIGPIPE when
# head stops reading is not a failure).
zhead() { { zstd -qdc "$1" || true; } | head -n "$2"; }
