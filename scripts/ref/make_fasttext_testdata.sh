#!/bin/sh
# make_fasttext_testdata.sh: fastText models and fastText's own predictions for
# src/fasttext/fasttext_test.c, written to testdata/fasttext/.
#
# Regenerate (Debian bookworm, fastText 0.9.2 from Debian):
#   apt-get install -y fasttext python3-fasttext && scripts/ref/make_fasttext_testdata.sh
#
# Corpus: apt's package list on this machine (bookworm main, decompressed with
# apt-helper): text = short + long Description, label = Section (and, for the
# multi-label model, every Tag: facet); see make_fasttext_testdata.py. Models
# are trained with `fasttext supervised -thread 1` (deterministic), kept small
# (dim 10-11, bucket <= 10000, 4000 training lines). For every model and case in cases.txt:
#   NAME.CASE.expected  `fasttext predict-prob MODEL TEST K [THRESHOLD]`, as printed
#   NAME.CASE.exact     the same predictions with exact float32 probabilities
#                       (python3-fasttext, same C++ predictLine); cases k5 k5t allt
# cases.txt: "model test-file k threshold case" a line.
set -eu
cd "$(dirname "$0")/../.."
OUT=testdata/fasttext
PY=/usr/bin/python3
command -v fasttext >/dev/null || { echo "fasttext not installed: apt-get install -y fasttext" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.bin "$OUT"/*.ftz "$OUT"/*.expected "$OUT"/*.exact "$OUT"/cases.txt

lists=$(ls /var/lib/apt/lists/*_dists_bookworm_main_binary-*_Packages* | head -1)
/usr/lib/apt/apt-helper cat-file "$lists" >"$TMP/Packages"
$PY scripts/ref/make_fasttext_testdata.py corpus "$TMP/Packages" /var/lib/dpkg/status "$OUT" "$TMP"

sup() { # NAME TRAINFILE ARGS...
	name=$1 train=$2
	shift 2
	fasttext supervised -input "$train" -output "$TMP/$name" -thread 1 -verbose 0 "$@"
	cp "$TMP/$name.bin" "$OUT/$name.bin"
}
# softmax with word bigrams
sup softmax_bigram "$OUT/train.txt" -dim 10 -epoch 5 -lr 0.5 -wordNgrams 2 -bucket 10000 -minCount 2
# softmax with char n-grams (subwords), no word n-grams
sup softmax_subword "$OUT/train.txt" -dim 10 -epoch 5 -lr 0.5 -minn 3 -maxn 6 -bucket 10000 -minCount 3
# softmax, words only (no bucket rows at all)
sup softmax_plain "$OUT/train.txt" -dim 10 -epoch 5 -lr 0.5 -bucket 0 -minCount 3
# one-vs-all, multi-label (Section + Tag facets), word bigrams, odd dim
sup ova_multi "$TMP/train_multi.txt" -dim 11 -epoch 5 -lr 0.5 -loss ova -wordNgrams 2 -bucket 10000 -minCount 3
# hierarchical softmax with word trigrams
sup hs_trigram "$OUT/train.txt" -dim 10 -epoch 5 -lr 0.5 -loss hs -wordNgrams 3 -bucket 5000 -minCount 3
# negative sampling
sup ns_plain "$OUT/train.txt" -dim 10 -epoch 5 -lr 0.5 -loss ns -neg 5 -bucket 0 -minCount 3

# quantized: pruned to 2000 rows (words + subwords), norms quantized, dsub 4
# (dim 10 -> 3 sub-quantizers, the last of 2 dims), retrained
cp "$TMP/softmax_subword.bin" "$TMP/subword_q.bin"
fasttext quantize -input "$OUT/train.txt" -output "$TMP/subword_q" -qnorm -retrain -cutoff 2000 \
	-dsub 4 -epoch 1 -thread 1 -verbose 0
cp "$TMP/subword_q.ftz" "$OUT/subword_q.ftz"
# quantized output matrix too (needs >= 256 labels: the multi-label model), no pruning
cp "$TMP/ova_multi.bin" "$TMP/ova_qout.bin"
fasttext quantize -input "$TMP/train_multi.txt" -output "$TMP/ova_qout" -qout -qnorm -thread 1 -verbose 0
cp "$TMP/ova_qout.ftz" "$OUT/ova_qout.ftz"

have_py=0
$PY -c 'import fasttext' 2>/dev/null && have_py=1
for m in softmax_bigram.bin softmax_subword.bin softmax_plain.bin ova_multi.bin hs_trigram.bin \
	ns_plain.bin subword_q.ftz ova_qout.ftz; do
	name=${m%.*}
	for c in "test.txt 1 0 k1" "test.txt 5 0 k5" "test.txt 5 0.1 k5t" "test_small.txt -1 0 all" \
		"test_small.txt -1 0.02 allt"; do
		set -- $c
		case $m in ova_*) [ "$4" = all ] && continue ;; esac # hundreds of labels a line
		fasttext predict-prob "$OUT/$m" "$OUT/$1" "$2" "$3" >"$OUT/$name.$4.expected"
		if [ $have_py = 1 ] && [ "$4" != k1 ] && [ "$4" != all ]; then
			$PY scripts/ref/make_fasttext_testdata.py exact "$OUT/$m" "$OUT/$1" "$2" "$3" >"$OUT/$name.$4.exact"
		fi
		echo "$m $1 $2 $3 $4" >>"$OUT/cases.txt"
	done
done
du -sh "$OUT"
