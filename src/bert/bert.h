/* bert.h: the BERT backend's private interface: the model in memory, and
 * the files that build and run it.
 *
 *   bert_config.c   config.json and the sentence-transformers files
 *   bert_weights.c  model.safetensors: every tensor, shape-checked
 *   bert_forward.c  the encoder, pooling and heads over packed sequences
 *   bert.c          the backend: options, load, predict, inspect
 * wordpiece.c is the tokenizer, safetensors.c the weights file. */
#ifndef BF_BERT_H
#define BF_BERT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "error.h"
#include "json.h"
#include "model.h"
#include "safetensors.h"
#include "spec.h"
#include "wordpiece.h"

typedef enum bert_task { BERT_EMBED, BERT_CLASSIFY, BERT_ZERO_SHOT } bert_task;
typedef enum bert_pool { BERT_POOL_MEAN, BERT_POOL_CLS, BERT_POOL_MAX } bert_pool;

typedef struct bert_layer {
	const float *wqkv, *bqkv;  /* (3H, H), (3H): query, key, value stacked */
	const float *wo, *bo;      /* (H, H), (H) attention output */
	const float *ln1_g, *ln1_b;
	const float *wi, *bi;      /* (I, H), (I) intermediate */
	const float *wf, *bf;      /* (H, I), (H) output */
	const float *ln2_g, *ln2_b;
} bert_layer;

typedef struct bert {
	size_t vocab, H, L, heads, inter, max_pos, types;
	float eps;
	const float *word, *pos, *type;     /* (vocab, H), (max_pos, H), (types, H) */
	const float *emb_g, *emb_b;
	bert_layer *layers;                 /* (L) */
	const float *pool_w, *pool_b;       /* (H, H), (H) pooler; NULL when absent */
	const float *cls_w, *cls_b;         /* (C, H), (C) classifier */
	size_t n_cls;
	int multi_label;                    /* problem_type multi_label_classification */
	bert_task task;
	bert_pool pool;
	int normalize;
	size_t max_length;
	size_t max_tokens;
	int top_k;
	float threshold;
	float temperature;
	float *label_emb;                   /* zero_shot: (n_labels, H), unit length */
	size_t n_labels;
	wp_tokenizer tok;
	st_file st;
	float **owned;                      /* converted tensors to free */
	size_t n_owned;
} bert;

/* The backend's settings (model_backend.options). */
typedef struct bert_options {
	const char *task;          /* model.task: embed | classify | zero_shot; NULL = from the folder */
	size_t max_length;         /* model.max_length: tokens per text; 0 = the model's limit */
	const spec_pair *labels;   /* model.labels (zero_shot): name -> description, borrowed */
	size_t n_labels;
	int normalize;             /* model.normalize: -1 = as the folder says */
	double temperature;        /* model.temperature (zero_shot): 0 = cosine scores */
	size_t max_tokens;         /* batch.max_tokens: the token budget of one forward pass */
	int top_k;                 /* model.top_k: tags per row; 0 = 1, -1 = all */
	double threshold;          /* model.threshold: tags scoring below are dropped */
} bert_options;

/* ---- bert_config.c ---- */

/* dir/name, malloc'd. */
char *bert_join(const char *dir, const char *name);
/* Reads dir/name (a regular file of at most 16 MiB) as JSON into a. NULL
 * when it cannot: err filled, except for an absent file when optional
 * (err->code stays BF_OK then). */
json_value *bert_read_json(const char *dir, const char *name, arena *a, int optional, bf_error *err);
/* Sizes from config.json (cfg) into B; BF_EMODEL naming the file when one
 * is missing or is not BERT's. */
int bert_read_config(bert *B, const json_value *cfg, const char *dir, bf_error *err);
/* The sentence-transformers files, when the folder has them (*has_st):
 * modules.json, the Pooling module's config (its mode into B->pool), a
 * Normalize module, sentence_bert_config.json's max_seq_length. A module
 * or pooling mode binfer does not run is refused (BF_EMODEL). */
int bert_read_sentence_config(bert *B, const char *dir, arena *a, int *has_st, bf_error *err);

/* ---- bert_weights.c ---- */

/* Opens dir/model.safetensors (fingerprinting it into m) and takes the
 * embeddings and every layer's tensors, shapes checked against B's sizes. */
int bert_load_weights(bert *B, model *m, const char *dir, bf_error *err);
/* The classifier head: pooler and classifier tensors; B->n_cls from them. */
int bert_load_classifier(bert *B, bf_error *err);

/* ---- bert_forward.c ---- */

/* Tokenizes texts and runs them through the encoder in chunks of at most
 * B->max_tokens tokens; out (n, m->n_outputs): the result, then the token
 * count (negative when the text was truncated). Returns 0, or -1 when out
 * of memory. */
int bert_run(const model *m, const bert *B, const text_span *text, size_t n, double *out, arena *a);

#endif
