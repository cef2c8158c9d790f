/* trees.c: the tree-ensemble backends (XGBoost, LightGBM): a model file
 * loaded by the library's loader (xgboost.c, lightgbm.c), checked
 * (tree_check.c), laid out (tree_layout.c) and scored (tree_walk.c). The
 * decision rules are each library's; trees_test.c checks the fast
 * evaluator against the reference evaluators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree_fast.h"

static int trees_predict(const model *m, const double *x, size_t n, double *out, arena *scratch)
{
	return tree_score(m->impl, x, n, m->n_inputs, m->raw, m->n_outputs, out, scratch);
}

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
	if ((rc = tree_check(e, m->path, err)) || (rc = tree_lay_out(t, err, m->path)))
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
