/* bert.c: BERT-family encoders (BertModel, BertForSequenceClassification,
 * sentence-transformers embedding models) from a Hugging Face folder, as a
 * binfer backend; see bert.h for the files that do the work.
 *
 * Folder: config.json, model.safetensors (F32/F16/BF16; names with or
 * without the "bert." prefix), vocab.txt + tokenizer_config.json, and for
 * sentence-transformers models modules.json, 1_Pooling/config.json,
 * sentence_bert_config.json. Tasks: embed (pooled, optionally normalized),
 * classify (the pooler and classifier head), zero_shot (cosine to label
 * descriptions embedded once at load). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"

static int bert_options_of(void *opts, const job_spec *spec, bf_error *err)
{
	(void)err;
	bert_options *o = opts;
	o->task = spec->model.task;
	o->max_length = spec->model.max_length;
	o->labels = spec->model.labels;
	o->n_labels = spec->model.n_labels;
	o->normalize = spec->model.normalize;
	o->temperature = spec->model.temperature;
	o->max_tokens = spec->batch_max_tokens;
	o->top_k = spec->model.top_k;
	o->threshold = spec->model.threshold;
	return BF_OK;
}

static void bert_free(model *m)
{
	bert *B = m->impl;
	if (!B)
		return;
	for (size_t i = 0; i < B->n_owned; i++)
		free(B->owned[i]);
	free(B->owned);
	free(B->layers);
	free(B->label_emb);
	wp_free(&B->tok);
	st_close(&B->st);
	free(B);
	m->impl = NULL;
}

static int load_tokenizer(bert *B, const char *dir, bf_error *err)
{
	wp_options wo;
	int rc = wp_options_from_dir(&wo, dir, err);
	if (rc)
		return rc;
	char *vocab = bert_join(dir, "vocab.txt");
	rc = vocab ? wp_load(&B->tok, vocab, &wo, err) : bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
	free(vocab);
	if (!rc && B->tok.n_tokens > B->vocab)
		rc = bf_err_set(err, BF_EMODEL, dir, 0, 0, "vocab.txt has %zu tokens but config.json vocab_size is %zu",
				B->tok.n_tokens, B->vocab);
	return rc;
}

/* The task's classes: id2label of config.json (classify) or the spec's
 * label names (zero_shot). */
static int name_classes(model *m, const bert *B, const json_value *cfg, const bert_options *opt, bf_error *err)
{
	size_t n = B->task == BERT_CLASSIFY ? B->n_cls : B->n_labels;
	m->classes = calloc(n + 1, sizeof *m->classes);
	if (!m->classes)
		return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	const json_value *id2label = json_get(cfg, "id2label");
	for (size_t k = 0; k < n; k++, m->n_classes++) {
		char key[32];
		snprintf(key, sizeof key, "%zu", k);
		const json_value *name = json_get(id2label, key);
		const char *s = B->task == BERT_ZERO_SHOT		     ? opt->labels[k].key
				: name && name->type == JSON_STRING ? name->u.string
								    : key;
		if (!(m->classes[k] = strdup(s)))
			return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	}
	return BF_OK;
}

/* zero_shot: the label descriptions embedded once, pooled, unit length. */
static int embed_labels(model *m, bert *B, const bert_options *opt, bf_error *err)
{
	size_t H = B->H, nl = B->n_labels;
	text_span *texts = malloc(nl * sizeof *texts);
	double *emb = malloc(nl * (H + 1) * sizeof *emb);
	B->label_emb = malloc(nl * (H + 1) * sizeof *B->label_emb);
	arena la;
	arena_init(&la, 1 << 20);
	int failed = !texts || !emb || !B->label_emb;
	for (size_t k = 0; !failed && k < nl; k++)
		texts[k] = (text_span){opt->labels[k].value, strlen(opt->labels[k].value)};
	size_t keep_out = m->n_outputs;
	bert_task keep_task = B->task;
	int keep_normalize = B->normalize;
	B->task = BERT_EMBED;
	B->normalize = 1;
	m->n_outputs = H + 1;
	if (!failed && bert_run(m, B, texts, nl, emb, &la) < 0)
		failed = 1;
	for (size_t k = 0; !failed && k < nl; k++)
		for (size_t i = 0; i < H; i++)
			B->label_emb[k * H + i] = (float)emb[k * (H + 1) + i];
	B->task = keep_task;
	B->normalize = keep_normalize;
	m->n_outputs = keep_out;
	arena_free(&la);
	free(texts);
	free(emb);
	return failed ? bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory") : BF_OK;
}

/* Task, limits and tags from the options and what the folder holds. */
static int settle_task(model *m, bert *B, int has_st, const bert_options *opt, bf_error *err)
{
	const char *dir = m->path;
	if (opt->max_length) {
		if (opt->max_length > B->max_pos)
			return bf_err_set(err, BF_ESPEC, dir, 0, 0, "model.max_length is %zu but the model has %zu positions",
					  opt->max_length, B->max_pos);
		B->max_length = opt->max_length;
	}
	if (opt->normalize >= 0 && opt->normalize <= 1)
		B->normalize = opt->normalize;
	B->max_tokens = opt->max_tokens ? opt->max_tokens : 16384;
	if (B->max_tokens < B->max_length)
		B->max_tokens = B->max_length;
	B->top_k = opt->top_k ? opt->top_k : 1;
	B->threshold = (float)opt->threshold;
	B->temperature = (float)opt->temperature;
	int has_cls = st_find(&B->st, "classifier.weight") != NULL;
	if (opt->task)
		B->task = strcmp(opt->task, "classify") == 0	? BERT_CLASSIFY
			  : strcmp(opt->task, "zero_shot") == 0 ? BERT_ZERO_SHOT
								: BERT_EMBED;
	else
		B->task = opt->n_labels ? BERT_ZERO_SHOT : has_cls && !has_st ? BERT_CLASSIFY : BERT_EMBED;
	if (B->task == BERT_CLASSIFY && !has_cls)
		return bf_err_set(err, BF_ESPEC, dir, 0, 0, "model.task is classify but the folder has no classifier weights");
	if (B->task == BERT_ZERO_SHOT && !opt->n_labels)
		return bf_err_set(err, BF_ESPEC, dir, 0, 0, "model.task zero_shot needs model.labels");
	B->n_labels = B->task == BERT_ZERO_SHOT ? opt->n_labels : 0;
	return BF_OK;
}

static int bert_load(model *m, const model_file *f, const void *opts, bf_error *err)
{
	static const bert_options defaults = {.normalize = -1, .top_k = 1};
	const bert_options *opt = opts ? opts : &defaults;
	const char *dir = f->path;
	bert *B = calloc(1, sizeof *B);
	if (!B)
		return bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
	m->impl = B;
	arena a;
	arena_init(&a, 1 << 16);
	int rc, has_st;
	json_value *cfg = bert_read_json(dir, "config.json", &a, 0, err);
	if (!cfg) {
		rc = err && err->code ? err->code : BF_EMODEL;
		goto out;
	}
	B->pool = BERT_POOL_MEAN;
	if ((rc = bert_read_config(B, cfg, dir, err)) || (rc = bert_load_weights(B, m, dir, err)) ||
	    (rc = load_tokenizer(B, dir, err)))
		goto out;
	B->max_length = B->max_pos;
	if ((rc = bert_read_sentence_config(B, dir, &a, &has_st, err)) || (rc = settle_task(m, B, has_st, opt, err)))
		goto out;
	if (B->task == BERT_CLASSIFY) {
		const json_value *pt = json_get(cfg, "problem_type");
		B->multi_label = pt && pt->type == JSON_STRING && strcmp(pt->u.string, "multi_label_classification") == 0;
		if ((rc = bert_load_classifier(B, err)))
			goto out;
	}
	if (B->task != BERT_EMBED && (rc = name_classes(m, B, cfg, opt, err)))
		goto out;
	m->text_input = 1;
	m->n_inputs = 0;
	if (B->task == BERT_EMBED) {
		m->task = MODEL_TASK_EMBED;
		m->n_outputs = B->H + 1;
	} else {
		size_t n = B->task == BERT_CLASSIFY ? B->n_cls : B->n_labels;
		size_t k = B->top_k < 0 || (size_t)B->top_k > n ? n : (size_t)B->top_k;
		m->task = MODEL_TASK_TAGS;
		m->top_k = k;
		m->n_outputs = 2 * k + 1;
	}
	if (B->task == BERT_ZERO_SHOT && (rc = embed_labels(m, B, opt, err)))
		goto out;
	m->n_params = 0;
	for (size_t i = 0; i < B->st.n; i++)
		m->n_params += B->st.tensors[i].n_elems;
out:
	arena_free(&a);
	return rc;
}

static int bert_predict_text(const model *m, const text_span *text, size_t n, double *out, arena *scratch)
{
	return bert_run(m, m->impl, text, n, out, scratch);
}

/* Multiply-adds x 2 of the forward pass: per token the four attention
 * projections and the two feed-forward layers; per sequence the two
 * len x len attention products over all heads. */
static double bert_flops(const model *m, uint64_t tokens, double len_sq)
{
	const bert *B = m->impl;
	double H = (double)B->H, NI = (double)B->inter, L = (double)B->L;
	return L * (2.0 * (double)tokens * (4 * H * H + 2 * H * NI) + 4.0 * len_sq * H);
}

static void bert_describe(const model *m, FILE *f)
{
	const bert *B = m->impl;
	static const char *tasks[] = {"embed", "classify", "zero_shot"}, *pools[] = {"mean", "cls", "max"};
	fprintf(f, "architecture: BERT encoder (%s)\nlayers: %zu\nhidden size: %zu\nheads: %zu\nintermediate size: %zu\n",
		B->n_cls ? "BertForSequenceClassification" : "BertModel", B->L, B->H, B->heads, B->inter);
	fprintf(f, "vocab size: %zu\nmax positions: %zu\nmax length: %zu\n", B->vocab, B->max_pos, B->max_length);
	fprintf(f, "dtype: %s\n", B->st.n ? st_dtype_name(B->st.tensors[0].dtype) : "?");
	if (B->task == BERT_CLASSIFY)
		fprintf(f, "task: classify\npooling: pooler (tanh dense on [CLS])\n");
	else
		fprintf(f, "task: %s\npooling: %s%s\n", tasks[B->task], pools[B->pool],
			B->normalize ? ", L2-normalized" : "");
	if (m->n_classes) {
		fprintf(f, "labels:");
		for (size_t k = 0; k < m->n_classes; k++)
			fprintf(f, " %s", m->classes[k]);
		fprintf(f, "%s\n", B->multi_label ? " (multi-label, sigmoid)" : "");
	}
}

const model_backend bert_backend = {
	.options_size = sizeof(bert_options),
	.options = bert_options_of,
	.load = bert_load,
	.predict_text = bert_predict_text,
	.flops = bert_flops,
	.describe = bert_describe,
	.free = bert_free,
	.packs_batches = 1,
};
