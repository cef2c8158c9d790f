/* fasttext_backend.c: fastText supervised classifiers as a binfer backend.
 *
 * The model file is mmapped by model_load (fastText's matrices are used in
 * place where aligned); ft_* in ft_model.c does the exact work: tokens and hashes,
 * hidden vector, output layer, softmax / one-vs-all / hierarchical
 * softmax, top-k with threshold, all as `fasttext predict-prob` does. Each
 * compute thread scores its own block of rows, so rows scale with cores. */
#include <stdlib.h>
#include <string.h>

#include "fasttext.h"
#include "model.h"

#define FT_ROW_IDS_MAX ((size_t)1 << 24) /* ids of one row: 64 MiB of scratch */

typedef struct ft_backend {
	ft_model ft;
	int k;          /* labels per row asked for: top_k, or all */
	float threshold;
} ft_backend;

static void ftb_free(model *m)
{
	ft_backend *b = m->impl;
	if (!b)
		return;
	ft_free(&b->ft);
	free(b);
	m->impl = NULL;
}

static int ftb_options(void *opts, const job_spec *spec, bf_error *err)
{
	(void)err;
	ft_options *o = opts;
	o->top_k = spec->model.top_k;
	o->threshold = spec->model.threshold;
	return BF_OK;
}

/* The matrices are used in place in the mapped file. */
static int ftb_load(model *m, const model_file *file, const void *opts, bf_error *err)
{
	static const ft_options defaults = {.top_k = 1};
	const ft_options *opt = opts ? opts : &defaults;
	ft_backend *b = calloc(1, sizeof *b);
	if (!b)
		return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	m->impl = b;
	m->keeps_file = 1;
	int rc = ft_load(&b->ft, file->data ? file->data : "", file->size, m->path, err);
	if (rc)
		return rc;
	const ft_model *f = &b->ft;
	int top_k = opt->top_k ? opt->top_k : 1;
	b->k = top_k < 0 || top_k > f->nlabels ? f->nlabels : top_k;
	b->threshold = (float)opt->threshold;
	m->classes = calloc((size_t)f->nlabels + 1, sizeof *m->classes);
	if (!m->classes)
		return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	for (int32_t i = 0; i < f->nlabels; i++, m->n_classes++) {
		size_t len;
		const char *label = ft_label(f, i, &len);
		if (!(m->classes[i] = strndup(label, len)))
			return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	}
	m->text_input = 1;
	m->task = MODEL_TASK_TAGS;
	m->top_k = (size_t)b->k;
	m->n_outputs = 2 * (size_t)b->k + 1;
	m->n_params = (uint64_t)f->input.rows * (uint64_t)f->dim + (uint64_t)f->output.rows * (uint64_t)f->dim;
	/* A row's ids (words, char n-grams, word n-grams) take scratch in
	 * proportion to its length, more for a model of long n-grams: a text
	 * that would need more than FT_ROW_IDS_MAX ids is rejected, not a
	 * reason to fail the run. The largest length within the bound: */
	size_t lo = 0, hi = (size_t)1 << 32;
	while (lo + 1 < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ft_ids_bound(f, mid) <= FT_ROW_IDS_MAX)
			lo = mid;
		else
			hi = mid;
	}
	m->max_text_bytes = lo;
	return BF_OK;
}

static int ftb_predict_text(const model *m, const text_span *text, size_t n, double *out, arena *a)
{
	const ft_backend *b = m->impl;
	const ft_model *f = &b->ft;
	size_t no = m->n_outputs, k = (size_t)b->k;
	int32_t *labels = arena_alloc(a, (k + 1) * sizeof *labels);
	float *probs = arena_alloc(a, (k + 1) * sizeof *probs);
	float *scratch = arena_alloc(a, ft_scratch_floats(f) * sizeof *scratch);
	if (!labels || !probs || !scratch)
		return -1;
	size_t cap = 0;
	int32_t *ids = NULL;
	for (size_t r = 0; r < n; r++) {
		double *o = out + r * no;
		size_t need = ft_ids_bound(f, text[r].len);
		if (need > cap) {
			cap = need * 2;
			if (!(ids = arena_alloc(a, cap * sizeof *ids)))
				return -1;
		}
		size_t n_tokens = 0;
		size_t n_ids = ft_tokenize(f, text[r].ptr, text[r].len, ids, cap, &n_tokens);
		if (n_ids == FT_IDS_OVERFLOW)
			return -1;
		int got = ft_predict(f, ids, n_ids, b->k, b->threshold, labels, probs, scratch);
		for (size_t j = 0; j < k; j++) {
			o[2 * j] = (int)j < got ? labels[j] : -1;
			o[2 * j + 1] = (int)j < got ? probs[j] : 0;
		}
		o[no - 1] = (double)n_tokens;
	}
	return 0;
}

static void ftb_describe(const model *m, FILE *f)
{
	const ft_backend *b = m->impl;
	ft_describe(&b->ft, f);
}

const model_backend fasttext_backend = {
	.options_size = sizeof(ft_options),
	.options = ftb_options,
	.load = ftb_load,
	.predict_text = ftb_predict_text,
	.describe = ftb_describe,
	.free = ftb_free,
};
