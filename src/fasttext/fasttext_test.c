/* fasttext_test.c: the fastText backend against fastText itself.
 *
 * testdata/fasttext/ (scripts/ref/make_fasttext_testdata.sh) holds models trained
 * by Debian's fastText 0.9.2 and what `fasttext predict-prob` printed for every
 * test line; cases.txt lists them. Each case is one test: every line must give
 * the same labels in the same order and probabilities within 1e-5 of the
 * printed ones, and, where the .exact file exists, the same float32 bits.
 * Then: hash vectors, the tokenizer on a model built here byte by byte,
 * corrupt and truncated files, and the fuzzer's saved inputs. Run from the
 * repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fasttext.h"
#include "model.h"

#define DIR_DATA "testdata/fasttext/"
#define DIR_FUZZ "testdata/fuzz/fasttext/"

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *p = malloc(cap);
	size_t got;
	while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			p = realloc(p, cap *= 2);
	}
	fclose(f);
	if (!p)
		return NULL;
	/* An exact-size copy, so that ASan sees any read past the end. */
	char *exact = malloc(n ? n : 1);
	memcpy(exact, p, n);
	free(p);
	*len = n;
	return exact;
}

/* Splits s[0..len) at '\n' (the last line ends with one). Returns the count. */
static size_t split_lines(char *s, size_t len, char ***lines, size_t **lens)
{
	size_t n = 0, cap = 64;
	*lines = malloc(cap * sizeof **lines);
	*lens = malloc(cap * sizeof **lens);
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\n')
			continue;
		if (n == cap) {
			cap *= 2;
			*lines = realloc(*lines, cap * sizeof **lines);
			*lens = realloc(*lens, cap * sizeof **lens);
		}
		(*lines)[n] = s + start;
		(*lens)[n] = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static void expect_error(const char *data, size_t len, const char *needle);

/* ---- the recorded fastText predictions ------------------------------- */

typedef struct ft_case {
	char model[64], test[64], name[16];
	int k;
	float threshold;
	char title[160];
} ft_case;

typedef struct pred {
	char label[128];
	double p;
} pred;

/* Parses "label p label p ..." into at most cap predictions; -1 when malformed. */
static int parse_preds(const char *line, size_t len, pred *out, int cap)
{
	int n = 0;
	size_t i = 0;
	while (i < len) {
		size_t a = i;
		while (i < len && line[i] != ' ')
			i++;
		size_t b = ++i;
		while (i < len && line[i] != ' ')
			i++;
		if (b > len || n == cap || b - a - 1 >= sizeof out[n].label)
			return -1;
		memcpy(out[n].label, line + a, b - a - 1);
		out[n].label[b - a - 1] = 0;
		char num[64];
		size_t nl = i - b < sizeof num - 1 ? i - b : sizeof num - 1;
		memcpy(num, line + b, nl);
		num[nl] = 0;
		out[n].p = strtod(num, NULL);
		n++;
		i++;
	}
	return n;
}

static void run_case(void **state)
{
	const ft_case *c = *state;
	char path[256];
	size_t mlen, tlen, elen, xlen = 0;
	snprintf(path, sizeof path, DIR_DATA "%s", c->model);
	char *mdata = read_all(path, &mlen);
	assert_non_null(mdata);
	ft_model m;
	bf_error err = {0};
	int rc = ft_load(&m, mdata, mlen, path, &err);
	if (rc != BF_OK)
		fail_msg("%s: %s", path, err.message);
	snprintf(path, sizeof path, DIR_DATA "%s", c->test);
	char *tdata = read_all(path, &tlen);
	assert_non_null(tdata);
	char stem[64];
	snprintf(stem, sizeof stem, "%.*s", (int)(strrchr(c->model, '.') - c->model), c->model);
	snprintf(path, sizeof path, DIR_DATA "%s.%s.expected", stem, c->name);
	char *edata = read_all(path, &elen);
	assert_non_null(edata);
	snprintf(path, sizeof path, DIR_DATA "%s.%s.exact", stem, c->name);
	char *xdata = read_all(path, &xlen);

	char **tl, **el, **xl = NULL;
	size_t *tn, *en, *xn = NULL;
	size_t nt = split_lines(tdata, tlen, &tl, &tn);
	size_t ne = split_lines(edata, elen, &el, &en);
	size_t nx = xdata ? split_lines(xdata, xlen, &xl, &xn) : 0;
	assert_int_equal(nt, ne);
	if (xdata)
		assert_int_equal(nt, nx);

	size_t nl = (size_t)m.nlabels;
	int32_t *labels = malloc(nl * sizeof *labels);
	float *probs = malloc(nl * sizeof *probs);
	float *scratch = malloc(ft_scratch_floats(&m) * sizeof *scratch);
	float *logits = malloc(nl * sizeof *logits), *probs2 = malloc(nl * sizeof *probs2);
	int32_t *labels2 = malloc(nl * sizeof *labels2);
	pred *want = malloc((nl + 1) * sizeof *want);
	size_t rows_ok = 0, exact_ok = 0, shown = 0, n_preds = 0;
	for (size_t i = 0; i < nt; i++) {
		size_t cap = ft_ids_bound(&m, tn[i]), ntok;
		int32_t *ids = malloc(cap * sizeof *ids);
		size_t nid = ft_tokenize(&m, tl[i], tn[i], ids, cap, &ntok);
		assert_true(nid != FT_IDS_OVERFLOW);
		int got = ft_predict(&m, ids, nid, c->k, c->threshold, labels, probs, scratch);
		/* The batched path: hidden, then all logits, then the loss. */
		if (nid) {
			float *hidden = malloc((size_t)m.dim * sizeof *hidden);
			ft_hidden(&m, ids, nid, hidden);
			for (size_t j = 0; j < nl; j++)
				logits[j] = ft_matrix_dot(&m.output, (int64_t)j, hidden);
			free(hidden);
			int got2 = ft_predict_logits(&m, logits, c->k, c->threshold, labels2, probs2, scratch);
			assert_int_equal(got, got2);
			assert_memory_equal(labels, labels2, (size_t)got * sizeof *labels);
			assert_memory_equal(probs, probs2, (size_t)got * sizeof *probs);
		}
		free(ids);
		int nw = parse_preds(el[i], en[i], want, (int)nl + 1);
		int ok = nw == got;
		for (int j = 0; ok && j < got; j++) {
			size_t ll;
			const char *l = ft_label_raw(&m, labels[j], &ll);
			ok = ll == strlen(want[j].label) && memcmp(l, want[j].label, ll) == 0 &&
			     fabs(probs[j] - want[j].p) <= 1e-5;
		}
		rows_ok += ok;
		n_preds += got > 0 ? (size_t)got : 0;
		int xok = 1;
		if (xdata) {
			int nxw = parse_preds(xl[i], xn[i], want, (int)nl + 1);
			xok = nxw == got;
			for (int j = 0; xok && j < got; j++) {
				size_t ll;
				const char *l = ft_label_raw(&m, labels[j], &ll);
				xok = ll == strlen(want[j].label) && memcmp(l, want[j].label, ll) == 0 &&
				      probs[j] == (float)want[j].p;
			}
			exact_ok += xok;
		}
		if ((!ok || !xok) && shown++ < 3) {
			print_message("%s %s line %zu: want \"%.*s\"\n  exact \"%.*s\"\n  got ", c->model,
				      c->name, i + 1, (int)en[i], el[i], xdata ? (int)xn[i] : 0,
				      xdata ? xl[i] : "");
			for (int j = 0; j < got; j++) {
				size_t ll;
				const char *l = ft_label_raw(&m, labels[j], &ll);
				print_message("%.*s %.9g ", (int)ll, l, probs[j]);
			}
			print_message("\n");
		}
	}
	print_message("%-20s %-5s k=%-2d threshold=%-4g %zu/%zu rows match predict-prob (%zu labels)",
		      c->model, c->name, c->k, c->threshold, rows_ok, nt, n_preds);
	if (xdata)
		print_message(", %zu/%zu bit-exact", exact_ok, nt);
	print_message("\n");
	assert_int_equal(rows_ok, nt);
	if (xdata)
		assert_int_equal(exact_ok, nt);
	free(labels), free(probs), free(scratch), free(want), free(logits), free(probs2), free(labels2);
	free(tl), free(tn), free(el), free(en), free(xl), free(xn);
	free(tdata), free(edata), free(xdata);
	ft_free(&m);
	free(mdata);
}

/* ---- hash ------------------------------------------------------------- */

static void test_hash_vectors(void **state)
{
	/* ASCII bytes are positive as int8, so these are plain 32-bit FNV-1a:
	 * "" = offset basis 0x811c9dc5; "a": (0x811c9dc5 ^ 0x61) * 16777619 = 0xe40c292c;
	 * "foobar" = 0xbf9cf968 (the FNV test suite's values). */
	assert_int_equal(ft_hash("", 0), 0x811c9dc5u);
	assert_int_equal(ft_hash("a", 1), 0xe40c292cu);
	assert_int_equal(ft_hash("foobar", 6), 0xbf9cf968u);
	assert_int_equal(ft_hash("</s>", 4), 0xd79c9359u);
	/* "é" = C3 A9. Signed, 0xC3 is -61 -> 0xffffffc3:
	 *   0x811c9dc5 ^ 0xffffffc3 = 0x7ee36206, * 16777619 = 0xc5f34f72
	 *   0xc5f34f72 ^ 0xffffffa9 = 0x3a0cb0db, * 16777619 = 0x3cfa68c1
	 * (unsigned FNV-1a would give 0x1e9de8c1). */
	assert_int_equal(ft_hash("\xc3\xa9", 2), 0x3cfa68c1u);
	assert_int_not_equal(ft_hash("\xc3\xa9", 2), 0x1e9de8c1u);
	assert_int_equal(ft_hash("caf\xc3\xa9", 5), 0x7572c049u);
	assert_int_equal(ft_hash("\xe4\xb8\xad", 3), 0xea46dcf4u); /* 中 */
}

/* ---- a model written here, byte by byte ------------------------------ */

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static void put(buf *b, const void *v, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void put_i32(buf *b, int32_t v) { put(b, &v, 4); }
static void put_i64(buf *b, int64_t v) { put(b, &v, 8); }
static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }

typedef struct spec {
	int32_t dim, word_ngrams, loss, bucket, minn, maxn;
	const char **words;
	int32_t nwords;
	const char **labels;
	int32_t nlabels;
	int64_t prune_size;        /* -1: none */
	const int32_t *prune;      /* (prune_size, 2) */
	int quant;                 /* write a quantized input (dsub 2, qnorm) */
} spec;

/* Offsets of some fields, for breaking them. */
typedef struct layout {
	size_t dim, loss, dict, input, output;
} layout;

static float weight(int64_t r, int64_t c) { return (float)((r * 7 + c * 3) % 11) / 10.0f - 0.5f; }

static buf build(const spec *s, layout *lay)
{
	buf b = {0};
	put_i32(&b, 793712314);
	put_i32(&b, 12);
	if (lay)
		lay->dim = b.n;
	int32_t args[12] = {s->dim, 5, 5, 1, 5, s->word_ngrams, s->loss, 3, s->bucket, s->minn, s->maxn, 100};
	if (lay)
		lay->loss = b.n + 24;
	for (int i = 0; i < 12; i++)
		put_i32(&b, args[i]);
	double t = 1e-4;
	put(&b, &t, 8);
	if (lay)
		lay->dict = b.n;
	put_i32(&b, s->nwords + s->nlabels);
	put_i32(&b, s->nwords);
	put_i32(&b, s->nlabels);
	put_i64(&b, 1000);
	put_i64(&b, s->prune_size);
	for (int32_t i = 0; i < s->nwords + s->nlabels; i++) {
		const char *w = i < s->nwords ? s->words[i] : s->labels[i - s->nwords];
		put(&b, w, strlen(w) + 1);
		put_i64(&b, 100 - i);
		put_u8(&b, i >= s->nwords);
	}
	for (int64_t i = 0; i < s->prune_size; i++) {
		put_i32(&b, s->prune[2 * i]);
		put_i32(&b, s->prune[2 * i + 1]);
	}
	int64_t rows = s->nwords + (s->prune_size >= 0 ? s->prune_size : s->bucket);
	put_u8(&b, (uint8_t)s->quant);
	if (lay)
		lay->input = b.n;
	if (!s->quant) {
		put_i64(&b, rows);
		put_i64(&b, s->dim);
		for (int64_t r = 0; r < rows; r++)
			for (int64_t c = 0; c < s->dim; c++) {
				float v = weight(r, c);
				put(&b, &v, 4);
			}
	} else {
		int32_t dsub = 2, nsubq = (s->dim + 1) / 2, last = s->dim % 2 ? 1 : 2;
		put_u8(&b, 1);
		put_i64(&b, rows);
		put_i64(&b, s->dim);
		put_i32(&b, (int32_t)(rows * nsubq));
		for (int64_t i = 0; i < rows * nsubq; i++)
			put_u8(&b, (uint8_t)(i * 37));
		put_i32(&b, s->dim);
		put_i32(&b, nsubq);
		put_i32(&b, dsub);
		put_i32(&b, last);
		for (int64_t i = 0; i < (int64_t)s->dim * 256; i++) {
			float v = weight(i, 1);
			put(&b, &v, 4);
		}
		for (int64_t r = 0; r < rows; r++)
			put_u8(&b, (uint8_t)(r * 5));
		put_i32(&b, 1), put_i32(&b, 1), put_i32(&b, 1), put_i32(&b, 1);
		for (int i = 0; i < 256; i++) {
			float v = 0.5f + (float)i / 256.0f;
			put(&b, &v, 4);
		}
	}
	put_u8(&b, 0);
	if (lay)
		lay->output = b.n;
	put_i64(&b, s->nlabels);
	put_i64(&b, s->dim);
	for (int64_t r = 0; r < s->nlabels; r++)
		for (int64_t c = 0; c < s->dim; c++) {
			float v = weight(r + 3, c);
			put(&b, &v, 4);
		}
	return b;
}

static const char *tiny_words[] = {"</s>", "ab", "b", "\xc3\xa9", "x"};
static const char *tiny_labels[] = {"__label__one", "__label__two", "three"};

static spec tiny(void)
{
	spec s = {.dim = 3, .word_ngrams = 2, .loss = 3, .bucket = 1000, .minn = 1, .maxn = 2,
		  .words = tiny_words, .nwords = 5, .labels = tiny_labels, .nlabels = 3, .prune_size = -1};
	return s;
}

static int load_spec(const spec *s, ft_model *m, buf *b)
{
	*b = build(s, NULL);
	bf_error err = {0};
	int rc = ft_load(m, b->p, b->n, "tiny.bin", &err);
	if (rc)
		print_message("load: %s\n", err.message);
	return rc;
}

static size_t tokens(const ft_model *m, const char *text, int32_t *ids, size_t *ntok)
{
	size_t len = strlen(text);
	size_t cap = ft_ids_bound(m, len);
	assert_true(cap <= 4096);
	return ft_tokenize(m, text, len, ids, cap, ntok);
}

static int32_t bucket_of(const ft_model *m, const char *s)
{
	return m->nwords + (int32_t)(ft_hash(s, strlen(s)) % (uint32_t)m->bucket);
}

static int32_t bigram(const ft_model *m, const char *a, const char *b)
{
	uint64_t h = (uint64_t)(int64_t)(int32_t)ft_hash(a, strlen(a));
	h = h * 116049371u + (uint64_t)(int64_t)(int32_t)ft_hash(b, strlen(b));
	return m->nwords + (int32_t)(h % (uint64_t)m->bucket);
}

static void test_tokenize_rules(void **state)
{
	spec s = tiny();
	ft_model m;
	buf b;
	assert_int_equal(load_spec(&s, &m, &b), BF_OK);
	assert_int_equal(m.eos, 0);
	int32_t ids[4096], ids2[4096];
	size_t ntok;

	/* "ab": its id, then the char n-grams of "<ab>" for n = 1..2 in start
	 * order, without the lone "<" and ">"; then "</s>" (id only, no n-grams);
	 * then the bigrams (ab, </s>). */
	size_t n = tokens(&m, "ab", ids, &ntok);
	int32_t want[] = {1, bucket_of(&m, "<a"), bucket_of(&m, "a"), bucket_of(&m, "ab"),
			  bucket_of(&m, "b"), bucket_of(&m, "b>"), 0, bigram(&m, "ab", "</s>")};
	assert_int_equal(n, sizeof want / sizeof *want);
	assert_memory_equal(ids, want, sizeof want);
	assert_int_equal(ntok, 2);

	/* A 2-byte character is one character: "<é>" gives "<é", "é", "é>". */
	n = tokens(&m, "\xc3\xa9", ids, &ntok);
	int32_t want_e[] = {3, bucket_of(&m, "<\xc3\xa9"), bucket_of(&m, "\xc3\xa9"),
			    bucket_of(&m, "\xc3\xa9>"), 0, bigram(&m, "\xc3\xa9", "</s>")};
	assert_int_equal(n, sizeof want_e / sizeof *want_e);
	assert_memory_equal(ids, want_e, sizeof want_e);

	/* An unknown word still gives its n-grams and its hash in the bigrams. */
	n = tokens(&m, "zq", ids, &ntok);
	int32_t want_z[] = {bucket_of(&m, "<z"), bucket_of(&m, "z"), bucket_of(&m, "zq"),
			    bucket_of(&m, "q"), bucket_of(&m, "q>"), 0, bigram(&m, "zq", "</s>")};
	assert_int_equal(n, sizeof want_z / sizeof *want_z);
	assert_memory_equal(ids, want_z, sizeof want_z);

	/* Whitespace: ' ' \t \v \f \r \0, and \n inside the text, all separate alike. */
	size_t n1 = tokens(&m, "ab b x", ids, &ntok);
	assert_int_equal(ntok, 4);
	const char odd[] = "\t ab\v\f b\r\0\nx  ";
	size_t n2 = ft_tokenize(&m, odd, sizeof odd - 1, ids2, ft_ids_bound(&m, sizeof odd - 1), &ntok);
	assert_int_equal(n1, n2);
	assert_memory_equal(ids, ids2, n1 * sizeof *ids);
	assert_int_equal(ntok, 4);

	/* Labels, known or not, are skipped: no id, no n-grams, no bigram. */
	n1 = tokens(&m, "ab b", ids, &ntok);
	n2 = tokens(&m, "__label__one ab __label__nope b three", ids2, &ntok);
	assert_int_equal(ntok, 6);
	assert_int_equal(n1, n2);
	assert_memory_equal(ids, ids2, n1 * sizeof *ids);

	/* A literal "</s>" ends the line. */
	n2 = tokens(&m, "ab b </s> x x x", ids2, &ntok);
	assert_int_equal(n1, n2);
	assert_memory_equal(ids, ids2, n1 * sizeof *ids);
	assert_int_equal(ntok, 3);

	/* Empty and blank lines are "</s>" alone. */
	n = tokens(&m, "", ids, &ntok);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ntok, 1);
	n = tokens(&m, " \t ", ids, &ntok);
	assert_int_equal(n, 1);

	/* Too small a buffer is reported, never overrun. */
	for (size_t cap = 0; cap < 8; cap++)
		assert_true(ft_tokenize(&m, "ab b", 4, ids, cap, NULL) == FT_IDS_OVERFLOW);
	assert_true(ft_tokenize(&m, "ab b", 4, ids, n1 + 3, NULL) == n1); /* + 3 word hashes */

	/* Predictions are sorted and sum to ~1 for softmax. */
	float scratch[256], probs[3];
	int32_t labels[3];
	assert_true(ft_scratch_floats(&m) <= 256);
	n = tokens(&m, "ab b x", ids, NULL);
	int got = ft_predict(&m, ids, n, -1, 0.0f, labels, probs, scratch);
	assert_int_equal(got, 3);
	double sum = 0;
	for (int i = 0; i < got; i++)
		sum += probs[i] - 1e-5;
	assert_true(fabs(sum - 1) < 1e-5);
	assert_true(probs[0] >= probs[1] && probs[1] >= probs[2]);
	assert_int_equal(ft_predict(&m, ids, n, 0, 0.0f, labels, probs, scratch), 0);
	assert_int_equal(ft_predict(&m, ids, 0, 3, 0.0f, labels, probs, scratch), 0);
	assert_int_equal(ft_predict(&m, ids, n, 3, 2.0f, labels, probs, scratch), 0);

	size_t ll;
	const char *l = ft_label(&m, 1, &ll);
	assert_int_equal(ll, 3);
	assert_memory_equal(l, "two", 3);
	l = ft_label(&m, 2, &ll);
	assert_int_equal(ll, 5);
	assert_memory_equal(l, "three", 5);
	l = ft_label_raw(&m, 0, &ll);
	assert_int_equal(ll, 12);
	assert_null(ft_label(&m, 3, &ll));
	assert_null(ft_label(&m, -1, &ll));
	ft_free(&m);
	free(b.p);
}

static void test_tokenize_pruned(void **state)
{
	spec s = tiny();
	s.word_ngrams = 1;
	s.minn = 2;
	s.maxn = 2;
	ft_model m;
	buf b;
	/* Keep only the buckets of "<a" (-> row 1) and "b>" (-> row 0). */
	uint32_t h1 = ft_hash("<a", 2) % 1000, h2 = ft_hash("b>", 2) % 1000;
	int32_t prune[] = {(int32_t)h1, 1, (int32_t)h2, 0};
	s.prune = prune;
	s.prune_size = 2;
	s.quant = 1;
	assert_int_equal(load_spec(&s, &m, &b), BF_OK);
	int32_t ids[4096];
	size_t n = tokens(&m, "ab", ids, NULL);
	int32_t want[] = {1, 5 + 1, 5 + 0, 0};
	assert_int_equal(n, 4);
	assert_memory_equal(ids, want, sizeof want);
	float scratch[256];
	int32_t labels[3];
	float probs[3];
	assert_int_equal(ft_predict(&m, ids, n, 2, 0.0f, labels, probs, scratch), 2);
	ft_free(&m);
	free(b.p);

	/* A bucket listed twice, a row out of range. */
	prune[2] = prune[0];
	b = build(&s, NULL);
	expect_error(b.p, b.n, "pruning index lists bucket");
	free(b.p);
	prune[2] = (int32_t)h2;
	prune[3] = 2;
	b = build(&s, NULL);
	expect_error(b.p, b.n, "to row 2, outside 1000 buckets and 2 rows");
	free(b.p);

	/* pruneidx_size 0: no n-gram rows at all, words only. */
	s.prune_size = 0;
	assert_int_equal(load_spec(&s, &m, &b), BF_OK);
	n = tokens(&m, "ab zz", ids, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 0);
	ft_free(&m);
	free(b.p);
}

/* Version 11 supervised models predate char n-grams: maxn reads as 0. */
static void test_version11(void **state)
{
	spec s = tiny();
	buf b = build(&s, NULL);
	int32_t v11 = 11;
	memcpy(b.p + 4, &v11, 4);
	ft_model m;
	bf_error err = {0};
	assert_int_equal(ft_load(&m, b.p, b.n, "v11.bin", &err), BF_OK);
	assert_int_equal(m.maxn, 0);
	int32_t ids[4096];
	size_t n = tokens(&m, "ab zz", ids, NULL);
	int32_t want[] = {1, 0, bigram(&m, "ab", "zz"), bigram(&m, "zz", "</s>")};
	assert_int_equal(n, 4);
	assert_memory_equal(ids, want, sizeof want);
	ft_free(&m);
	free(b.p);
}

static void test_hs_tree(void **state)
{
	/* Label counts 95, 94, 93 (build writes 100 - i): leaves 2 and 1 merge first
	 * (node 3 = {2, 1}), then leaf 0 with node 3 (node 4 = {0, 3}, the root). */
	spec s = tiny();
	s.loss = 1;
	s.nwords = 5;
	ft_model m;
	buf b;
	assert_int_equal(load_spec(&s, &m, &b), BF_OK);
	assert_int_equal(m.tree_left[3], 2);
	assert_int_equal(m.tree_right[3], 1);
	assert_int_equal(m.tree_left[4], 0);
	assert_int_equal(m.tree_right[4], 3);
	int32_t ids[4096], labels[3];
	float scratch[256], probs[3];
	size_t n = tokens(&m, "ab b", ids, NULL);
	int got = ft_predict(&m, ids, n, -1, 0.0f, labels, probs, scratch);
	assert_int_equal(got, 3);
	double sum = 0;
	for (int i = 0; i < got; i++)
		sum += probs[i];
	assert_true(fabs(sum - 1) < 1e-4);
	ft_free(&m);
	free(b.p);

	/* One label: the root is the leaf, probability 1. */
	s.nlabels = 1;
	assert_int_equal(load_spec(&s, &m, &b), BF_OK);
	got = ft_predict(&m, ids, n, 5, 0.0f, labels, probs, scratch);
	assert_int_equal(got, 1);
	assert_true(probs[0] == 1.0f && labels[0] == 0);
	ft_free(&m);
	free(b.p);
}

/* ---- corrupt and truncated files ------------------------------------- */

static void expect_error(const char *data, size_t len, const char *needle)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	ft_model m;
	bf_error err = {0};
	int rc = ft_load(&m, copy, len, "bad.bin", &err);
	if (rc != BF_EMODEL || !strstr(err.message, needle))
		fail_msg("len %zu: rc %d, message \"%s\", expected \"%s\"", len, rc, err.message, needle);
	assert_string_equal(err.path, "bad.bin");
	assert_non_null(strstr(err.message, "byte "));
	assert_null(m.words);
	free(copy);
}

static void test_corrupt_fields(void **state)
{
	spec s = tiny();
	layout lay;
	buf b = build(&s, &lay);
	char *p = b.p;
	int32_t v;
#define WITH(off, val, needle)                                          \
	do {                                                            \
		memcpy(&v, p + (off), 4);                               \
		int32_t nv = (val);                                     \
		memcpy(p + (off), &nv, 4);                              \
		expect_error(p, b.n, needle);                           \
		memcpy(p + (off), &v, 4);                               \
	} while (0)
	WITH(0, 793712315, "not a fastText model");
	WITH(4, 13, "version 13");
	WITH(4, 10, "version 10");
	WITH(lay.dim, 4, "matrix dims disagree");
	WITH(lay.dim, 0, "dim is 0");
	WITH(lay.loss, 5, "loss is 5");
	WITH(lay.loss + 4, 1, "cbow");
	WITH(lay.loss + 4, 7, "model is 7");
	WITH(lay.loss + 8, -1, "bucket is -1");
	WITH(lay.loss + 8, 999, "input matrix has");
	WITH(lay.dict, 9, "is not nwords");
	WITH(lay.dict + 8, 0, "is not nwords");
	WITH(lay.dict, 0x7fffffff, "is not nwords");
	WITH(lay.input, 12, "");                 /* rows: the rest no longer parses */
	WITH(lay.input + 8, 4, "file ends inside the input matrix");
	WITH(lay.output, 2, "output matrix has 2 rows, expected one per label (3)");
	WITH(lay.output + 8, 4, "file ends inside the output matrix: 12 floats (48 bytes) needed, 36 left");
	/* The first entry ("</s>") typed as a label; the quant_input flag 2. */
	size_t type_at = lay.dict + 28 + 5 + 8;
	p[type_at] = 1;
	expect_error(p, b.n, "entry 0 (\"</s>\") has type 1, expected 0 (word)");
	p[type_at] = 0;
	p[lay.input - 1] = 2;
	expect_error(p, b.n, "quant_input flag is 2");
	p[lay.input - 1] = 0;
#undef WITH
	/* A trailing byte. */
	put_u8(&b, 0);
	expect_error(b.p, b.n, "1 bytes after the output matrix");
	b.n--;
	/* Every cut point of the small model. */
	for (size_t cut = 0; cut < b.n; cut++)
		expect_error(b.p, cut, "");
	free(b.p);

	/* Quantized: broken product quantizer fields. */
	s.quant = 1;
	b = build(&s, &lay);
	size_t codes = 1 + 8 + 8 + 4 + (size_t)(s.nwords + s.bucket) * 2;
	size_t pq = lay.input + codes;
	memcpy(&v, b.p + pq + 4, 4);
	int32_t bad_nsubq = 3;
	memcpy(b.p + pq + 4, &bad_nsubq, 4);
	expect_error(b.p, b.n, "do not fit dim");
	memcpy(b.p + pq + 4, &v, 4);
	int32_t bad_dim = 4;
	memcpy(b.p + pq, &bad_dim, 4);
	expect_error(b.p, b.n, "nsubq 2 and lastdsub 1 do not fit dim 4");
	free(b.p);
}

static void truncate_model(const char *name)
{
	char path[256];
	size_t len;
	snprintf(path, sizeof path, DIR_DATA "%s", name);
	char *data = read_all(path, &len);
	assert_non_null(data);
	size_t cuts = 0;
	/* Every byte through the dictionary header and first entries, then a
	 * spread of cut points through the rest. */
	for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 997 + cut / 64) {
		expect_error(data, cut, "byte ");
		cuts++;
	}
	expect_error(data, len - 1, "file ends inside");
	ft_model m;
	bf_error err = {0};
	assert_int_equal(ft_load(&m, data, len, path, &err), BF_OK);
	ft_free(&m);
	print_message("%s: %zu truncations rejected\n", name, cuts + 1);
	free(data);
}

static void test_truncated_bin(void **state) { truncate_model("softmax_subword.bin"); }
static void test_truncated_hs(void **state) { truncate_model("hs_trigram.bin"); }
static void test_truncated_ftz(void **state) { truncate_model("subword_q.ftz"); }
static void test_truncated_qout(void **state) { truncate_model("ova_qout.ftz"); }

static void test_describe(void **state)
{
	char path[] = DIR_DATA "subword_q.ftz";
	size_t len;
	char *data = read_all(path, &len);
	ft_model m;
	bf_error err = {0};
	assert_int_equal(ft_load(&m, data, len, path, &err), BF_OK);
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	ft_describe(&m, f);
	fclose(f);
	assert_non_null(strstr(out, "loss: softmax\n"));
	assert_non_null(strstr(out, "dim: 10\n"));
	assert_non_null(strstr(out, "char n-grams: 3 to 6\n"));
	assert_non_null(strstr(out, "quantized norms"));
	assert_non_null(strstr(out, "label: __label__libs (count "));
	free(out);
	ft_free(&m);
	free(data);
}

/* The backend loads a model from memory as from its file (model_load_mem
 * once said "a fasttext model is a folder"), with its options, and tags a
 * text the same either way. */
static void test_backend_from_memory(void **state)
{
	char path[] = DIR_DATA "softmax_bigram.bin";
	size_t len;
	char *data = read_all(path, &len);
	model *mem, *file;
	bf_error err = {0};
	ft_options opt = {.top_k = 3};
	assert_int_equal(model_load_mem("fasttext", path, data, len, &opt, &mem, &err), BF_OK);
	assert_int_equal(model_load("fasttext", path, &opt, &file, &err), BF_OK);
	assert_int_equal(mem->n_outputs, 7);
	assert_int_equal(mem->task, MODEL_TASK_TAGS);
	assert_string_equal(mem->sha256, file->sha256);
	text_span t = {"library for reading and writing json files", 42};
	double a[7], b[7];
	arena ar;
	arena_init(&ar, 1 << 16);
	assert_int_equal(mem->backend->predict_text(mem, &t, 1, a, &ar), 0);
	assert_int_equal(file->backend->predict_text(file, &t, 1, b, &ar), 0);
	assert_memory_equal(a, b, sizeof a);
	assert_true(a[0] >= 0 && a[1] > 0 && a[1] <= 1);
	arena_free(&ar);
	model_free(mem);
	model_free(file);
	free(data);
}

/* The inputs the fuzzer saved (testdata/fuzz/fasttext/): each loads or fails
 * cleanly, and a loaded one predicts. */
static void test_fuzz_regressions(void **state)
{
	DIR *d = opendir(DIR_FUZZ);
	assert_non_null(d);
	struct dirent *e;
	size_t n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, DIR_FUZZ "%s", e->d_name);
		size_t len;
		char *data = read_all(path, &len);
		if (!data)
			continue;
		ft_model m;
		bf_error err = {0};
		if (ft_load(&m, data, len, path, &err) == BF_OK) {
			const char line[] = "ab b \xc3\xa9 __label__x zz";
			size_t cap = ft_ids_bound(&m, sizeof line - 1);
			int32_t *ids = malloc(cap * sizeof *ids);
			size_t nid = ft_tokenize(&m, line, sizeof line - 1, ids, cap, NULL);
			float *scratch = malloc(ft_scratch_floats(&m) * sizeof *scratch);
			int32_t *labels = malloc((size_t)m.nlabels * sizeof *labels);
			float *probs = malloc((size_t)m.nlabels * sizeof *probs);
			ft_predict(&m, ids, nid, -1, 0.0f, labels, probs, scratch);
			free(ids), free(scratch), free(labels), free(probs);
			ft_free(&m);
		} else {
			assert_true(err.code == BF_EMODEL || err.code == BF_ENOMEM);
		}
		free(data);
		n++;
	}
	closedir(d);
	print_message("%zu fuzz regression inputs\n", n);
}

int main(void)
{
	static ft_case cases[64];
	size_t nc = 0;
	FILE *f = fopen(DIR_DATA "cases.txt", "r");
	if (!f) {
		fprintf(stderr, "cannot open " DIR_DATA "cases.txt (run from the repository root)\n");
		return 1;
	}
	char line[512];
	while (nc < 64 && fgets(line, sizeof line, f)) {
		ft_case *c = &cases[nc];
		if (sscanf(line, "%63s %63s %d %f %15s", c->model, c->test, &c->k, &c->threshold, c->name) == 5) {
			snprintf(c->title, sizeof c->title, "predict_%s_%s", c->model, c->name);
			nc++;
		}
	}
	fclose(f);
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_tokenize_rules),
		cmocka_unit_test(test_tokenize_pruned),
		cmocka_unit_test(test_version11),
		cmocka_unit_test(test_hs_tree),
		cmocka_unit_test(test_corrupt_fields),
		cmocka_unit_test(test_truncated_bin),
		cmocka_unit_test(test_truncated_hs),
		cmocka_unit_test(test_truncated_ftz),
		cmocka_unit_test(test_truncated_qout),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_backend_from_memory),
		cmocka_unit_test(test_fuzz_regressions),
	};
	size_t nf = sizeof fixed / sizeof *fixed;
	struct CMUnitTest *tests = calloc(nf + nc, sizeof *tests);
	memcpy(tests, fixed, sizeof fixed);
	for (size_t i = 0; i < nc; i++) {
		tests[nf + i].name = cases[i].title;
		tests[nf + i].test_func = run_case;
		tests[nf + i].initial_state = &cases[i];
	}
	int rc = _cmocka_run_group_tests("fasttext", tests, nf + nc, NULL, NULL);
	free(tests);
	return rc;
}
