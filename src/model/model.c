/* model.c: picks the backend for a model kind, reads and fingerprints the file. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
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

int model_load(const char *kind, const char *path, model **out, bf_error *err)
{
	return model_load_opts(kind, path, NULL, out, err);
}

static const model_backend *backend_of(const char *kind, bf_error *err)
{
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].backend;
	bf_err_set(err, BF_ESPEC, "", 0, 0,
		   "model kind '%s' is not supported; expected logistic, linear, mlp, xgboost, lightgbm, fasttext or bert",
		   kind);
	return NULL;
}

int model_load_mem(const char *kind, const char *path, const char *text, size_t len, const model_options *opt,
		   model **out, bf_error *err)
{
	*out = NULL;
	const model_backend *backend = backend_of(kind, err);
	if (!backend)
		return err->code;
	if (!backend->load)
		return bf_err_set(err, BF_ESPEC, path, 0, 0, "a %s model is a folder, not one file", kind);
	model *m = calloc(1, sizeof *m);
	if (!m || !(m->path = strdup(path))) {
		free(m);
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	}
	m->backend = backend;
	snprintf(m->kind, sizeof m->kind, "%s", kind);
	m->file_bytes = len;
	m->auto_batch_rows = 8192;
	sha256_hex(text, len, m->sha256);
	int rc = backend->load(m, text, len, opt, err);
	if (rc) {
		model_free(m);
		return rc;
	}
	*out = m;
	return BF_OK;
}

int model_load_opts(const char *kind, const char *path, const model_options *opt, model **out,
		    bf_error *err)
{
	*out = NULL;
	const model_backend *backend = backend_of(kind, err);
	if (!backend)
		return err->code;
	if (backend->load_path) {
		model *m = calloc(1, sizeof *m);
		if (!m)
			return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
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
	char *text = bf_read_file(path, &len);
	if (!text) {
		int e = errno;
		if (e == ENOMEM)
			return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory reading the model file");
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model file: %s", strerror(e));
	}
	int rc = model_load_mem(kind, path, text, len, opt, out, err);
	free(text);
	return rc;
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
