#!/bin/bash
# bench.sh: `make bench`. Each benchmark runs binfer side by side with the
# tool a user would otherwise run, on the same data and model, and prints
# medians and ratios (see BENCHMARKS.md for recorded figures).
#   make bench                      all of them
#   BENCH="trees fasttext" make bench
#   BENCH_ROWS=1000000 BENCH_RUNS=5 (defaults)
set -euo pipefail
cd "$(dirname "$0")/../.."
for b in ${BENCH:-tabular trees fasttext bert}; do
	echo "== $b"
	"scripts/bench/bench_$b.sh"
done
