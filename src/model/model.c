/* model.c: the one load path of every model: kind, file or folder, the
 * bytes mapped and fingerprinted once, then the backend; see model.h. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"
#include "sha256.h"

const char *const model_task_name[MODEL_N_TASKS] = {
	[MODEL_TASK_BINARY] = "binary",
	[MODEL_TASK_MULTICLASS] = "multiclass",
	[MODEL_TASK_REGRESSION] = "regression",
	[MODEL_TASK_TAGS] = "tags",
	[MODEL_TASK_EMBED] = "embedding",
};

void model_fingerprint(model *m, const void *data, size_t len)
{
	sha256_hex(data ? data : "", len, m->sha256);
	m->file_bytes = len;
}

static const model_kind *kind_named(const char *name, bf_error *err)
{
	const model_kind *k = model_kind_find(name);
	if (!k) {
		char names[256];
		model_kinds_list(NULL, names, sizeof names);
		bf_err_set(err, BF_ESPEC, "", 0, 0, "model kind '%s' is not supported; expected one of %s", name, names);
	}
	return k;
}

/* Makes the model and runs the backend's loader on f. */
static int load_file(const model_kind *k, const model_file *f, const void *opts, model **out, bf_error *err)
{
	*out = NULL;
	model *m = calloc(1, sizeof *m);
	if (!m || !(m->path = strdup(f->path))) {
		free(m);
		return bf_err_set(err, BF_ENOMEM, f->path, 0, 0, "out of memory");
	}
	m->kind = k;
	m->backend = k->backend;
	if (!f->is_dir)
		model_fingerprint(m, f->data, f->size);
	int rc = k->backend->load(m, f, opts, err);
	if (rc) {
		model_free(m);
		return rc;
	}
	*out = m;
	return BF_OK;
}

int model_load_mem(const char *kind, const char *path, const char *data, size_t len, const void *opts,
		   model **out, bf_error *err)
{
	*out = NULL;
	const model_kind *k = kind_named(kind, err);
	if (!k)
		return BF_ESPEC;
	if (k->folder)
		return bf_err_set(err, BF_ESPEC, path, 0, 0, "a %s model is a folder (%s), not one file", k->name,
				  k->files);
	model_file f = {path, 0, data, len};
	return load_file(k, &f, opts, out, err);
}

int model_load(const char *kind, const char *path, const void *opts, model **out, bf_error *err)
{
	*out = NULL;
	const model_kind *k = kind ? kind_named(kind, err) : model_kind_sniff(path, err);
	if (!k)
		return err ? err->code : BF_EMODEL;
	struct stat st;
	if (stat(path, &st) < 0)
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model %s: %s", k->folder ? "folder" : "file",
				  strerror(errno));
	if (k->folder) {
		if (!S_ISDIR(st.st_mode))
			return bf_err_set(err, BF_EMODEL, path, 0, 0, "a %s model is a folder (%s), not a file", k->name,
					  k->files);
		model_file f = {path, 1, NULL, 0};
		return load_file(k, &f, opts, out, err);
	}
	if (S_ISDIR(st.st_mode))
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model file: it is a folder; a %s model is %s",
				  k->name, k->files);
	bf_map map;
	int rc = bf_map_file(path, "model file", BF_EMODEL, &map, err);
	if (rc)
		return rc;
	model_file f = {path, 0, map.data ? map.data : "", map.size}; /* an empty file maps to NULL */
	rc = load_file(k, &f, opts, out, err);
	if (!rc && (*out)->keeps_file) {
		(*out)->map = map.data;
		(*out)->map_size = map.size;
	} else {
		bf_unmap(&map);
	}
	return rc;
}

int model_load_spec(const job_spec *spec, model **out, bf_error *err)
{
	*out = NULL;
	const model_kind *k = kind_named(spec->model.kind, err);
	if (!k)
		return BF_ESPEC;
	const model_backend *b = k->backend;
	void *opts = NULL;
	if (b->options) {
		if (!(opts = calloc(1, b->options_size)))
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		int rc = b->options(opts, spec, err);
		if (rc) {
			free(opts);
			return rc;
		}
	}
	int rc = model_load(k->name, spec->model.path, opts, out, err);
	free(opts);
	if (rc == BF_ESPEC && err) {
		/* The model contradicts the spec: point at the spec's model.path. */
		char msg[sizeof err->message];
		memcpy(msg, err->message, sizeof msg);
		const spec_mark *at = &spec->model.path_mark;
		bf_err_set(err, BF_ESPEC, at->file, at->line, at->column, "%s", msg);
	}
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
	bf_map map = {m->map, m->map_size};
	bf_unmap(&map);
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
