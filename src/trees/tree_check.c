/* tree_common.c: what both tree loaders share: the structural check every
 * loaded ensemble must pass, and freeing. See trees.h.
 *
 * Conventions checked here (the loaders produce them, the evaluators rely on
 * them): child indices are local to their tree (0 = the tree's root at
 * nodes[tree_begin[t]]); a leaf has left == right == -1; bit c of a
 * categorical node's span is word cat_begin + c / 32, bit c % 32 (least
 * significant first). */
#include <stdlib.h>
#include <string.h>

#include "trees.h"

/* Walks tree t from its root without recursion: every node must be reached
 * exactly once. seen/stack/depth are scratch of at least the tree's size. */
static int check_tree(tree_ensemble *e, size_t t, uint8_t *seen, uint32_t *stack, int32_t *depth,
		      const char *path, bf_error *err)
{
	size_t begin = e->tree_begin[t], n = e->tree_begin[t + 1] - begin;
	const tree_node *nodes = e->nodes + begin;
	memset(seen, 0, n);
	size_t top = 0;
	stack[top] = 0;
	depth[0] = 0;
	seen[0] = 1;
	top++;
	while (top) {
		uint32_t i = stack[--top];
		const tree_node *nd = &nodes[i];
		int32_t d = depth[i];
		if (nd->left < 0 || nd->right < 0) {
			if (nd->left != -1 || nd->right != -1)
				return bf_err_set(err, BF_EMODEL, path, 0, 0,
						  "tree %zu: node %u has children %d and %d; a leaf has -1 "
						  "for both, a split two valid children",
						  t, (unsigned)i, (int)nd->left, (int)nd->right);
			if (d > e->max_depth)
				e->max_depth = d;
			continue;
		}
		if ((size_t)nd->left >= n || (size_t)nd->right >= n)
			return bf_err_set(err, BF_EMODEL, path, 0, 0,
					  "tree %zu: node %u has child %d, outside the tree's %zu nodes", t,
					  (unsigned)i, (int)((size_t)nd->left >= n ? nd->left : nd->right), n);
		if (nd->feature < 0 || (size_t)nd->feature >= e->n_features)
			return bf_err_set(err, BF_EMODEL, path, 0, 0,
					  "tree %zu: node %u splits on feature %d, but the model has %zu features",
					  t, (unsigned)i, (int)nd->feature, e->n_features);
		if (nd->categorical && (nd->cat_begin > nd->cat_end || nd->cat_end > e->n_cat_words))
			return bf_err_set(err, BF_EMODEL, path, 0, 0,
					  "tree %zu: node %u has categories in words [%u, %u), outside the %zu "
					  "words of category bits", t, (unsigned)i, (unsigned)nd->cat_begin,
					  (unsigned)nd->cat_end, e->n_cat_words);
		int32_t kids[2] = {nd->left, nd->right};
		for (int k = 0; k < 2; k++) {
			if (seen[kids[k]])
				return bf_err_set(err, BF_EMODEL, path, 0, 0,
						  "tree %zu: node %d is reached a second time (from node %u): the "
						  "tree has a cycle or a shared node", t, (int)kids[k], (unsigned)i);
			seen[kids[k]] = 1;
			depth[kids[k]] = d + 1;
			stack[top++] = (uint32_t)kids[k];
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			return bf_err_set(err, BF_EMODEL, path, 0, 0,
					  "tree %zu: node %zu is not reachable from the root", t, i);
	return BF_OK;
}

int tree_check(tree_ensemble *e, const char *path, bf_error *err)
{
	if (e->n_groups == 0 || !e->base_score)
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "model has no output groups");
	if (!e->tree_begin || e->tree_begin[0] != 0 || e->tree_begin[e->n_trees] != e->n_nodes)
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "tree offsets do not cover the %zu nodes", e->n_nodes);
	size_t widest = 0;
	for (size_t t = 0; t < e->n_trees; t++) {
		if (e->tree_begin[t + 1] <= e->tree_begin[t])
			return bf_err_set(err, BF_EMODEL, path, 0, 0, "tree %zu has no nodes", t);
		size_t n = e->tree_begin[t + 1] - e->tree_begin[t];
		if (n > INT32_MAX)
			return bf_err_set(err, BF_EMODEL, path, 0, 0, "tree %zu has %zu nodes, too many", t, n);
		if (n > widest)
			widest = n;
		if (e->tree_group[t] < 0 || (size_t)e->tree_group[t] >= e->n_groups)
			return bf_err_set(err, BF_EMODEL, path, 0, 0,
					  "tree %zu belongs to output group %d, but the model has %zu groups", t,
					  (int)e->tree_group[t], e->n_groups);
	}
	uint8_t *seen = malloc(widest ? widest : 1);
	uint32_t *stack = malloc((widest ? widest : 1) * sizeof *stack);
	int32_t *depth = malloc((widest ? widest : 1) * sizeof *depth);
	int rc = BF_OK;
	if (!seen || !stack || !depth)
		rc = bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory checking the trees");
	e->max_depth = 0;
	for (size_t t = 0; rc == BF_OK && t < e->n_trees; t++)
		rc = check_tree(e, t, seen, stack, depth, path, err);
	free(seen);
	free(stack);
	free(depth);
	return rc;
}

void tree_ensemble_free(tree_ensemble *e)
{
	if (!e)
		return;
	if (e->feature_names)
		for (size_t i = 0; i < e->n_features; i++)
			free(e->feature_names[i]);
	free(e->feature_names);
	free(e->feature_is_cat);
	free(e->base_score);
	free(e->tree_begin);
	free(e->tree_group);
	free(e->tree_weight);
	free(e->nodes);
	free(e->cat_bits);
	memset(e, 0, sizeof *e);
}
