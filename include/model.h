/* model.h: model backends behind one table of function pointers.
 *
 * A backend loads its file into a `model`, declares the input columns it
 * reads, and scores blocks of rows. predict() is called concurrently from the
 * pipeline's OpenMP threads, each on its own block of rows with its own
 * scratch arena, BLAS set to one thread: it must not write to the model. */
#ifndef BF_MODEL_H
#define BF_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "error.h"
#include "strmap.h"

typedef enum model_task {
	MODEL_TASK_BINARY,     /* one output: probability of classes[1] */
	MODEL_TASK_MULTICLASS, /* n_classes outputs: class probabilities */
	MODEL_TASK_REGRESSION, /* one output: the value */
	MODEL_TASK_TAGS,       /* text models: top_k (class index, score) pairs, index -1 = none,
				  then the row's token count: n_outputs = 2 * top_k + 1 */
	MODEL_TASK_EMBED,      /* text models: the embedding (n_outputs - 1 values), then the token count */
} model_task;

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

/* What the spec says about the model beyond its file; NULL = defaults. */
typedef struct model_options {
	size_t trees;          /* tree models: use the first N iterations; 0 = all */
	int top_k;             /* text models: tags per row (default 1; -1 = all) */
	double threshold;      /* text models: tags scoring below are dropped */
	int raw;               /* tree models: output margins, not probabilities */
	char **classes;        /* names for classes 0..K-1 where the file has none */
	size_t n_classes;
	/* bert */
	const char *task;      /* embed | classify | zero_shot; NULL = from the folder */
	size_t max_length;     /* tokens per text; 0 = the model's limit */
	char **label_names;    /* zero_shot: (n_labels) label names ... */
	char **label_texts;    /* ... and the descriptions embedded for them */
	size_t n_labels;
	int normalize;         /* -1 = as the folder says */
	double temperature;    /* zero_shot: softmax temperature; 0 = cosine scores */
	size_t max_tokens;     /* token budget of one forward pass */
} model_options;

typedef struct model_backend {
	const char *name;
	int (*load)(model *m, const char *text, size_t len, const model_options *opt, bf_error *err);
	/* Backends whose model is a folder load it themselves (load is NULL);
	 * they fill m->sha256 and m->file_bytes from their weights file. */
	int (*load_path)(model *m, const char *path, const model_options *opt, bf_error *err);
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
} model_backend;

struct model {
	const model_backend *backend;
	char *path;
	char kind[32];          /* as the spec names it: logistic, mlp, ... */
	model_task task;
	char **classes;         /* (n_classes) labels; NULL for regression */
	size_t n_classes;
	model_input *inputs;    /* (n_inputs) */
	size_t n_inputs;
	size_t n_outputs;       /* values per row from predict */
	int raw;                /* outputs are margins (written as "margin"/"margins") */
	int text_input;         /* reads text (input.text_fields), scored by predict_text */
	size_t top_k;           /* MODEL_TASK_TAGS: tags per row at most */
	uint64_t n_params;
	uint64_t file_bytes;
	char sha256[65];        /* of the model file, hex */
	size_t auto_batch_rows; /* the backend's preferred batch size */
	int packs_batches;      /* predict_text packs its rows into batches of its own:
				   give it each thread's whole share of a batch at once */
	void *impl;             /* the backend's own state */
};

/* Loads the model file at path as `kind` (logistic, linear, mlp, xgboost,
 * lightgbm) with the spec's options (NULL ok). Returns BF_OK, or
 * BF_EMODEL/BF_ESPEC with err filled (path = model file). */
int model_load_opts(const char *kind, const char *path, const model_options *opt, model **out,
		    bf_error *err);
/* model_load_opts with default options. */
int model_load(const char *kind, const char *path, model **out, bf_error *err);
/* Loads a model of a one-file kind from text[0..len) (the file's bytes);
 * path only names it in messages. BF_ESPEC for a kind whose model is a
 * folder (bert). */
int model_load_mem(const char *kind, const char *path, const char *text, size_t len, const model_options *opt,
		   model **out, bf_error *err);
void model_free(model *m);
/* Index of the input named name, or -1. */
int model_input_index(const model *m, const char *name);

/* The backends. */
extern const model_backend tabular_backend;
extern const model_backend trees_backend;
extern const model_backend bert_backend;
extern const model_backend fasttext_backend;

#endif
