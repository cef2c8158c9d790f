/* lightgbm_test.c: lgb_load reads LightGBM text models faithfully and
 * refuses broken ones; lgb_margin_ref agrees with LightGBM's predictions.
 *
 * Fixtures (run from the repository root): testdata/fixtures/treelite/
 * (LightGBM models with LightGBM's own outputs). The loader's fuzzer
 * (src/trees/lightgbm_fuzz.c) has found no crash to keep; inputs on which the
 * fast evaluator differed live in testdata/fuzz/trees/ (trees_test.c). The
 * hand-built models below each pin one decision rule, checked through both
 * evaluators; their expected outputs are derived in the comments from
 * LightGBM's include/LightGBM/tree.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "model.h"
#include "trees.h"

#define FIXTURES "testdata/fixtures/treelite/"

/* ---- helpers --------------------------------------------------------- */

/* The whole file in a buffer of exactly its size (no NUL after it, so an
 * over-read is caught by ASan). */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Loads text[0..len) from a copy of exactly len bytes. */
static int load_n(tree_ensemble *e, const char *text, size_t len, bf_error *err)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	memset(e, 0, sizeof *e);
	memset(err, 0, sizeof *err);
	int rc = lgb_load(e, copy, len, "model.txt", err);
	free(copy);
	return rc;
}

static int load(tree_ensemble *e, const char *text, bf_error *err)
{
	return load_n(e, text, strlen(text), err);
}

/* The model text loaded last: margin1 scores it with the fast evaluator too. */
static char *last_text;

static void remember_text(const char *text, size_t len)
{
	free(last_text);
	last_text = strndup(text, len);
	assert_non_null(last_text);
}

static void load_ok(tree_ensemble *e, const char *text)
{
	bf_error err;
	if (load(e, text, &err) != BF_OK)
		fail_msg("load failed: model.txt:%lld:%lld: %s", (long long)err.line, (long long)err.column,
			 err.message);
	remember_text(text, strlen(text));
}

/* Loading fails with BF_EMODEL, the message contains want (and is exactly
 * it when exact), at the given line (0: any). */
static void load_fails(const char *text, int64_t line, const char *want)
{
	tree_ensemble e;
	bf_error err;
	int rc = load(&e, text, &err);
	if (rc != BF_EMODEL)
		fail_msg("expected a refusal (%s), got %d", want, rc);
	if (!strstr(err.message, want))
		fail_msg("message '%s' does not contain '%s'", err.message, want);
	assert_string_equal(err.path, "model.txt");
	if (line && err.line != line)
		fail_msg("'%s' at line %lld, expected %lld", err.message, (long long)err.line, (long long)line);
	tree_ensemble_free(&e);
}

typedef struct text {
	char *buf;
	size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* A model file as LightGBM's SaveModelToString lays it out: header,
 * tree_sizes, "Tree=i\n" + tree + "\n" blocks (each tree text ends with an
 * empty line), "end of trees", feature importances, parameters.
 * objective NULL: no objective line. infos NULL: "none" for each feature.
 * extra: more header lines (NULL ok). */
typedef struct model_spec {
	const char *objective;
	int n_features;
	int num_class;
	int per_iter;
	const char *infos;
	const char *extra;
	int no_tree_sizes;
	int no_end;
} model_spec;

static char *model_text(const model_spec *m, const char *const *trees, size_t n_trees)
{
	text t = {0};
	put(&t, "tree\nversion=v4\nnum_class=%d\nnum_tree_per_iteration=%d\nlabel_index=0\n"
		"max_feature_idx=%d\n", m->num_class ? m->num_class : 1, m->per_iter ? m->per_iter : 1,
	    m->n_features - 1);
	if (m->objective)
		put(&t, "objective=%s\n", m->objective);
	if (m->extra)
		put(&t, "%s", m->extra);
	put(&t, "feature_names=");
	for (int i = 0; i < m->n_features; i++)
		put(&t, "%sf%d", i ? " " : "", i);
	put(&t, "\nfeature_infos=");
	if (m->infos)
		put(&t, "%s", m->infos);
	else
		for (int i = 0; i < m->n_features; i++)
			put(&t, "%snone", i ? " " : "");
	put(&t, "\n");
	if (!m->no_tree_sizes) {
		put(&t, "tree_sizes=");
		for (size_t i = 0; i < n_trees; i++) {
			char head[32];
			snprintf(head, sizeof head, "Tree=%zu\n", i);
			put(&t, "%s%zu", i ? " " : "", strlen(head) + strlen(trees[i]) + 2);
		}
		put(&t, "\n");
	}
	put(&t, "\n");
	for (size_t i = 0; i < n_trees; i++)
		put(&t, "Tree=%zu\n%s\n\n", i, trees[i]);
	if (!m->no_end)
		put(&t, "end of trees\n");
	put(&t, "\nfeature_importances:\nf0=1\n\nparameters:\n[boosting: gbdt]\nend of parameters\n\n"
		"pandas_categorical:null\n");
	return t.buf;
}

static char *model1(const char *objective, int n_features, const char *tree)
{
	model_spec m = {.objective = objective, .n_features = n_features};
	return model_text(&m, &tree, 1);
}

/* The first margin of row by the reference evaluator, after checking that the
 * fast one (tree_walk.c, the backend binfer runs) gives every margin bit for bit,
 * from the same text (load_ok's last). */
static double margin1(const tree_ensemble *e, const double *row)
{
	double m[8], fast[8];
	assert_true(e->n_groups <= 8);
	lgb_margin_ref(e, row, e->n_trees, m);

	trees_options opt = {.raw = 1};
	model *fm;
	bf_error err;
	if (model_load_mem("lightgbm", "model.txt", last_text, strlen(last_text), &opt, &fm, &err) != BF_OK)
		fail_msg("the trees backend refused what lgb_load took: %s", err.message);
	assert_int_equal(fm->n_outputs, e->n_groups);
	arena a;
	arena_init(&a, 1 << 12);
	assert_int_equal(fm->backend->predict(fm, row, 1, fast, &a), 0);
	for (size_t g = 0; g < e->n_groups; g++)
		if (!(fast[g] == m[g] || (isnan(fast[g]) && isnan(m[g]))))
			fail_msg("group %zu: fast evaluator %.17g, reference %.17g", g, fast[g], m[g]);
	arena_free(&a);
	model_free(fm);
	return m[0];
}

static int close_to(double got, double want)
{
	return fabs(got - want) <= 1e-6 * fmax(1.0, fabs(want));
}

/* LibSVM rows "label idx:val ...", an absent index taking the value absent.
 * Returns the number of rows; *rows is (n, n_features). */
static size_t read_libsvm(const char *path, size_t n_features, double absent, double **rows)
{
	size_t len;
	char *buf = read_file(path, &len);
	char *s = malloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	size_t n = 0, cap = 0;
	double *out = NULL;
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			out = realloc(out, cap * n_features * sizeof *out);
			assert_non_null(out);
		}
		double *row = out + n * n_features;
		for (size_t j = 0; j < n_features; j++)
			row[j] = absent;
		char *p = line, *end;
		strtod(p, &end); /* the label */
		p = end;
		while (*p) {
			while (*p == ' ' || *p == '\r')
				p++;
			if (!*p)
				break;
			unsigned long idx = strtoul(p, &end, 10);
			assert_true(*end == ':');
			double v = strtod(end + 1, &end);
			if (idx < n_features)
				row[idx] = v;
			p = end;
		}
		n++;
	}
	free(s);
	*rows = out;
	return n;
}

static size_t read_numbers(const char *path, double **vals)
{
	size_t len;
	char *buf = read_file(path, &len);
	char *s = malloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	size_t n = 0;
	double *out = malloc((len / 2 + 1) * sizeof *out);
	for (char *tok = strtok(s, " \r\n"); tok; tok = strtok(NULL, " \r\n"))
		out[n++] = strtod(tok, NULL);
	free(s);
	*vals = out;
	return n;
}

/* Loads a fixture model and checks every test row's margin against want
 * (LightGBM's raw scores, or its predictions for an identity objective). */
static void check_fixture(const char *model, const char *rows_path, double absent, const char *want_path)
{
	size_t len;
	char *buf = read_file(model, &len);
	tree_ensemble e = {0};
	bf_error err = {0};
	if (lgb_load(&e, buf, len, model, &err) != BF_OK)
		fail_msg("%s:%lld: %s", model, (long long)err.line, err.message);
	remember_text(buf, len);
	free(buf);
	double *rows, *want;
	size_t n = read_libsvm(rows_path, e.n_features, absent, &rows);
	size_t n_want = read_numbers(want_path, &want);
	assert_int_equal(n, n_want);
	assert_true(n > 0);
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double m = margin1(&e, rows + i * e.n_features);
		if (!close_to(m, want[i]))
			fail_msg("%s row %zu: margin %.17g, LightGBM %.17g", rows_path, i, m, want[i]);
		worst = fmax(worst, fabs(m - want[i]));
	}
	print_message("%s: %zu rows, largest difference %.3g\n", rows_path, n, worst);
	free(rows);
	free(want);
	tree_ensemble_free(&e);
}

/* ---- the fixtures ---------------------------------------------------- */

static void test_toy_categorical(void **state)
{
	/* objective=regression: LightGBM's prediction is the raw score. Every
	 * row has both features. */
	check_fixture(FIXTURES "toy_categorical/toy_categorical_model.txt",
		      FIXTURES "toy_categorical/toy_categorical.test", NAN,
		      FIXTURES "toy_categorical/toy_categorical.test.pred");
	size_t len;
	char *buf = read_file(FIXTURES "toy_categorical/toy_categorical_model.txt", &len);
	tree_ensemble e;
	bf_error err;
	assert_int_equal(load_n(&e, buf, len, &err), BF_OK);
	free(buf);
	assert_int_equal(e.lib, TREE_LIB_LIGHTGBM);
	assert_string_equal(e.objective, "regression");
	assert_int_equal(e.output, TREE_OUTPUT_IDENTITY);
	assert_int_equal(e.task, TREE_TASK_REGRESSION);
	assert_int_equal(e.n_groups, 1);
	assert_int_equal(e.n_features, 2);
	assert_string_equal(e.feature_names[0], "Column_0");
	assert_string_equal(e.feature_names[1], "Column_1");
	/* feature_infos=2:0:1 3:1:0:2:4: both category lists */
	assert_int_equal(e.feature_is_cat[0], 1);
	assert_int_equal(e.feature_is_cat[1], 1);
	assert_int_equal(e.n_trees, 30);
	assert_null(e.tree_weight);
	assert_true(e.base_score[0] == 0);
	/* Tree=0: 3 leaves -> 5 nodes; its cat_threshold=4 1 are the first words. */
	assert_int_equal(e.tree_begin[1], 5);
	assert_true(e.nodes[0].categorical && e.nodes[1].categorical);
	assert_int_equal(e.cat_bits[0], 4);
	assert_int_equal(e.cat_bits[1], 1);
	assert_int_equal(e.nodes[0].cat_begin, 0);
	assert_int_equal(e.nodes[0].cat_end, 1);
	/* left_child=-1 -2, right_child=1 -3: root -> leaf 0 (node 2) and split 1 */
	assert_int_equal(e.nodes[0].left, 2);
	assert_int_equal(e.nodes[0].right, 1);
	assert_int_equal(e.nodes[1].left, 3);
	assert_int_equal(e.nodes[1].right, 4);
	assert_true(e.nodes[2].leaf == -8.8330089269488461);
	assert_int_equal(e.nodes[2].left, -1);
	assert_int_equal(e.nodes[2].right, -1);
	assert_int_equal(e.max_depth, 4); /* Tree=23: 0 -> 1 -> 2 -> 4 -> leaf */
	tree_ensemble_free(&e);
}

static void test_sparse_categorical(void **state)
{
	/* binary sigmoid:1; .test.margin holds raw scores. These were made from
	 * sparse rows, where LightGBM reads an absent entry as 0, not as
	 * missing (the fixtures README says NaN: with NaN, row 1 gives
	 * -0.0884 instead of -0.0405). */
	check_fixture(FIXTURES "sparse_categorical/sparse_categorical_model.txt",
		      FIXTURES "sparse_categorical/sparse_categorical.test", 0,
		      FIXTURES "sparse_categorical/sparse_categorical.test.margin");
}

static void test_constant_tree_fixture(void **state)
{
	size_t len;
	char *buf = read_file(FIXTURES "lightgbm_constant_tree/model_with_constant_tree.txt", &len);
	tree_ensemble e;
	bf_error err;
	int rc = load_n(&e, buf, len, &err);
	free(buf);
	if (rc != BF_OK)
		fail_msg("%lld: %s", (long long)err.line, err.message);
	assert_int_equal(e.output, TREE_OUTPUT_SIGMOID);
	assert_int_equal(e.task, TREE_TASK_BINARY);
	assert_true(e.sigmoid == 1);
	assert_int_equal(e.n_features, 126);
	assert_int_equal(e.n_trees, 2);
	/* Tree=0: 15 leaves -> 29 nodes; Tree=1: num_leaves=1, empty arrays. */
	assert_int_equal(e.tree_begin[1], 29);
	assert_int_equal(e.n_nodes, 30);
	assert_int_equal(e.nodes[29].left, -1);
	assert_true(e.nodes[29].leaf == 0);
	/* threshold=1.0000000180025095e-35, kept exactly: (double)1e-35f */
	assert_true(e.nodes[0].threshold == (double)1e-35f);
	assert_int_equal(e.nodes[0].feature, 28);
	assert_int_equal(e.nodes[0].missing_type, TREE_MISSING_NONE);
	assert_int_equal(e.nodes[0].default_left, 1);
	/* feature_infos: "[0:1]" and "none": nothing categorical */
	for (size_t i = 0; i < e.n_features; i++)
		assert_int_equal(e.feature_is_cat[i], 0);
	/* A row of zeros: the constant tree adds 0. */
	double row[126] = {0}, m[1], m1[1];
	lgb_margin_ref(&e, row, 2, m);
	lgb_margin_ref(&e, row, 1, m1);
	assert_true(m[0] == m1[0]);
	tree_ensemble_free(&e);
}

/* CRLF line breaks read as LF ones. */
static void test_crlf(void **state)
{
	size_t len;
	char *buf = read_file(FIXTURES "toy_categorical/toy_categorical_model.txt", &len);
	/* tree_sizes count bytes: recompute them for CRLF by dropping the line */
	text t = {0};
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			put(&t, "\r\n");
		else
			put(&t, "%c", buf[i]);
	}
	free(buf);
	char *ts = strstr(t.buf, "tree_sizes=");
	char *eol = strchr(ts, '\n');
	memmove(ts, eol + 1, strlen(eol + 1) + 1);
	/* no tree_sizes and no "end of trees": add it where the trees end */
	char *fi = strstr(t.buf, "feature importances:");
	text u = {0};
	put(&u, "%.*send of trees\r\n%s", (int)(fi - t.buf), t.buf, fi);
	tree_ensemble e, ref;
	load_ok(&e, u.buf);
	buf = read_file(FIXTURES "toy_categorical/toy_categorical_model.txt", &len);
	bf_error err;
	assert_int_equal(load_n(&ref, buf, len, &err), BF_OK);
	free(buf);
	assert_int_equal(e.n_nodes, ref.n_nodes);
	assert_memory_equal(e.nodes, ref.nodes, e.n_nodes * sizeof *e.nodes);
	assert_string_equal(e.feature_names[1], "Column_1");
	free(t.buf);
	free(u.buf);
	tree_ensemble_free(&e);
	tree_ensemble_free(&ref);
}

/* ---- decision rules, one split at a time ----------------------------- */

/* One split on feature 0: leaf 0 (value 1) on the left, leaf 1 (value 2) on
 * the right. Returns 1 when x goes left. */
static int goes_left(int decision_type, const char *threshold, double x)
{
	char tree[512];
	snprintf(tree, sizeof tree,
		 "num_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=%s\n"
		 "decision_type=%d\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\n"
		 "leaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\n"
		 "shrinkage=1\n",
		 threshold, decision_type);
	char *s = model1("regression", 1, tree);
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	double m = margin1(&e, &x);
	tree_ensemble_free(&e);
	assert_true(m == 1 || m == 2);
	return m == 1;
}

/* decision_type 0: numerical, missing None, default right.
 * NumericalDecision: NaN becomes 0 (missing type is not NaN), then
 * fval <= threshold goes left. */
static void test_missing_none(void **state)
{
	assert_true(goes_left(0, "0.5", 0.5));                     /* equal: left */
	assert_false(goes_left(0, "0.5", nextafter(0.5, 1)));      /* just above: right */
	assert_true(goes_left(0, "0.5", 0.25));
	assert_true(goes_left(0, "0.5", NAN));                     /* NaN -> 0 <= 0.5 */
	assert_false(goes_left(0, "-0.5", NAN));                   /* NaN -> 0 > -0.5 */
	assert_false(goes_left(0, "0.5", INFINITY));
	assert_true(goes_left(0, "0.5", -INFINITY));
	assert_true(goes_left(0, "0.5", 0));
	/* decision_type 2 (default left) changes nothing for missing None:
	 * NaN -> 0 > -0.5 still goes right. */
	assert_false(goes_left(2, "-0.5", NAN));
	assert_true(goes_left(2, "0.5", NAN));
	/* the zero threshold LightGBM writes, 1.0000000180025095e-35 */
	assert_true(goes_left(0, "1.0000000180025095e-35", 0));
	assert_true(goes_left(0, "1.0000000180025095e-35", 1.0000000180025095e-35));
	assert_false(goes_left(0, "1.0000000180025095e-35", nextafter(1.0000000180025095e-35, 1)));
	assert_false(goes_left(0, "1.0000000180025095e-35", 1e-30));
}

/* decision_type 4 (Zero, default right) and 6 (Zero, default left): NaN
 * becomes 0; IsZero(x), -kZeroThreshold <= x <= kZeroThreshold with
 * kZeroThreshold = (double)1e-35f, goes the default way; the rest compare. */
static void test_missing_zero(void **state)
{
	const double kzero = (double)1e-35f;
	/* threshold 0.5: 0 would compare left, so default right shows */
	assert_false(goes_left(4, "0.5", 0));
	assert_true(goes_left(6, "0.5", 0));
	assert_false(goes_left(4, "0.5", -0.0));
	/* threshold -0.5: 0 would compare right, so default left shows */
	assert_true(goes_left(6, "-0.5", 0));
	assert_false(goes_left(4, "-0.5", 0));
	/* NaN -> 0 -> default */
	assert_false(goes_left(4, "0.5", NAN));
	assert_true(goes_left(6, "-0.5", NAN));
	/* inside the zero band: default */
	assert_false(goes_left(4, "0.5", 1e-36));
	assert_false(goes_left(4, "0.5", -1e-35));
	assert_false(goes_left(4, "0.5", kzero));
	assert_false(goes_left(4, "0.5", -kzero));
	assert_true(goes_left(6, "-0.5", kzero));
	/* just outside: compared (<= 0.5: left, even with default right) */
	assert_true(goes_left(4, "0.5", nextafter(kzero, 1)));
	assert_true(goes_left(4, "0.5", -nextafter(kzero, 1)));
	assert_true(goes_left(4, "0.5", 2e-35));
	assert_false(goes_left(6, "-0.5", 2e-35));
	/* ordinary values compare normally */
	assert_true(goes_left(4, "0.5", 0.5));
	assert_false(goes_left(6, "0.5", 0.75));
	assert_false(goes_left(6, "0.5", INFINITY));
	assert_true(goes_left(4, "0.5", -INFINITY));
}

/* decision_type 8 (NaN, default right) and 10 (NaN, default left): only
 * NaN goes the default way; 0 compares like any value. */
static void test_missing_nan(void **state)
{
	assert_false(goes_left(8, "0.5", NAN));
	assert_true(goes_left(10, "0.5", NAN));
	assert_true(goes_left(10, "-0.5", NAN));
	assert_false(goes_left(8, "-0.5", NAN));
	/* 0 is a value: 0 <= 0.5 left, 0 > -0.5 right, whatever the default */
	assert_true(goes_left(8, "0.5", 0));
	assert_false(goes_left(10, "-0.5", 0));
	assert_true(goes_left(8, "0.5", 1e-36));
	assert_false(goes_left(10, "-0.5", 1e-36));
	/* equal goes left; infinities compare */
	assert_true(goes_left(8, "0.5", 0.5));
	assert_false(goes_left(10, "0.5", INFINITY));
	assert_true(goes_left(8, "0.5", -INFINITY));
	/* a threshold written as "inf": everything but NaN goes left */
	assert_true(goes_left(8, "inf", INFINITY));
	assert_true(goes_left(8, "inf", 1e308));
	assert_false(goes_left(8, "inf", NAN));
}

/* One categorical split on feature 0 (threshold 0 = category set 0), leaf
 * 0 = 1 left, leaf 1 = 2 right. words: the cat_threshold words. */
static int cat_left(int decision_type, const char *words, int n_words, double x)
{
	char tree[512];
	snprintf(tree, sizeof tree,
		 "num_leaves=2\nnum_cat=1\nsplit_feature=0\nsplit_gain=1\nthreshold=0\n"
		 "decision_type=%d\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\n"
		 "leaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\n"
		 "cat_boundaries=0 %d\ncat_threshold=%s\nis_linear=0\nshrinkage=1\n",
		 decision_type, n_words, words);
	model_spec m = {.objective = "regression", .n_features = 1, .infos = "0:1:3:33"};
	const char *trees[] = {tree};
	char *s = model_text(&m, trees, 1);
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.feature_is_cat[0], 1);
	double v = margin1(&e, &x);
	tree_ensemble_free(&e);
	assert_true(v == 1 || v == 2);
	return v == 1;
}

/* CategoricalDecision: NaN goes right; c = static_cast<int>(x), truncated;
 * c < 0 goes right; left when bit c of the split's words is set, right when
 * c / 32 is past its words. Categories {1, 3, 33}: words 10 (bits 1, 3) and
 * 2 (bit 33 - 32 = 1). */
static void test_categorical(void **state)
{
	const char *w = "10 2";
	assert_true(cat_left(1, w, 2, 1));
	assert_true(cat_left(1, w, 2, 3));
	assert_true(cat_left(1, w, 2, 33));
	assert_false(cat_left(1, w, 2, 0));
	assert_false(cat_left(1, w, 2, 2));
	assert_false(cat_left(1, w, 2, 32));
	assert_false(cat_left(1, w, 2, 34));
	/* truncation: 1.9 is category 1, 3.99 category 3, 2.5 category 2 */
	assert_true(cat_left(1, w, 2, 1.9));
	assert_true(cat_left(1, w, 2, 3.99));
	assert_false(cat_left(1, w, 2, 2.5));
	/* beyond the bitset (word 2 of 2 words, and far beyond): right */
	assert_false(cat_left(1, w, 2, 64));
	assert_false(cat_left(1, w, 2, 65));
	assert_false(cat_left(1, w, 2, 2147483647.0));
	/* int cast out of range (x86: INT_MIN), infinities: right */
	assert_false(cat_left(1, w, 2, 2147483648.0));
	assert_false(cat_left(1, w, 2, 1e300));
	assert_false(cat_left(1, w, 2, INFINITY));
	assert_false(cat_left(1, w, 2, -INFINITY));
	/* negative: right; NaN: right */
	assert_false(cat_left(1, w, 2, -1));
	assert_false(cat_left(1, w, 2, -33));
	assert_false(cat_left(1, w, 2, NAN));
	/* default_left and the missing type do not apply to categorical
	 * splits: NaN still goes right with decision_type 3 (default left),
	 * 9 (NaN missing) and 11 (both) */
	assert_false(cat_left(3, w, 2, NAN));
	assert_false(cat_left(9, w, 2, NAN));
	assert_false(cat_left(11, w, 2, NAN));
	assert_true(cat_left(11, w, 2, 33));
	/* Category 0 in the set {0}: -0.5 and -0.0 truncate to 0 (left); -1
	 * does not; NaN is not turned into 0 for categorical splits. */
	assert_true(cat_left(1, "1", 1, 0));
	assert_true(cat_left(1, "1", 1, -0.5));
	assert_true(cat_left(1, "1", 1, -0.0));
	assert_true(cat_left(1, "1", 1, 0.999));
	assert_false(cat_left(1, "1", 1, -1));
	assert_false(cat_left(1, "1", 1, NAN));
	/* an empty category set: everything right */
	assert_false(cat_left(1, "", 0, 0));
	/* category 31 and 32 around a word boundary: words 2^31, 1 */
	assert_true(cat_left(1, "2147483648 1", 2, 31));
	assert_true(cat_left(1, "2147483648 1", 2, 32));
	assert_false(cat_left(1, "2147483648 1", 2, 30));
}

/* Three leaves, two splits: a tree whose root is categorical and whose
 * second split is numerical, with words stored after another tree's, so
 * cat_begin/cat_end carry the offset of the words already stored. */
static void test_category_offsets(void **state)
{
	const char *trees[] = {
		/* Tree=0: categories {2} left (word 4) -> leaf 0 = 10, else 20 */
		"num_leaves=2\nnum_cat=1\nsplit_feature=1\nthreshold=0\ndecision_type=1\n"
		"left_child=-1\nright_child=-2\nleaf_value=10 20\ncat_boundaries=0 1\ncat_threshold=4\n"
		"shrinkage=1\n",
		/* Tree=1: split 0 numerical x0 <= 1.5 -> split 1, else leaf 2 (300);
		 * split 1 categorical on x1, set 1 = {0, 5} (word 33) -> leaf 0
		 * (100), else leaf 1 (200). Set 0 = {1} (word 2) is unused. */
		"num_leaves=3\nnum_cat=2\nsplit_feature=0 1\nthreshold=1.5 1\ndecision_type=2 1\n"
		"left_child=1 -1\nright_child=-3 -2\nleaf_value=100 200 300\ncat_boundaries=0 1 2\n"
		"cat_threshold=2 33\nshrinkage=0.1\n",
	};
	model_spec m = {.objective = "regression", .n_features = 2, .infos = "[0:3] 0:2:5"};
	char *s = model_text(&m, trees, 2);
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.n_cat_words, 3);
	assert_int_equal(e.feature_is_cat[0], 0);
	assert_int_equal(e.feature_is_cat[1], 1);
	const tree_node *t1 = e.nodes + e.tree_begin[1];
	assert_int_equal(t1[1].cat_begin, 2);
	assert_int_equal(t1[1].cat_end, 3);
	assert_int_equal(e.max_depth, 2);
	struct {
		double x0, x1, want;
	} cases[] = {
		{1, 2, 10 + 200},   /* {2} left in tree 0; x1 = 2 not in {0, 5} */
		{1, 5, 20 + 100},   /* 5 in {0, 5} */
		{1, 0, 20 + 100},
		{1, 1, 20 + 200},   /* 1 is only in the unused set */
		{2, 2, 10 + 300},   /* x0 > 1.5 */
		{NAN, 5, 20 + 100}, /* NaN -> 0 <= 1.5 (missing None) */
		{1, NAN, 20 + 200},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		double row[2] = {cases[i].x0, cases[i].x1};
		if (margin1(&e, row) != cases[i].want)
			fail_msg("case %zu: %g, expected %g", i, margin1(&e, row), cases[i].want);
	}
	tree_ensemble_free(&e);
}

/* ---- accumulation ---------------------------------------------------- */

static char *constant_trees(model_spec *m, const double *leaf, size_t n)
{
	char **trees = calloc(n + 1, sizeof *trees);
	for (size_t i = 0; i < n; i++) {
		trees[i] = malloc(128);
		snprintf(trees[i], 128, "num_leaves=1\nnum_cat=0\nleaf_value=%.17g\nshrinkage=1\n", leaf[i]);
	}
	char *s = model_text(m, (const char *const *)trees, n);
	for (size_t i = 0; i < n; i++)
		free(trees[i]);
	free(trees);
	return s;
}

/* GBDT::PredictRaw: tree i adds to output[i % num_tree_per_iteration]. */
static void test_multiclass_groups(void **state)
{
	const double leaf[] = {1, 2, 4, 8, 16, 32};
	model_spec m = {.objective = "multiclass num_class:3", .n_features = 1, .num_class = 3, .per_iter = 3};
	char *s = constant_trees(&m, leaf, 6);
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.n_groups, 3);
	assert_int_equal(e.output, TREE_OUTPUT_SOFTMAX);
	assert_int_equal(e.task, TREE_TASK_MULTICLASS);
	for (size_t t = 0; t < 6; t++)
		assert_int_equal(e.tree_group[t], t % 3);
	double x = 0, g[3];
	lgb_margin_ref(&e, &x, 6, g);
	/* group 0: trees 0, 3 = 1 + 8; group 1: 2 + 16; group 2: 4 + 32 */
	assert_true(g[0] == 9 && g[1] == 18 && g[2] == 36);
	lgb_margin_ref(&e, &x, 3, g); /* the first iteration */
	assert_true(g[0] == 1 && g[1] == 2 && g[2] == 4);
	lgb_margin_ref(&e, &x, 100, g); /* clamped to the model's trees */
	assert_true(g[0] == 9 && g[1] == 18 && g[2] == 36);
	tree_ensemble_free(&e);
	/* multiclassova: one sigmoid per class */
	m.objective = "multiclassova num_class:3 sigmoid:2";
	s = constant_trees(&m, leaf, 6);
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.output, TREE_OUTPUT_OVA);
	assert_true(e.sigmoid == 2);
	tree_ensemble_free(&e);
}

/* The output of a model text through the trees backend, raw or not, for
 * one row of value x, with the first `trees` iterations (0 = all). */
static void backend_outputs(const char *text, int raw, size_t trees, double x, double *out)
{
	trees_options opt = {.raw = raw, .trees = trees};
	model *fm;
	bf_error err = {0};
	assert_int_equal(model_load_mem("lightgbm", "model.txt", text, strlen(text), &opt, &fm, &err), BF_OK);
	arena a;
	arena_init(&a, 1 << 12);
	assert_int_equal(fm->backend->predict(fm, &x, 1, out, &a), 0);
	arena_free(&a);
	model_free(fm);
}

/* average_output (random forest): the raw score (GBDT::PredictRaw, and
 * LightGBM's predict_raw_score) is the sum; GBDT::Predict divides each
 * group's sum by the number of iterations before ConvertOutput. */
static void test_average_output(void **state)
{
	const double leaf[] = {1, 2, 3, 6};
	model_spec m = {.objective = "regression", .n_features = 1, .extra = "average_output\n"};
	char *s = constant_trees(&m, leaf, 4);
	tree_ensemble e;
	load_ok(&e, s);
	assert_int_equal(e.average_output, 1);
	double x = 0, g[2], o[2];
	lgb_margin_ref(&e, &x, 4, g);
	assert_true(g[0] == 12);
	backend_outputs(s, 1, 0, x, o);
	assert_true(o[0] == 12);  /* the raw score: the sum */
	backend_outputs(s, 0, 0, x, o);
	assert_true(o[0] == 3);   /* the output: (1 + 2 + 3 + 6) / 4 */
	backend_outputs(s, 0, 2, x, o);
	assert_true(o[0] == 1.5); /* the first two iterations: (1 + 2) / 2 */
	free(s);
	tree_ensemble_free(&e);
	/* two groups: 4 trees = 2 iterations */
	m = (model_spec){.objective = "multiclassova num_class:2 sigmoid:1", .n_features = 1, .num_class = 2,
			 .per_iter = 2, .extra = "average_output\n"};
	s = constant_trees(&m, leaf, 4);
	load_ok(&e, s);
	lgb_margin_ref(&e, &x, 4, g);
	assert_true(g[0] == 4 && g[1] == 8);
	backend_outputs(s, 1, 0, x, o);
	assert_true(o[0] == 4 && o[1] == 8);
	backend_outputs(s, 0, 0, x, o);
	assert_true(o[0] == 1 / (1 + exp(-2.0)) && o[1] == 1 / (1 + exp(-4.0))); /* sigmoid((1 + 3) / 2), ... */
	free(s);
	tree_ensemble_free(&e);
	/* without average_output: the plain sum */
	m = (model_spec){.objective = "regression", .n_features = 1};
	s = constant_trees(&m, leaf, 4);
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.average_output, 0);
	lgb_margin_ref(&e, &x, 4, g);
	assert_true(g[0] == 12);
	tree_ensemble_free(&e);
}

/* A constant tree (num_leaves=1): only num_leaves, num_cat and leaf_value
 * are needed (Tree::Tree returns before the split arrays); as LightGBM
 * writes it, the split arrays are present and empty. */
static void test_constant_tree(void **state)
{
	const char *trees[] = {
		"num_leaves=1\nnum_cat=0\nleaf_value=0.25\n",
		"num_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\nthreshold=\ndecision_type=\n"
		"left_child=\nright_child=\nleaf_value=-0.125\nleaf_weight=\nleaf_count=\ninternal_value=\n"
		"internal_weight=\ninternal_count=\nis_linear=0\nshrinkage=1\n",
	};
	model_spec m = {.objective = "regression", .n_features = 3};
	char *s = model_text(&m, trees, 2);
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.n_nodes, 2);
	assert_int_equal(e.max_depth, 0);
	double row[3] = {NAN, NAN, NAN};
	assert_true(margin1(&e, row) == 0.125);
	tree_ensemble_free(&e);
	/* no trees at all: margins are 0 */
	s = model_text(&m, NULL, 0);
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.n_trees, 0);
	assert_true(margin1(&e, row) == 0);
	tree_ensemble_free(&e);
}

/* Tree::Shrinkage multiplies leaf_value in place; shrinkage= only records
 * it. The leaf value is the output as written. */
static void test_shrinkage_already_applied(void **state)
{
	char *s = model1("regression", 1, "num_leaves=1\nnum_cat=0\nleaf_value=0.75\nshrinkage=0.1\n");
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	double x = 0;
	assert_true(margin1(&e, &x) == 0.75);
	tree_ensemble_free(&e);
}

/* binary sigmoid:0.5: BinaryLogloss::ConvertOutput is 1/(1+exp(-0.5 x)). */
static void test_sigmoid_parameter(void **state)
{
	char *s = model1("binary sigmoid:0.5", 1, "num_leaves=1\nnum_cat=0\nleaf_value=2\n");
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	assert_string_equal(e.objective, "binary sigmoid:0.5");
	assert_int_equal(e.output, TREE_OUTPUT_SIGMOID);
	assert_int_equal(e.task, TREE_TASK_BINARY);
	assert_true(e.sigmoid == 0.5);
	double x = 0, margin = margin1(&e, &x);
	assert_true(margin == 2); /* the transform is not applied */
	double p = 1 / (1 + exp(-e.sigmoid * margin));
	assert_true(close_to(p, 0.7310585786300049)); /* 1/(1+e^-1) */
	tree_ensemble_free(&e);
}

/* What each objective line turns into (objective_function.cpp). */
static void test_objectives(void **state)
{
	struct {
		const char *objective;
		int per_iter;
		tree_output output;
		tree_task task;
		double sigmoid;
	} ok[] = {
		{"regression", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"regression_l2", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"regression_l1", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"huber", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"huber sqrt", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1}, /* sqrt disabled by huber */
		{"fair", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"quantile", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"mape", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"poisson", 1, TREE_OUTPUT_EXP, TREE_TASK_REGRESSION, 1},
		{"gamma", 1, TREE_OUTPUT_EXP, TREE_TASK_REGRESSION, 1},
		{"tweedie", 1, TREE_OUTPUT_EXP, TREE_TASK_REGRESSION, 1},
		{"binary sigmoid:1", 1, TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY, 1},
		{"binary sigmoid:1.5", 1, TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY, 1.5},
		{"cross_entropy", 1, TREE_OUTPUT_SIGMOID, TREE_TASK_REGRESSION, 1},
		{"xentropy", 1, TREE_OUTPUT_SIGMOID, TREE_TASK_REGRESSION, 1},
		{"lambdarank", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"rank_xendcg", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{"multiclass num_class:4", 4, TREE_OUTPUT_SOFTMAX, TREE_TASK_MULTICLASS, 1},
		{"multiclassova num_class:2 sigmoid:3", 2, TREE_OUTPUT_OVA, TREE_TASK_MULTICLASS, 3},
		{"custom", 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1},
		{NULL, 1, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 1}, /* no objective line */
	};
	const double leaf[4] = {0};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		model_spec m = {.objective = ok[i].objective, .n_features = 1, .num_class = ok[i].per_iter,
				.per_iter = ok[i].per_iter};
		char *s = constant_trees(&m, leaf, (size_t)ok[i].per_iter);
		tree_ensemble e;
		bf_error err;
		if (load(&e, s, &err) != BF_OK)
			fail_msg("%s: %s", ok[i].objective, err.message);
		free(s);
		assert_int_equal(e.output, ok[i].output);
		assert_int_equal(e.task, ok[i].task);
		assert_true(e.sigmoid == ok[i].sigmoid);
		assert_int_equal(e.n_groups, ok[i].per_iter);
		tree_ensemble_free(&e);
	}
	struct {
		const char *objective;
		int per_iter;
		const char *message;
	} bad[] = {
		{"regression sqrt", 1, "objective 'regression sqrt' is not supported: its output transform sign(x)*x^2"},
		{"quantile sqrt", 1, "objective 'quantile sqrt' is not supported"},
		{"xentlambda", 1, "objective 'xentlambda' is not supported: its output log(1+exp(x))"},
		{"cross_entropy_lambda", 1, "objective 'cross_entropy_lambda' is not supported"},
		{"binary", 1, "objective 'binary' has no sigmoid:S parameter"},
		{"binary sigmoid:0", 1, "'sigmoid:0': the sigmoid parameter must be a number > 0"},
		{"binary sigmoid:x", 1, "'sigmoid:x': the sigmoid parameter must be a number > 0"},
		{"multiclass", 3, "objective 'multiclass' has no num_class:K parameter"},
		{"multiclass num_class:4", 3, "objective 'multiclass' has num_class:4, but num_class = 3 and num_tree_per_iteration = 3"},
		{"multiclassova num_class:3", 3, "objective 'multiclassova' has no sigmoid:S parameter"},
		{"regression", 2, "objective 'regression' with num_tree_per_iteration = 2: expected 1"},
		{"binary_logloss", 1, "unknown objective 'binary_logloss'; expected binary, multiclass"},
		{"", 1, "empty objective"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		model_spec m = {.objective = bad[i].objective, .n_features = 1, .num_class = bad[i].per_iter,
				.per_iter = bad[i].per_iter};
		char *s = constant_trees(&m, leaf, (size_t)bad[i].per_iter);
		load_fails(s, 7, bad[i].message);
		free(s);
	}
}

static void test_feature_infos(void **state)
{
	model_spec m = {.objective = "regression", .n_features = 5, .infos = "[0:1] none 1:2:5 7 [-inf:3.5]"};
	char *s = constant_trees(&m, (double[]){0}, 1);
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	const uint8_t want[5] = {0, 0, 1, 1, 0};
	assert_memory_equal(e.feature_is_cat, want, 5);
	assert_string_equal(e.feature_names[4], "f4");
	tree_ensemble_free(&e);
	m.infos = "[0:1] none 1::5 7 [0:1]";
	s = constant_trees(&m, (double[]){0}, 1);
	load_fails(s, 9, "feature_infos[2] = '1::5', expected '[min:max]', 'none' or categories 'c1:c2:...'");
	free(s);
	m.infos = "[0:1] none";
	s = constant_trees(&m, (double[]){0}, 1);
	load_fails(s, 9, "feature_infos has 2 entries, expected max_feature_idx+1 = 5");
	free(s);
}

/* ---- refusals -------------------------------------------------------- */

/* The line of the first occurrence of needle in s, 1-based. */
static int64_t line_of(const char *s, const char *needle)
{
	const char *at = strstr(s, needle);
	assert_non_null(at);
	int64_t line = 1;
	for (const char *p = s; p < at; p++)
		line += *p == '\n';
	return line;
}

/* A three-leaf tree template: split 0 on f0, split 1 on f1. */
#define TREE3(feature, threshold, dtype, left, right, leaves)                                       \
	"num_leaves=3\nnum_cat=0\nsplit_feature=" feature "\nsplit_gain=1 1\nthreshold=" threshold \
	"\ndecision_type=" dtype "\nleft_child=" left "\nright_child=" right "\nleaf_value=" leaves \
	"\nleaf_weight=1 1 1\nleaf_count=1 1 1\ninternal_value=0 0\ninternal_weight=0 0\n"           \
	"internal_count=3 2\nis_linear=0\nshrinkage=1\n"

static void fails_tree(const char *tree, const char *key, const char *message)
{
	char *s = model1("regression", 2, tree);
	load_fails(s, line_of(s, key), message);
	free(s);
}

static void test_bad_trees(void **state)
{
	/* the good one: x0 <= 0.5 -> split 1 (x1 <= 1.5 -> 1, else 2), else 3 */
	char *s = model1("regression", 2, TREE3("0 1", "0.5 1.5", "0 0", "1 -1", "-3 -2", "1 2 3"));
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	assert_true(margin1(&e, (double[]){0, 1}) == 1);
	assert_true(margin1(&e, (double[]){0, 2}) == 2);
	assert_true(margin1(&e, (double[]){1, 1}) == 3);
	tree_ensemble_free(&e);

	/* array lengths */
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "1", "-3 -2", "1 2 3"), "left_child=",
		   "Tree=0: left_child has 1 values, expected num_leaves-1 = 2");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "1 -1", "-3 -2", "1 2"), "leaf_value=",
		   "Tree=0: leaf_value has 2 values, expected num_leaves = 3");
	fails_tree(TREE3("0 1", "0.5 1.5 2.5", "0 0", "1 -1", "-3 -2", "1 2 3"), "threshold=",
		   "Tree=0: threshold has 3 values, expected num_leaves-1 = 2");
	fails_tree(TREE3("0 1", "0.5 1.5", "0", "1 -1", "-3 -2", "1 2 3"), "decision_type=",
		   "Tree=0: decision_type has 1 values, expected num_leaves-1 = 2");
	fails_tree("num_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=1\nleft_child=-1\nright_child=-2\n"
		   "leaf_value=1 2\nleaf_count=5\n",
		   "leaf_count=", "Tree=0: leaf_count has 1 values, expected num_leaves = 2");
	/* a count far beyond the file is refused before anything is allocated */
	fails_tree("num_leaves=1000000000\nnum_cat=0\nleaf_value=1 2\n", "leaf_value=",
		   "Tree=0: leaf_value has 2 values, expected num_leaves = 1000000000");
	fails_tree("num_leaves=0\nnum_cat=0\nleaf_value=\n", "num_leaves=",
		   "Tree=0: num_leaves = 0 is out of range, expected 1..1073741823");
	fails_tree("num_leaves=99999999999999999999\nnum_cat=0\nleaf_value=1\n", "num_leaves=",
		   "Tree=0: num_leaves = '99999999999999999999' is not an integer");

	/* missing fields */
	fails_tree("num_cat=0\nleaf_value=1\n", "Tree=0", "Tree=0: no num_leaves line");
	fails_tree("num_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=1\nleft_child=-1\nleaf_value=1 2\n",
		   "Tree=0", "Tree=0: no right_child line");

	/* numbers */
	fails_tree(TREE3("0 1", "0.5 1.2.3", "0 0", "1 -1", "-3 -2", "1 2 3"), "threshold=",
		   "Tree=0: threshold[1] = '1.2.3' is not a number");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "1 -1", "-3 -2", "1 abc 3"), "leaf_value=",
		   "Tree=0: leaf_value[1] = 'abc' is not a number");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "x -1", "-3 -2", "1 2 3"), "left_child=",
		   "Tree=0: left_child[0] = 'x' is not an integer");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0.5", "1 -1", "-3 -2", "1 2 3"), "decision_type=",
		   "Tree=0: decision_type[1] = '0.5' is not an integer");

	/* children out of range: -num_leaves .. num_leaves-2 */
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "2 -1", "-3 -2", "1 2 3"), "left_child=",
		   "Tree=0: left_child[0] = 2 is out of range, expected -3..1");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "1 -1", "-4 -2", "1 2 3"), "right_child=",
		   "Tree=0: right_child[0] = -4 is out of range, expected -3..1");

	/* not a tree: a cycle back to the root, a self loop, a shared leaf, a
	 * split that only points at itself (unreachable from the root) */
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "1 -1", "-3 0", "1 2 3"), "right_child=",
		   "Tree=0: right_child[1] = 0 leads to split 0 a second time: the splits do not form a tree");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "1 1", "-3 -2", "1 2 3"), "left_child=",
		   "Tree=0: left_child[1] = 1 leads to split 1 a second time");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "1 -1", "-1 -2", "1 2 3"), "left_child=",
		   "Tree=0: left_child[1] = -1 leads to leaf 0 a second time");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 0", "-1 1", "-2 -3", "1 2 3"), "left_child=",
		   "Tree=0: split 1 is not reachable from the root");

	/* features */
	fails_tree(TREE3("0 2", "0.5 1.5", "0 0", "1 -1", "-3 -2", "1 2 3"), "split_feature=",
		   "Tree=0: split_feature[1] = 2 is out of range, expected 0..1");
	fails_tree(TREE3("-1 0", "0.5 1.5", "0 0", "1 -1", "-3 -2", "1 2 3"), "split_feature=",
		   "Tree=0: split_feature[0] = -1 is out of range, expected 0..1");

	/* decision types */
	fails_tree(TREE3("0 1", "0.5 1.5", "0 12", "1 -1", "-3 -2", "1 2 3"), "decision_type=",
		   "Tree=0: decision_type[1] = 12 has missing type 3, expected 0 (none), 1 (zero) or 2 (nan)");
	fails_tree(TREE3("0 1", "0.5 1.5", "0 16", "1 -1", "-3 -2", "1 2 3"), "decision_type=",
		   "Tree=0: decision_type[1] = 16 is out of range, expected 0..15");
	fails_tree(TREE3("0 1", "0.5 1.5", "1 0", "1 -1", "-3 -2", "1 2 3"), "decision_type=",
		   "Tree=0: decision_type[0] = 1 marks a categorical split, but num_cat = 0");

	/* linear trees */
	fails_tree("num_leaves=1\nnum_cat=0\nleaf_value=1\nis_linear=1\nleaf_const=1\nnum_features=0\n"
		   "leaf_features= \nleaf_coeff= \nshrinkage=1\n",
		   "is_linear=", "Tree=0: linear trees are not supported");

	/* lines */
	fails_tree("num_leaves=1\nnum_cat=0\nleaf_value=1\nnum_leaves= 1\n", "num_leaves= 1",
		   "Tree=0: second num_leaves line (the first is line");
	fails_tree("num_leaves=1\nnum_cat=0\nleaf_value=1\njunk\n", "junk",
		   "Tree=0: found 'junk', expected a key=value line");
	fails_tree("num_leaves=1\nnum_cat=1\nleaf_value=1\n", "num_cat=",
		   "Tree=0: num_cat = 1 in a tree without splits");
}

/* A categorical tree with one thing wrong. */
#define CAT2(threshold, bounds, words)                                                             \
	"num_leaves=2\nnum_cat=1\nsplit_feature=0\nthreshold=" threshold "\ndecision_type=1\n"       \
	"left_child=-1\nright_child=-2\nleaf_value=1 2\ncat_boundaries=" bounds                     \
	"\ncat_threshold=" words "\nshrinkage=1\n"

static void test_bad_categories(void **state)
{
	char *s = model1("regression", 2, CAT2("0", "0 2", "1 2"));
	tree_ensemble e;
	load_ok(&e, s);
	free(s);
	tree_ensemble_free(&e);
	fails_tree(CAT2("1", "0 2", "1 2"), "threshold=",
		   "Tree=0: threshold[0] = 1 of a categorical split is not a category set index 0..0");
	fails_tree(CAT2("0.5", "0 2", "1 2"), "threshold=",
		   "Tree=0: threshold[0] = 0.5 of a categorical split is not a category set index 0..0");
	fails_tree(CAT2("-1", "0 2", "1 2"), "threshold=", "is not a category set index 0..0");
	fails_tree(CAT2("nan", "0 2", "1 2"), "threshold=", "is not a category set index 0..0");
	fails_tree(CAT2("0", "0 3", "1 2"), "cat_threshold=",
		   "Tree=0: cat_threshold has 2 values, expected cat_boundaries[num_cat] = 3");
	fails_tree(CAT2("0", "0 2000000000", "1 2"), "cat_threshold=",
		   "Tree=0: cat_threshold has 2 values, expected cat_boundaries[num_cat] = 2000000000");
	fails_tree(CAT2("0", "1 2", "1 2"), "cat_boundaries=", "Tree=0: cat_boundaries[0] = 1, expected 0");
	fails_tree(CAT2("0", "0", "1 2"), "cat_boundaries=",
		   "Tree=0: cat_boundaries has 1 values, expected num_cat+1 = 2");
	fails_tree(CAT2("0", "0 2", "1 4294967296"), "cat_threshold=",
		   "Tree=0: cat_threshold[1] = 4294967296 is out of range, expected 0..4294967295");
	fails_tree(CAT2("0", "0 2", "1 -2"), "cat_threshold=", "cat_threshold[1] = -2 is out of range");
	fails_tree("num_leaves=2\nnum_cat=1\nsplit_feature=0\nthreshold=0\ndecision_type=1\n"
		   "left_child=-1\nright_child=-2\nleaf_value=1 2\n",
		   "Tree=0", "Tree=0: no cat_boundaries line");
	fails_tree("num_leaves=2\nnum_cat=2\nsplit_feature=0\nthreshold=0\ndecision_type=1\n"
		   "left_child=-1\nright_child=-2\nleaf_value=1 2\ncat_boundaries=0 1 2\ncat_threshold=1 1\n",
		   "num_cat=", "Tree=0: num_cat = 2 exceeds the number of splits, 1");
	/* cat_boundaries decreasing */
	char tree[] = "num_leaves=3\nnum_cat=2\nsplit_feature=0 1\nthreshold=0 1\ndecision_type=1 1\n"
		      "left_child=1 -1\nright_child=-3 -2\nleaf_value=1 2 3\ncat_boundaries=0 2 1\n"
		      "cat_threshold=1\n";
	fails_tree(tree, "cat_boundaries=", "Tree=0: cat_boundaries[2] = 1 is below cat_boundaries[1] = 2");
}

static void test_bad_headers(void **state)
{
	const char *tree = "num_leaves=1\nnum_cat=0\nleaf_value=1\n";
	model_spec m = {.objective = "regression", .n_features = 2};
	char *good = model_text(&m, &tree, 1);
	tree_ensemble e;
	load_ok(&e, good);
	tree_ensemble_free(&e);

	struct {
		const char *from, *to;
		int64_t line;
		const char *message;
	} edits[] = {
		{"tree\n", "tre\n", 1, "not a LightGBM text model: the first line is 'tre', expected 'tree'"},
		{"version=v4", "version=v9", 2, "version 'v9' is not supported; expected v2, v3 or v4"},
		{"num_class=1\n", "", 0, "the header has no num_class line"},
		{"label_index=0\n", "", 0, "the header has no label_index line"},
		{"max_feature_idx=1\n", "", 0, "the header has no max_feature_idx line"},
		{"feature_names=f0 f1\n", "", 0, "the header has no feature_names line"},
		{"feature_infos=none none\n", "", 0, "the header has no feature_infos line"},
		{"num_class=1\n", "num_class=1\nnum_class=1\n", 4, "second num_class line (the first is line 3)"},
		{"max_feature_idx=1\n", "max_feature_idx=x\n", 6, "max_feature_idx = 'x' is not an integer"},
		{"max_feature_idx=1\n", "max_feature_idx=1 2\n", 6, "max_feature_idx has 2 values, expected one integer"},
		{"max_feature_idx=1\n", "max_feature_idx=2\n", 8, "feature_names has 2 names, expected max_feature_idx+1 = 3"},
		{"max_feature_idx=1\n", "max_feature_idx=2147483646\n", 8,
		 "feature_names has 2 names, expected max_feature_idx+1 = 2147483647"},
		{"num_tree_per_iteration=1\n", "num_tree_per_iteration=0\n", 4,
		 "num_tree_per_iteration = 0 is out of range, expected 1..2147483647"},
		{"num_tree_per_iteration=1\n", "num_tree_per_iteration=1000000000\n", 4,
		 "1000000000 trees per iteration cannot fit in a"},
		{"num_tree_per_iteration=1\n", "num_tree_per_iteration=3\n", 7,
		 "objective 'regression' with num_tree_per_iteration = 3: expected 1"},
		{"Tree=0\n", "Tree=1\n", 0, "Tree=0: found 'Tree=1', expected 'Tree=0'"},
		{"Tree=0\n", "Tree=x\n", 0, "Tree=0: found 'Tree=x', expected 'Tree=0'"},
		{"leaf_value=1\n", "leaf_value=1@\n", 0, "NUL byte in a text model"}, /* @: NUL */
	};
	for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
		const char *at = strstr(good, edits[i].from);
		assert_non_null(at);
		text t = {0};
		put(&t, "%.*s%s%s", (int)(at - good), good, edits[i].to, at + strlen(edits[i].from));
		char *nul = strchr(t.buf, '@');
		if (nul)
			*nul = '\0';
		/* tree_sizes stay valid: edits before the trees move every tree
		 * alike, edits inside the only tree change the last size, unused */
		bf_error err;
		int rc = load_n(&e, t.buf, t.len, &err);
		if (rc != BF_EMODEL || !strstr(err.message, edits[i].message))
			fail_msg("edit %zu: rc %d, '%s', expected '%s'", i, rc, err.message, edits[i].message);
		if (edits[i].line && err.line != edits[i].line)
			fail_msg("edit %zu: line %lld, expected %lld", i, (long long)err.line,
				 (long long)edits[i].line);
		tree_ensemble_free(&e);
		free(t.buf);
	}
	free(good);
	bf_error err;
	assert_int_equal(load_n(&e, "", 0, &err), BF_EMODEL);
	assert_string_equal(err.message, "not a LightGBM text model: the file is empty");
	assert_int_equal(load_n(&e, "\n\n", 2, &err), BF_EMODEL);
	assert_int_equal(load_n(&e, "{\"learner\": {}}", 15, &err), BF_EMODEL);
	assert_string_equal(err.message,
			    "not a LightGBM text model: the first line is '{\"learner\": {}}', expected 'tree'");
}

static void test_tree_count_checks(void **state)
{
	const double leaf[] = {1, 2, 3};
	/* no tree_sizes and no "end of trees": truncation cannot be ruled out */
	model_spec m = {.objective = "regression", .n_features = 1, .no_tree_sizes = 1, .no_end = 1};
	char *s = constant_trees(&m, leaf, 3);
	load_fails(s, 0, "no 'end of trees' line after 3 trees, and no tree_sizes to check them: truncated file?");
	free(s);
	/* either one is enough */
	tree_ensemble e;
	m.no_end = 0;
	s = constant_trees(&m, leaf, 3);
	load_ok(&e, s);
	free(s);
	assert_int_equal(e.n_trees, 3);
	tree_ensemble_free(&e);
	m = (model_spec){.objective = "regression", .n_features = 1, .no_end = 1};
	s = constant_trees(&m, leaf, 3);
	load_ok(&e, s);
	free(s);
	tree_ensemble_free(&e);

	/* tree_sizes disagreeing with the trees */
	m = (model_spec){.objective = "regression", .n_features = 1};
	s = constant_trees(&m, leaf, 3);
	char *ts = strstr(s, "tree_sizes=");
	int a, b, c;
	assert_int_equal(sscanf(ts, "tree_sizes=%d %d %d", &a, &b, &c), 3);
	struct {
		int a, b, c, n;
		const char *message;
	} cases[] = {
		{a + 1, b, c, 3, "tree_sizes puts Tree=1 at byte"},
		{a, b - 1, c, 3, "tree_sizes puts Tree=2 at byte"},
		{a, b, c, 2, "tree_sizes lists 2 trees, the file has 3"},
		{a, b, -1, 3, "tree_sizes[2] = '-1' is not a size"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char sizes[64];
		if (cases[i].n == 3)
			snprintf(sizes, sizeof sizes, "tree_sizes=%d %d %d", cases[i].a, cases[i].b, cases[i].c);
		else
			snprintf(sizes, sizeof sizes, "tree_sizes=%d %d", cases[i].a, cases[i].b);
		text t = {0};
		char *eol = strchr(ts, '\n');
		/* offsets count from the first tree, so the header may change length */
		put(&t, "%.*s%s%s", (int)(ts - s), s, sizes, eol);
		load_fails(t.buf, 10, cases[i].message);
		free(t.buf);
	}
	/* The last size is not used by LightGBM and may be wrong (see the
	 * constant tree fixture) when "end of trees" shows the file is whole;
	 * without it, the last tree must fit in the file. */
	text t = {0};
	char *eol = strchr(ts, '\n');
	put(&t, "%.*stree_sizes=%d %d 100000%s", (int)(ts - s), s, a, b, eol);
	load_ok(&e, t.buf);
	tree_ensemble_free(&e);
	char *end = strstr(t.buf, "end of trees\n");
	memmove(end, end + 13, strlen(end + 13) + 1);
	load_fails(t.buf, 10, "tree_sizes[2] = 100000 runs past the end of the file (truncated?)");
	free(t.buf);
	free(s);
	/* no trees and no "end of trees": nothing shows the file is whole */
	m = (model_spec){.objective = "regression", .n_features = 1, .no_end = 1};
	s = constant_trees(&m, leaf, 0);
	load_fails(s, 0, "no 'end of trees' line after 0 trees");
	free(s);

	/* n_trees must be whole iterations */
	m = (model_spec){.objective = "multiclass num_class:2", .n_features = 1, .num_class = 2, .per_iter = 2};
	s = constant_trees(&m, leaf, 3);
	load_fails(s, 0, "3 trees is not a whole number of iterations of num_tree_per_iteration = 2");
	free(s);
}

/* ---- robustness ------------------------------------------------------ */

/* Every prefix of a model file: refused with a message, or (once every tree
 * is in) loaded with the same trees. */
static void check_prefixes(const char *path, size_t complete)
{
	size_t len;
	char *buf = read_file(path, &len);
	tree_ensemble full, e;
	bf_error err;
	assert_int_equal(load_n(&full, buf, len, &err), BF_OK);
	size_t loaded = 0;
	for (size_t cut = 0; cut < len; cut++) {
		int rc = load_n(&e, buf, cut, &err);
		if (rc == BF_OK) {
			if (cut < complete)
				fail_msg("%s cut at %zu of %zu (trees end at %zu) loaded", path, cut, len, complete);
			assert_int_equal(e.n_nodes, full.n_nodes);
			assert_memory_equal(e.nodes, full.nodes, e.n_nodes * sizeof *e.nodes);
			loaded++;
		} else {
			assert_int_equal(rc, BF_EMODEL);
			assert_true(err.message[0] != '\0');
			if (cut >= complete)
				fail_msg("%s cut at %zu (trees end at %zu): %s", path, cut, complete, err.message);
		}
		tree_ensemble_free(&e);
	}
	assert_int_equal(loaded, len - complete);
	tree_ensemble_free(&full);
	free(buf);
}

static void test_truncated(void **state)
{
	/* toy: no "end of trees"; the trees end where tree_sizes says */
	size_t len;
	char *buf = read_file(FIXTURES "toy_categorical/toy_categorical_model.txt", &len);
	char *s = malloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	size_t sum = 0;
	char *p = strstr(s, "tree_sizes=") + 11;
	while (*p != '\n') {
		sum += strtoul(p, &p, 10);
		while (*p == ' ')
			p++;
	}
	size_t complete = (size_t)(strstr(s, "Tree=0") - s) + sum;
	free(s);
	free(buf);
	check_prefixes(FIXTURES "toy_categorical/toy_categorical_model.txt", complete);
	/* constant tree: its last tree_sizes entry is too large (1726 for 209
	 * bytes), so only "end of trees" completes it */
	buf = read_file(FIXTURES "lightgbm_constant_tree/model_with_constant_tree.txt", &len);
	s = malloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	complete = (size_t)(strstr(s, "end of trees") - s) + strlen("end of trees");
	free(s);
	free(buf);
	check_prefixes(FIXTURES "lightgbm_constant_tree/model_with_constant_tree.txt", complete);
}

/* Random byte edits of the toy model: refused or loaded, never a crash,
 * and a loaded model's trees pass tree_check and evaluate. */
static void test_corrupted(void **state)
{
	size_t len;
	char *buf = read_file(FIXTURES "toy_categorical/toy_categorical_model.txt", &len);
	char *copy = malloc(len);
	static const char bytes[] = "0123456789-.e =\n\rx:";
	srand(42);
	size_t loaded = 0;
	for (int i = 0; i < 3000; i++) {
		memcpy(copy, buf, len);
		int edits = 1 + rand() % 3;
		for (int k = 0; k < edits; k++)
			copy[(size_t)rand() % len] = bytes[rand() % (int)(sizeof bytes - 1)];
		tree_ensemble e;
		bf_error err;
		int rc = load_n(&e, copy, len, &err);
		if (rc == BF_OK) {
			loaded++;
			double *row = malloc(e.n_features * sizeof *row), *m = malloc(e.n_groups * sizeof *m);
			for (int r = 0; r < 4; r++) {
				for (size_t j = 0; j < e.n_features; j++)
					row[j] = j ? NAN : r;
				lgb_margin_ref(&e, row, e.n_trees, m);
			}
			free(row);
			free(m);
		} else {
			assert_int_equal(rc, BF_EMODEL);
			assert_true(err.message[0] != '\0');
		}
		tree_ensemble_free(&e);
	}
	print_message("corrupted toy models: %zu of 3000 still load\n", loaded);
	free(copy);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toy_categorical),
		cmocka_unit_test(test_sparse_categorical),
		cmocka_unit_test(test_constant_tree_fixture),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_missing_none),
		cmocka_unit_test(test_missing_zero),
		cmocka_unit_test(test_missing_nan),
		cmocka_unit_test(test_categorical),
		cmocka_unit_test(test_category_offsets),
		cmocka_unit_test(test_multiclass_groups),
		cmocka_unit_test(test_average_output),
		cmocka_unit_test(test_constant_tree),
		cmocka_unit_test(test_shrinkage_already_applied),
		cmocka_unit_test(test_sigmoid_parameter),
		cmocka_unit_test(test_objectives),
		cmocka_unit_test(test_feature_infos),
		cmocka_unit_test(test_bad_trees),
		cmocka_unit_test(test_bad_categories),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_tree_count_checks),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupted),
	};
	return cmocka_run_group_tests_name("lightgbm", tests, NULL, NULL);
}
