/* fasttext.h: fastText supervised classifiers (.bin and quantized .ftz files
 * written by fastText 0.9.x), predicting exactly what
 * `fasttext predict-prob MODEL FILE k threshold` prints for a line.
 *
 * Flow: ft_load (once) -> per line ft_tokenize -> ft_predict (= ft_hidden +
 * ft_predict_hidden). The model is read-only after ft_load: any number of
 * threads may tokenize and predict at once, each with its own buffers. The
 * hot path allocates nothing: the caller sizes ids with ft_ids_bound and
 * scratch with ft_scratch_floats. */
#ifndef BF_FASTTEXT_H
#define BF_FASTTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* Values as stored in the file (fastText's args.h). */
typedef enum ft_loss {
	FT_LOSS_HS = 1,      /* hierarchical softmax over a Huffman tree of label counts */
	FT_LOSS_NS = 2,      /* negative sampling: predicts as FT_LOSS_OVA */
	FT_LOSS_SOFTMAX = 3,
	FT_LOSS_OVA = 4,     /* one sigmoid per label (multi-label) */
} ft_loss;

typedef enum ft_kind {
	FT_KIND_CBOW = 1,
	FT_KIND_SKIPGRAM = 2,
	FT_KIND_SUPERVISED = 3, /* the only kind ft_load accepts */
} ft_kind;

/* A dense or product-quantized (rows, cols) float matrix. */
typedef struct ft_matrix {
	int64_t rows, cols;
	int quantized;
	const float *data;          /* dense: (rows, cols) row-major; NULL when quantized */
	/* quantized (fastText's QuantMatrix + ProductQuantizer, 256 centroids) */
	int qnorm;                  /* rows are scaled by a quantized norm */
	int32_t nsubq, dsub, lastdsub; /* cols = (nsubq - 1) * dsub + lastdsub */
	const uint8_t *codes;       /* (rows, nsubq) centroid indices */
	const float *centroids;     /* (cols * 256): sub-quantizer m, centroid c starts at
				     * m*256*dsub + c*(m == nsubq-1 ? lastdsub : dsub) */
	const uint8_t *norm_codes;  /* (rows), qnorm only */
	const float *norm_centroids; /* (256), qnorm only */
} ft_matrix;

typedef struct ft_word {
	const char *text;           /* points into the file data, not NUL-terminated here */
	uint32_t len;
	uint32_t hash;              /* ft_hash(text) */
	int64_t count;              /* occurrences in the training data */
} ft_word;

typedef struct ft_model {
	/* args (the file's order) */
	int32_t dim, ws, epoch, min_count, neg, word_ngrams;
	ft_loss loss;
	ft_kind kind;
	int32_t bucket, minn, maxn, lr_update_rate;
	double t;
	int32_t version;            /* 11 or 12 */
	/* dictionary: words [0, nwords) then labels [nwords, nwords + nlabels) */
	ft_word *words;             /* (nwords + nlabels) */
	int32_t nwords, nlabels;
	int64_t ntokens;
	uint32_t *slots;            /* (slot_mask + 1) open-addressing table: word id + 1, 0 = empty */
	uint32_t slot_mask;
	int32_t eos;                /* id of "</s>", -1 when not in the vocabulary */
	int64_t prune_size;         /* -1: not pruned; else the number of kept n-gram buckets */
	int32_t *prune_key;         /* (prune_mask + 1) open addressing: bucket kept by
				     * `quantize -cutoff`, -1 = empty */
	int32_t *prune_row;         /* (prune_mask + 1) its row after nwords */
	uint32_t prune_mask;
	/* matrices */
	ft_matrix input;            /* (nwords + buckets, dim) */
	ft_matrix output;           /* (nlabels, dim) */
	int quantized_input, quantized_output;
	/* hierarchical softmax tree (FT_LOSS_HS): nodes [0, nlabels) are labels,
	 * internal node i uses output row i - nlabels; root = 2*nlabels - 2 */
	int32_t *tree_left, *tree_right; /* (2*nlabels - 1), -1 for leaves */
	const char *label_prefix;   /* "__label__" (fastText does not store it) */
	float sigmoid[513];         /* Loss::t_sigmoid_: sigmoid at x = i / 32 - 8 */
	float sigmoid_log[513];     /* log(sigmoid[i] + 1e-5), as Loss::predict scores it */
	float *output_t;            /* dense output (dim, nlabels8) transposed, nlabels8 = nlabels
				     * rounded up to 8: all labels' dot products in one pass */
	int32_t nlabels8;
	size_t file_bytes;
	void *owned[8];             /* copies this model frees (misaligned float arrays) */
	int n_owned;
} ft_model;

/* fastText's hash (Dictionary::hash): 32-bit FNV-1a over the bytes taken as
 * SIGNED char: h = (h ^ (uint32_t)(int8_t)c) * 16777619, h0 = 2166136261. */
uint32_t ft_hash(const char *s, size_t len);

/* Parses a whole model file from data[0..len). path names it in errors.
 * Returns BF_OK, or BF_EMODEL (truncated, inconsistent or not a supervised
 * fastText model; the message gives the byte offset) / BF_ENOMEM with err
 * filled and m zeroed. data must outlive m and stay unchanged: words, codes
 * and 4-byte aligned float arrays point into it (misaligned ones are copied). */
int ft_load(ft_model *m, const char *data, size_t len, const char *path, bf_error *err);
/* Releases what ft_load allocated (not data). NULL ok; zeroed model ok. */
void ft_free(ft_model *m);

/* Returned by ft_tokenize when ids is too small. */
#define FT_IDS_OVERFLOW SIZE_MAX

/* How many int32 ft_tokenize may need for a line of len bytes. */
size_t ft_ids_bound(const ft_model *m, size_t len);

/* Turns one line of text into input-matrix rows, as fastText's
 * Dictionary::getLine does for predictLine: per word its id (if known) then
 * its char n-gram buckets (minn..maxn, not for "</s>"), labels skipped, then
 * the word n-gram buckets (wordNgrams) of the whole line. The line is taken
 * as newline-terminated: "</s>" is always appended, as fastText reads it at
 * the '\n' that ends every line of a file. Whitespace is ' ' \t \n \v \f \r
 * and NUL; a '\n' inside text is plain whitespace here (fastText would start a
 * new prediction there). A literal "</s>" word ends the line: what follows is
 * ignored (fastText would predict it as the next line).
 * ids: room for cap entries (>= ft_ids_bound(m, len) always suffices; the
 * tail is used as work space). n_tokens (NULL ok): tokens read, labels and
 * "</s>" included (fastText's ntokens). Returns the number of ids, or
 * FT_IDS_OVERFLOW when cap is too small. */
size_t ft_tokenize(const ft_model *m, const char *text, size_t len, int32_t *ids, size_t cap,
		   size_t *n_tokens);

/* Floats of scratch that ft_predict / ft_predict_hidden need. */
size_t ft_scratch_floats(const ft_model *m);

/* hidden (dim) = the mean of the input rows ids[0..n) (Model::computeHidden:
 * rows added in order in float, then scaled by (float)(1.0 / n)); zeros when n == 0. */
void ft_hidden(const ft_model *m, const int32_t *ids, size_t n, float *hidden);

/* The k most probable labels of a line with probability >= threshold, best
 * first, ties in fastText's order; k < 0: all labels. Writes label indices
 * (0..nlabels-1, see ft_label) and the probabilities predict-prob prints
 * (exp(log(p + 1e-5)): a certain label shows 1.00001) to labels/probs, each
 * with room for min(k, nlabels) entries. n_ids == 0 gives no prediction (as
 * fastText: no id at all happens only when "</s>" is not in the model).
 * scratch: ft_scratch_floats(m) floats. Returns the number written. */
int ft_predict(const ft_model *m, const int32_t *ids, size_t n_ids, int k, float threshold,
	       int32_t *labels, float *probs, float *scratch);
/* The same from a hidden vector (dim), e.g. computed for a batch. */
int ft_predict_hidden(const ft_model *m, const float *hidden, int k, float threshold,
		      int32_t *labels, float *probs, float *scratch);
/* The same from logits[i] = output row i . hidden for all nlabels rows (a
 * batched GEMM; hs reads its internal nodes' rows 0..nlabels-2 from it).
 * logits is overwritten (softmax). Bit-exact with fastText only when
 * each logit is summed as ft_matrix_dot sums it. */
int ft_predict_logits(const ft_model *m, float *logits, int k, float threshold, int32_t *labels,
		      float *probs, float *scratch);

/* Row r of mat . x, as fastText's dotRow: a float sum in column order
 * (quantized: centroid by centroid, times the row's norm). */
float ft_matrix_dot(const ft_matrix *mat, int64_t r, const float *x);

/* Label idx without the "__label__" prefix (the whole word if it lacks it);
 * not NUL-terminated: *len gets its length. NULL when idx is out of range. */
const char *ft_label(const ft_model *m, int32_t idx, size_t *len);
/* The label as fastText prints it, prefix included. */
const char *ft_label_raw(const ft_model *m, int32_t idx, size_t *len);

/* Writes the model's part of `binfer inspect`, one "key: value" a line. */
void ft_describe(const ft_model *m, FILE *f);

/* The fastText backend's settings (model_backend.options). */
typedef struct ft_options {
	int top_k;              /* model.top_k: labels per row; -1 = all; 0 = the default, 1 */
	double threshold;       /* model.threshold: labels scoring below are dropped */
} ft_options;

#endif
