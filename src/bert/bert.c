/* bert.c: BERT-family encoders (BertModel, BertForSequenceClassification,
 * sentence-transformers embedding models) from a Hugging Face folder.
 *
 * Folder: config.json, model.safetensors (F32/F16/BF16; names with or
 * without the "bert." prefix), vocab.txt + tokenizer_config.json, and for
 * sentence-transformers models modules.json, 1_Pooling/config.json,
 * sentence_bert_config.json.
 *
 * Forward pass, as transformers' modeling_bert.py computes it in fp32, but
 * without padding: the sequences of a chunk are laid end to end, so every
 * Linear layer is one GEMM over all the chunk's tokens, (T, in) x (in, out),
 * and attention runs per sequence over its own tokens only, which is what
 * masking the padded keys computes. GELU is the exact erf form. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "file.h"
#include "json.h"
#include "model.h"
#include "safetensors.h"
#include "sha256.h"
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

/* ==== kernels ============================================================ */

#if defined(__AVX2__) && defined(__FMA__)
/* e^x for 8 floats: x = n ln2 + r, e^r by a degree-6 polynomial (Cephes' coefficients). */
static inline __m256 exp8(__m256 x)
{
	x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
	__m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
	__m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
	__m256 p = _mm256_set1_ps(1.9875691500E-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
	p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	__m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* GELU(x) = x/2 (1 + erf(x/sqrt 2)) through erfc(z) = t exp(-z^2 + P(t)),
 * t = 1/(1 + z/2): relative error below 1.2e-7 over the whole line. */
static inline __m256 gelu8(__m256 x)
{
	const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
	__m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(0.70710678118654752f));
	__m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(half, z, one));
	__m256 p = _mm256_set1_ps(0.17087277f);
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
	p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
	__m256 erfc = _mm256_mul_ps(t, exp8(_mm256_fnmadd_ps(z, z, p)));
	__m256 hx = _mm256_mul_ps(half, x);
	__m256 neg = _mm256_mul_ps(hx, erfc);            /* x < 0: x/2 erfc(z) */
	__m256 pos = _mm256_sub_ps(x, neg);              /* x >= 0: x - x/2 erfc(z) */
	return _mm256_blendv_ps(pos, neg, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}

static inline float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}
#endif

static float gelu1(float x)
{
	return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

static void gelu(float *x, size_t n)
{
	size_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
#endif
	for (; i < n; i++)
		x[i] = gelu1(x[i]);
}

/* Softmax of one row in place, the max subtracted first. */
static void softmax_row(float *x, size_t n)
{
	float max = x[0];
	for (size_t i = 1; i < n; i++)
		max = x[i] > max ? x[i] : max;
	float sum = 0;
	size_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
	__m256 vs = _mm256_setzero_ps(), vm = _mm256_set1_ps(max);
	for (; i + 8 <= n; i += 8) {
		__m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
		_mm256_storeu_ps(x + i, e);
		vs = _mm256_add_ps(vs, e);
	}
	sum = hsum8(vs);
#endif
	for (; i < n; i++)
		sum += x[i] = expf(x[i] - max);
	float inv = 1.0f / sum;
	for (i = 0; i < n; i++)
		x[i] *= inv;
}

/* x = LayerNorm(x + add) row by row (add NULL ok), biased variance as PyTorch. */
static void add_layer_norm(float *x, const float *add, size_t T, size_t H, const float *g, const float *b, float eps)
{
	for (size_t t = 0; t < T; t++) {
		float *r = x + t * H;
		if (add)
			for (size_t i = 0; i < H; i++)
				r[i] += add[t * H + i];
		float mean = 0, var = 0;
		for (size_t i = 0; i < H; i++)
			mean += r[i];
		mean /= (float)H;
		for (size_t i = 0; i < H; i++) {
			float d = r[i] - mean;
			var += d * d;
		}
		var /= (float)H;
		float inv = 1.0f / sqrtf(var + eps);
		for (size_t i = 0; i < H; i++)
			r[i] = (r[i] - mean) * inv * g[i] + b[i];
	}
}

/* y (T, out) = x (T, in) W^T + b, with W (out, in) as PyTorch stores it. */
static void linear(const float *x, size_t T, size_t in, const float *W, const float *b, size_t out, float *y)
{
	for (size_t t = 0; t < T; t++)
		memcpy(y + t * out, b, out * sizeof *y);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)out, (int)in, 1.0f, x, (int)in, W, (int)in,
		    1.0f, y, (int)out);
}

/* ==== forward ============================================================= */

typedef struct chunk {
	size_t n;            /* sequences */
	const int32_t **ids; /* (n) token ids */
	size_t *len;         /* (n) */
	size_t *start;       /* (n) first token of each sequence in the chunk */
	size_t T;            /* tokens in all */
} chunk;

/* Runs the encoder over a chunk; returns the last hidden states (T, H) in
 * scratch memory, or NULL when out of memory. */
static float *encode(const bert *B, const chunk *c, arena *a)
{
	size_t T = c->T, H = B->H, NI = B->inter, d = H / B->heads;
	size_t maxlen = 0;
	for (size_t s = 0; s < c->n; s++)
		maxlen = c->len[s] > maxlen ? c->len[s] : maxlen;
	float *X = arena_alloc(a, T * H * sizeof *X);
	float *QKV = arena_alloc(a, T * 3 * H * sizeof *QKV);
	float *C = arena_alloc(a, T * H * sizeof *C);
	float *Y = arena_alloc(a, T * H * sizeof *Y);
	float *U = arena_alloc(a, T * NI * sizeof *U);
	float *S = arena_alloc(a, maxlen * maxlen * sizeof *S);
	if (!X || !QKV || !C || !Y || !U || !S)
		return NULL;
	/* embeddings: word + position + token type 0, then LayerNorm */
	for (size_t s = 0; s < c->n; s++)
		for (size_t p = 0; p < c->len[s]; p++) {
			float *x = X + (c->start[s] + p) * H;
			const float *w = B->word + (size_t)c->ids[s][p] * H, *ps = B->pos + p * H;
			for (size_t i = 0; i < H; i++)
				x[i] = w[i] + ps[i] + B->type[i];
		}
	add_layer_norm(X, NULL, T, H, B->emb_g, B->emb_b, B->eps);
	const float scale = 1.0f / sqrtf((float)d);
	for (size_t l = 0; l < B->L; l++) {
		const bert_layer *Ly = &B->layers[l];
		linear(X, T, H, Ly->wqkv, Ly->bqkv, 3 * H, QKV);
		for (size_t s = 0; s < c->n; s++) {
			size_t n = c->len[s];
			const float *base = QKV + c->start[s] * 3 * H;
			for (size_t h = 0; h < B->heads; h++) {
				const float *Q = base + h * d, *K = base + H + h * d, *V = base + 2 * H + h * d;
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)d, scale, Q,
					    (int)(3 * H), K, (int)(3 * H), 0.0f, S, (int)n);
				for (size_t i = 0; i < n; i++)
					softmax_row(S + i * n, n);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)n, 1.0f, S,
					    (int)n, V, (int)(3 * H), 0.0f, C + c->start[s] * H + h * d, (int)H);
			}
		}
		linear(C, T, H, Ly->wo, Ly->bo, H, Y);
		add_layer_norm(X, Y, T, H, Ly->ln1_g, Ly->ln1_b, B->eps);
		linear(X, T, H, Ly->wi, Ly->bi, NI, U);
		gelu(U, T * NI);
		linear(U, T, NI, Ly->wf, Ly->bf, H, Y);
		add_layer_norm(X, Y, T, H, Ly->ln2_g, Ly->ln2_b, B->eps);
	}
	return X;
}

/* Pools sequence s of the chunk's hidden states into out (H). */
static void pool_seq(const bert *B, const chunk *c, const float *X, size_t s, float *out)
{
	size_t H = B->H, n = c->len[s];
	const float *x = X + c->start[s] * H;
	if (B->pool == BERT_POOL_CLS) {
		memcpy(out, x, H * sizeof *out);
	} else if (B->pool == BERT_POOL_MAX) {
		memcpy(out, x, H * sizeof *out);
		for (size_t p = 1; p < n; p++)
			for (size_t i = 0; i < H; i++)
				out[i] = x[p * H + i] > out[i] ? x[p * H + i] : out[i];
	} else {
		for (size_t i = 0; i < H; i++)
			out[i] = 0;
		for (size_t p = 0; p < n; p++)
			for (size_t i = 0; i < H; i++)
				out[i] += x[p * H + i];
		for (size_t i = 0; i < H; i++)
			out[i] /= (float)n;
	}
}

static void l2_normalize(float *v, size_t n)
{
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (double)v[i] * v[i];
	float inv = (float)(1.0 / fmax(sqrt(ss), 1e-12));
	for (size_t i = 0; i < n; i++)
		v[i] *= inv;
}

/* Writes the best top_k (index, score) pairs of scores (n) scoring at least
 * threshold into out, -1-padded to k pairs; highest first, ties by index. */
static void top_tags(const float *scores, size_t n, int top_k, float threshold, double *out, size_t k_max)
{
	for (size_t j = 0; j < k_max; j++) {
		out[2 * j] = -1;
		out[2 * j + 1] = 0;
	}
	size_t k = top_k < 0 ? n : (size_t)top_k;
	if (k > k_max)
		k = k_max;
	for (size_t j = 0; j < k; j++) {
		long best = -1;
		for (size_t i = 0; i < n; i++) {
			int taken = 0;
			for (size_t q = 0; q < j; q++)
				if (out[2 * q] == (double)i)
					taken = 1;
			if (!taken && scores[i] >= threshold && (best < 0 || scores[i] > scores[best]))
				best = (long)i;
		}
		if (best < 0)
			break;
		out[2 * j] = (double)best;
		out[2 * j + 1] = scores[best];
	}
}

/* The row's result from its sequence: embedding, class tags or zero-shot tags. */
static void finish_row(const model *m, const bert *B, const chunk *c, const float *X, size_t s, float *tmp,
		       double *out)
{
	size_t H = B->H;
	if (B->task == BERT_CLASSIFY) {
		/* pooler: tanh(W x_cls + b); classifier: W pooled + b */
		const float *cls = X + c->start[s] * H;
		float *pooled = tmp, *logits = tmp + H;
		for (size_t o = 0; o < H; o++) {
			float acc = B->pool_b[o];
			for (size_t i = 0; i < H; i++)
				acc += B->pool_w[o * H + i] * cls[i];
			pooled[o] = tanhf(acc);
		}
		for (size_t o = 0; o < B->n_cls; o++) {
			float acc = B->cls_b[o];
			for (size_t i = 0; i < H; i++)
				acc += B->cls_w[o * H + i] * pooled[i];
			logits[o] = acc;
		}
		if (B->multi_label)
			for (size_t o = 0; o < B->n_cls; o++)
				logits[o] = 1.0f / (1.0f + expf(-logits[o]));
		else
			softmax_row(logits, B->n_cls);
		top_tags(logits, B->n_cls, B->top_k, B->threshold, out, (m->n_outputs - 1) / 2);
		return;
	}
	float *v = tmp;
	pool_seq(B, c, X, s, v);
	if (B->task == BERT_EMBED) {
		if (B->normalize)
			l2_normalize(v, H);
		for (size_t i = 0; i < H; i++)
			out[i] = v[i];
		return;
	}
	l2_normalize(v, H);
	float *sim = tmp + H;
	for (size_t k = 0; k < B->n_labels; k++) {
		float acc = 0;
		for (size_t i = 0; i < H; i++)
			acc += B->label_emb[k * H + i] * v[i];
		sim[k] = B->temperature > 0 ? acc / B->temperature : acc;
	}
	if (B->temperature > 0)
		softmax_row(sim, B->n_labels);
	top_tags(sim, B->n_labels, B->top_k, B->threshold, out, (m->n_outputs - 1) / 2);
}

/* Tokenizes texts and runs them through the encoder in chunks of at most
 * max_tokens tokens; out (n, n_outputs): the result, then the token count
 * (negative when the text was truncated). */
static int bert_run(const model *m, const bert *B, const text_span *text, size_t n, double *out, arena *a)
{
	int32_t **ids = arena_alloc(a, n * sizeof *ids);
	size_t *len = arena_alloc(a, n * sizeof *len);
	if (!ids || !len)
		return -1;
	size_t maxlen = B->max_length;
	for (size_t r = 0; r < n; r++) {
		void *work = arena_alloc(a, wp_work_size(text[r].len));
		ids[r] = arena_alloc(a, maxlen * sizeof **ids);
		if (!work || !ids[r])
			return -1;
		int truncated = 0;
		len[r] = wp_encode(&B->tok, text[r].ptr, text[r].len, ids[r], maxlen, &truncated, work);
		out[r * m->n_outputs + m->n_outputs - 1] = truncated ? -(double)len[r] : (double)len[r];
	}
	size_t *start = arena_alloc(a, n * sizeof *start);
	float *tmp = arena_alloc(a, (2 * B->H + B->n_cls + B->n_labels + 16) * sizeof *tmp);
	if (!start || !tmp)
		return -1;
	for (size_t r0 = 0; r0 < n;) {
		/* a chunk: consecutive rows within the token budget (at least one) */
		chunk c = {0, (const int32_t **)(ids + r0), len + r0, start, 0};
		while (r0 + c.n < n && (c.n == 0 || c.T + len[r0 + c.n] <= B->max_tokens)) {
			start[c.n] = c.T;
			c.T += len[r0 + c.n];
			c.n++;
		}
		float *X = encode(B, &c, a);
		if (!X)
			return -1;
		for (size_t s = 0; s < c.n; s++)
			finish_row(m, B, &c, X, s, tmp, out + (r0 + s) * m->n_outputs);
		r0 += c.n;
	}
	return 0;
}

static int bert_predict_text(const model *m, const text_span *text, size_t n, double *out, arena *scratch)
{
	return bert_run(m, m->impl, text, n, out, scratch);
}

/* ==== loading ============================================================ */

typedef struct loader {
	bert *B;
	const char *dir;
	bf_error *err;
	const char *prefix; /* "bert." or "" */
} loader;

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return p;
}

/* Reads dir/name as JSON into a; NULL (err filled unless optional) when absent or bad. */
static json_value *read_json(const char *dir, const char *name, arena *a, int optional, bf_error *err)
{
	char *path = join(dir, name);
	if (!path)
		return NULL;
	size_t len;
	char *buf = bf_read_file(path, &len);
	if (!buf) {
		if (!optional)
			bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open: the model folder needs %s", name);
		free(path);
		return NULL;
	}
	json_value *v = NULL;
	json_error jerr;
	char *copy = buf ? arena_alloc(a, len + 1) : NULL;
	if (copy) {
		memcpy(copy, buf, len);
		if (json_parse(copy, len, a, &v, &jerr) < 0) {
			bf_err_set(err, BF_EMODEL, path, jerr.line, jerr.column, "%s", jerr.message);
			v = NULL;
		}
	}
	free(buf);
	free(path);
	return v;
}

static int cfg_int(const json_value *cfg, const char *key, size_t *out, size_t def)
{
	const json_value *v = json_get(cfg, key);
	if (!v) {
		*out = def;
		return def ? 0 : -1;
	}
	if (v->type != JSON_NUMBER || v->u.number < 1 || v->u.number > 1e8 || v->u.number != floor(v->u.number))
		return -1;
	*out = (size_t)v->u.number;
	return 0;
}

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

/* sentence-transformers: pooling mode and normalization from modules.json. */
static void read_sentence_config(loader *L, arena *a, int *has_st)
{
	bert *B = L->B;
	bf_error ignore;
	*has_st = 0;
	json_value *modules = read_json(L->dir, "modules.json", a, 1, &ignore);
	if (!modules || modules->type != JSON_ARRAY)
		return;
	*has_st = 1;
	for (uint32_t i = 0; i < modules->len; i++) {
		const json_value *type = json_get(&modules->u.items[i], "type");
		const json_value *path = json_get(&modules->u.items[i], "path");
		if (!type || type->type != JSON_STRING)
			continue;
		if (strstr(type->u.string, "Normalize"))
			B->normalize = 1;
		if (strstr(type->u.string, "Pooling") && path && path->type == JSON_STRING) {
			char sub[512];
			snprintf(sub, sizeof sub, "%s/config.json", path->u.string);
			json_value *pc = read_json(L->dir, sub, a, 1, &ignore);
			const json_value *cls = json_get(pc, "pooling_mode_cls_token");
			const json_value *max = json_get(pc, "pooling_mode_max_tokens");
			if (cls && cls->type == JSON_TRUE)
				B->pool = BERT_POOL_CLS;
			else if (max && max->type == JSON_TRUE)
				B->pool = BERT_POOL_MAX;
		}
	}
	json_value *sb = read_json(L->dir, "sentence_bert_config.json", a, 1, &ignore);
	const json_value *msl = json_get(sb, "max_seq_length");
	if (msl && msl->type == JSON_NUMBER && msl->u.number >= 2 && msl->u.number <= (double)B->max_pos)
		B->max_length = (size_t)msl->u.number;
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

static int bert_load_path(model *m, const char *dir, const model_options *opt, bf_error *err)
{
	struct stat sb;
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return bf_err_set(err, BF_EMODEL, dir, 0, 0,
				  "expected a model folder (config.json, model.safetensors, vocab.txt)");
	bert *B = calloc(1, sizeof *B);
	if (!B)
		return bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
	m->impl = B;
	loader L = {B, dir, err, ""};
	arena a;
	arena_init(&a, 1 << 16);
	int rc = BF_EMODEL;
	json_value *cfg = read_json(dir, "config.json", &a, 0, err);
	if (!cfg)
		goto out;
	char *cfg_path = join(dir, "config.json");
	const json_value *act = json_get(cfg, "hidden_act");
	const json_value *pet = json_get(cfg, "position_embedding_type");
	const json_value *eps = json_get(cfg, "layer_norm_eps");
	if (cfg_int(cfg, "hidden_size", &B->H, 0) || cfg_int(cfg, "num_hidden_layers", &B->L, 0) ||
	    cfg_int(cfg, "num_attention_heads", &B->heads, 0) || cfg_int(cfg, "intermediate_size", &B->inter, 0) ||
	    cfg_int(cfg, "vocab_size", &B->vocab, 0) || cfg_int(cfg, "max_position_embeddings", &B->max_pos, 512) ||
	    cfg_int(cfg, "type_vocab_size", &B->types, 2) || B->H % B->heads) {
		bf_err_set(err, BF_EMODEL, cfg_path, 0, 0,
			   "needs hidden_size, num_hidden_layers, num_attention_heads (dividing hidden_size), "
			   "intermediate_size and vocab_size as positive integers");
		free(cfg_path);
		goto out;
	}
	if ((act && (act->type != JSON_STRING || strcmp(act->u.string, "gelu") != 0)) ||
	    (pet && (pet->type != JSON_STRING || strcmp(pet->u.string, "absolute") != 0))) {
		bf_err_set(err, BF_EMODEL, cfg_path, 0, 0,
			   "hidden_act must be \"gelu\" and position_embedding_type \"absolute\" (BERT)");
		free(cfg_path);
		goto out;
	}
	B->eps = eps && eps->type == JSON_NUMBER ? (float)eps->u.number : 1e-12f;
	free(cfg_path);

	/* weights */
	char *st_path = join(dir, "model.safetensors");
	if (!st_path || (rc = st_open(&B->st, st_path, err))) {
		free(st_path);
		goto out;
	}
	/* fingerprint the weights from the mapping st_open made */
	sha256_hex(B->st.map, B->st.size, m->sha256);
	m->file_bytes = B->st.size;
	free(st_path);
	if (st_find(&B->st, "bert.embeddings.word_embeddings.weight"))
		L.prefix = "bert.";
	rc = BF_EMODEL;
	size_t H = B->H;
	if (!(B->word = tensor(&L, "embeddings.word_embeddings.weight", B->vocab, H)) ||
	    !(B->pos = tensor(&L, "embeddings.position_embeddings.weight", B->max_pos, H)) ||
	    !(B->type = tensor(&L, "embeddings.token_type_embeddings.weight", B->types, H)) ||
	    !(B->emb_g = tensor(&L, "embeddings.LayerNorm.weight", H, 0)) ||
	    !(B->emb_b = tensor(&L, "embeddings.LayerNorm.bias", H, 0)))
		goto out;
	if ((rc = load_layers(&L)))
		goto out;
	rc = BF_EMODEL;

	/* tokenizer */
	wp_options wo;
	if ((rc = wp_options_from_dir(&wo, dir, err)))
		goto out;
	char *vocab = join(dir, "vocab.txt");
	rc = vocab ? wp_load(&B->tok, vocab, &wo, err) : BF_ENOMEM;
	free(vocab);
	if (rc)
		goto out;
	rc = BF_EMODEL;
	if (B->tok.n_tokens > B->vocab) {
		bf_err_set(err, BF_EMODEL, dir, 0, 0, "vocab.txt has %zu tokens but config.json vocab_size is %zu",
			   B->tok.n_tokens, B->vocab);
		goto out;
	}

	/* task, pooling, limits */
	int has_st;
	B->pool = BERT_POOL_MEAN;
	B->max_length = B->max_pos;
	read_sentence_config(&L, &a, &has_st);
	if (opt && opt->max_length) {
		if (opt->max_length > B->max_pos) {
			rc = bf_err_set(err, BF_ESPEC, dir, 0, 0,
					"model.max_length is %zu but the model has %zu positions", opt->max_length,
					B->max_pos);
			goto out;
		}
		B->max_length = opt->max_length;
	}
	if (opt && opt->normalize >= 0 && opt->normalize <= 1)
		B->normalize = opt->normalize;
	B->max_tokens = opt && opt->max_tokens ? opt->max_tokens : 16384;
	if (B->max_tokens < B->max_length)
		B->max_tokens = B->max_length;
	B->top_k = opt && opt->top_k ? opt->top_k : 1;
	B->threshold = opt ? (float)opt->threshold : 0;
	B->temperature = opt ? (float)opt->temperature : 0;
	int has_cls = st_find(&B->st, "classifier.weight") != NULL;
	if (opt && opt->task)
		B->task = strcmp(opt->task, "classify") == 0   ? BERT_CLASSIFY
			  : strcmp(opt->task, "zero_shot") == 0 ? BERT_ZERO_SHOT
								: BERT_EMBED;
	else
		B->task = opt && opt->n_labels ? BERT_ZERO_SHOT : has_cls && !has_st ? BERT_CLASSIFY : BERT_EMBED;

	if (B->task == BERT_CLASSIFY) {
		const json_value *id2label = json_get(cfg, "id2label");
		const json_value *pt = json_get(cfg, "problem_type");
		B->multi_label = pt && pt->type == JSON_STRING && strcmp(pt->u.string, "multi_label_classification") == 0;
		if (!has_cls) {
			rc = bf_err_set(err, BF_ESPEC, dir, 0, 0,
					"model.task is classify but the folder has no classifier weights");
			goto out;
		}
		const st_tensor *cw = st_find(&B->st, "classifier.weight");
		B->n_cls = cw->n_dims == 2 ? (size_t)cw->shape[0] : 0;
		if (!B->n_cls || !(B->cls_w = tensor(&L, "classifier.weight", B->n_cls, H)) ||
		    !(B->cls_b = tensor(&L, "classifier.bias", B->n_cls, 0)) ||
		    !(B->pool_w = tensor(&L, "pooler.dense.weight", H, H)) ||
		    !(B->pool_b = tensor(&L, "pooler.dense.bias", H, 0)))
			goto out;
		m->classes = calloc(B->n_cls, sizeof *m->classes);
		if (!m->classes)
			goto nomem;
		for (size_t k = 0; k < B->n_cls; k++, m->n_classes++) {
			char key[32];
			snprintf(key, sizeof key, "%zu", k);
			const json_value *name = json_get(id2label, key);
			m->classes[k] = strdup(name && name->type == JSON_STRING ? name->u.string : key);
			if (!m->classes[k])
				goto nomem;
		}
	} else if (B->task == BERT_ZERO_SHOT) {
		if (!opt || !opt->n_labels) {
			rc = bf_err_set(err, BF_ESPEC, dir, 0, 0, "model.task zero_shot needs model.labels");
			goto out;
		}
		B->n_labels = opt->n_labels;
		m->classes = calloc(B->n_labels, sizeof *m->classes);
		B->label_emb = malloc(B->n_labels * (H + 1) * sizeof *B->label_emb);
		if (!m->classes || !B->label_emb)
			goto nomem;
		for (size_t k = 0; k < B->n_labels; k++, m->n_classes++)
			if (!(m->classes[k] = strdup(opt->label_names[k])))
				goto nomem;
	}
	m->text_input = 1;
	m->n_inputs = 0;
	if (B->task == BERT_EMBED) {
		m->task = MODEL_TASK_EMBED;
		m->n_outputs = H + 1;
	} else {
		size_t n = B->task == BERT_CLASSIFY ? B->n_cls : B->n_labels;
		size_t k = B->top_k < 0 || (size_t)B->top_k > n ? n : (size_t)B->top_k;
		m->task = MODEL_TASK_TAGS;
		m->top_k = k;
		m->n_outputs = 2 * k + 1;
	}
	if (B->task == BERT_ZERO_SHOT) {
		/* embed the label descriptions once: pooled, unit length */
		text_span *texts = malloc(B->n_labels * sizeof *texts);
		size_t keep_out = m->n_outputs;
		bert_task keep_task = B->task;
		double *emb = malloc(B->n_labels * (H + 1) * sizeof *emb);
		arena la;
		arena_init(&la, 1 << 20);
		int failed = !texts || !emb;
		for (size_t k = 0; !failed && k < B->n_labels; k++)
			texts[k] = (text_span){opt->label_texts[k], strlen(opt->label_texts[k])};
		B->task = BERT_EMBED;
		int normalize = B->normalize;
		B->normalize = 1;
		m->n_outputs = H + 1;
		if (!failed && bert_run(m, B, texts, B->n_labels, emb, &la) < 0)
			failed = 1;
		for (size_t k = 0; !failed && k < B->n_labels; k++)
			for (size_t i = 0; i < H; i++)
				B->label_emb[k * H + i] = (float)emb[k * (H + 1) + i];
		B->task = keep_task;
		B->normalize = normalize;
		m->n_outputs = keep_out;
		arena_free(&la);
		free(texts);
		free(emb);
		if (failed)
			goto nomem;
	}
	m->n_params = 0;
	for (size_t i = 0; i < B->st.n; i++)
		m->n_params += B->st.tensors[i].n_elems;
	m->auto_batch_rows = 256;
	m->packs_batches = 1;
	rc = BF_OK;
	goto out;
nomem:
	rc = bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
out:
	arena_free(&a);
	return rc;
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
	.name = "bert",
	.load_path = bert_load_path,
	.predict_text = bert_predict_text,
	.flops = bert_flops,
	.describe = bert_describe,
	.free = bert_free,
};
