/* trees_test.c: the fast batched tree evaluator (tree_walk.c) against the
 * reference evaluators written after each library (xgb_margin_ref,
 * lgb_margin_ref): bit-identical margins on every real model, for rows
 * drawn to hit the edge cases: missing values, values exactly on split
 * thresholds and next to them, +/-inf, negative / fractional / unseen /
 * huge category codes. Also the output transforms and model.trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "model.h"
#include "trees.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The numerical split thresholds of each feature of a model. */
typedef struct thresholds {
	double *t;       /* all of them, feature by feature */
	size_t *begin;   /* (n_features + 1) feature f's are t[begin[f] .. begin[f + 1]) */
} thresholds;

static thresholds thresholds_of(const tree_ensemble *e)
{
	thresholds th = {malloc((e->n_nodes + 1) * sizeof *th.t), calloc(e->n_features + 1, sizeof *th.begin)};
	assert_non_null(th.t);
	assert_non_null(th.begin);
	size_t n = 0;
	for (size_t f = 0; f < e->n_features; f++) {
		th.begin[f] = n;
		for (size_t i = 0; i < e->n_nodes; i++) {
			const tree_node *nd = &e->nodes[i];
			if (nd->left >= 0 && !nd->categorical && (size_t)nd->feature == f)
				th.t[n++] = nd->threshold;
		}
	}
	th.begin[e->n_features] = n;
	return th;
}

/* A row value for feature f: often one of its split thresholds (exactly, or
 * one float/double step away), sometimes special. */
static double draw(const tree_ensemble *e, const thresholds *th, size_t f)
{
	static const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-36, -1e-36, -1.0, -0.5, 0.5,
					 2.7, 1e9, 16777216.0, 3.0e38, 1e-35f, -1e-35f, 3e9};
	uint64_t r = next() % 10;
	if (r < 2)
		return special[next() % (sizeof special / sizeof *special)];
	if (e->feature_is_cat && e->feature_is_cat[f] && r < 6)
		return (double)(next() % 70) - (r == 2 ? 3 : 0);
	size_t n = th->begin[f + 1] - th->begin[f];
	if (n) {
		double t = th->t[th->begin[f] + next() % n];
		switch (next() % 4) {
		case 0:
			return t;
		case 1:
			return nextafter(t, INFINITY);
		case 2:
			return (double)nextafterf((float)t, -INFINITY);
		default:
			return t + (double)(next() % 1000) / 100.0 - 5;
		}
	}
	return (double)(next() % 2000) / 10.0 - 50;
}

/* The fast evaluator against the reference on 700 rows drawn for the model
 * text[0..len) (named path in messages): the same margins, bit for bit. */
static void check_text(const char *kind, const char *path, const char *text, size_t len)
{
	tree_ensemble e;
	memset(&e, 0, sizeof e);
	bf_error err = {0};
	int xgb = strcmp(kind, "xgboost") == 0;
	int rc = xgb ? xgb_load(&e, text, len, path, &err) : lgb_load(&e, text, len, path, &err);
	if (rc == BF_OK)
		rc = tree_check(&e, path, &err);
	if (rc)
		fail_msg("%s: %s", path, err.message);
	trees_options opt = {.raw = 1};
	model *m;
	if (model_load_mem(kind, path, text, len, &opt, &m, &err))
		fail_msg("%s: %s", path, err.message);
	assert_int_equal(m->n_inputs, e.n_features);
	size_t n = 700, nf = e.n_features, g = e.n_groups;
	double *x = malloc(n * nf * sizeof *x), *out = malloc(n * m->n_outputs * sizeof *out),
	       *ref = malloc(g * sizeof *ref);
	thresholds th = thresholds_of(&e);
	for (size_t r = 0; r < n; r++)
		for (size_t f = 0; f < nf; f++)
			x[r * nf + f] = draw(&e, &th, f);
	free(th.t);
	free(th.begin);
	arena a;
	arena_init(&a, 1 << 16);
	assert_int_equal(m->backend->predict(m, x, n, out, &a), 0);
	for (size_t r = 0; r < n; r++) {
		if (xgb)
			xgb_margin_ref(&e, x + r * nf, e.n_trees, ref);
		else
			lgb_margin_ref(&e, x + r * nf, e.n_trees, ref);
		for (size_t k = 0; k < g; k++) {
			double got = out[r * m->n_outputs + k];
			if (!(got == ref[k] || (isnan(got) && isnan(ref[k]))))
				fail_msg("%s: row %zu group %zu: fast %.17g, reference %.17g", path, r, k, got, ref[k]);
		}
	}
	arena_free(&a);
	free(x);
	free(out);
	free(ref);
	model_free(m);
	tree_ensemble_free(&e);
}

static void check_model(const char *kind, const char *path)
{
	size_t len;
	char *text = bf_read_file(path, &len);
	if (!text)
		fail_msg("cannot read %s", path);
	check_text(kind, path, text, len);
	free(text);
}

/* LightGBM numerical splits of every missing type (None, Zero, NaN) and
 * default side, at thresholds of either sign, 0, -0 and the zero threshold:
 * the fixed-depth walk (None, NaN) and the general one (Zero) against the
 * reference. Three splits a tree, each a different decision type. */
static void test_lightgbm_missing_types(void **state)
{
	static const int types[] = {0, 2, 4, 6, 8, 10};
	static const char *thr[] = {"0.5", "-0.25", "1.0000000180025095e-35", "0", "-0", "-3", "2", "1e-300"};
	char text[16384];
	size_t n = 0, n_trees = 24;
	n += (size_t)snprintf(text + n, sizeof text - n,
			      "tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
			      "max_feature_idx=3\nobjective=regression\nfeature_names=a b c d\n"
			      "feature_infos=[-5:5] [-5:5] [-5:5] [-5:5]\n\n");
	for (size_t t = 0; t < n_trees; t++)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "Tree=%zu\nnum_leaves=4\nnum_cat=0\nsplit_feature=%zu %zu %zu\n"
				      "split_gain=1 1 1\nthreshold=%s %s %s\ndecision_type=%d %d %d\n"
				      "left_child=1 -1 -3\nright_child=2 -2 -4\nleaf_value=%zu 0.5 -0.25 %zu.125\n"
				      "leaf_count=1 1 1 1\ninternal_value=0 0 0\ninternal_count=4 2 2\nshrinkage=1\n\n",
				      t, t % 4, (t + 1) % 4, (t + 2) % 4, thr[t % 8], thr[(t + 3) % 8], thr[(t + 5) % 8],
				      types[t % 6], types[(t / 6 + t) % 6], types[(t + 3) % 6], t, t);
	n += (size_t)snprintf(text + n, sizeof text - n, "end of trees\n");
	assert_true(n < sizeof text);
	check_text("lightgbm", "missing_types.txt", text, n);
}

static void test_xgboost_models(void **state)
{
	static const char *names[] = {"churn_cat_logistic", "churn_onehot_logitraw", "concrete_squarederror", "concrete_deep",
				      "ames_reglogistic", "hpc_softprob", "hpc_softmax", "attrition_poisson",
				      "sacramento_rank", "credit_missing_logistic", "credit_dart"};
	char path[256];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(path, sizeof path, "testdata/trees/%s.json", names[i]);
		check_model("xgboost", path);
		snprintf(path, sizeof path, "testdata/trees/%s.ubj", names[i]);
		check_model("xgboost", path);
	}
	check_model("xgboost", "testdata/fixtures/treelite/mushroom/mushroom.model");
	check_model("xgboost", "testdata/fixtures/treelite/dermatology/dermatology.model");
	check_model("xgboost", "testdata/fixtures/treelite/xgb_toy_categorical/xgb_toy_categorical_model.json");
}

static void test_lightgbm_models(void **state)
{
	check_model("lightgbm", "testdata/fixtures/treelite/toy_categorical/toy_categorical_model.txt");
	check_model("lightgbm", "testdata/fixtures/treelite/sparse_categorical/sparse_categorical_model.txt");
	check_model("lightgbm", "testdata/fixtures/treelite/lightgbm_constant_tree/model_with_constant_tree.txt");
}

/* Models on which src/trees/trees_fuzz.c once found the fast evaluator and the
 * reference apart (LightGBM text when it starts with "tree\n", else XGBoost). */
static void test_fuzz_regressions(void **state)
{
	DIR *d = opendir("testdata/fuzz/trees");
	assert_non_null(d);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "testdata/fuzz/trees/%s", de->d_name);
		size_t len;
		char *text = bf_read_file(path, &len);
		assert_non_null(text);
		int lgb = len >= 5 && memcmp(text, "tree\n", 5) == 0;
		free(text);
		check_model(lgb ? "lightgbm" : "xgboost", path);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

/* model.trees keeps the first iterations: the margin of the first k trees. */
static void test_tree_limit(void **state)
{
	const char *path = "testdata/trees/hpc_softprob.json";
	size_t len;
	char *text = bf_read_file(path, &len);
	tree_ensemble e;
	memset(&e, 0, sizeof e);
	bf_error err = {0};
	assert_int_equal(xgb_load(&e, text, len, path, &err), BF_OK);
	assert_int_equal(tree_check(&e, path, &err), BF_OK);
	trees_options opt = {.raw = 1, .trees = 3};
	model *m;
	assert_int_equal(model_load("xgboost", path, &opt, &m, &err), BF_OK);
	double x[64], out[8], ref[8];
	arena a;
	arena_init(&a, 1 << 16);
	thresholds th = thresholds_of(&e);
	for (int rep = 0; rep < 50; rep++) {
		for (size_t f = 0; f < e.n_features; f++)
			x[f] = draw(&e, &th, f);
		assert_int_equal(m->backend->predict(m, x, 1, out, &a), 0);
		xgb_margin_ref(&e, x, 3 * e.n_groups, ref);
		for (size_t k = 0; k < e.n_groups; k++)
			assert_true(out[k] == ref[k]);
	}
	free(th.t);
	free(th.begin);
	model_free(m);
	opt.trees = 1000;
	assert_int_equal(model_load("xgboost", path, &opt, &m, &err), BF_ESPEC);
	assert_non_null(strstr(err.message, "model.trees"));
	arena_free(&a);
	tree_ensemble_free(&e);
	free(text);
}

/* Probabilities: XGBoost's float sigmoid, softmax summing in double. */
static void test_transforms(void **state)
{
	bf_error err = {0};
	model *raw, *prob;
	trees_options o_raw = {.raw = 1};
	assert_int_equal(model_load("xgboost", "testdata/trees/hpc_softprob.json", &o_raw, &raw, &err), BF_OK);
	assert_int_equal(model_load("xgboost", "testdata/trees/hpc_softprob.json", NULL, &prob, &err), BF_OK);
	assert_int_equal(prob->task, MODEL_TASK_MULTICLASS);
	assert_int_equal(prob->n_outputs, 4);
	double x[16] = {0}, m[4], p[4];
	arena a;
	arena_init(&a, 1 << 16);
	for (size_t f = 0; f < raw->n_inputs; f++)
		x[f] = NAN;
	assert_int_equal(raw->backend->predict(raw, x, 1, m, &a), 0);
	assert_int_equal(prob->backend->predict(prob, x, 1, p, &a), 0);
	float max = (float)m[0];
	double sum = 0;
	for (int k = 1; k < 4; k++)
		max = (float)m[k] > max ? (float)m[k] : max;
	for (int k = 0; k < 4; k++)
		sum += expf((float)m[k] - max);
	for (int k = 0; k < 4; k++)
		assert_true(p[k] == (double)(expf((float)m[k] - max) / (float)sum));
	model_free(raw);
	model_free(prob);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xgboost_models),
		cmocka_unit_test(test_lightgbm_models),
		cmocka_unit_test(test_lightgbm_missing_types),
		cmocka_unit_test(test_fuzz_regressions),
		cmocka_unit_test(test_tree_limit),
		cmocka_unit_test(test_transforms),
	};
	return cmocka_run_group_tests_name("trees", tests, NULL, NULL);
}
