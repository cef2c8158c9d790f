/* tree_fast.h: the tree backend's fast form of an ensemble, shared by
 * tree_layout.c (which builds it from the loaded trees) and tree_walk.c
 * (which scores blocks of rows with it); trees.c is the backend. */
#ifndef BF_TREE_FAST_H
#define BF_TREE_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "error.h"
#include "model.h"
#include "trees.h"

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


/* Lays out t->e (loaded and checked) for the walks; BF_OK or BF_ENOMEM. */
int tree_lay_out(trees_model *t, bf_error *err, const char *path);
/* Scores n rows at x (n, ni) into out (n, n_outputs): margins when raw,
 * else the library's output transform. Returns 0, or -1 when out of memory. */
int tree_score(const trees_model *t, const double *x, size_t n, size_t ni, int raw, size_t n_outputs, double *out,
	       arena *scratch);

#endif
