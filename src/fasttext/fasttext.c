/* fasttext_backend.c: fastText supervised classifiers as a binfer backend.
 *
 * The model file is mmapped (fastText's matrices are used in place where
 * aligned); ft_* in ft_model.c does the exact work: tokens and hashes,
 * hidden vector, output layer, softmax / one-vs-all / hierarchical
 * softmax, top-k with threshold, all as `fasttext predict-prob` does. Each
 * compute thread scores its own block of rows, so rows scale with cores. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fasttext.h"
#include "model.h"
#include "sha256.h"

typedef struct ft_backend {
	ft_model ft;
	void *map;
	size_t size;
	int k;          /* labels per row asked for: top_k, or all */
	float threshold;
} ft_backend;

static void ftb_free(model *m)
{
	ft_backend *b = m->impl;
	if (!b)
		return;
	ft_free(&b->ft);
	if (b->map)
		munmap(b->map, b->size);
	free(b);
	m->impl = NULL;
}

static int ftb_load_path(model *m, const char *path, const model_options *opt, bf_error *err)
{
	ft_backend *b = calloc(1, sizeof *b);
	if (!b)
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	m->impl = b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model file: %s",
				  fd >= 0 ? "not a regular file" : strerror(e));
	}
	b->size = (size_t)st.st_size;
	b->map = b->size ? mmap(NULL, b->size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (b->size && b->map == MAP_FAILED) {
		b->map = NULL;
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot map model file: %s", strerror(errno));
	}
	sha256_hex(b->map ? b->map : "", b->size, m->sha256);
	m->file_bytes = b->size;
	int rc = ft_load(&b->ft, b->map ? b->map : "", b->size, path, err);
	if (rc)
		return rc;
	const ft_model *f = &b->ft;
	int top_k = opt && opt->top_k ? opt->top_k : 1;
	if (top_k == 0)
		return bf_err_set(err, BF_ESPEC, path, 0, 0, "model.top_k must be >= 1, or -1 for all labels");
	b->k = top_k < 0 || top_k > f->nlabels ? f->nlabels : top_k;
	b->threshold = opt ? (float)opt->threshold : 0;
	m->classes = calloc((size_t)f->nlabels + 1, sizeof *m->classes);
	if (!m->classes)
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	for (int32_t i = 0; i < f->nlabels; i++, m->n_classes++) {
		size_t len;
		const char *label = ft_label(f, i, &len);
		if (!(m->classes[i] = strndup(label, len)))
			return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	}
	m->text_input = 1;
	m->task = MODEL_TASK_TAGS;
	m->top_k = (size_t)b->k;
	m->n_outputs = 2 * (size_t)b->k + 1;
	m->n_params = (uint64_t)f->input.rows * (uint64_t)f->dim + (uint64_t)f->output.rows * (uint64_t)f->dim;
	m->auto_batch_rows = 8192;
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
	.name = "fasttext",
	.load_path = ftb_load_path,
	.predict_text = ftb_predict_text,
	.describe = ftb_describe,
	.free = ftb_free,
};
