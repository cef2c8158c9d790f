/* bert_weights.c: the tensors of model.safetensors, each found under its
 * Hugging Face name (with or without the "bert." prefix) and its shape
 * checked against config.json before use. F32 tensors are used in place in
 * the mapping where aligned; F16 / BF16 ones are converted exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"

typedef struct loader {
	bert *B;
	bf_error *err;
	const char *prefix; /* "bert." or "" */
} loader;

/* A tensor's data as float (converted when F16/BF16), with its shape checked. */
static const float *tensor(loader *L, const char *name, size_t d0, size_t d1)
{
	char full[256];
	snprintf(full, sizeof full, "%s%s", L->prefix, name);
	const st_tensor *t = st_find(&L->B->st, full);
	if (!t)
		t = st_find(&L->B->st, name);
	if (!t) {
		bf_err_set(L->err, BF_EMODEL, L->B->st.path, 0, 0, "tensor '%s' is missing", full);
		return NULL;
	}
	int dims_ok = d1 ? t->n_dims == 2 && (size_t)t->shape[0] == d0 && (size_t)t->shape[1] == d1
			 : t->n_dims == 1 && (size_t)t->shape[0] == d0;
	if (!dims_ok) {
		if (d1)
			bf_err_set(L->err, BF_EMODEL, L->B->st.path, 0, 0,
				   "tensor '%s' has the wrong shape, expected [%zu, %zu] from config.json", t->name, d0, d1);
		else
			bf_err_set(L->err, BF_EMODEL, L->B->st.path, 0, 0,
				   "tensor '%s' has the wrong shape, expected [%zu] from config.json", t->name, d0);
		return NULL;
	}
	if (t->dtype == ST_F32 && ((uintptr_t)t->data % sizeof(float)) == 0)
		return t->data;
	float *f = malloc(t->n_elems * sizeof *f + 1);
	float **owned = realloc(L->B->owned, (L->B->n_owned + 1) * sizeof *owned);
	if (!f || !owned) {
		free(f);
		if (owned)
			L->B->owned = owned;
		bf_err_set(L->err, BF_ENOMEM, L->B->st.path, 0, 0, "out of memory");
		return NULL;
	}
	L->B->owned = owned;
	L->B->owned[L->B->n_owned++] = f;
	if (st_to_f32(t, f) < 0) {
		bf_err_set(L->err, BF_EMODEL, L->B->st.path, 0, 0, "tensor '%s' has dtype %s; expected F32, F16 or BF16",
			   t->name, st_dtype_name(t->dtype));
		return NULL;
	}
	return f;
}

/* q, k, v weights (H, H) each stacked into (3H, H), biases into (3H). */
static int stack_qkv(loader *L, size_t l, bert_layer *Ly)
{
	size_t H = L->B->H;
	char name[128];
	float *w = malloc(3 * H * H * sizeof *w), *b = malloc(3 * H * sizeof *b);
	float **owned = realloc(L->B->owned, (L->B->n_owned + 2) * sizeof *owned);
	if (!w || !b || !owned) {
		free(w);
		free(b);
		if (owned)
			L->B->owned = owned;
		return bf_err_set(L->err, BF_ENOMEM, L->B->st.path, 0, 0, "out of memory");
	}
	L->B->owned = owned;
	L->B->owned[L->B->n_owned++] = w;
	L->B->owned[L->B->n_owned++] = b;
	static const char *const parts[] = {"query", "key", "value"};
	for (int k = 0; k < 3; k++) {
		snprintf(name, sizeof name, "encoder.layer.%zu.attention.self.%s.weight", l, parts[k]);
		const float *pw = tensor(L, name, H, H);
		snprintf(name, sizeof name, "encoder.layer.%zu.attention.self.%s.bias", l, parts[k]);
		const float *pb = pw ? tensor(L, name, H, 0) : NULL;
		if (!pb)
			return L->err ? L->err->code : BF_EMODEL;
		memcpy(w + k * H * H, pw, H * H * sizeof *w);
		memcpy(b + k * H, pb, H * sizeof *b);
	}
	Ly->wqkv = w;
	Ly->bqkv = b;
	return BF_OK;
}

static int load_layers(loader *L)
{
	bert *B = L->B;
	size_t H = B->H, NI = B->inter;
	char name[128];
	B->layers = calloc(B->L, sizeof *B->layers);
	if (!B->layers)
		return bf_err_set(L->err, BF_ENOMEM, B->st.path, 0, 0, "out of memory");
#define T2(field, suffix, a, b)                                                           \
	do {                                                                              \
		snprintf(name, sizeof name, "encoder.layer.%zu.%s", l, suffix);           \
		if (!(Ly->field = tensor(L, name, a, b)))                                 \
			return L->err ? L->err->code : BF_EMODEL;                         \
	} while (0)
	for (size_t l = 0; l < B->L; l++) {
		bert_layer *Ly = &B->layers[l];
		int rc = stack_qkv(L, l, Ly);
		if (rc)
			return rc;
		T2(wo, "attention.output.dense.weight", H, H);
		T2(bo, "attention.output.dense.bias", H, 0);
		T2(ln1_g, "attention.output.LayerNorm.weight", H, 0);
		T2(ln1_b, "attention.output.LayerNorm.bias", H, 0);
		T2(wi, "intermediate.dense.weight", NI, H);
		T2(bi, "intermediate.dense.bias", NI, 0);
		T2(wf, "output.dense.weight", H, NI);
		T2(bf, "output.dense.bias", H, 0);
		T2(ln2_g, "output.LayerNorm.weight", H, 0);
		T2(ln2_b, "output.LayerNorm.bias", H, 0);
	}
#undef T2
	return BF_OK;
}

int bert_load_weights(bert *B, model *m, const char *dir, bf_error *err)
{
	loader L = {B, err, ""};
	char *st_path = bert_join(dir, "model.safetensors");
	if (!st_path)
		return bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
	int rc = st_open(&B->st, st_path, err);
	free(st_path);
	if (rc)
		return rc;
	/* the model's identity: its weights, fingerprinted from the mapping */
	model_fingerprint(m, B->st.map, B->st.size);
	if (st_find(&B->st, "bert.embeddings.word_embeddings.weight"))
		L.prefix = "bert.";
	size_t H = B->H;
	/* every layer has 16 tensors: a count config.json makes up is refused
	 * before anything is sized by it */
	if (B->L > B->st.n / 16)
		return bf_err_set(err, BF_EMODEL, B->st.path, 0, 0,
				  "config.json says %zu layers, but the file holds %zu tensors (a layer has 16)", B->L,
				  B->st.n);
	if (!(B->word = tensor(&L, "embeddings.word_embeddings.weight", B->vocab, H)) ||
	    !(B->pos = tensor(&L, "embeddings.position_embeddings.weight", B->max_pos, H)) ||
	    !(B->type = tensor(&L, "embeddings.token_type_embeddings.weight", B->types, H)) ||
	    !(B->emb_g = tensor(&L, "embeddings.LayerNorm.weight", H, 0)) ||
	    !(B->emb_b = tensor(&L, "embeddings.LayerNorm.bias", H, 0)))
		return err && err->code ? err->code : BF_EMODEL;
	return load_layers(&L);
}

int bert_load_classifier(bert *B, bf_error *err)
{
	loader L = {B, err, st_find(&B->st, "bert.embeddings.word_embeddings.weight") ? "bert." : ""};
	size_t H = B->H;
	const st_tensor *cw = st_find(&B->st, "classifier.weight");
	B->n_cls = cw && cw->n_dims == 2 ? (size_t)cw->shape[0] : 0;
	if (!B->n_cls)
		return bf_err_set(err, BF_EMODEL, B->st.path, 0, 0, "tensor 'classifier.weight' is missing or not 2-D");
	if (!(B->cls_w = tensor(&L, "classifier.weight", B->n_cls, H)) ||
	    !(B->cls_b = tensor(&L, "classifier.bias", B->n_cls, 0)) ||
	    !(B->pool_w = tensor(&L, "pooler.dense.weight", H, H)) || !(B->pool_b = tensor(&L, "pooler.dense.bias", H, 0)))
		return err && err->code ? err->code : BF_EMODEL;
	return BF_OK;
}
