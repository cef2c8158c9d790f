/* trees.c: the tree-ensemble backend (XGBoost, LightGBM): turns a loaded
 * ensemble into a compact, cache-friendly layout and scores blocks of rows.
 *
 * Layout: each tree's nodes are renumbered breadth-first with the two
 * children of a split next to each other, so a step is `i = left + right?`,
 * with no pointer to chase for the right child. Scoring goes tree by tree
 * over a block of rows (the tree stays in cache while every row of the
 * block walks it), and the margins add up per row in tree order, in the
 * library's own precision: float for XGBoost, double for LightGBM. The
 * decision rules are each library's; trees_test.c checks this evaluator
 * against the reference evaluators in xgboost.c and lightgbm.c.
 *
 * Trees whose every split is one ordered comparison (fixed_split_of: no
 * categorical split, no LightGBM missing type Zero) take a fixed-depth walk:
 * one comparison per level and no branch (fnode for XGBoost, dnode for
 * LightGBM). With AVX2, XGBoost's no deeper than FULL_DEPTH_MAX are also
 * laid out as perfect binary trees (full_tree) and walked eight rows to a
 * vector: the first levels compare whole vectors of a feature (blocks are
 * held feature-major), the next ones take their splits from permutes, and a
 * gather fetches each lane's value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "trees.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

#define BLOCK_ROWS 64
/* Deepest tree given the complete layout of the vector walk (2^depth leaves). */
#define FULL_DEPTH_MAX 8

enum {
	NODE_DEFAULT_LEFT = 1,
	NODE_CATEGORICAL = 2,
	NODE_MISSING_ZERO = 4,  /* LightGBM missing type Zero */
	NODE_MISSING_NAN = 8,   /* LightGBM missing type NaN */
};

/* XGBoost node: 16 bytes; value is the split (float) or the leaf value. */
typedef struct xnode {
	float value;
	int32_t feature;        /* -1: leaf */
	uint32_t left;          /* right child = left + 1 */
	uint32_t flags;
} xnode;

/* LightGBM node: values stay double, as LightGBM compares and sums them. */
typedef struct lnode {
	double value;
	int32_t feature;        /* -1: leaf */
	uint32_t left;
	uint32_t flags;
	uint32_t pad;
} lnode;

/* XGBoost node for the fixed-depth walk of trees without categorical
 * splits. Each split's children are laid out so that a missing value goes to
 * the first one, and the step is one ordered comparison, false for NaN:
 *   default left:   second child (right) iff  v >= split;
 *   default right:  children swapped, second child (left) iff v < split,
 *                   computed as -v >= nextafter(-split, +inf) (sign = -).
 * A leaf loops to itself (it reads a sentinel feature of -inf, never >= 0),
 * so every row takes exactly depth steps and eight rows walk a tree side by
 * side with no branch. */
typedef struct fnode {
	float thr;
	uint32_t feat;          /* feature index */
	uint32_t left;          /* first child; second = left + 1; a leaf: itself */
	uint32_t sign;          /* 0x80000000: compare -v */
	float leaf;
} fnode;

/* LightGBM node for the same walk, in double as LightGBM compares and sums.
 * A leaf loops to itself with a NaN threshold (nothing is >= NaN). */
typedef struct dnode {
	double thr;
	uint32_t feat;
	uint32_t left;
	uint64_t sign;          /* bit 63: compare -v */
	double leaf;
} dnode;

/* The complete layout of a fixed-depth tree of depth D, for the AVX2 walk
 * (eight rows in the lanes of a vector): the tree padded to a perfect
 * binary tree, node i's children at 2i+1 and 2i+2, so a step needs no child
 * index from memory. A leaf above depth D becomes a split that always takes
 * its first child (threshold NaN: nothing is >= NaN), down to copies of the
 * leaf at depth D. Splits: thr[i] and feat_sign[i] = feature | fnode.sign;
 * leaves: leaf[i - (2^D - 1)]. Each tree's splits are padded to at least
 * 63 + 8 entries, so the first six levels load as whole vectors. */
typedef struct full_tree {
	uint32_t split;         /* offset of thr / feat_sign in full_thr / full_fs */
	uint32_t leaf;          /* offset in full_leaf */
} full_tree;

typedef struct trees_model {
	tree_ensemble e;
	fnode *f;               /* (n_nodes) XGBoost fixed-depth nodes, same indices as x */
	dnode *d;               /* (n_nodes) LightGBM fixed-depth nodes, same indices as l */
	uint8_t *walk;          /* (n_trees) depth for the fixed-depth walk; 0 = use the general loop */
	size_t n_used;          /* trees scored: all, or the first model.trees iterations */
	xnode *x;               /* XGBoost layout, (n_nodes), tree t starts at begin[t] */
	lnode *l;               /* LightGBM layout */
	uint32_t *src;          /* (n_nodes) original node of each laid-out node (categorical splits) */
	uint32_t *begin;        /* (n_trees) */
	float *weight_f;        /* (n_trees) DART weights for XGBoost, NULL = 1 */
	full_tree *full;        /* (n_trees) complete layouts; NULL without AVX2 */
	float *full_thr;
	uint32_t *full_fs;
	float *full_leaf;
} trees_model;

/* ---- layout -------------------------------------------------------------- */

/* A split of the fixed-depth walks as one ordered comparison that is false
 * for NaN: a missing value takes the first child, and a value goes to the
 * second iff (negate ? -v : v) >= thr. */
typedef struct fixed_split {
	int right_first;        /* the children in the order (right, left) */
	int negate;
	double thr;
} fixed_split;

/* The fixed_split of node nd, or 0 when no one comparison decides it
 * (categorical splits; LightGBM's missing type Zero, a band around 0). */
static int fixed_split_of(tree_lib lib, const tree_node *nd, fixed_split *s)
{
	if (nd->categorical)
		return 0;
	if (lib == TREE_LIB_XGBOOST) {
		/* float32: right iff !(v < t); NaN goes the default way */
		float t = (float)nd->threshold;
		if (nd->default_left)
			/* a NaN split sends every value right (v < NaN is false): as -inf */
			*s = (fixed_split){0, 0, isnan(t) ? -INFINITY : t};
		else
			/* left iff v < t, as -v >= the next float above -t; nothing is < -inf */
			*s = (fixed_split){1, 1, isinf(t) && t < 0 ? NAN : nextafterf(-t, INFINITY)};
		return 1;
	}
	/* LightGBM, double: left iff v <= t. Missing type NaN: NaN goes the
	 * default way. Missing type None: NaN is 0, so it goes left when t >= 0
	 * and right when t < 0: the side a NaN goes first either way. */
	if (nd->missing_type == TREE_MISSING_ZERO)
		return 0;
	double t = nd->threshold;
	int left_first = nd->missing_type == TREE_MISSING_NAN ? nd->default_left : t >= 0;
	if (left_first)
		/* right iff v > t: v >= the next double above t (never when t is
		 * +inf, always when t is NaN: v <= NaN is false) */
		*s = (fixed_split){0, 0, isnan(t) ? -INFINITY : isinf(t) && t > 0 ? NAN : nextafter(t, INFINITY)};
	else
		/* left iff v <= t, as -v >= -t (never when t is NaN) */
		*s = (fixed_split){1, 1, -t};
	return 1;
}

/* The fixed-depth layout of tree k (nodes [base, base + n)), with its own
 * breadth-first order, into t->f (XGBoost) or t->d (LightGBM); sets walk[k]
 * to its depth, or 0 when a split is not one comparison (then the general
 * walk is used). queue: n entries. */
static int lay_out_walk(trees_model *t, size_t k, uint32_t base, uint32_t n, uint32_t *queue, bf_error *err,
			const char *path)
{
	const tree_ensemble *e = &t->e;
	uint8_t *depth = calloc(n, 1);
	if (!depth)
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	uint32_t head = 0, tail = 0;
	uint8_t depth_max = 0;
	queue[tail++] = 0;
	while (head < tail) {
		uint32_t j = head, o = queue[head++];
		const tree_node *nd = &e->nodes[base + o];
		fixed_split fs;
		if (nd->left < 0) {
			if (t->f)
				t->f[base + j] = (fnode){0.0f, (uint32_t)e->n_features, j, 0, (float)nd->leaf};
			else
				t->d[base + j] = (dnode){NAN, 0, j, 0, nd->leaf};
		} else if (!fixed_split_of(e->lib, nd, &fs)) {
			free(depth);
			t->walk[k] = 0;
			return BF_OK;
		} else {
			queue[tail++] = (uint32_t)(fs.right_first ? nd->right : nd->left);
			queue[tail++] = (uint32_t)(fs.right_first ? nd->left : nd->right);
			if (t->f)
				t->f[base + j] = (fnode){(float)fs.thr, (uint32_t)nd->feature, tail - 2,
							 fs.negate ? 0x80000000u : 0, 0.0f};
			else
				t->d[base + j] = (dnode){fs.thr, (uint32_t)nd->feature, tail - 2,
							 fs.negate ? 0x8000000000000000ull : 0, 0.0};
			uint8_t dd = (uint8_t)(depth[j] < 254 ? depth[j] + 1 : 254);
			depth[tail - 2] = depth[tail - 1] = dd;
		}
		if (depth[j] > depth_max)
			depth_max = depth[j];
	}
	free(depth);
	t->walk[k] = depth_max > 32 ? 0 : (uint8_t)(depth_max ? depth_max : 1);
	return BF_OK;
}

#ifdef __AVX2__
/* Fills tree node i (level d) of a complete layout of depth D from fixed-depth
 * node j. */
static void fill_full(const fnode *f, uint32_t j, uint32_t i, unsigned d, unsigned D, float *thr, uint32_t *fs,
		      float *leaf)
{
	const fnode *n = &f[j];
	if (d == D) {
		leaf[i - ((1u << D) - 1)] = n->leaf;
		return;
	}
	int is_leaf = n->left == j;
	thr[i] = is_leaf ? NAN : n->thr;
	fs[i] = is_leaf ? 0 : n->feat | n->sign;
	fill_full(f, is_leaf ? j : n->left, 2 * i + 1, d + 1, D, thr, fs, leaf);
	fill_full(f, is_leaf ? j : n->left + 1, 2 * i + 2, d + 1, D, thr, fs, leaf);
}

static uint32_t full_splits(unsigned depth)
{
	uint32_t n = (1u << depth) - 1;
	return (n < 63 ? 63 : n) + 8;
}

/* Complete layouts of the fixed-depth trees no deeper than FULL_DEPTH_MAX
 * (AVX2 builds only; other trees keep full[k].leaf = UINT32_MAX). */
static int lay_out_full(trees_model *t, bf_error *err, const char *path)
{
	const tree_ensemble *e = &t->e;
	/* a gather index, feature * BLOCK_ROWS + row, must fit in 31 bits */
	unsigned depth_max = e->n_features < (1u << 24) ? FULL_DEPTH_MAX : 0;
	size_t n_splits = 0, n_leaves = 0;
	for (size_t k = 0; k < e->n_trees; k++)
		if (t->walk[k] && t->walk[k] <= depth_max) {
			n_splits += full_splits(t->walk[k]);
			n_leaves += 1u << t->walk[k];
		}
	t->full = malloc(e->n_trees * sizeof *t->full);
	t->full_thr = malloc((n_splits + 1) * sizeof *t->full_thr);
	t->full_fs = malloc((n_splits + 1) * sizeof *t->full_fs);
	t->full_leaf = malloc((n_leaves + 1) * sizeof *t->full_leaf);
	if (!t->full || !t->full_thr || !t->full_fs || !t->full_leaf)
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	uint32_t at_split = 0, at_leaf = 0;
	for (size_t k = 0; k < e->n_trees; k++) {
		unsigned D = t->walk[k];
		if (!D || D > depth_max) {
			t->full[k] = (full_tree){UINT32_MAX, UINT32_MAX};
			continue;
		}
		uint32_t ns = full_splits(D);
		for (uint32_t i = 0; i < ns; i++) {
			t->full_thr[at_split + i] = NAN;
			t->full_fs[at_split + i] = 0;
		}
		t->full[k] = (full_tree){at_split, at_leaf};
		fill_full(t->f + t->begin[k], 0, 0, 0, D, t->full_thr + at_split, t->full_fs + at_split,
			  t->full_leaf + at_leaf);
		at_split += ns;
		at_leaf += 1u << D;
	}
	return BF_OK;
}
#else
static int lay_out_full(trees_model *t, bf_error *err, const char *path)
{
	return BF_OK;
}
#endif

static int lay_out(trees_model *t, bf_error *err, const char *path)
{
	const tree_ensemble *e = &t->e;
	t->begin = malloc((e->n_trees + 1) * sizeof *t->begin);
	t->src = malloc((e->n_nodes + 1) * sizeof *t->src);
	t->walk = calloc(e->n_trees + 1, 1);
	if (e->lib == TREE_LIB_XGBOOST) {
		t->x = calloc(e->n_nodes + 1, sizeof *t->x);
		t->f = calloc(e->n_nodes + 1, sizeof *t->f);
	} else {
		t->l = calloc(e->n_nodes + 1, sizeof *t->l);
		t->d = calloc(e->n_nodes + 1, sizeof *t->d);
	}
	uint32_t *queue = malloc(2 * (e->n_nodes + 1) * sizeof *queue);
	if (!t->begin || !t->src || !t->walk || !queue || (t->x ? !t->f : !t->l || !t->d)) {
		free(queue);
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	}
	for (size_t k = 0; k < e->n_trees; k++) {
		uint32_t base = e->tree_begin[k], n = e->tree_begin[k + 1] - base;
		t->begin[k] = base;
		/* Breadth-first: queue[j] is the original index of laid-out node j. */
		uint32_t head = 0, tail = 0;
		queue[tail++] = 0;
		while (head < tail) {
			uint32_t j = head, o = queue[head++];
			const tree_node *nd = &e->nodes[base + o];
			uint32_t flags = 0, left = 0;
			int leaf = nd->left < 0;
			if (!leaf) {
				left = tail;
				queue[tail++] = (uint32_t)nd->left;
				queue[tail++] = (uint32_t)nd->right;
				flags = (nd->default_left ? NODE_DEFAULT_LEFT : 0) | (nd->categorical ? NODE_CATEGORICAL : 0) |
					(nd->missing_type == TREE_MISSING_ZERO ? NODE_MISSING_ZERO : 0) |
					(nd->missing_type == TREE_MISSING_NAN ? NODE_MISSING_NAN : 0);
			}
			t->src[base + j] = base + o;
			if (t->x)
				t->x[base + j] = (xnode){(float)(leaf ? nd->leaf : nd->threshold), leaf ? -1 : nd->feature,
							 left, flags};
			else
				t->l[base + j] = (lnode){leaf ? nd->leaf : nd->threshold, leaf ? -1 : nd->feature, left,
							 flags, 0};
		}
		if (tail != n) {
			free(queue);
			return bf_err_set(err, BF_EMODEL, path, 0, 0, "tree %zu: %u of its %u nodes are reachable", k,
					  tail, n);
		}
		int rc = lay_out_walk(t, k, base, n, queue + n, err, path);
		if (rc) {
			free(queue);
			return rc;
		}
	}
	free(queue);
	return t->x ? lay_out_full(t, err, path) : BF_OK;
}

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

static int trees_predict(const model *m, const double *x, size_t n, double *out, arena *scratch)
{
	const trees_model *t = m->impl;
	const tree_ensemble *e = &t->e;
	size_t g = e->n_groups, ni = m->n_inputs;
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
			if (e->average_output && t->n_used && !m->raw)
				for (size_t i = 0; i < nb * g; i++)
					acc_d[i] /= (double)(t->n_used / g);
		}
		for (size_t r = 0; r < nb; r++) {
			double *o = out + (r0 + r) * m->n_outputs;
			if (m->raw)
				memcpy(o, acc_d + r * g, g * sizeof *o);
			else if (xgb)
				xgb_transform(e, acc_f + r * g, o);
			else
				lgb_transform(e, acc_d + r * g, o);
		}
	}
	return 0;
}

/* ---- loading ------------------------------------------------------------- */

static void trees_free(model *m)
{
	trees_model *t = m->impl;
	if (!t)
		return;
	tree_ensemble_free(&t->e);
	free(t->x);
	free(t->f);
	free(t->d);
	free(t->walk);
	free(t->l);
	free(t->src);
	free(t->begin);
	free(t->weight_f);
	free(t->full);
	free(t->full_thr);
	free(t->full_fs);
	free(t->full_leaf);
	free(t);
	m->impl = NULL;
}

static char *class_name(size_t k)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%zu", k);
	return strdup(buf);
}

static int trees_options_of(void *opts, const job_spec *spec, bf_error *err)
{
	(void)err;
	trees_options *o = opts;
	o->trees = spec->model.trees;
	o->raw = spec->output.raw;
	o->classes = spec->model.classes;
	o->n_classes = spec->model.n_classes;
	return BF_OK;
}

/* Loads the ensemble in f, an XGBoost model when xgb, else LightGBM's. */
static int trees_load(model *m, const model_file *f, const trees_options *opt, int xgb, bf_error *err)
{
	trees_model *t = calloc(1, sizeof *t);
	if (!t)
		return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	m->impl = t;
	tree_ensemble *e = &t->e;
	int rc = xgb ? xgb_load(e, f->data, f->size, m->path, err) : lgb_load(e, f->data, f->size, m->path, err);
	if (rc)
		return rc;
	if ((rc = tree_check(e, m->path, err)) || (rc = lay_out(t, err, m->path)))
		return rc;
	if (e->n_groups == 0 || e->n_features == 0)
		return bf_err_set(err, BF_EMODEL, m->path, 0, 0, "the model has no %s",
				  e->n_groups ? "features" : "outputs");

	/* model.trees counts iterations: one tree per output group each. */
	t->n_used = e->n_trees;
	if (opt && opt->trees) {
		size_t want = opt->trees * e->n_groups;
		if (want > e->n_trees)
			return bf_err_set(err, BF_ESPEC, m->path, 0, 0,
					  "model.trees is %zu but the model has %zu iterations", opt->trees,
					  e->n_trees / e->n_groups);
		t->n_used = want;
	}
	if (xgb && e->tree_weight) {
		t->weight_f = malloc(e->n_trees * sizeof *t->weight_f);
		if (!t->weight_f)
			return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
		for (size_t k = 0; k < e->n_trees; k++)
			t->weight_f[k] = (float)e->tree_weight[k];
	}

	/* Inputs: the model's features by name (f0.. / Column_0.. when unnamed). */
	m->inputs = calloc(e->n_features, sizeof *m->inputs);
	if (!m->inputs)
		return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	for (size_t f = 0; f < e->n_features; f++, m->n_inputs++) {
		model_input *in = &m->inputs[f];
		char buf[32];
		const char *name = e->feature_names && e->feature_names[f] ? e->feature_names[f] : NULL;
		if (!name) {
			snprintf(buf, sizeof buf, xgb ? "f%zu" : "Column_%zu", f);
			name = buf;
		}
		if (!(in->name = strdup(name)))
			return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
		in->type = MODEL_INPUT_NUMBER;
		in->missing_ok = 1;
		strmap_init(&in->categories);
	}

	m->raw = opt && opt->raw;
	m->n_outputs = e->task == TREE_TASK_MULTICLASS || m->raw ? e->n_groups : 1;
	m->task = m->raw ? (e->n_groups > 1 ? MODEL_TASK_MULTICLASS : MODEL_TASK_REGRESSION)
			 : e->task == TREE_TASK_BINARY	   ? MODEL_TASK_BINARY
			 : e->task == TREE_TASK_MULTICLASS ? MODEL_TASK_MULTICLASS
							   : MODEL_TASK_REGRESSION;
	if (m->task != MODEL_TASK_REGRESSION) {
		size_t k = m->task == MODEL_TASK_BINARY ? 2 : e->n_groups;
		if (opt && opt->n_classes && opt->n_classes != k)
			return bf_err_set(err, BF_ESPEC, m->path, 0, 0,
					  "model.classes names %zu classes but the model has %zu", opt->n_classes, k);
		m->classes = calloc(k, sizeof *m->classes);
		if (!m->classes)
			return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
		for (; m->n_classes < k; m->n_classes++)
			if (!(m->classes[m->n_classes] = opt && opt->n_classes ? strdup(opt->classes[m->n_classes])
									       : class_name(m->n_classes)))
				return bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
	}
	m->n_params = e->n_nodes;
	return BF_OK;
}

static int xgb_backend_load(model *m, const model_file *f, const void *opts, bf_error *err)
{
	return trees_load(m, f, opts, 1, err);
}

static int lgb_backend_load(model *m, const model_file *f, const void *opts, bf_error *err)
{
	return trees_load(m, f, opts, 0, err);
}

static void trees_describe(const model *m, FILE *f)
{
	const trees_model *t = m->impl;
	const tree_ensemble *e = &t->e;
	static const char *outs[] = {"identity", "sigmoid", "softmax", "one-vs-all sigmoid", "exp"};
	fprintf(f, "library: %s\nobjective: %s (output %s)\n", e->lib == TREE_LIB_XGBOOST ? "xgboost" : "lightgbm",
		e->objective, outs[e->output]);
	fprintf(f, "trees: %zu (%zu used), %zu per iteration\nclasses/groups: %zu\n", e->n_trees, t->n_used,
		e->n_groups, e->n_groups);
	fprintf(f, "base score (margin):");
	for (size_t k = 0; k < e->n_groups && k < 8; k++)
		fprintf(f, " %.9g", e->base_score[k]);
	fprintf(f, "%s\n", e->n_groups > 8 ? " ..." : "");
	/* Depth histogram: leaves by depth. */
	size_t hist[64] = {0};
	for (size_t k = 0; k < e->n_trees; k++) {
		uint32_t base = e->tree_begin[k], n = e->tree_begin[k + 1] - base;
		uint8_t *depth = calloc(n, 1);
		if (!depth)
			return;
		/* The laid-out order is breadth-first: parents before children. */
		for (uint32_t i = 0; i < n; i++) {
			int32_t feature = t->x ? t->x[base + i].feature : t->l[base + i].feature;
			uint32_t left = t->x ? t->x[base + i].left : t->l[base + i].left;
			if (feature >= 0)
				depth[left] = depth[left + 1] = (uint8_t)(depth[i] + 1 < 63 ? depth[i] + 1 : 63);
			else
				hist[depth[i]]++;
		}
		free(depth);
	}
	fprintf(f, "max depth: %d\nleaves by depth:", e->max_depth);
	for (int d = 0; d < 64; d++)
		if (hist[d])
			fprintf(f, " %d:%zu", d, hist[d]);
	fprintf(f, "\nfeatures: %zu\n", e->n_features);
	for (size_t k = 0; k < e->n_features; k++)
		fprintf(f, "  %s (%s)\n", m->inputs[k].name, e->feature_is_cat && e->feature_is_cat[k] ? "categorical" : "numerical");
}

const model_backend xgboost_backend = {
	.options_size = sizeof(trees_options),
	.options = trees_options_of,
	.load = xgb_backend_load,
	.predict = trees_predict,
	.describe = trees_describe,
	.free = trees_free,
};

const model_backend lightgbm_backend = {
	.options_size = sizeof(trees_options),
	.options = trees_options_of,
	.load = lgb_backend_load,
	.predict = trees_predict,
	.describe = trees_describe,
	.free = trees_free,
};
