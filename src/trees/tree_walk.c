/* tree_walk.c: blocks of rows scored with the laid-out trees
 * (tree_fast.h), in each library's own precision and decision rules.
 *
 * Scoring goes tree by tree over a block of rows (the tree stays in cache
 * while every row of the block walks it), and the margins add up per row in
 * tree order, in the library's own precision: float for XGBoost, double for
 * LightGBM. Trees with a fixed-depth layout are walked eight rows side by
 * side for exactly their depth, with no branch; with AVX2, XGBoost's with a
 * complete layout in the lanes of a vector: the first levels compare whole
 * vectors of a feature (blocks are held feature-major), the next ones take
 * their splits from permutes, and a gather fetches each lane's value. The
 * rest walk node by node. trees_test.c checks every walk bit for bit
 * against the reference evaluators in xgboost.c and lightgbm.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "tree_fast.h"

/* ---- decisions ----------------------------------------------------------- */

/* Category c listed at the split (bit c of the node's span)? */
static int cat_listed(const tree_ensemble *e, const tree_node *nd, uint64_t c)
{
	uint64_t words = nd->cat_end - nd->cat_begin;
	if (c / 32 >= words)
		return 0;
	return (e->cat_bits[nd->cat_begin + c / 32] >> (c % 32)) & 1;
}

/* XGBoost (common/categorical.h Decision; NaN was handled as missing
 * before): a negative value or one >= 2^24 goes left; otherwise the value,
 * truncated, goes right when listed at the split, left when not listed or
 * past the split's bit field. */
static uint32_t xgb_cat_right(const trees_model *t, uint32_t at, float v)
{
	const tree_node *nd = &t->e.nodes[t->src[at]];
	if (v < 0.0f || v >= 16777216.0f)
		return 0;
	return (uint32_t)cat_listed(&t->e, nd, (uint64_t)(uint32_t)v);
}

/* LightGBM (tree.h CategoricalDecision): NaN, negative values and values no
 * int holds go right (see lgb_categorical_left); listed categories go left. */
static uint32_t lgb_cat_right(const trees_model *t, uint32_t at, double v)
{
	const tree_node *nd = &t->e.nodes[t->src[at]];
	if (isnan(v) || v <= -1.0 || v >= 2147483648.0)
		return 1;
	return !cat_listed(&t->e, nd, (uint64_t)(uint32_t)(int32_t)v);
}

/* The XGBoost walks read a block of up to BLOCK_ROWS rows held feature by
 * feature: feature f of row r at rows[f * BLOCK_ROWS + r]. */
#define AT(rows, f) ((rows)[(size_t)(f) * BLOCK_ROWS])

static inline float xgb_tree(const trees_model *t, const xnode *tree, uint32_t base, const float *row)
{
	uint32_t i = 0;
	while (tree[i].feature >= 0) {
		const xnode *n = &tree[i];
		float v = AT(row, n->feature);
		uint32_t right;
		if (isnan(v))
			right = !(n->flags & NODE_DEFAULT_LEFT);
		else if (n->flags & NODE_CATEGORICAL)
			right = xgb_cat_right(t, base + i, v);
		else
			right = !(v < n->value);
		i = n->left + right;
	}
	return tree[i].value;
}

/* One step of the fixed-depth walk: one ordered comparison (see fnode). */
static inline uint32_t fstep(const fnode *tree, uint32_t i, const float *row)
{
	const fnode *n = &tree[i];
	uint32_t bits;
	float v = AT(row, n->feat);
	memcpy(&bits, &v, sizeof bits);
	bits ^= n->sign;
	memcpy(&v, &bits, sizeof v);
	return n->left + (v >= n->thr);
}

/* One step of LightGBM's fixed-depth walk (see dnode); rows are rows. */
static inline uint32_t dstep(const dnode *tree, uint32_t i, const double *row)
{
	const dnode *n = &tree[i];
	uint64_t bits;
	double v = row[n->feat];
	memcpy(&bits, &v, sizeof bits);
	bits ^= n->sign;
	memcpy(&v, &bits, sizeof v);
	return n->left + (v >= n->thr);
}

/* name(tree, depth, rows, rs, nb, acc, g, w) adds w times tree's leaf for
 * each of nb rows (row r at rows + r * rs) to acc (stride g): eight rows
 * walk the tree side by side, depth steps each. Leaves add in row order, one
 * tree at a time, so sums keep the library's order. */
#define FIXED_WALK(name, node_t, val_t, step)                                                          \
	static void name(const node_t *tree, unsigned depth, const val_t *rows, size_t rs, size_t nb,  \
			 val_t *acc, size_t g, val_t w)                                                 \
	{                                                                                              \
		size_t r = 0;                                                                          \
		for (; r + 8 <= nb; r += 8) {                                                          \
			const val_t *p = rows + r * rs;                                                \
			uint32_t i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;       \
			for (unsigned d = 0; d < depth; d++) {                                         \
				i0 = step(tree, i0, p);                                                \
				i1 = step(tree, i1, p + rs);                                           \
				i2 = step(tree, i2, p + 2 * rs);                                       \
				i3 = step(tree, i3, p + 3 * rs);                                       \
				i4 = step(tree, i4, p + 4 * rs);                                       \
				i5 = step(tree, i5, p + 5 * rs);                                       \
				i6 = step(tree, i6, p + 6 * rs);                                       \
				i7 = step(tree, i7, p + 7 * rs);                                       \
			}                                                                              \
			val_t *a = acc + r * g;                                                        \
			a[0] += w * tree[i0].leaf;                                                     \
			a[g] += w * tree[i1].leaf;                                                     \
			a[2 * g] += w * tree[i2].leaf;                                                 \
			a[3 * g] += w * tree[i3].leaf;                                                 \
			a[4 * g] += w * tree[i4].leaf;                                                 \
			a[5 * g] += w * tree[i5].leaf;                                                 \
			a[6 * g] += w * tree[i6].leaf;                                                 \
			a[7 * g] += w * tree[i7].leaf;                                                 \
		}                                                                                      \
		for (; r < nb; r++) {                                                                  \
			uint32_t i = 0;                                                                \
			for (unsigned d = 0; d < depth; d++)                                           \
				i = step(tree, i, rows + r * rs);                                      \
			acc[r * g] += w * tree[i].leaf;                                                \
		}                                                                                      \
	}

/* XGBoost's, over a feature-major block (rs = 1); LightGBM's, over rows of
 * doubles as given (rs = the row length). */
FIXED_WALK(xgb_walk, fnode, float, fstep)
FIXED_WALK(lgb_walk, dnode, double, dstep)

#ifdef __AVX2__
#define SELECT_LEVELS 3 /* levels whose splits are all compared, then selected (at most 3) */

/* Per lane, entry rel of the 2^d (d <= 5) 32-bit values at p: permutes of
 * eight, blended on bits 3 and 4 of rel. */
static inline __m256 pick(const void *p, __m256i rel, unsigned d)
{
	const __m256i *v = p;
	__m256 x = _mm256_permutevar8x32_ps(_mm256_castsi256_ps(_mm256_loadu_si256(v)), rel);
	if (d < 4)
		return x;
	__m256 b3 = _mm256_castsi256_ps(_mm256_slli_epi32(rel, 28));
	x = _mm256_blendv_ps(x, _mm256_permutevar8x32_ps(_mm256_castsi256_ps(_mm256_loadu_si256(v + 1)), rel), b3);
	if (d < 5)
		return x;
	__m256 y = _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_castsi256_ps(_mm256_loadu_si256(v + 2)), rel),
				    _mm256_permutevar8x32_ps(_mm256_castsi256_ps(_mm256_loadu_si256(v + 3)), rel), b3);
	return _mm256_blendv_ps(x, y, _mm256_castsi256_ps(_mm256_slli_epi32(rel, 27)));
}

/* v >= thr for the eight rows at col, v negated where sign has the bit */
static inline __m256 split_ge(const float *col, __m256 sign, __m256 thr)
{
	return _mm256_cmp_ps(_mm256_xor_ps(_mm256_loadu_ps(col), sign), thr, _CMP_GE_OQ);
}

/* The fixed-depth walk with eight rows in the lanes of a vector, over the
 * complete layout of a tree of depth D: the first nq groups of eight rows of
 * the block step level by level together, so the gathers of one group
 * overlap the others'. A step is fstep's comparison: v (negated where the
 * split's sign says) >= thr, false for NaN, to child 2i+1 (false) or 2i+2
 * (true). On the first SELECT_LEVELS levels (at most four splits) each
 * split compares the eight rows' values of its feature, one vector load as
 * the block is feature-major, and each lane takes its split's result; below,
 * a lane's split comes from permutes of the level's splits (up to 32) or a
 * gather, and its feature value from a gather. Leaves add as in xgb_walk. */
static void xgb_walk_full(const float *thr, const uint32_t *fs, const float *leaf, unsigned D, const float *rows,
			  size_t nq, float *acc, size_t g, float w)
{
	_Static_assert(BLOCK_ROWS == 64, "a gather index is feature << 6 | row");
	__m256i idx[BLOCK_ROWS / 8];
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	const __m256i one = _mm256_set1_epi32(1), feat_mask = _mm256_set1_epi32(0x7fffffff);
	const __m256i sign_mask = _mm256_set1_epi32((int)0x80000000u);
	for (size_t q = 0; q < nq; q++)
		idx[q] = _mm256_setzero_si256();
	for (unsigned d = 0; d < D; d++) {
		uint32_t first = (1u << d) - 1;
		__m256i base = _mm256_set1_epi32((int)first);
		if (d < SELECT_LEVELS) {
			/* splits j = 0 .. 2^d - 1 of the level (d <= 2) */
			__m256 st[4], ss[4];
			const float *col[4];
			for (unsigned j = 0; j < 4; j++) {
				unsigned jj = j < (1u << d) ? j : 0;
				st[j] = _mm256_set1_ps(thr[first + jj]);
				ss[j] = _mm256_castsi256_ps(_mm256_set1_epi32((int)(fs[first + jj] & 0x80000000u)));
				col[j] = &AT(rows, fs[first + jj] & 0x7fffffffu);
			}
			for (size_t q = 0; q < nq; q++) {
				__m256 ge = split_ge(col[0] + q * 8, ss[0], st[0]);
				if (d > 0) {
					__m256i rel = _mm256_sub_epi32(idx[q], base);
					__m256 b0 = _mm256_castsi256_ps(_mm256_slli_epi32(rel, 31));
					ge = _mm256_blendv_ps(ge, split_ge(col[1] + q * 8, ss[1], st[1]), b0);
					if (d > 1) {
						__m256 ge2 = _mm256_blendv_ps(split_ge(col[2] + q * 8, ss[2], st[2]),
									      split_ge(col[3] + q * 8, ss[3], st[3]), b0);
						ge = _mm256_blendv_ps(ge, ge2, _mm256_castsi256_ps(_mm256_slli_epi32(rel, 30)));
					}
				}
				idx[q] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(idx[q], idx[q]), one),
							  _mm256_castps_si256(ge));
			}
			continue;
		}
		for (size_t q = 0; q < nq; q++) {
			__m256 t;
			__m256i f;
			if (d < 6) {
				__m256i rel = _mm256_sub_epi32(idx[q], base);
				t = pick(thr + first, rel, d);
				f = _mm256_castps_si256(pick(fs + first, rel, d));
			} else {
				t = _mm256_i32gather_ps(thr, idx[q], 4);
				f = _mm256_i32gather_epi32((const int *)fs, idx[q], 4);
			}
			__m256i at = _mm256_add_epi32(_mm256_slli_epi32(_mm256_and_si256(f, feat_mask), 6), lane);
			__m256 v = _mm256_i32gather_ps(rows + q * 8, at, 4);
			v = _mm256_xor_ps(v, _mm256_castsi256_ps(_mm256_and_si256(f, sign_mask)));
			__m256i ge = _mm256_castps_si256(_mm256_cmp_ps(v, t, _CMP_GE_OQ));
			idx[q] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(idx[q], idx[q]), one), ge);
		}
	}
	__m256i leaf0 = _mm256_set1_epi32((int)((1u << D) - 1));
	__m256 wv = _mm256_set1_ps(w);
	for (size_t q = 0; q < nq; q++) {
		__m256 lv = _mm256_mul_ps(wv, _mm256_i32gather_ps(leaf, _mm256_sub_epi32(idx[q], leaf0), 4));
		float *a = acc + q * 8 * g;
		if (g == 1) {
			_mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), lv));
		} else {
			float l[8];
			_mm256_storeu_ps(l, lv);
			for (size_t r = 0; r < 8; r++)
				a[r * g] += l[r];
		}
	}
}
#endif

/* LightGBM (tree.h NumericalDecision). */
static inline double lgb_tree(const trees_model *t, const lnode *tree, uint32_t base, const double *row)
{
	uint32_t i = 0;
	while (tree[i].feature >= 0) {
		const lnode *n = &tree[i];
		double v = row[n->feature];
		uint32_t right;
		if (n->flags & NODE_CATEGORICAL) {
			right = lgb_cat_right(t, base + i, v);
		} else {
			if (isnan(v) && !(n->flags & NODE_MISSING_NAN))
				v = 0.0;
			if (((n->flags & NODE_MISSING_ZERO) && v >= -LGB_ZERO_THRESHOLD && v <= LGB_ZERO_THRESHOLD) ||
			    ((n->flags & NODE_MISSING_NAN) && isnan(v)))
				right = !(n->flags & NODE_DEFAULT_LEFT);
			else
				right = !(v <= n->value);
		}
		i = n->left + right;
	}
	return tree[i].value;
}

/* ---- output transforms ------------------------------------------------------ */

/* XGBoost's transforms, in float as it computes them (common/math.h):
 * sigmoid 1/(exp(-x) + 1 + 1e-16) with the exponent capped at 88.7, softmax
 * with exp(x - max) summed in double. */
static void xgb_transform(const tree_ensemble *e, const float *m, double *out)
{
	size_t g = e->n_groups;
	switch (e->output) {
	case TREE_OUTPUT_SIGMOID: {
		float z = -m[0] < 88.7f ? -m[0] : 88.7f;
		out[0] = 1.0f / (expf(z) + 1.0f + 1e-16f);
		break;
	}
	case TREE_OUTPUT_EXP:
		out[0] = expf(m[0]);
		break;
	case TREE_OUTPUT_SOFTMAX:
	case TREE_OUTPUT_OVA: {
		float max = m[0];
		double sum = 0;
		for (size_t k = 1; k < g; k++)
			if (m[k] > max)
				max = m[k];
		for (size_t k = 0; k < g; k++)
			sum += expf(m[k] - max);
		for (size_t k = 0; k < g; k++)
			out[k] = expf(m[k] - max) / (float)sum;
		break;
	}
	default:
		for (size_t k = 0; k < g; k++)
			out[k] = m[k];
	}
}

static void lgb_transform(const tree_ensemble *e, const double *m, double *out)
{
	size_t g = e->n_groups;
	switch (e->output) {
	case TREE_OUTPUT_SIGMOID:
		out[0] = 1.0 / (1.0 + exp(-e->sigmoid * m[0]));
		break;
	case TREE_OUTPUT_EXP:
		out[0] = exp(m[0]);
		break;
	case TREE_OUTPUT_OVA:
		for (size_t k = 0; k < g; k++)
			out[k] = 1.0 / (1.0 + exp(-e->sigmoid * m[k]));
		break;
	case TREE_OUTPUT_SOFTMAX: {
		double max = m[0], sum = 0;
		for (size_t k = 1; k < g; k++)
			if (m[k] > max)
				max = m[k];
		for (size_t k = 0; k < g; k++)
			sum += out[k] = exp(m[k] - max);
		for (size_t k = 0; k < g; k++)
			out[k] /= sum;
		break;
	}
	default:
		for (size_t k = 0; k < g; k++)
			out[k] = m[k];
	}
}

/* ---- scoring ------------------------------------------------------------- */

/* XGBoost: the nb rows at x (stride ni) as float32 into the feature-major
 * block rows (see AT; the -inf sentinel as feature nf), then the margins of
 * each row into acc (nb x groups), from base_score, tree by tree. */
static void xgb_score_block(const trees_model *t, const double *x, size_t ni, size_t nb, float *rows, float *acc)
{
	const tree_ensemble *e = &t->e;
	size_t nf = e->n_features, g = e->n_groups;
	for (size_t r = 0; r < nb; r++) {
		for (size_t f = 0; f < nf; f++)
			AT(rows + r, f) = (float)x[r * ni + f];
		AT(rows + r, nf) = -INFINITY;
	}
	for (size_t r = 0; r < nb; r++)
		for (size_t k = 0; k < g; k++)
			acc[r * g + k] = (float)e->base_score[k];
	for (size_t k = 0; k < t->n_used; k++) {
		float *a = acc + e->tree_group[k];
		float w = t->weight_f ? t->weight_f[k] : 1.0f;
		const fnode *fixed = t->f + t->begin[k];
#ifdef __AVX2__
		if (t->full[k].leaf != UINT32_MAX) {
			/* whole groups of eight in the vector walk, the rest in the scalar one */
			size_t nq = nb / 8;
			xgb_walk_full(t->full_thr + t->full[k].split, t->full_fs + t->full[k].split,
				      t->full_leaf + t->full[k].leaf, t->walk[k], rows, nq, a, g, w);
			xgb_walk(fixed, t->walk[k], rows + nq * 8, 1, nb % 8, a + nq * 8 * g, g, w);
			continue;
		}
#endif
		if (t->walk[k])
			xgb_walk(fixed, t->walk[k], rows, 1, nb, a, g, w);
		else
			for (size_t r = 0; r < nb; r++)
				a[r * g] += w * xgb_tree(t, t->x + t->begin[k], t->begin[k], rows + r);
	}
}

/* LightGBM: the margins of the nb rows at x (stride ni) into acc (nb x
 * groups), in double, tree by tree: the raw score, a sum also for random
 * forests (average_output: trees_predict averages the outputs). Not
 * inlined: inlined into trees_predict beside the XGBoost block, its walk
 * ran 5% slower (gcc 12). */
static __attribute__((noinline)) void lgb_score_block(const trees_model *t, const double *x, size_t ni, size_t nb,
						      double *acc)
{
	const tree_ensemble *e = &t->e;
	size_t g = e->n_groups;
	for (size_t r = 0; r < nb; r++)
		for (size_t k = 0; k < g; k++)
			acc[r * g + k] = e->base_score[k];
	for (size_t k = 0; k < t->n_used; k++) {
		double *a = acc + e->tree_group[k];
		double w = e->tree_weight ? e->tree_weight[k] : 1.0;
		if (t->walk[k])
			lgb_walk(t->d + t->begin[k], t->walk[k], x, ni, nb, a, g, w);
		else
			for (size_t r = 0; r < nb; r++)
				a[r * g] += w * lgb_tree(t, t->l + t->begin[k], t->begin[k], x + r * ni);
	}
}

int tree_score(const trees_model *t, const double *x, size_t n, size_t ni, int raw, size_t n_outputs, double *out,
	       arena *scratch)
{
	const tree_ensemble *e = &t->e;
	size_t g = e->n_groups;
	int xgb = e->lib == TREE_LIB_XGBOOST;
	float *rows_f = xgb ? arena_alloc(scratch, BLOCK_ROWS * (e->n_features + 1) * sizeof *rows_f) : NULL;
	float *acc_f = xgb ? arena_alloc(scratch, BLOCK_ROWS * g * sizeof *acc_f) : NULL;
	double *acc_d = arena_alloc(scratch, BLOCK_ROWS * g * sizeof *acc_d);
	if (!acc_d || (xgb && (!rows_f || !acc_f)))
		return -1;
	for (size_t r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
		size_t nb = n - r0 < BLOCK_ROWS ? n - r0 : BLOCK_ROWS;
		if (xgb) {
			xgb_score_block(t, x + r0 * ni, ni, nb, rows_f, acc_f);
			for (size_t i = 0; i < nb * g; i++)
				acc_d[i] = acc_f[i];
		} else {
			lgb_score_block(t, x + r0 * ni, ni, nb, acc_d);
			/* GBDT::Predict: a random forest's output is the mean of its
			 * iterations; its raw score (output.raw) stays the sum */
			if (e->average_output && t->n_used && !raw)
				for (size_t i = 0; i < nb * g; i++)
					acc_d[i] /= (double)(t->n_used / g);
		}
		for (size_t r = 0; r < nb; r++) {
			double *o = out + (r0 + r) * n_outputs;
			if (raw)
				memcpy(o, acc_d + r * g, g * sizeof *o);
			else if (xgb)
				xgb_transform(e, acc_f + r * g, o);
			else
				lgb_transform(e, acc_d + r * g, o);
		}
	}
	return 0;
}
