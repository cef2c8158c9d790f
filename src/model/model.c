/* model.c: picks the backend for a model kind, reads and fingerprints the file. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static const struct {
	const char *kind;
	const model_backend *backend;
} kinds[] = {
	{"logistic", &tabular_backend},
	{"linear", &tabular_backend},
	{"mlp", &tabular_backend},
	{"xgboost", &trees_backend},
	{"lightgbm", &trees_backend},
	{"bert", &bert_backend},
	{"fasttext", &fasttext_backend},
};

/* Reads a whole file; NULL with err filled on failure. */
static char *read_file(const char *path, size_t *len, bf_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model file: %s", strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		char *bigger = realloc(buf, cap * 2);
		if (!bigger) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	int failed = ferror(f);
	fclose(f);
	if (!buf) {
		bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory reading the model file");
		return NULL;
	}
	if (failed) {
		free(buf);
		bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot read model file");
		return NULL;
	}
	*len = n;
	return buf;
}

int model_load(const char *kind, const char *path, model **out, bf_error *err)
{
	return model_load_opts(kind, path, NULL, out, err);
}

int model_load_opts(const char *kind, const char *path, const model_options *opt, model **out,
		    bf_error *err)
{
	*out = NULL;
	const model_backend *backend = NULL;
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			backend = kinds[i].backend;
	if (!backend)
		return bf_err_set(err, BF_ESPEC, "", 0, 0,
				  "model kind '%s' is not supported; expected logistic, linear, mlp, xgboost, lightgbm, fasttext or bert",
				  kind);
	model *m = calloc(1, sizeof *m);
	if (!m)
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	if (backend->load_path) {
		m->backend = backend;
		m->path = strdup(path);
		snprintf(m->kind, sizeof m->kind, "%s", kind);
		m->auto_batch_rows = 256;
		int rc = backend->load_path(m, path, opt, err);
		if (rc) {
			model_free(m);
			return rc;
		}
		*out = m;
		return BF_OK;
	}
	size_t len;
	char *text = read_file(path, &len, err);
	if (!text) {
		free(m);
		return err ? err->code : BF_EMODEL;
	}
	m->backend = backend;
	m->path = strdup(path);
	snprintf(m->kind, sizeof m->kind, "%s", kind);
	m->file_bytes = len;
	m->auto_batch_rows = 8192;
	sha256_hex(text, len, m->sha256);
	int rc = backend->load(m, text, len, opt, err);
	free(text);
	if (rc) {
		model_free(m);
		return rc;
	}
	*out = m;
	return BF_OK;
}

void model_free(model *m)
{
	if (!m)
		return;
	if (m->backend && m->backend->free)
		m->backend->free(m);
	for (size_t i = 0; i < m->n_inputs; i++) {
		free(m->inputs[i].name);
		strmap_free(&m->inputs[i].categories);
	}
	free(m->inputs);
	for (size_t i = 0; i < m->n_classes; i++)
		free(m->classes[i]);
	free(m->classes);
	free(m->path);
	free(m);
}

int model_input_index(const model *m, const char *name)
{
	for (size_t i = 0; i < m->n_inputs; i++)
		if (strcmp(m->inputs[i].name, name) == 0)
			return (int)i;
	return -1;
}
