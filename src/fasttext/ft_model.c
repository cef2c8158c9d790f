/* ft_model.c: fastText supervised models: loader, tokenizer, prediction.
 *
 * Written from a reading of fastText 0.9.2 (the version Debian ships) so that
 * predictions match `fasttext predict-prob` bit for bit: the same float
 * operations in the same order (no FMA contraction: see the pragma), the same
 * lookup table for the sigmoid, and libstdc++'s heap algorithms for the order
 * of ties. The fastText function each part follows is named above it.
 *
 * File layout (all little-endian, no padding):
 *   int32 magic 793712314, int32 version (11 or 12)
 *   args:  int32 dim ws epoch minCount neg wordNgrams loss model bucket minn maxn
 *          lrUpdateRate, float64 t
 *   dict:  int32 size nwords nlabels, int64 ntokens pruneidx_size,
 *          size x (word bytes, NUL, int64 count, int8 type 0=word 1=label),
 *          pruneidx_size x (int32 bucket, int32 row offset)
 *   uint8 quant_input, input matrix, uint8 qout, output matrix
 *   dense matrix: int64 rows cols, rows*cols float32
 *   quantized:    uint8 qnorm, int64 rows cols, int32 codesize, codesize codes,
 *                 PQ (int32 dim nsubq dsub lastdsub, dim*256 float32),
 *                 qnorm: rows norm codes, PQ of dim 1 */
#include "fasttext.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

/* a*b + c must round twice, as fastText's x86-64 build does. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fastText files are little-endian; this loader reads them in place"
#endif

#define FT_MAGIC 793712314
#define FT_VERSION 12
#define FT_KSUB 256                 /* centroids per sub-quantizer (8-bit codes) */
#define FT_SIGMOID_TABLE 512
#define FT_MAX_SIGMOID 8
#define FT_EOS "</s>"
#define FT_EOS_LEN 4
#define FT_HS_COUNT_MAX 1000000000000000LL /* fastText's 1e15 sentinel in buildTree */

static const char ft_label_prefix[] = "__label__";

/* ======================================================================
 * Hash (Dictionary::hash)
 * ==================================================================== */

static inline uint32_t hash_step(uint32_t h, char c)
{
	return (h ^ (uint32_t)(int32_t)(int8_t)c) * 16777619u;
}

uint32_t ft_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = hash_step(h, s[i]);
	return h;
}

/* ======================================================================
 * Loading (FastText::loadModel, Args::load, Dictionary::load,
 * DenseMatrix::load, QuantMatrix::load, ProductQuantizer::load)
 * ==================================================================== */

typedef struct reader {
	const char *data;
	size_t len, off;
	const char *path;
	bf_error *err;
	ft_model *m;
	int status;             /* the first error's bf_status */
} reader;

static int bad(reader *r, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(reader *r, size_t off, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->status = BF_EMODEL;
	bf_err_set(r->err, BF_EMODEL, r->path, 0, 0, "byte %zu: %s", off, msg);
	return -1;
}

static int oom(reader *r)
{
	r->status = BF_ENOMEM;
	bf_err_set(r->err, BF_ENOMEM, r->path, 0, 0, "out of memory loading the fastText model");
	return -1;
}

/* Checks that n more bytes exist for `what`. */
static int need(reader *r, size_t n, const char *what)
{
	if (n > r->len - r->off)
		return bad(r, r->off, "file ends inside %s: %zu bytes needed, %zu left", what, n,
			   r->len - r->off);
	return 0;
}

static int rd_i32(reader *r, int32_t *v, const char *what)
{
	if (need(r, 4, what))
		return -1;
	memcpy(v, r->data + r->off, 4);
	r->off += 4;
	return 0;
}

static int rd_i64(reader *r, int64_t *v, const char *what)
{
	if (need(r, 8, what))
		return -1;
	memcpy(v, r->data + r->off, 8);
	r->off += 8;
	return 0;
}

static int rd_f64(reader *r, double *v, const char *what)
{
	if (need(r, 8, what))
		return -1;
	memcpy(v, r->data + r->off, 8);
	r->off += 8;
	return 0;
}

/* A C++ bool: one byte, 0 or 1. */
static int rd_bool(reader *r, int *v, const char *what)
{
	if (need(r, 1, what))
		return -1;
	unsigned char c = (unsigned char)r->data[r->off];
	if (c > 1)
		return bad(r, r->off, "%s is %u, expected 0 or 1", what, c);
	*v = c;
	r->off += 1;
	return 0;
}

static void *own(reader *r, size_t bytes)
{
	ft_model *m = r->m;
	if (m->n_owned == (int)(sizeof m->owned / sizeof *m->owned))
		return NULL;
	void *p = malloc(bytes ? bytes : 1);
	if (p)
		m->owned[m->n_owned++] = p;
	return p;
}

/* n floats at the read position: pointed to when aligned, else copied. */
static int rd_floats(reader *r, uint64_t n, const float **out, const char *what)
{
	if (n > (r->len - r->off) / 4)
		return bad(r, r->off, "file ends inside %s: %llu floats (%llu bytes) needed, %zu left",
			   what, (unsigned long long)n, (unsigned long long)n * 4, r->len - r->off);
	const char *p = r->data + r->off;
	if ((uintptr_t)p % _Alignof(float) == 0) {
		*out = (const float *)(const void *)p;
	} else {
		float *copy = own(r, (size_t)n * 4);
		if (!copy)
			return oom(r);
		memcpy(copy, p, (size_t)n * 4);
		*out = copy;
	}
	r->off += (size_t)n * 4;
	return 0;
}

static int load_args(reader *r, ft_model *m)
{
	int32_t v[12]; /* dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate */
	for (int i = 0; i < 12; i++)
		if (rd_i32(r, &v[i], "the arguments"))
			return -1;
	if (rd_f64(r, &m->t, "the arguments"))
		return -1;
	size_t at = r->off - 56;
	m->dim = v[0], m->ws = v[1], m->epoch = v[2], m->min_count = v[3], m->neg = v[4];
	m->word_ngrams = v[5], m->bucket = v[8], m->minn = v[9], m->maxn = v[10];
	m->lr_update_rate = v[11];
	if (v[6] < FT_LOSS_HS || v[6] > FT_LOSS_OVA)
		return bad(r, at + 24, "loss is %d, expected 1 (hs), 2 (ns), 3 (softmax) or 4 (ova)", v[6]);
	m->loss = (ft_loss)v[6];
	if (v[7] < FT_KIND_CBOW || v[7] > FT_KIND_SUPERVISED)
		return bad(r, at + 28, "model is %d, expected 1 (cbow), 2 (skipgram) or 3 (supervised)",
			   v[7]);
	m->kind = (ft_kind)v[7];
	if (m->kind != FT_KIND_SUPERVISED)
		return bad(r, at + 28, "model is %s, expected a supervised classifier",
			   m->kind == FT_KIND_CBOW ? "cbow word vectors" : "skipgram word vectors");
	if (m->dim <= 0)
		return bad(r, at, "dim is %d, expected > 0", m->dim);
	if (m->bucket < 0)
		return bad(r, at + 32, "bucket is %d, expected >= 0", m->bucket);
	/* FastText::loadModel: version 11 supervised models had no char n-grams. */
	if (m->version == 11)
		m->maxn = 0;
	return 0;
}

/* Whether computeSubwords can emit anything: n in [max(minn,1), maxn]. */
static int has_subwords(const ft_model *m)
{
	return m->maxn >= 1 && m->minn <= m->maxn;
}

static int32_t find_word(const ft_model *m, const char *w, size_t len, uint32_t h)
{
	for (uint32_t s = h & m->slot_mask;; s = (s + 1) & m->slot_mask) {
		uint32_t v = m->slots[s];
		if (!v)
			return -1;
		const ft_word *e = &m->words[v - 1];
		if (e->hash == h && e->len == len && memcmp(e->text, w, len) == 0)
			return (int32_t)(v - 1);
	}
}

static inline uint32_t prune_slot(int32_t bucket)
{
	uint32_t h = (uint32_t)bucket * 0x9e3779b1u;
	return h ^ (h >> 16);
}

static int load_dict(reader *r, ft_model *m)
{
	int32_t size;
	size_t at = r->off;
	if (rd_i32(r, &size, "the dictionary header") || rd_i32(r, &m->nwords, "the dictionary header") ||
	    rd_i32(r, &m->nlabels, "the dictionary header") ||
	    rd_i64(r, &m->ntokens, "the dictionary header") ||
	    rd_i64(r, &m->prune_size, "the dictionary header"))
		return -1;
	if (size < 0 || m->nwords < 0 || m->nlabels < 0)
		return bad(r, at, "dictionary sizes are negative (size %d, nwords %d, nlabels %d)", size,
			   m->nwords, m->nlabels);
	if ((int64_t)m->nwords + m->nlabels != size)
		return bad(r, at, "dictionary size %d is not nwords %d + nlabels %d", size, m->nwords,
			   m->nlabels);
	if (m->nlabels == 0)
		return bad(r, at + 8, "the model has no labels");
	if (m->prune_size < -1)
		return bad(r, at + 20, "pruneidx_size is %lld, expected >= -1", (long long)m->prune_size);
	/* Each entry takes at least 10 bytes (NUL, count, type). */
	if ((size_t)size > (r->len - r->off) / 10)
		return bad(r, r->off, "file ends inside the dictionary: %d entries need at least %zu bytes, "
			   "%zu left", size, (size_t)size * 10, r->len - r->off);
	m->words = calloc((size_t)size ? (size_t)size : 1, sizeof *m->words);
	if (!m->words)
		return oom(r);
	for (int32_t i = 0; i < size; i++) {
		size_t start = r->off;
		const char *w = r->data + start;
		const char *nul = memchr(w, 0, r->len - start);
		if (!nul)
			return bad(r, start, "dictionary entry %d: word runs to the end of the file", i);
		size_t wl = (size_t)(nul - w);
		if (wl > UINT32_MAX)
			return bad(r, start, "dictionary entry %d: word of %zu bytes", i, wl);
		r->off += wl + 1;
		ft_word *e = &m->words[i];
		e->text = w;
		e->len = (uint32_t)wl;
		e->hash = ft_hash(w, wl);
		if (rd_i64(r, &e->count, "a dictionary entry") || need(r, 1, "a dictionary entry"))
			return -1;
		int8_t type = (int8_t)r->data[r->off];
		int want = i >= m->nwords;
		if (type != want)
			return bad(r, r->off, "dictionary entry %d (\"%.*s\") has type %d, expected %d (%s): "
				   "words come first, then labels", i, (int)(wl > 64 ? 64 : wl), w, type,
				   want, want ? "label" : "word");
		r->off += 1;
	}
	if (m->prune_size > 0) {
		at = r->off;
		if ((uint64_t)m->prune_size > (r->len - r->off) / 8)
			return bad(r, at, "file ends inside the pruning index: %lld pairs need %llu bytes, "
				   "%zu left", (long long)m->prune_size,
				   (unsigned long long)m->prune_size * 8, r->len - r->off);
		uint64_t n = 2;
		while (n < 2 * (uint64_t)m->prune_size)
			n *= 2;
		m->prune_key = malloc(n * sizeof *m->prune_key);
		m->prune_row = malloc(n * sizeof *m->prune_row);
		if (!m->prune_key || !m->prune_row)
			return oom(r);
		memset(m->prune_key, 0xff, n * sizeof *m->prune_key);
		m->prune_mask = (uint32_t)(n - 1);
		for (int64_t i = 0; i < m->prune_size; i++) {
			int32_t pair[2];
			memcpy(pair, r->data + r->off, 8);
			/* Checked here: -1 marks an empty slot. */
			if (pair[0] < 0 || pair[0] >= m->bucket || pair[1] < 0 || pair[1] >= m->prune_size)
				return bad(r, r->off, "pruning index maps bucket %d to row %d, outside %d "
					   "buckets and %lld rows", pair[0], pair[1], m->bucket,
					   (long long)m->prune_size);
			uint32_t s = prune_slot(pair[0]) & m->prune_mask;
			while (m->prune_key[s] != -1) {
				if (m->prune_key[s] == pair[0])
					return bad(r, r->off, "pruning index lists bucket %d twice", pair[0]);
				s = (s + 1) & m->prune_mask;
			}
			m->prune_key[s] = pair[0];
			m->prune_row[s] = pair[1];
			r->off += 8;
		}
	}
	/* Lookup table. A word listed twice resolves to its last entry, as
	 * fastText's word2int_ does after Dictionary::load. */
	uint64_t slots = 2;
	while (slots < 2 * (uint64_t)size)
		slots *= 2;
	m->slots = calloc(slots, sizeof *m->slots);
	if (!m->slots)
		return oom(r);
	m->slot_mask = (uint32_t)(slots - 1);
	for (int32_t i = 0; i < size; i++) {
		const ft_word *e = &m->words[i];
		uint32_t s = e->hash & m->slot_mask;
		while (m->slots[s]) {
			const ft_word *o = &m->words[m->slots[s] - 1];
			if (o->hash == e->hash && o->len == e->len && memcmp(o->text, e->text, e->len) == 0)
				break;
			s = (s + 1) & m->slot_mask;
		}
		m->slots[s] = (uint32_t)i + 1;
	}
	m->eos = find_word(m, FT_EOS, FT_EOS_LEN, ft_hash(FT_EOS, FT_EOS_LEN));
	return 0;
}

static int load_pq(reader *r, int32_t *dim, int32_t *nsubq, int32_t *dsub, int32_t *lastdsub,
		   const float **centroids, const char *what)
{
	size_t at = r->off;
	if (rd_i32(r, dim, what) || rd_i32(r, nsubq, what) || rd_i32(r, dsub, what) ||
	    rd_i32(r, lastdsub, what))
		return -1;
	/* ProductQuantizer's constructor: nsubq = ceil(dim / dsub), the last one
	 * covers the rest. Anything else would index outside the centroids. */
	if (*dim <= 0 || *dsub <= 0)
		return bad(r, at, "%s: dim %d, dsub %d, expected both > 0", what, *dim, *dsub);
	int32_t want_nsubq = *dim / *dsub + (*dim % *dsub != 0);
	int32_t want_last = *dim % *dsub ? *dim % *dsub : *dsub;
	if (*nsubq != want_nsubq || *lastdsub != want_last)
		return bad(r, at, "%s: nsubq %d and lastdsub %d do not fit dim %d, dsub %d (expected %d "
			   "and %d)", what, *nsubq, *lastdsub, *dim, *dsub, want_nsubq, want_last);
	return rd_floats(r, (uint64_t)*dim * FT_KSUB, centroids, what);
}

static int load_matrix(reader *r, ft_matrix *x, int quantized, const char *name)
{
	char what[96];
	size_t at = r->off;
	x->quantized = quantized;
	if (!quantized) {
		snprintf(what, sizeof what, "the %s matrix", name);
		if (rd_i64(r, &x->rows, what) || rd_i64(r, &x->cols, what))
			return -1;
		if (x->rows < 0 || x->cols < 0)
			return bad(r, at, "%s is %lld x %lld", what, (long long)x->rows, (long long)x->cols);
		if (x->cols && (uint64_t)x->rows > UINT64_MAX / 4 / (uint64_t)x->cols)
			return bad(r, at, "%s is %lld x %lld: too large", what, (long long)x->rows,
				   (long long)x->cols);
		return rd_floats(r, (uint64_t)x->rows * (uint64_t)x->cols, &x->data, what);
	}
	snprintf(what, sizeof what, "the quantized %s matrix", name);
	int32_t codesize;
	if (rd_bool(r, &x->qnorm, what) || rd_i64(r, &x->rows, what) || rd_i64(r, &x->cols, what) ||
	    rd_i32(r, &codesize, what))
		return -1;
	if (x->rows < 0 || x->cols <= 0 || codesize < 0)
		return bad(r, at, "%s is %lld x %lld with %d codes", what, (long long)x->rows,
			   (long long)x->cols, codesize);
	if (need(r, (size_t)codesize, what))
		return -1;
	x->codes = (const uint8_t *)r->data + r->off;
	r->off += (size_t)codesize;
	snprintf(what, sizeof what, "the %s matrix's product quantizer", name);
	int32_t pdim;
	size_t pq_at = r->off;
	if (load_pq(r, &pdim, &x->nsubq, &x->dsub, &x->lastdsub, &x->centroids, what))
		return -1;
	if (pdim != x->cols)
		return bad(r, pq_at, "%s has dim %d, the matrix has %lld columns", what, pdim,
			   (long long)x->cols);
	if (x->rows > codesize || (uint64_t)x->rows * (uint64_t)x->nsubq != (uint64_t)codesize)
		return bad(r, at + 17, "the quantized %s matrix has %d codes, expected rows %lld x %d "
			   "sub-quantizers", name, codesize, (long long)x->rows, x->nsubq);
	if (x->qnorm) {
		snprintf(what, sizeof what, "the %s matrix's norm codes", name);
		if (need(r, (size_t)x->rows, what))
			return -1;
		x->norm_codes = (const uint8_t *)r->data + r->off;
		r->off += (size_t)x->rows;
		snprintf(what, sizeof what, "the %s matrix's norm quantizer", name);
		int32_t nd, nn, ns, nl;
		size_t npq_at = r->off;
		if (load_pq(r, &nd, &nn, &ns, &nl, &x->norm_centroids, what))
			return -1;
		if (nd != 1)
			return bad(r, npq_at, "%s has dim %d, expected 1", what, nd);
	}
	return 0;
}

/* HierarchicalSoftmaxLoss::buildTree: Huffman tree over the label counts,
 * which fastText keeps sorted by decreasing count. Leaves are taken from the
 * end of the label list, merged nodes in creation order; the first pick is
 * the left child. */
static int build_tree(reader *r, ft_model *m)
{
	int32_t osz = m->nlabels;
	if (osz > (1 << 29))
		return bad(r, 0, "%d labels: too many for a hierarchical softmax tree", osz);
	size_t nodes = 2 * (size_t)osz - 1;
	int64_t *count = malloc(nodes * sizeof *count);
	m->tree_left = malloc(nodes * sizeof *m->tree_left);
	m->tree_right = malloc(nodes * sizeof *m->tree_right);
	if (!count || !m->tree_left || !m->tree_right) {
		free(count);
		return oom(r);
	}
	for (size_t i = 0; i < nodes; i++) {
		m->tree_left[i] = m->tree_right[i] = -1;
		count[i] = FT_HS_COUNT_MAX;
	}
	for (int32_t i = 0; i < osz; i++) {
		const ft_word *e = &m->words[m->nwords + i];
		int64_t c = e->count;
		if (c < 0 || c >= FT_HS_COUNT_MAX) {
			free(count);
			return bad(r, (size_t)(e->text - r->data) + e->len + 1, "label \"%.*s\" has count %lld: not usable for a hierarchical "
				   "softmax tree", (int)m->words[m->nwords + i].len,
				   m->words[m->nwords + i].text, (long long)c);
		}
		count[i] = c;
	}
	int32_t leaf = osz - 1, node = osz;
	for (int32_t i = osz; i < (int32_t)nodes; i++) {
		int32_t pick[2];
		for (int j = 0; j < 2; j++) {
			if (leaf >= 0 && count[leaf] < count[node])
				pick[j] = leaf--;
			else
				pick[j] = node++;
		}
		if (pick[0] >= i || pick[1] >= i) { /* only with counts near the sentinel */
			free(count);
			return bad(r, 0, "label counts do not form a hierarchical softmax tree");
		}
		m->tree_left[i] = pick[0];
		m->tree_right[i] = pick[1];
		count[i] = count[pick[0]] + count[pick[1]]; /* < 2^31 labels x 1e15: no overflow */
	}
	free(count);
	return 0;
}

int ft_load(ft_model *m, const char *data, size_t len, const char *path, bf_error *err)
{
	memset(m, 0, sizeof *m);
	m->eos = -1;
	m->prune_size = -1;
	m->label_prefix = ft_label_prefix;
	m->file_bytes = len;
	reader rd = {.data = data, .len = len, .path = path, .err = err, .m = m}, *r = &rd;
	int32_t magic;
	if (rd_i32(r, &magic, "the header"))
		goto fail;
	if (magic != FT_MAGIC) {
		bad(r, 0, "not a fastText model: magic number %d, expected %d", magic, FT_MAGIC);
		goto fail;
	}
	if (rd_i32(r, &m->version, "the header"))
		goto fail;
	if (m->version != 11 && m->version != FT_VERSION) {
		bad(r, 4, "fastText file format version %d, expected 11 or 12", m->version);
		goto fail;
	}
	if (load_args(r, m) || load_dict(r, m))
		goto fail;
	size_t at = r->off;
	if (rd_bool(r, &m->quantized_input, "the quant_input flag"))
		goto fail;
	if (!m->quantized_input && m->prune_size >= 0) {
		/* fastText: "Invalid model file" (issue #332). */
		bad(r, at, "the dictionary is pruned but the input matrix is not quantized");
		goto fail;
	}
	at = r->off;
	if (load_matrix(r, &m->input, m->quantized_input, "input"))
		goto fail;
	int qout;
	if (rd_bool(r, &qout, "the qout flag"))
		goto fail;
	m->quantized_output = m->quantized_input && qout; /* as FastText::loadModel */
	size_t out_at = r->off;
	if (load_matrix(r, &m->output, m->quantized_output, "output"))
		goto fail;
	if (m->input.cols != m->dim || m->output.cols != m->dim) {
		bad(r, m->input.cols != m->dim ? at : out_at,
		    "matrix dims disagree: args dim %d, input %lld x %lld, output %lld x %lld", m->dim,
		    (long long)m->input.rows, (long long)m->input.cols, (long long)m->output.rows,
		    (long long)m->output.cols);
		goto fail;
	}
	if (m->output.rows != m->nlabels) {
		bad(r, out_at, "output matrix has %lld rows, expected one per label (%d)",
		    (long long)m->output.rows, m->nlabels);
		goto fail;
	}
	int64_t rows = (int64_t)m->nwords + (m->prune_size >= 0 ? m->prune_size : m->bucket);
	if (m->input.rows != rows) {
		bad(r, at, "input matrix has %lld rows, expected %s %d + %s %lld", (long long)m->input.rows,
		    "nwords", m->nwords, m->prune_size >= 0 ? "kept buckets" : "bucket",
		    (long long)(rows - m->nwords));
		goto fail;
	}
	if (m->bucket == 0 && m->prune_size != 0 && (has_subwords(m) || m->word_ngrams > 1)) {
		bad(r, 36, "bucket is 0 but the model uses %s", has_subwords(m) ? "char n-grams" :
		    "word n-grams");
		goto fail;
	}
	if (r->off != len) {
		bad(r, r->off, "%zu bytes after the output matrix, expected the end of the file",
		    len - r->off);
		goto fail;
	}
	if (m->loss == FT_LOSS_HS && build_tree(r, m))
		goto fail;
	/* Loss::Loss: x = float(i * 16) / 512 - 8, 1 / (1 + std::exp(float -x)) in double. */
	for (int i = 0; i <= FT_SIGMOID_TABLE; i++) {
		float x = (float)(i * 2 * FT_MAX_SIGMOID) / (float)FT_SIGMOID_TABLE - (float)FT_MAX_SIGMOID;
		m->sigmoid[i] = (float)(1.0 / (1.0 + (double)expf(-x)));
		m->sigmoid_log[i] = (float)log((double)m->sigmoid[i] + 1e-5);
	}
#ifdef __AVX2__
	if (!m->output.quantized && m->loss != FT_LOSS_HS && m->nlabels > 0) {
		/* the output matrix transposed, labels padded to a multiple of 8 */
		size_t nl8 = ((size_t)m->nlabels + 7) & ~(size_t)7, dim = (size_t)m->dim;
		m->output_t = calloc(dim * nl8, sizeof *m->output_t);
		if (!m->output_t) {
			r->status = BF_ENOMEM;
			goto fail;
		}
		m->nlabels8 = (int32_t)nl8;
		for (size_t i = 0; i < (size_t)m->nlabels; i++)
			for (size_t j = 0; j < dim; j++)
				m->output_t[j * nl8 + i] = m->output.data[i * dim + j];
	}
#endif
	return BF_OK;
fail:
	ft_free(m);
	return r->status ? r->status : BF_EMODEL;
}

void ft_free(ft_model *m)
{
	if (!m)
		return;
	free(m->words);
	free(m->slots);
	free(m->prune_key);
	free(m->prune_row);
	free(m->tree_left);
	free(m->tree_right);
	free(m->output_t);
	for (int i = 0; i < m->n_owned; i++)
		free(m->owned[i]);
	memset(m, 0, sizeof *m);
	m->eos = -1;
}

/* ======================================================================
 * Tokenizer (Dictionary::readWord, getLine, computeSubwords, addSubwords,
 * addWordNgrams, pushHash)
 * ==================================================================== */

static inline int is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '\0';
}

static size_t sat_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

size_t ft_ids_bound(const ft_model *m, size_t len)
{
	size_t words = sat_add(len / 2, 2); /* a word and a space per 2 bytes, the last, "</s>" */
	size_t sub = 0;
	if (has_subwords(m)) {
		size_t span = (size_t)m->maxn - (size_t)(m->minn > 1 ? m->minn : 1) + 1;
		if (span > len + 2)
			span = len + 2;
		sub = sat_mul(sat_add(len, sat_mul(2, words)), span);
	}
	size_t ngrams = 0;
	if (m->word_ngrams > 1) {
		size_t per = (size_t)m->word_ngrams - 1;
		ngrams = sat_mul(words, per < words ? per : words);
	}
	return sat_add(sat_add(sat_mul(2, words), sub), ngrams);
}

/* The write state: ids from the front, word hashes from the back. */
typedef struct tok {
	const ft_model *m;
	int32_t *ids;
	size_t cap, n, nh;
	int overflow;
} tok;

static inline void push_id(tok *t, int32_t id)
{
	if (t->n >= t->cap - t->nh) {
		t->overflow = 1;
		return;
	}
	t->ids[t->n++] = id;
}

/* pushHash: a bucket becomes row nwords + bucket, or its kept row when pruned. */
static inline void push_bucket(tok *t, int32_t b)
{
	const ft_model *m = t->m;
	if (m->prune_size == 0)
		return;
	if (m->prune_size > 0) {
		uint32_t s = prune_slot(b) & m->prune_mask;
		while (m->prune_key[s] != b) {
			if (m->prune_key[s] == -1)
				return;
			s = (s + 1) & m->prune_mask;
		}
		b = m->prune_row[s];
	}
	push_id(t, m->nwords + b);
}

/* computeSubwords over "<" w ">": every run of minn..maxn UTF-8 characters
 * (a character = a lead byte and its 10xxxxxx continuation bytes), except
 * the lone "<" and ">". Hashes grow a byte at a time. */
static void push_subwords(tok *t, const char *w, size_t len)
{
	const ft_model *m = t->m;
	size_t n_bytes = len + 2;
	uint32_t bucket = (uint32_t)m->bucket;
	size_t minn = m->minn > 1 ? (size_t)m->minn : 1, maxn = (size_t)m->maxn;
#define BYTE(k) ((k) == 0 ? '<' : (k) == len + 1 ? '>' : w[(k) - 1])
	for (size_t i = 0; i < n_bytes; i++) {
		if ((BYTE(i) & 0xC0) == 0x80)
			continue;
		uint32_t h = 2166136261u;
		size_t j = i;
		for (size_t n = 1; j < n_bytes && n <= maxn; n++) {
			h = hash_step(h, BYTE(j));
			j++;
			while (j < n_bytes && (BYTE(j) & 0xC0) == 0x80) {
				h = hash_step(h, BYTE(j));
				j++;
			}
			if (n >= minn && !(n == 1 && (i == 0 || j == n_bytes)))
				push_bucket(t, (int32_t)(h % bucket));
		}
	}
#undef BYTE
}

size_t ft_tokenize(const ft_model *m, const char *text, size_t len, int32_t *ids, size_t cap,
		   size_t *n_tokens)
{
	tok t = {m, ids, cap, 0, 0, 0};
	size_t tokens = 0, pos = 0;
	int subwords = has_subwords(m);
	size_t plen = strlen(m->label_prefix);
	for (;;) {
		while (pos < len && is_space(text[pos]))
			pos++;
		const char *w;
		size_t wl;
		if (pos < len) {
			w = text + pos;
			while (pos < len && !is_space(text[pos]))
				pos++;
			wl = (size_t)(text + pos - w);
		} else {
			w = FT_EOS; /* the '\n' ending the line */
			wl = FT_EOS_LEN;
		}
		tokens++;
		int eos = wl == FT_EOS_LEN && memcmp(w, FT_EOS, FT_EOS_LEN) == 0;
		uint32_t h = ft_hash(w, wl);
		int32_t wid = find_word(m, w, wl, h);
		int label = wid >= 0 ? wid >= m->nwords : wl >= plen && memcmp(w, m->label_prefix, plen) == 0;
		if (!label) {
			if (wid >= 0)
				push_id(&t, wid);
			if (subwords && !eos)
				push_subwords(&t, w, wl);
			if (t.n >= t.cap - t.nh)
				t.overflow = 1;
			else
				ids[cap - 1 - t.nh++] = (int32_t)h;
		}
		if (eos || t.overflow)
			break;
	}
	/* addWordNgrams: the hashes widen as int32 -> uint64 (sign-extended). */
	if (m->word_ngrams > 1 && !t.overflow) {
		uint64_t bucket = (uint64_t)m->bucket;
		size_t nh = t.nh;
		for (size_t i = 0; i < nh && !t.overflow; i++) {
			uint64_t h = (uint64_t)(int64_t)ids[cap - 1 - i];
			for (size_t j = i + 1; j < nh && j < i + (size_t)m->word_ngrams; j++) {
				h = h * 116049371u + (uint64_t)(int64_t)ids[cap - 1 - j];
				push_bucket(&t, (int32_t)(h % bucket));
			}
		}
	}
	if (n_tokens)
		*n_tokens = tokens;
	return t.overflow ? FT_IDS_OVERFLOW : t.n;
}

/* ======================================================================
 * Model (Model::computeHidden, DenseMatrix / QuantMatrix dotRow and
 * addRowToVector, ProductQuantizer mulcode / addcode)
 * ==================================================================== */

static inline const float *centroid(const ft_matrix *x, const float *c, int32_t sub, uint8_t code)
{
	if (sub == x->nsubq - 1)
		return c + (size_t)sub * FT_KSUB * x->dsub + (size_t)code * x->lastdsub;
	return c + ((size_t)sub * FT_KSUB + code) * x->dsub;
}

static inline float row_norm(const ft_matrix *x, int64_t r)
{
	return x->qnorm ? x->norm_centroids[x->norm_codes[r]] : 1.0f;
}

float ft_matrix_dot(const ft_matrix *x, int64_t r, const float *v)
{
	float d = 0.0f;
	if (!x->quantized) {
		const float *row = x->data + (size_t)r * (size_t)x->cols;
		for (int64_t j = 0; j < x->cols; j++) {
			float p = row[j] * v[j];
			d += p;
		}
		return d;
	}
	const uint8_t *code = x->codes + (size_t)r * (size_t)x->nsubq;
	for (int32_t s = 0; s < x->nsubq; s++) {
		const float *c = centroid(x, x->centroids, s, code[s]);
		int32_t d_sub = s == x->nsubq - 1 ? x->lastdsub : x->dsub;
		const float *vs = v + (size_t)s * x->dsub;
		for (int32_t j = 0; j < d_sub; j++) {
			float p = vs[j] * c[j];
			d += p;
		}
	}
	return d * row_norm(x, r);
}

static void add_row(const ft_matrix *x, int64_t r, float *h)
{
	if (!x->quantized) {
		const float *row = x->data + (size_t)r * (size_t)x->cols;
		for (int64_t j = 0; j < x->cols; j++)
			h[j] += row[j];
		return;
	}
	float a = row_norm(x, r);
	const uint8_t *code = x->codes + (size_t)r * (size_t)x->nsubq;
	for (int32_t s = 0; s < x->nsubq; s++) {
		const float *c = centroid(x, x->centroids, s, code[s]);
		int32_t d_sub = s == x->nsubq - 1 ? x->lastdsub : x->dsub;
		float *hs = h + (size_t)s * x->dsub;
		for (int32_t j = 0; j < d_sub; j++) {
			float p = a * c[j];
			hs[j] += p;
		}
	}
}

void ft_hidden(const ft_model *m, const int32_t *ids, size_t n, float *hidden)
{
	memset(hidden, 0, (size_t)m->dim * sizeof *hidden);
	for (size_t i = 0; i < n; i++)
		add_row(&m->input, ids[i], hidden);
	if (n) {
		float a = (float)(1.0 / (double)n);
		for (int32_t j = 0; j < m->dim; j++)
			hidden[j] *= a;
	}
}

/* ======================================================================
 * Loss (Loss::predict, findKBest, SoftmaxLoss / BinaryLogisticLoss
 * computeOutput, HierarchicalSoftmaxLoss::dfs)
 * ==================================================================== */

/* std_log: log(x + 1e-5) in double, from and to float. */
static inline float std_log(float x)
{
	return (float)log((double)x + 1e-5);
}

/* The prediction heap: (score, label) pairs ordered by comp(a, b) = a.score >
 * b.score (a min-heap), moved exactly as libstdc++'s push_heap, pop_heap and
 * sort_heap move them, so equal scores come out in fastText's order. Labels
 * live in float slots of the caller's scratch, copied bitwise. */
typedef struct heap {
	float *score;
	float *label;
	size_t n;
} heap;

static inline int32_t hl_get(const heap *q, size_t i)
{
	int32_t v;
	memcpy(&v, &q->label[i], 4);
	return v;
}

static inline void hl_set(heap *q, size_t i, int32_t v) { memcpy(&q->label[i], &v, 4); }

static inline void h_move(heap *q, size_t to, size_t from)
{
	q->score[to] = q->score[from];
	q->label[to] = q->label[from];
}

/* std::__push_heap: sift value up from hole, not above top. */
static void sift_up(heap *q, size_t hole, size_t top, float s, int32_t l)
{
	size_t parent = hole ? (hole - 1) / 2 : 0;
	while (hole > top && q->score[parent] > s) {
		h_move(q, hole, parent);
		hole = parent;
		parent = hole ? (hole - 1) / 2 : 0;
	}
	q->score[hole] = s;
	hl_set(q, hole, l);
}

/* std::__adjust_heap over [0, len) from hole. */
static void adjust(heap *q, size_t hole, size_t len, float s, int32_t l)
{
	size_t top = hole, child = hole;
	while (len >= 2 && child < (len - 1) / 2) {
		child = 2 * (child + 1);
		if (q->score[child] > q->score[child - 1])
			child--;
		h_move(q, hole, child);
		hole = child;
	}
	if ((len & 1) == 0 && len >= 2 && child == (len - 2) / 2) {
		child = 2 * (child + 1);
		h_move(q, hole, child - 1);
		hole = child - 1;
	}
	sift_up(q, hole, top, s, l);
}

/* std::__pop_heap(first, first + len, first + result). */
static void pop_to(heap *q, size_t len, size_t result)
{
	float s = q->score[result];
	int32_t l = hl_get(q, result);
	h_move(q, result, 0);
	adjust(q, 0, len, s, l);
}

/* heap.push_back + push_heap, then pop_heap + pop_back past k. */
static void heap_offer(heap *q, size_t k, float s, int32_t l)
{
	q->score[q->n] = s;
	hl_set(q, q->n, l);
	q->n++;
	sift_up(q, q->n - 1, 0, s, l);
	if (q->n > k) {
		if (q->n > 1)
			pop_to(q, q->n - 1, q->n - 1);
		q->n--;
	}
}

static void heap_sort(heap *q)
{
	for (size_t last = q->n; last > 1;) {
		last--;
		pop_to(q, last, last);
	}
}

size_t ft_scratch_floats(const ft_model *m)
{
	size_t nl = (size_t)m->nlabels;
	/* hidden, output, heap scores + labels, hs stack (node, score) pairs */
	return (size_t)m->dim + nl + 2 * (nl + 1) + 2 * (2 * nl + 1);
}

/* Loss::findKBest over probabilities out (softmax). The log is skipped for
 * a value whose log is sure to fall under the heap's minimum (a margin of
 * 2e-6 covers the float roundings): that value would be skipped anyway. */
static void find_k_best(const float *out, size_t n, size_t k, float threshold, heap *q)
{
	double reject = -1.0; /* out + 1e-5 below this: skip */
	for (size_t i = 0; i < n; i++) {
		if (out[i] < threshold)
			continue;
		if (q->n == k && (double)out[i] + 1e-5 < reject)
			continue;
		float s = std_log(out[i]);
		if (q->n == k && s < q->score[0])
			continue;
		heap_offer(q, k, s, (int32_t)i);
		if (q->n == k)
			reject = exp((double)q->score[0] - 2e-6);
	}
}

/* BinaryLogisticLoss::computeOutput + findKBest from the logits (ova, ns):
 * Loss::sigmoid takes the table entry at the truncated position (no
 * interpolation; 0 under -8, 1 over 8), so the score is the entry's log. */
static void find_k_best_sigmoid(const ft_model *m, const float *logits, size_t k, float threshold,
				heap *q)
{
	float log0 = std_log(0.0f), log1 = std_log(1.0f);
	for (int32_t i = 0; i < m->nlabels; i++) {
		float x = logits[i], v, s;
		if (!(x >= -FT_MAX_SIGMOID)) { /* NaN too (fastText's dense dotRow would throw) */
			v = 0.0f;
			s = log0;
		} else if (x > FT_MAX_SIGMOID) {
			v = 1.0f;
			s = log1;
		} else {
			int64_t t = (int64_t)((x + (float)FT_MAX_SIGMOID) * (float)FT_SIGMOID_TABLE /
					      (float)FT_MAX_SIGMOID / 2.0f);
			v = m->sigmoid[t];
			s = m->sigmoid_log[t];
		}
		if (v < threshold)
			continue;
		if (q->n == k && s < q->score[0])
			continue;
		heap_offer(q, k, s, i);
	}
}

/* HierarchicalSoftmaxLoss::dfs without recursion: the left subtree is
 * finished before the right child is looked at, as in the recursive walk.
 * Node dot products come from logits when given, else from hidden. */
static void hs_search(const ft_model *m, const float *hidden, const float *logits, size_t k,
		      float threshold, heap *q, float *stack)
{
	int32_t osz = m->nlabels;
	float floor = std_log(threshold);
	int32_t root = 2 * osz - 2;
	memcpy(&stack[0], &root, 4);
	stack[1] = 0.0f;
	size_t sp = 1;
	while (sp) {
		sp--;
		int32_t node;
		memcpy(&node, &stack[2 * sp], 4);
		float score = stack[2 * sp + 1];
		if (score < floor)
			continue;
		if (q->n == k && score < q->score[0])
			continue;
		if (m->tree_left[node] == -1 && m->tree_right[node] == -1) {
			heap_offer(q, k, score, node);
			continue;
		}
		float f = logits ? logits[node - osz] : ft_matrix_dot(&m->output, node - osz, hidden);
		f = (float)(1.0 / (double)(1.0f + expf(-f)));
		float right = score + std_log(f);
		float left = score + std_log((float)(1.0 - (double)f));
		memcpy(&stack[2 * sp], &m->tree_right[node], 4);
		stack[2 * sp + 1] = right;
		sp++;
		memcpy(&stack[2 * sp], &m->tree_left[node], 4);
		stack[2 * sp + 1] = left;
		sp++;
	}
}

#ifdef __AVX2__
/* e^x for four doubles x <= 0: x = n ln2 + r with |r| <= ln2/2 and n an
 * integer, e^r by its Taylor series to r^13 (error below 1e-17, under half
 * an ulp), times 2^n built in the exponent bits. Below -708 the result
 * underflows to 0 as exp's does (subnormals are not needed here: the
 * result is rounded to float). */
static inline __m256d exp4(__m256d x)
{
	__m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
				    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	/* ln2 split in two so n * ln2_hi is exact */
	__m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), x);
	r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
	static const double c[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
				   1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,
				   1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,        0.5,
				   1.0,                1.0};
	__m256d p = _mm256_set1_pd(c[0]);
	for (int i = 1; i < 14; i++)
		p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c[i]));
	__m128i ni = _mm256_cvtpd_epi32(_mm256_max_pd(n, _mm256_set1_pd(-1022.0)));
	__m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(ni), _mm256_set1_epi64x(1023)), 52);
	__m256d y = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
	return _mm256_and_pd(y, _mm256_cmp_pd(x, _mm256_set1_pd(-708.0), _CMP_GE_OQ));
}
#endif

/* out[i] = (float)exp((double)(out[i] - max)): SoftmaxLoss::computeOutput's
 * terms (::exp in double), four at a time where AVX2 allows. */
static void exp_shifted(float *out, size_t n, float max)
{
	size_t i = 0;
#ifdef __AVX2__
	for (; i + 4 <= n; i += 4) {
		__m128 d = _mm_sub_ps(_mm_loadu_ps(out + i), _mm_set1_ps(max));
		_mm_storeu_ps(out + i, _mm256_cvtpd_ps(exp4(_mm256_cvtps_pd(d))));
	}
#endif
	for (; i < n; i++)
		out[i] = (float)exp((double)(out[i] - max));
}

/* Loss::predict from hidden or from the output scores; out (nlabels) holds
 * the scores (or is NULL for hs from hidden); heap and stack follow in
 * scratch after dim + nlabels floats. */
static int predict(const ft_model *m, const float *hidden, float *out, int k, float threshold,
		   int32_t *labels, float *probs, float *scratch)
{
	size_t nl = (size_t)m->nlabels;
	size_t kk = k < 0 ? nl : (size_t)k; /* Model::predict: -1 = as many as the output rows */
	if (kk == 0)
		return 0;
	float *base = scratch + m->dim + nl;
	heap q = {base, base + (nl + 1), 0};
	if (m->loss == FT_LOSS_HS) {
		hs_search(m, hidden, out, kk, threshold, &q, base + 2 * (nl + 1));
	} else if (m->loss == FT_LOSS_SOFTMAX) {
		/* SoftmaxLoss::computeOutput */
		float max = out[0], z = 0.0f;
		for (size_t i = 0; i < nl; i++)
			max = out[i] < max ? max : out[i]; /* std::max(out[i], max) */
		exp_shifted(out, nl, max); /* out[i] = (float)exp((double)(out[i] - max)) */
		for (size_t i = 0; i < nl; i++)
			z += out[i];
		for (size_t i = 0; i < nl; i++)
			out[i] /= z;
		find_k_best(out, nl, kk, threshold, &q);
	} else {
		find_k_best_sigmoid(m, out, kk, threshold, &q);
	}
	heap_sort(&q);
	for (size_t i = 0; i < q.n; i++) {
		labels[i] = hl_get(&q, i);
		probs[i] = expf(q.score[i]); /* predictLine: std::exp of the log score */
	}
	return (int)q.n;
}

/* out[i] = output row i . hidden for every label. With the transposed
 * dense matrix, eight labels advance together column by column: each lane
 * still multiplies and adds in column order, as dotRow does, so the sums
 * are the same floats. */
static void output_all(const ft_model *m, const float *hidden, float *out)
{
#ifdef __AVX2__
	if (m->output_t) {
		size_t nl8 = (size_t)m->nlabels8;
		for (size_t l = 0; l < nl8; l += 8) {
			__m256 acc = _mm256_setzero_ps();
			for (int32_t j = 0; j < m->dim; j++) {
				__m256 w = _mm256_loadu_ps(m->output_t + (size_t)j * nl8 + l);
				acc = _mm256_add_ps(acc, _mm256_mul_ps(w, _mm256_set1_ps(hidden[j])));
			}
			float tmp[8];
			_mm256_storeu_ps(tmp, acc);
			for (size_t q = 0; q < 8 && l + q < (size_t)m->nlabels; q++)
				out[l + q] = tmp[q];
		}
		return;
	}
#endif
	for (int32_t i = 0; i < m->nlabels; i++)
		out[i] = ft_matrix_dot(&m->output, i, hidden);
}

int ft_predict_hidden(const ft_model *m, const float *hidden, int k, float threshold,
		      int32_t *labels, float *probs, float *scratch)
{
	float *out = NULL;
	if (m->loss != FT_LOSS_HS) {
		out = scratch + m->dim;
		output_all(m, hidden, out);
	}
	return predict(m, hidden, out, k, threshold, labels, probs, scratch);
}

int ft_predict_logits(const ft_model *m, float *logits, int k, float threshold, int32_t *labels,
		      float *probs, float *scratch)
{
	return predict(m, NULL, logits, k, threshold, labels, probs, scratch);
}

int ft_predict(const ft_model *m, const int32_t *ids, size_t n_ids, int k, float threshold,
	       int32_t *labels, float *probs, float *scratch)
{
	if (n_ids == 0) /* FastText::predict returns nothing for an empty line */
		return 0;
	ft_hidden(m, ids, n_ids, scratch);
	return ft_predict_hidden(m, scratch, k, threshold, labels, probs, scratch);
}

/* ======================================================================
 * Labels and description
 * ==================================================================== */

const char *ft_label_raw(const ft_model *m, int32_t idx, size_t *len)
{
	if (idx < 0 || idx >= m->nlabels)
		return NULL;
	const ft_word *e = &m->words[m->nwords + idx];
	*len = e->len;
	return e->text;
}

const char *ft_label(const ft_model *m, int32_t idx, size_t *len)
{
	const char *s = ft_label_raw(m, idx, len);
	size_t plen = strlen(m->label_prefix);
	if (s && *len >= plen && memcmp(s, m->label_prefix, plen) == 0) {
		*len -= plen;
		s += plen;
	}
	return s;
}

static void describe_matrix(FILE *f, const char *name, const ft_matrix *x)
{
	fprintf(f, "%s: %lld x %lld", name, (long long)x->rows, (long long)x->cols);
	if (x->quantized)
		fprintf(f, ", quantized (%d sub-quantizers of %d dims, last %d, 256 centroids%s)\n",
			x->nsubq, x->dsub, x->lastdsub, x->qnorm ? ", quantized norms" : "");
	else
		fprintf(f, ", float32\n");
}

void ft_describe(const ft_model *m, FILE *f)
{
	static const char *losses[] = {"", "hs (hierarchical softmax)", "ns (negative sampling)",
				       "softmax", "ova (one-vs-all)"};
	fprintf(f, "format: fastText version %d%s\n", m->version,
		m->quantized_input ? ", quantized (.ftz)" : "");
	fprintf(f, "model: supervised\n");
	fprintf(f, "loss: %s\n", losses[m->loss]);
	fprintf(f, "dim: %d\n", m->dim);
	fprintf(f, "labels: %d\n", m->nlabels);
	for (int32_t i = 0; i < m->nlabels; i++) {
		const ft_word *e = &m->words[m->nwords + i];
		fprintf(f, "label: %.*s (count %lld)\n", (int)e->len, e->text, (long long)e->count);
	}
	fprintf(f, "vocabulary: %d words\n", m->nwords);
	fprintf(f, "training tokens: %lld\n", (long long)m->ntokens);
	fprintf(f, "word n-grams: %d\n", m->word_ngrams);
	if (has_subwords(m))
		fprintf(f, "char n-grams: %d to %d\n", m->minn, m->maxn);
	else
		fprintf(f, "char n-grams: none (minn %d, maxn %d)\n", m->minn, m->maxn);
	fprintf(f, "buckets: %d\n", m->bucket);
	if (m->prune_size >= 0)
		fprintf(f, "pruned: %lld buckets kept\n", (long long)m->prune_size);
	describe_matrix(f, "input", &m->input);
	describe_matrix(f, "output", &m->output);
	fprintf(f, "training: epoch %d, ws %d, minCount %d, neg %d, lrUpdateRate %d, t %g\n", m->epoch,
		m->ws, m->min_count, m->neg, m->lr_update_rate, m->t);
}
