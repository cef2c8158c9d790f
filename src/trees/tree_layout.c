/* tree_layout.c: a loaded ensemble laid out for the tree walks
 * (tree_fast.h).
 *
 * Each tree's nodes are renumbered breadth-first with the two children of a
 * split next to each other, so a step is `i = left + right?`, with no
 * pointer to chase for the right child. Trees whose every split is one
 * ordered comparison (fixed_split_of: no categorical split, no LightGBM
 * missing type Zero) also get the fixed-depth layout: one comparison per
 * level and no branch (fnode for XGBoost, dnode for LightGBM). With AVX2,
 * XGBoost's no deeper than FULL_DEPTH_MAX are also laid out as perfect
 * binary trees (full_tree) for the vector walk. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tree_fast.h"

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

int tree_lay_out(trees_model *t, bf_error *err, const char *path)
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
