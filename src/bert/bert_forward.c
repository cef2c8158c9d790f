/* bert_forward.c: the encoder's forward pass, as transformers'
 * modeling_bert.py computes it in fp32, but without padding: the sequences
 * of a chunk are laid end to end, so every Linear layer is one GEMM over all
 * the chunk's tokens, (T, in) x (in, out), and attention runs per sequence
 * over its own tokens only, which is what masking the padded keys computes.
 * GELU is the exact erf form. Then pooling, the classifier head or the
 * zero-shot similarities, per row. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "bert.h"

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
int bert_run(const model *m, const bert *B, const text_span *text, size_t n, double *out, arena *a)
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
