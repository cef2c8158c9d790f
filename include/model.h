/* model.h: model kinds, their backends, and the one way models load.
 *
 * A model kind (logistic, xgboost, bert, ...) is one row of the registry
 * (model_kinds[], src/model/kinds.c): its name, its backend, how its files
 * look, the spec keys it reads, the tasks it accepts and its default batch
 * size. Spec validation, usage text, error messages, `inspect` and
 * `validate` all read that table.
 *
 * model_load() answers file-or-folder once, maps a file's bytes once and
 * fingerprints them once, then hands them to the backend. A backend reads
 * its own settings from the job spec into an options struct of its own
 * (options()), loads, declares the input columns it reads, and scores
 * blocks of rows. predict() is called concurrently from the pipeline's
 * OpenMP threads, each on its own block of rows with its own scratch arena,
 * BLAS set to one thread: it must not write to the model. */
#ifndef BF_MODEL_H
#define BF_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "error.h"
#include "spec.h"
#include "strmap.h"

typedef enum model_task {
	MODEL_TASK_BINARY,     /* one output: probability of classes[1] */
	MODEL_TASK_MULTICLASS, /* n_classes outputs: class probabilities */
	MODEL_TASK_REGRESSION, /* one output: the value */
	MODEL_TASK_TAGS,       /* text models: top_k (class index, score) pairs, index -1 = none,
				  then the row's token count: n_outputs = 2 * top_k + 1 */
	MODEL_TASK_EMBED,      /* text models: the embedding (n_outputs - 1 values), then the token count */
	MODEL_N_TASKS
} model_task;

/* The name of each task, as `inspect`, `validate` and the report write it. */
extern const char *const model_task_name[MODEL_N_TASKS];

/* A row's text for text models: the input's text_fields joined by a space. */
typedef struct text_span {
	const char *ptr;
	size_t len;
} text_span;

typedef enum model_input_type {
	MODEL_INPUT_NUMBER,
	MODEL_INPUT_CATEGORY,  /* the row holds the category's index, -1 = unknown */
} model_input_type;

typedef struct model_input {
	char *name;            /* the input column the model reads */
	model_input_type type;
	int missing_ok;        /* the model has a rule for a missing value (imputer, default direction) */
	strmap categories;     /* CATEGORY: value text -> index */
} model_input;

typedef struct model model;
typedef struct model_kind model_kind;

/* What model_load found at the model's path. */
typedef struct model_file {
	const char *path;
	int is_dir;            /* a folder: the backend opens what it needs in it */
	const char *data;      /* a file: its bytes, read-only (mapped); NOT NUL-terminated */
	size_t size;
} model_file;

typedef struct model_backend {
	/* Reads the backend's settings from the spec's keys (the ones its
	 * kinds list) into opts, options_size bytes, zeroed by the caller; spec
	 * NULL = the defaults. NULL when the backend has no settings. */
	size_t options_size;
	int (*options)(void *opts, const job_spec *spec, bf_error *err);
	/* Loads f with opts (the backend's options struct, NULL = defaults).
	 * A backend that keeps pointers into f->data sets m->keeps_file. */
	int (*load)(model *m, const model_file *f, const void *opts, bf_error *err);
	/* Scores n rows. x: (n, n_inputs), NaN = missing, categories as indices.
	 * out: (n, n_outputs). Returns 0, or -1 when out of memory. */
	int (*predict)(const model *m, const double *x, size_t n, double *out, arena *scratch);
	/* Text models (model.text_input): scores n texts into out (n, n_outputs). */
	int (*predict_text)(const model *m, const text_span *text, size_t n, double *out, arena *scratch);
	/* Floating-point operations to score texts of `tokens` tokens whose
	 * squared lengths sum to len_sq (for GFLOP/s in the report); NULL ok. */
	double (*flops)(const model *m, uint64_t tokens, double len_sq);
	/* Writes the backend's part of `binfer inspect` (one "key: value" a line). */
	void (*describe)(const model *m, FILE *f);
	void (*free)(model *m);
	/* predict_text packs its rows into batches of its own: give it each
	 * thread's whole share of a batch at once. */
	int packs_batches;
	/* `inspect` lists the model's inputs (named columns with types); other
	 * backends describe their inputs themselves. */
	int lists_inputs;
} model_backend;

/* One row of the registry. To add a kind: write its backend (a folder
 * under src/ with a `const model_backend`), add a row to model_kinds[] in
 * src/model/kinds.c, and list the spec keys it reads; nothing else
 * changes. */
struct model_kind {
	const char *name;              /* as model.kind names it */
	const model_backend *backend;
	int variant;                   /* for backends of several kinds: which one (the backend's enum) */
	const char *files;             /* what its model files are, for help and messages */
	int folder;                    /* the model is a folder, not one file */
	/* 1 when f (a folder, or a file's first bytes: data[0..size)) looks
	 * like this kind's. */
	int (*sniff)(const model_file *f);
	/* The kind-specific spec keys it reads, NULL-terminated: a dotted key
	 * ("model.top_k") or a whole section ("features"). A key that some
	 * kind lists and this one does not is a spec error for its jobs. */
	const char *const *keys;
	const char *const *tasks;      /* the values model.task may take; NULL: no model.task */
	size_t batch_rows;             /* the default of batch.rows */
};

extern const model_kind model_kinds[];
extern const size_t model_n_kinds;

/* The kind named name, or NULL. */
const model_kind *model_kind_find(const char *name);
/* The kind whose files path looks like (a folder or a file's first bytes),
 * or NULL with err saying why (unreadable path, unknown format). */
const model_kind *model_kind_sniff(const char *path, bf_error *err);
/* Whether kind k reads the spec key (dotted, e.g. "model.top_k"), and
 * whether any kind lists it (a kind-specific key). */
int model_kind_reads(const model_kind *k, const char *key);
int model_key_is_kind_specific(const char *key);
/* Writes the names of the kinds that read key, "a, b" (or all kinds' names
 * when key is NULL), into buf. */
void model_kinds_list(const char *key, char *buf, size_t size);

struct model {
	const model_kind *kind;
	const model_backend *backend;
	char *path;
	model_task task;
	char **classes;         /* (n_classes) labels; NULL for regression */
	size_t n_classes;
	model_input *inputs;    /* (n_inputs) */
	size_t n_inputs;
	size_t n_outputs;       /* values per row from predict */
	int raw;                /* outputs are margins (written as "margin"/"margins") */
	int text_input;         /* reads text (input.text_fields), scored by predict_text */
	int finite_inputs;      /* the library refuses infinite inputs: rows with one are rejected */
	size_t max_text_bytes;  /* text models: a longer text is rejected as too_long (0 = no limit) */
	size_t top_k;           /* MODEL_TASK_TAGS: tags per row at most */
	uint64_t n_params;
	uint64_t file_bytes;    /* of the file fingerprinted */
	char sha256[65];        /* of the model file (a folder: its weights file), hex */
	int keeps_file;         /* the backend points into the mapped file: keep it mapped */
	void *map;              /* the mapped file, or NULL */
	size_t map_size;
	void *impl;             /* the backend's own state */
};

/* Loads the model at path as kind (NULL = recognised from the file) with
 * the backend's options opts (the backend's own struct; NULL = defaults).
 * Returns BF_OK, or BF_EMODEL / BF_ESPEC / BF_ENOMEM with err filled
 * (path = the model's). */
int model_load(const char *kind, const char *path, const void *opts, model **out, bf_error *err);
/* Loads the model a job spec names, with the spec's settings for it; a
 * BF_ESPEC error points at the spec's model.path. */
int model_load_spec(const job_spec *spec, model **out, bf_error *err);
/* Loads a one-file model from data[0..len) (the file's bytes, which must
 * outlive the model); path only names it in messages. */
int model_load_mem(const char *kind, const char *path, const char *data, size_t len, const void *opts,
		   model **out, bf_error *err);
/* Fingerprints data[0..len) as the model's identity (m->sha256, file_bytes). */
void model_fingerprint(model *m, const void *data, size_t len);
void model_free(model *m);
/* Index of the input named name, or -1. */
int model_input_index(const model *m, const char *name);

#endif
