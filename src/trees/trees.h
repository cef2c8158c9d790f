/* trees.h: gradient-boosted tree ensembles (XGBoost, LightGBM) in one
 * in-memory form, loaded faithfully from each library's files.
 *
 * The loaders (xgboost.c, lightgbm.c) copy what the file says into these
 * arrays and nothing more: decision rules differ between the libraries
 * (XGBoost: float32 values, `x < split`, categories listed in a split go
 * one way; LightGBM: double values, `x <= threshold`, missing types None /
 * Zero / NaN, bitsets of categories that go left), so each library has its
 * own reference evaluator, written line by line after the library's own
 * predictor, and the fast batched evaluator (tree_layout.c, tree_walk.c) is
 * tested against them. */
#ifndef BF_TREES_H
#define BF_TREES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum tree_lib {
	TREE_LIB_XGBOOST,
	TREE_LIB_LIGHTGBM,
} tree_lib;

/* LightGBM's missing types (decision_type bits 2-3); XGBoost nodes use NAN. */
typedef enum tree_missing {
	TREE_MISSING_NONE = 0,
	TREE_MISSING_ZERO = 1,
	TREE_MISSING_NAN = 2,
} tree_missing;

/* LightGBM's kZeroThreshold (include/LightGBM/meta.h): a double set from the
 * float 1e-35f, so 1.0000000180025095e-35, the value files print for zero
 * thresholds. A value within it is zero for missing type Zero. */
#define LGB_ZERO_THRESHOLD ((double)1e-35f)

/* What turns the summed margin into the output (objective). */
typedef enum tree_output {
	TREE_OUTPUT_IDENTITY,   /* reg:squarederror, regression, rank:*, binary:logitraw */
	TREE_OUTPUT_SIGMOID,    /* binary:logistic, reg:logistic; LightGBM binary: 1/(1+exp(-sigmoid*x)) */
	TREE_OUTPUT_SOFTMAX,    /* multi:softprob, multi:softmax, LightGBM multiclass */
	TREE_OUTPUT_OVA,        /* LightGBM multiclassova: sigmoid per class */
	TREE_OUTPUT_EXP,        /* count:poisson, LightGBM poisson/gamma/tweedie */
} tree_output;

typedef enum tree_task {
	TREE_TASK_BINARY,       /* score = P(class 1) */
	TREE_TASK_MULTICLASS,   /* label + probabilities */
	TREE_TASK_REGRESSION,   /* score = value (also ranking scores, raw margins) */
} tree_task;

typedef struct tree_node {
	int32_t left, right;    /* child indices within the same tree; -1 for a leaf */
	int32_t feature;        /* split feature index (< n_features) */
	uint8_t default_left;   /* missing values go left */
	uint8_t missing_type;   /* tree_missing (LightGBM); XGBoost: TREE_MISSING_NAN */
	uint8_t categorical;    /* categorical split: categories in cat_bits */
	double threshold;       /* numerical split; an XGBoost float32, widened exactly */
	double leaf;            /* leaf value; an XGBoost float32, widened exactly */
	uint32_t cat_begin;     /* categorical: words [cat_begin, cat_end) of cat_bits, */
	uint32_t cat_end;       /* bit c of the span set = category c is listed in the file */
} tree_node;

typedef struct tree_ensemble {
	tree_lib lib;
	char objective[64];     /* as the file names it: "binary:logistic", "binary sigmoid:1" ... */
	tree_output output;
	tree_task task;
	double sigmoid;         /* LightGBM's sigmoid parameter (1 for XGBoost) */
	size_t n_groups;        /* margins per row: number of classes for multiclass, else 1 */
	size_t n_features;
	char **feature_names;   /* (n_features) from the file; NULL when the file has none */
	uint8_t *feature_is_cat;/* (n_features) 1 for categorical features */
	double *base_score;     /* (n_groups) added to every margin, already in margin space */
	int average_output;     /* LightGBM random forest: margins are averaged over trees */

	size_t n_trees;
	uint32_t *tree_begin;   /* (n_trees + 1) node index where each tree starts; root first */
	int32_t *tree_group;    /* (n_trees) output group of each tree */
	double *tree_weight;    /* (n_trees) weight of each tree's leaves (DART); NULL = all 1 */
	tree_node *nodes;       /* (n_nodes) all trees, one after another */
	size_t n_nodes;
	uint32_t *cat_bits;     /* (n_cat_words) */
	size_t n_cat_words;
	int max_depth;          /* deepest root-to-leaf path, in splits */
} tree_ensemble;

/* Loaders. text[0..len) is the whole file; path is for messages. They fill
 * e (zeroed by the caller) and return BF_OK, or BF_EMODEL with err saying
 * file, what and where. Neither trusts the file: every count, index and
 * offset is checked, and tree_check() must pass before use. */
int xgb_load(tree_ensemble *e, const char *text, size_t len, const char *path, bf_error *err);
int lgb_load(tree_ensemble *e, const char *text, size_t len, const char *path, bf_error *err);

/* Structural checks shared by both loaders: children in range and each node
 * reached exactly once from its tree's root (no cycles, no sharing), feature
 * indices < n_features, category spans inside cat_bits, groups < n_groups.
 * Also computes e->max_depth. */
int tree_check(tree_ensemble *e, const char *path, bf_error *err);

/* Reference evaluators, one per library, written after the library's own
 * predictor: margins (n_groups values, base_score and tree weights included,
 * output transform NOT applied: LightGBM's raw score, so a random forest's
 * sum, not its mean) for one row of n_features values (NaN =
 * missing), using trees [0, n_trees). Slow and simple on purpose. */
void xgb_margin_ref(const tree_ensemble *e, const double *row, size_t n_trees, double *margin);
void lgb_margin_ref(const tree_ensemble *e, const double *row, size_t n_trees, double *margin);

void tree_ensemble_free(tree_ensemble *e);

/* The tree backends' settings (model_backend.options). */
typedef struct trees_options {
	size_t trees;           /* model.trees: score the first N iterations; 0 = all */
	int raw;                /* output.raw: margins, not probabilities */
	char *const *classes;   /* model.classes: names of classes 0..K-1 (borrowed); NULL = "0", "1", ... */
	size_t n_classes;
} trees_options;

#endif
