/* xgboost_test.c: xgb_load reads XGBoost's three formats into the same
 * ensemble, refuses broken files with a message, and xgb_margin_ref matches
 * XGBoost's own outputs (treelite fixtures) and each decision rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "file.h"
#include "model.h"
#include "trees.h"

#define FIXTURES "testdata/fixtures/treelite/"

/* ---- helpers ------------------------------------------------------------ */

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static void put(buf *b, const void *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void putc_(buf *b, int c)
{
	char ch = (char)c;
	put(b, &ch, 1);
}

__attribute__((format(printf, 2, 3)))
static void putf(buf *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof tmp);
	put(b, tmp, (size_t)n);
}

static char *read_file(const char *path, size_t *len)
{
	char *text = bf_read_file(path, len);
	if (!text)
		fail_msg("cannot open %s", path);
	return text;
}

static int load(tree_ensemble *e, const char *text, size_t len, bf_error *err)
{
	memset(e, 0, sizeof *e);
	memset(err, 0, sizeof *err);
	return xgb_load(e, text, len, "m.json", err);
}

/* The model load_ok loaded last: margin1 scores it with the fast evaluator too. */
static char *last_text;
static size_t last_len;

static void load_ok(tree_ensemble *e, const char *text, size_t len)
{
	bf_error err;
	if (load(e, text, len, &err) != BF_OK)
		fail_msg("load failed: %lld:%lld: %s", (long long)err.line, (long long)err.column, err.message);
	free(last_text);
	last_text = malloc(len ? len : 1);
	assert_non_null(last_text);
	memcpy(last_text, text, len);
	last_len = len;
}

/* Loading must fail with BF_EMODEL and a message containing want. */
static void load_bad(const char *text, size_t len, const char *want)
{
	tree_ensemble e;
	bf_error err;
	int rc = load(&e, text, len, &err);
	if (rc == BF_OK) {
		tree_ensemble_free(&e);
		fail_msg("loaded, expected an error containing \"%s\"", want);
	}
	assert_int_equal(rc, BF_EMODEL);
	assert_string_equal(err.path, "m.json");
	if (!strstr(err.message, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err.message, want);
	assert_null(e.nodes);
	assert_null(e.base_score);
}

/* 1e-6 relative, 1e-6 absolute below 1 */
static void close_to(double got, double want, const char *what, size_t i)
{
	double tol = 1e-6 * fmax(1.0, fabs(want));
	if (!(fabs(got - want) <= tol))
		fail_msg("%s %zu: got %.10g, expected %.10g", what, i, got, want);
}

/* LibSVM rows ("label idx:val ..."), absent = NaN, into rows (n, n_features). */
static double *read_libsvm(const char *path, size_t n_features, size_t *n_rows)
{
	size_t len;
	char *text = read_file(path, &len);
	size_t cap = 0, n = 0;
	double *rows = NULL;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			rows = realloc(rows, cap * n_features * sizeof *rows);
			assert_non_null(rows);
		}
		double *r = rows + n * n_features;
		for (size_t j = 0; j < n_features; j++)
			r[j] = NAN;
		char *p = line;
		strtod(p, &p); /* label */
		while (*p) {
			char *q;
			long idx = strtol(p, &q, 10);
			if (q == p)
				break;
			assert_true(*q == ':');
			assert_true(idx >= 0 && (size_t)idx < n_features);
			r[idx] = strtod(q + 1, &p);
		}
		n++;
	}
	free(text);
	*n_rows = n;
	return rows;
}

static double *read_numbers(const char *path, size_t *n)
{
	size_t len;
	char *text = read_file(path, &len);
	double *v = malloc((len / 2 + 1) * sizeof *v);
	size_t k = 0;
	char *p = text, *q;
	for (;;) {
		double d = strtod(p, &q);
		if (q == p)
			break;
		v[k++] = d;
		p = q;
	}
	free(text);
	*n = k;
	return v;
}

/* ---- JSON -> UBJSON, as XGBoost's UBJWriter lays it out ------------------ */
/* Arrays of numbers become typed arrays ($U, $l or $L for integers, $d for
 * the rest, float32); other arrays and objects carry a count ("#L"), or with
 * plain = 1 end with ']' / '}'. Numbers alone take the smallest integer
 * marker, or 'd'. NaN and Infinity words are read as XGBoost writes them. */

typedef struct tj {
	const char *s;
} tj;

static void tj_ws(tj *r)
{
	while (*r->s == ' ' || *r->s == '\n' || *r->s == '\t' || *r->s == '\r')
		r->s++;
}

static void put_be(buf *b, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		putc_(b, (int)(v >> (8 * i) & 0xff));
}

static void put_len(buf *b, size_t n)
{
	putc_(b, 'L');
	put_be(b, n, 8);
}

/* A string literal at r->s (no escapes other than \" and \\ needed here). */
static void tj_string(tj *r, buf *raw)
{
	assert_true(*r->s == '"');
	r->s++;
	while (*r->s != '"') {
		if (*r->s == '\\')
			r->s++;
		putc_(raw, *r->s++);
	}
	r->s++;
}

static const char *tj_number(tj *r, double *d)
{
	const char *start = r->s;
	while (strchr("+-0123456789.eEaNIfinity", *r->s) && *r->s)
		r->s++;
	char tmp[64];
	size_t n = (size_t)(r->s - start);
	assert_true(n > 0 && n < sizeof tmp);
	memcpy(tmp, start, n);
	tmp[n] = '\0';
	*d = strtod(tmp, NULL);
	return start;
}

static int is_int(double d) { return d == floor(d) && fabs(d) < 9e15; }

static void put_f32(buf *b, const char *text)
{
	float f = strtof(text, NULL);
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	put_be(b, u, 4);
}

static void put_int(buf *b, int64_t i)
{
	if (i >= -128 && i <= 127) {
		putc_(b, 'i');
		put_be(b, (uint64_t)i & 0xff, 1);
	} else if (i >= -32768 && i <= 32767) {
		putc_(b, 'I');
		put_be(b, (uint64_t)i & 0xffff, 2);
	} else if (i >= INT32_MIN && i <= INT32_MAX) {
		putc_(b, 'l');
		put_be(b, (uint64_t)i & 0xffffffffu, 4);
	} else {
		putc_(b, 'L');
		put_be(b, (uint64_t)i, 8);
	}
}

static void tj_value(tj *r, buf *out, int plain);

static void tj_skip(tj *r)
{
	buf sink = {0};
	tj_value(r, &sink, 1);
	free(sink.p);
}

static void tj_value(tj *r, buf *out, int plain)
{
	tj_ws(r);
	char c = *r->s;
	if (c == '{') {
		r->s++;
		buf body = {0};
		size_t n = 0;
		for (;;) {
			tj_ws(r);
			if (*r->s == '}') {
				r->s++;
				break;
			}
			buf key = {0};
			tj_string(r, &key);
			put_len(&body, key.n);
			put(&body, key.p ? key.p : "", key.n);
			free(key.p);
			tj_ws(r);
			assert_true(*r->s == ':');
			r->s++;
			tj_value(r, &body, plain);
			n++;
			tj_ws(r);
			if (*r->s == ',')
				r->s++;
		}
		putc_(out, '{');
		if (!plain) {
			putc_(out, '#');
			put_len(out, n);
		}
		put(out, body.p ? body.p : "", body.n);
		if (plain)
			putc_(out, '}');
		free(body.p);
	} else if (c == '[') {
		r->s++;
		const char **items = NULL;
		size_t n = 0, cap = 0;
		int numbers = 1, ints = 1, u8 = 1, i32 = 1;
		for (;;) {
			tj_ws(r);
			if (*r->s == ']') {
				r->s++;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				items = realloc(items, cap * sizeof *items);
				assert_non_null(items);
			}
			items[n++] = r->s;
			if (strchr("-0123456789NI", *r->s)) {
				double d;
				tj_number(r, &d);
				if (!is_int(d))
					ints = u8 = i32 = 0;
				if (d < 0 || d > 255)
					u8 = 0;
				if (d < INT32_MIN || d > INT32_MAX)
					i32 = 0;
			} else {
				numbers = 0;
				tj_skip(r);
			}
			tj_ws(r);
			if (*r->s == ',')
				r->s++;
		}
		putc_(out, '[');
		if (numbers && n > 0) {
			putc_(out, '$');
			putc_(out, !ints ? 'd' : u8 ? 'U' : i32 ? 'l' : 'L');
			putc_(out, '#');
			put_len(out, n);
			for (size_t i = 0; i < n; i++) {
				tj it = {items[i]};
				double d;
				const char *text = tj_number(&it, &d);
				char tmp[64];
				size_t k = (size_t)(it.s - text);
				memcpy(tmp, text, k);
				tmp[k] = '\0';
				if (!ints)
					put_f32(out, tmp);
				else
					put_be(out, (uint64_t)(int64_t)d, u8 ? 1 : i32 ? 4 : 8);
			}
			free(items);
			return;
		}
		if (!plain) {
			putc_(out, '#');
			put_len(out, n);
		}
		for (size_t i = 0; i < n; i++) {
			tj it = {items[i]};
			tj_value(&it, out, plain);
		}
		if (plain)
			putc_(out, ']');
		free(items);
	} else if (c == '"') {
		buf s = {0};
		tj_string(r, &s);
		putc_(out, 'S');
		put_len(out, s.n);
		put(out, s.p ? s.p : "", s.n);
		free(s.p);
	} else if (!strncmp(r->s, "true", 4)) {
		r->s += 4;
		putc_(out, 'T');
	} else if (!strncmp(r->s, "false", 5)) {
		r->s += 5;
		putc_(out, 'F');
	} else if (!strncmp(r->s, "null", 4)) {
		r->s += 4;
		putc_(out, 'Z');
	} else {
		double d;
		const char *text = tj_number(r, &d);
		if (is_int(d)) {
			put_int(out, (int64_t)d);
		} else {
			char tmp[64];
			size_t k = (size_t)(r->s - text);
			memcpy(tmp, text, k);
			tmp[k] = '\0';
			putc_(out, 'd');
			put_f32(out, tmp);
		}
	}
}

static buf to_ubjson(const char *json, int plain)
{
	buf out = {0};
	tj r = {json};
	tj_value(&r, &out, plain);
	return out;
}

/* ---- comparing ensembles ------------------------------------------------ */

static void assert_same(const tree_ensemble *a, const tree_ensemble *b)
{
	assert_int_equal(a->lib, b->lib);
	assert_string_equal(a->objective, b->objective);
	assert_int_equal(a->output, b->output);
	assert_int_equal(a->task, b->task);
	assert_int_equal(a->n_groups, b->n_groups);
	assert_int_equal(a->n_features, b->n_features);
	assert_int_equal(a->n_trees, b->n_trees);
	assert_int_equal(a->n_nodes, b->n_nodes);
	assert_int_equal(a->n_cat_words, b->n_cat_words);
	assert_int_equal(a->max_depth, b->max_depth);
	assert_true((a->feature_names == NULL) == (b->feature_names == NULL));
	for (size_t i = 0; a->feature_names && i < a->n_features; i++)
		assert_string_equal(a->feature_names[i], b->feature_names[i]);
	assert_memory_equal(a->feature_is_cat, b->feature_is_cat, a->n_features);
	for (size_t g = 0; g < a->n_groups; g++)
		assert_true(a->base_score[g] == b->base_score[g]);
	assert_memory_equal(a->tree_begin, b->tree_begin, (a->n_trees + 1) * sizeof *a->tree_begin);
	assert_memory_equal(a->tree_group, b->tree_group, a->n_trees * sizeof *a->tree_group);
	assert_true((a->tree_weight == NULL) == (b->tree_weight == NULL));
	for (size_t t = 0; a->tree_weight && t < a->n_trees; t++)
		assert_true(a->tree_weight[t] == b->tree_weight[t]);
	for (size_t i = 0; i < a->n_nodes; i++) {
		const tree_node *x = &a->nodes[i], *y = &b->nodes[i];
		assert_int_equal(x->left, y->left);
		assert_int_equal(x->right, y->right);
		assert_int_equal(x->default_left, y->default_left);
		assert_int_equal(x->categorical, y->categorical);
		assert_int_equal(x->missing_type, y->missing_type);
		if (x->left >= 0) {
			assert_int_equal(x->feature, y->feature);
			assert_true(x->threshold == y->threshold || (isnan(x->threshold) && isnan(y->threshold)));
		} else {
			assert_true(x->leaf == y->leaf);
		}
		if (x->categorical) {
			assert_int_equal(x->cat_end - x->cat_begin, y->cat_end - y->cat_begin);
			assert_memory_equal(a->cat_bits + x->cat_begin, b->cat_bits + y->cat_begin,
					    (x->cat_end - x->cat_begin) * sizeof *a->cat_bits);
		}
	}
}

/* ---- hand-built models -------------------------------------------------- */

/* One tree in XGBoost's JSON layout. n nodes; arrays given as JSON text. */
static void tree_json(buf *b, int id, int n, const char *left, const char *right, const char *index,
		      const char *cond, const char *dleft, const char *stype, const char *cats)
{
	putf(b, "{\"base_weights\":[");
	for (int i = 0; i < n; i++)
		putf(b, "%s0E0", i ? "," : "");
	putf(b, "],%s\"default_left\":[%s],\"id\":%d,\"left_children\":[%s],\"loss_changes\":[",
	     cats ? cats : "\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
			   "\"categories_sizes\":[],", dleft, id, left);
	for (int i = 0; i < n; i++)
		putf(b, "%s0E0", i ? "," : "");
	putf(b, "],\"parents\":[2147483647");
	for (int i = 1; i < n; i++)
		putf(b, ",0");
	putf(b, "],\"right_children\":[%s],\"split_conditions\":[%s],\"split_indices\":[%s],"
	     "\"split_type\":[%s],\"sum_hessian\":[", right, cond, index, stype);
	for (int i = 0; i < n; i++)
		putf(b, "%s1E0", i ? "," : "");
	putf(b, "],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"4\",\"num_nodes\":\"%d\","
	     "\"size_leaf_vector\":\"0\"}}", n);
}

/* A stump on feature f: x < cond goes to leaf lv, else rv. */
static void stump(buf *b, int id, int f, const char *cond, int dleft, const char *lv, const char *rv)
{
	char index[32], conds[128], dl[16];
	snprintf(index, sizeof index, "%d,0,0", f);
	snprintf(conds, sizeof conds, "%s,%s,%s", cond, lv, rv);
	snprintf(dl, sizeof dl, "%d,0,0", dleft);
	tree_json(b, id, 3, "1,-1,-1", "2,-1,-1", index, conds, dl, "0,0,0", NULL);
}

/* The whole model around trees (JSON text of the array's items). */
static char *model_json(const char *objective, const char *base_score, int num_class, int n_trees,
			const char *tree_info, const char *trees, const char *booster, const char *version)
{
	buf b = {0};
	putf(&b, "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
	     "\"gradient_booster\":");
	if (booster && !strncmp(booster, "dart", 4)) {
		putf(&b, "{\"gbtree\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
		     "\"num_trees\":\"%d\",\"size_leaf_vector\":\"0\"},\"tree_info\":[%s],\"trees\":[",
		     n_trees, tree_info);
		put(&b, trees, strlen(trees));
		putf(&b, "]},\"name\":\"gbtree\"},\"name\":\"dart\",\"weight_drop\":[%s]}", booster + 5);
	} else {
		putf(&b, "{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\",\"num_trees\":\"%d\","
		     "\"size_leaf_vector\":\"0\"},\"tree_info\":[%s],\"trees\":[", n_trees, tree_info);
		put(&b, trees, strlen(trees));
		putf(&b, "]},\"name\":\"%s\"}", booster ? booster : "gbtree");
	}
	putf(&b, ",\"learner_model_param\":{\"base_score\":\"%s\",\"boost_from_average\":\"1\","
	     "\"num_class\":\"%d\",\"num_feature\":\"4\",\"num_target\":\"1\"},\"objective\":{\"name\":\"%s\"}},"
	     "\"version\":[%s]}", base_score, num_class, objective, version ? version : "1,7,4");
	return b.p;
}

static char *stump_model(const char *objective, const char *base_score, const char *cond, int dleft)
{
	buf t = {0};
	stump(&t, 0, 1, cond, dleft, "-1E0", "1E0");
	char *m = model_json(objective, base_score, 0, 1, "0", t.p, NULL, NULL);
	free(t.p);
	return m;
}

/* The margin of the row (0, x1, 0, 0) by the reference evaluator, after
 * checking that the fast one (trees.c, the backend binfer runs) gives the
 * same bits for nine copies of the row (eight side by side, one alone), from
 * the same file (load_ok's last). */
static double margin1(const tree_ensemble *e, double x1)
{
	double row[4] = {0, x1, 0, 0}, m;
	xgb_margin_ref(e, row, e->n_trees, &m);

	trees_options opt = {.raw = 1};
	model *fm;
	bf_error err;
	if (model_load_mem("xgboost", "m.json", last_text, last_len, &opt, &fm, &err) != BF_OK)
		fail_msg("the trees backend refused what xgb_load took: %s", err.message);
	assert_int_equal(fm->n_outputs, 1);
	double rows[9 * 4], fast[9];
	for (size_t r = 0; r < 9; r++)
		memcpy(rows + r * 4, row, sizeof row);
	arena a;
	arena_init(&a, 1 << 12);
	assert_int_equal(fm->backend->predict(fm, rows, 9, fast, &a), 0);
	for (size_t r = 0; r < 9; r++)
		if (!(fast[r] == m || (isnan(fast[r]) && isnan(m))))
			fail_msg("row copy %zu: fast evaluator %.17g, reference %.17g", r, fast[r], m);
	arena_free(&a);
	model_free(fm);
	return m;
}

/* ---- fixtures: XGBoost's own outputs ------------------------------------- */

static void test_mushroom_legacy(void **state)
{
	size_t len, n_rows, n_margin, n_prob;
	char *text = read_file(FIXTURES "mushroom/mushroom.model", &len);
	tree_ensemble e;
	load_ok(&e, text, len);
	assert_string_equal(e.objective, "binary:logistic");
	assert_int_equal(e.output, TREE_OUTPUT_SIGMOID);
	assert_int_equal(e.task, TREE_TASK_BINARY);
	assert_int_equal(e.n_groups, 1);
	assert_int_equal(e.n_features, 127);
	assert_int_equal(e.n_trees, 2);
	assert_null(e.feature_names);
	assert_null(e.tree_weight);
	assert_true(e.base_score[0] == 0);
	double *rows = read_libsvm(FIXTURES "mushroom/agaricus.test", e.n_features, &n_rows);
	double *margin = read_numbers(FIXTURES "mushroom/agaricus.test.margin", &n_margin);
	double *prob = read_numbers(FIXTURES "mushroom/agaricus.test.prob", &n_prob);
	assert_int_equal(n_rows, 1583);
	assert_int_equal(n_margin, n_rows);
	assert_int_equal(n_prob, n_rows);
	for (size_t i = 0; i < n_rows; i++) {
		double m;
		xgb_margin_ref(&e, rows + i * e.n_features, e.n_trees, &m);
		close_to(m, margin[i], "mushroom margin", i);
		close_to(1 / (1 + exp(-m)), prob[i], "mushroom prob", i);
	}
	tree_ensemble_free(&e);
	free(rows);
	free(margin);
	free(prob);
	free(text);
}

static void test_dermatology_legacy_multiclass(void **state)
{
	size_t len, n_rows, n_margin, n_prob;
	char *text = read_file(FIXTURES "dermatology/dermatology.model", &len);
	tree_ensemble e;
	load_ok(&e, text, len);
	assert_string_equal(e.objective, "multi:softprob");
	assert_int_equal(e.output, TREE_OUTPUT_SOFTMAX);
	assert_int_equal(e.task, TREE_TASK_MULTICLASS);
	assert_int_equal(e.n_groups, 6);
	assert_int_equal(e.n_features, 33);
	assert_int_equal(e.n_trees, 60);
	for (size_t g = 0; g < 6; g++)
		assert_true(e.base_score[g] == 0.5);
	for (size_t t = 0; t < e.n_trees; t++)
		assert_int_equal(e.tree_group[t], (int32_t)(t % 6));
	double *rows = read_libsvm(FIXTURES "dermatology/dermatology.test", e.n_features, &n_rows);
	double *margin = read_numbers(FIXTURES "dermatology/dermatology.test.margin", &n_margin);
	double *prob = read_numbers(FIXTURES "dermatology/dermatology.test.prob", &n_prob);
	assert_int_equal(n_margin, n_rows * 6);
	assert_int_equal(n_prob, n_rows * 6);
	for (size_t i = 0; i < n_rows; i++) {
		double m[6], p[6], max = -INFINITY, sum = 0;
		xgb_margin_ref(&e, rows + i * e.n_features, e.n_trees, m);
		for (int g = 0; g < 6; g++)
			max = fmax(max, m[g]);
		for (int g = 0; g < 6; g++)
			sum += p[g] = exp(m[g] - max);
		for (int g = 0; g < 6; g++) {
			close_to(m[g], margin[i * 6 + g], "dermatology margin", i);
			close_to(p[g] / sum, prob[i * 6 + g], "dermatology prob", i);
		}
	}
	/* The fixture comes from an XGBoost before 1.3, which summed the trees
	 * first and added base_score last; 1.3 and later (Debian's 1.7.4) start
	 * from base_score and add tree by tree, so the last bit can differ.
	 * Debian's 1.7.4 gives these margins (Booster.predict, output_margin),
	 * equal as float32: */
	static const float v174[3][6] = {
		{-0.0593127757f, -0.00262128189f, -0.0599624291f, 1.87205148f, -0.0607161f, -0.0616653152f},
		{-0.0593127757f, 1.2672801f, -0.0599624291f, -0.0532814153f, -0.0607161f, -0.0616653152f},
		{-0.0593127757f, -0.00262128189f, -0.0599624291f, 1.43837667f, -0.0607161f, -0.0616653152f},
	};
	for (size_t i = 0; i < 3; i++) {
		double m[6];
		xgb_margin_ref(&e, rows + i * e.n_features, e.n_trees, m);
		for (int g = 0; g < 6; g++)
			if (m[g] != (double)v174[i][g])
				fail_msg("row %zu class %d: %.9g, XGBoost 1.7.4 gives %.9g", i, g, m[g],
					 (double)v174[i][g]);
	}
	assert_true(margin[1] != (double)v174[0][1]); /* the fixture's older sum */
	tree_ensemble_free(&e);
	free(rows);
	free(margin);
	free(prob);
	free(text);
}

static void test_toy_categorical_json(void **state)
{
	size_t len, n_rows, n_pred;
	char *text = read_file(FIXTURES "xgb_toy_categorical/xgb_toy_categorical_model.json", &len);
	tree_ensemble e;
	load_ok(&e, text, len);
	assert_string_equal(e.objective, "reg:squarederror");
	assert_int_equal(e.output, TREE_OUTPUT_IDENTITY);
	assert_int_equal(e.task, TREE_TASK_REGRESSION);
	assert_int_equal(e.n_features, 2);
	assert_int_equal(e.n_trees, 5);
	assert_int_equal(e.max_depth, 3);
	double *rows = read_libsvm(FIXTURES "xgb_toy_categorical/xgb_toy_categorical.test", 2, &n_rows);
	double *pred = read_numbers(FIXTURES "xgb_toy_categorical/xgb_toy_categorical.test.pred", &n_pred);
	assert_int_equal(n_pred, n_rows);
	for (size_t i = 0; i < n_rows; i++) {
		double m;
		xgb_margin_ref(&e, rows + i * 2, e.n_trees, &m);
		close_to(m, pred[i], "toy categorical prediction", i);
	}
	/* tree 0, node 0 lists category 2 of feature 0: the bit is set */
	const tree_node *root = &e.nodes[0];
	assert_true(root->categorical);
	assert_int_equal(root->cat_end - root->cat_begin, 1);
	assert_int_equal(e.cat_bits[root->cat_begin], 1u << 2);

	/* the same model as UBJSON, typed-and-counted and plain */
	for (int plain = 0; plain < 2; plain++) {
		buf u = to_ubjson(text, plain);
		tree_ensemble f;
		load_ok(&f, u.p, u.n);
		assert_same(&e, &f);
		tree_ensemble_free(&f);
		free(u.p);
	}
	tree_ensemble_free(&e);
	free(rows);
	free(pred);
	free(text);
}

/* ---- decision rules ------------------------------------------------------ */

static void test_numerical_split_rules(void **state)
{
	tree_ensemble e;
	char *m = stump_model("reg:squarederror", "0E0", "5E-1", 1);
	load_ok(&e, m, strlen(m));
	assert_true(margin1(&e, 0.25) == -1);
	assert_true(margin1(&e, 0.5) == 1);           /* equal goes right: x < cond is false */
	assert_true(margin1(&e, 0.75) == 1);
	assert_true(margin1(&e, 0.5 - 1e-12) == 1);   /* float32(x) == 0.5 */
	assert_true(margin1(&e, (double)nextafterf(0.5f, 0.0f)) == -1);
	assert_true(margin1(&e, NAN) == -1);          /* default left */
	assert_true(margin1(&e, -INFINITY) == -1);
	assert_true(margin1(&e, INFINITY) == 1);
	tree_ensemble_free(&e);
	free(m);

	m = stump_model("reg:squarederror", "0E0", "5E-1", 0);
	load_ok(&e, m, strlen(m));
	assert_true(margin1(&e, NAN) == 1);           /* default right */
	assert_true(margin1(&e, 0.25) == -1);
	tree_ensemble_free(&e);
	free(m);

	/* the threshold is a float32: 0.1 as written, compared as float(0.1) */
	m = stump_model("reg:squarederror", "0E0", "1E-1", 1);
	load_ok(&e, m, strlen(m));
	assert_true(e.nodes[0].threshold == (double)0.1f);
	assert_true(margin1(&e, 0.1) == 1);            /* float(0.1) < float(0.1) is false */
	assert_true(margin1(&e, 0.1 - 1e-9) == 1);     /* rounds to the same float */
	assert_true(margin1(&e, 0.0999999) == -1);
	tree_ensemble_free(&e);
	free(m);
}

static char *cat_model(const char *cats_list, int dleft)
{
	/* root: categorical split on feature 2 listing cats_list, default
	 * direction dleft; leaves -1 (left) and 1 (right) */
	int n = 1;
	for (const char *p = cats_list; *p; p++)
		n += *p == ',';
	char cats[512], dl[16];
	snprintf(cats, sizeof cats, "\"categories\":[%s],\"categories_nodes\":[0],\"categories_segments\":[0],"
		 "\"categories_sizes\":[%d],", cats_list, n);
	snprintf(dl, sizeof dl, "%d,0,0", dleft);
	buf t = {0};
	tree_json(&t, 0, 3, "1,-1,-1", "2,-1,-1", "2,0,0", "NaN,-1E0,1E0", dl, "1,0,0", cats);
	char *m = model_json("reg:squarederror", "0E0", 0, 1, "0", t.p, NULL, NULL);
	free(t.p);
	return m;
}

static double cat_margin(const tree_ensemble *e, double x)
{
	double row[4] = {0, 0, x, 0}, m;
	xgb_margin_ref(e, row, e->n_trees, &m);
	return m;
}

static void test_categorical_split_rules(void **state)
{
	tree_ensemble e;
	char *m = cat_model("1,3,40", 1);
	load_ok(&e, m, strlen(m));
	assert_true(e.nodes[0].categorical);
	assert_int_equal(e.nodes[0].cat_end - e.nodes[0].cat_begin, 2); /* 40 needs a second word */
	assert_int_equal(e.cat_bits[e.nodes[0].cat_begin], (1u << 1) | (1u << 3));
	assert_int_equal(e.cat_bits[e.nodes[0].cat_begin + 1], 1u << 8);
	/* listed categories go right, the others left (common::Decision) */
	assert_true(cat_margin(&e, 1) == 1);
	assert_true(cat_margin(&e, 3) == 1);
	assert_true(cat_margin(&e, 40) == 1);
	assert_true(cat_margin(&e, 0) == -1);
	assert_true(cat_margin(&e, 2) == -1);
	assert_true(cat_margin(&e, 41) == -1);
	assert_true(cat_margin(&e, 64) == -1);          /* past the bitset */
	assert_true(cat_margin(&e, 1e6) == -1);
	/* a non-integer value is truncated: 3.7 is category 3, 1.5 category 1 */
	assert_true(cat_margin(&e, 3.7) == 1);
	assert_true(cat_margin(&e, 1.5) == 1);
	assert_true(cat_margin(&e, 0.999) == -1);
	/* invalid: negative, or >= 2^24 (lost in float32): left */
	assert_true(cat_margin(&e, -1) == -1);
	assert_true(cat_margin(&e, 16777216.0) == -1);
	assert_true(cat_margin(&e, INFINITY) == -1);
	/* missing: the default direction, never the categories */
	assert_true(cat_margin(&e, NAN) == -1);
	tree_ensemble_free(&e);
	free(m);

	m = cat_model("0", 0);
	load_ok(&e, m, strlen(m));
	assert_true(cat_margin(&e, NAN) == 1);           /* default right */
	assert_true(cat_margin(&e, 0) == 1);
	assert_true(cat_margin(&e, -0.0) == 1);          /* -0 is not < 0: category 0 */
	assert_true(cat_margin(&e, 0.5) == 1);
	assert_true(cat_margin(&e, -0.5) == -1);         /* negative: invalid, left */
	assert_true(cat_margin(&e, 1) == -1);
	tree_ensemble_free(&e);
	free(m);

	/* categories are below 2^24 and not negative */
	m = cat_model("16777216", 0);
	load_bad(m, strlen(m), "categories[0] is 16777216");
	free(m);
	m = cat_model("-1", 0);
	load_bad(m, strlen(m), "categories[0] is -1");
	free(m);
	m = cat_model("16777215", 0);
	load_ok(&e, m, strlen(m));
	assert_int_equal(e.nodes[0].cat_end - e.nodes[0].cat_begin, 524288);
	assert_true(cat_margin(&e, 16777215) == 1);
	tree_ensemble_free(&e);
	free(m);
}

static void test_accumulates_in_float(void **state)
{
	/* base 0.1 and leaves 0.2, 0.3: XGBoost sums float32 values in float32,
	 * starting from base_score, in tree order */
	buf t = {0};
	stump(&t, 0, 0, "0E0", 1, "2E-1", "2E-1");
	put(&t, ",", 1);
	stump(&t, 1, 0, "0E0", 1, "3E-1", "3E-1");
	put(&t, ",", 1);
	stump(&t, 2, 0, "0E0", 1, "1E8", "1E8");
	put(&t, ",", 1);
	stump(&t, 3, 0, "0E0", 1, "-1E8", "-1E8");
	char *m = model_json("reg:squarederror", "1E-1", 0, 4, "0,0,0,0", t.p, NULL, NULL);
	tree_ensemble e;
	load_ok(&e, m, strlen(m));
	double row[4] = {0}, got;
	float want = 0.1f;
	want += 0.2f;
	want += 0.3f;
	xgb_margin_ref(&e, row, 2, &got);
	assert_true(got == (double)want);
	want += 1e8f; /* float: the small part is lost */
	want += -1e8f;
	xgb_margin_ref(&e, row, 4, &got);
	assert_true(got == (double)want);
	assert_true(got == 0);
	xgb_margin_ref(&e, row, 0, &got);
	assert_true(got == (double)0.1f);
	tree_ensemble_free(&e);
	free(m);
	free(t.p);
}

static void test_dart_weights(void **state)
{
	buf t = {0};
	stump(&t, 0, 0, "0E0", 1, "2E-1", "2E-1");
	put(&t, ",", 1);
	stump(&t, 1, 0, "0E0", 1, "3E-1", "3E-1");
	char *m = model_json("reg:squarederror", "5E-1", 0, 2, "0,0", t.p, "dart:5E-1,7E-1", NULL);
	tree_ensemble e;
	load_ok(&e, m, strlen(m));
	assert_non_null(e.tree_weight);
	assert_true(e.tree_weight[0] == (double)0.5f && e.tree_weight[1] == (double)0.7f);
	double row[4] = {0}, got;
	xgb_margin_ref(&e, row, 2, &got);
	float want = 0.5f, a = 0.2f * 0.5f, b = 0.3f * 0.7f;
	want += a;
	want += b;
	assert_true(got == (double)want);
	tree_ensemble_free(&e);
	free(m);

	m = model_json("reg:squarederror", "5E-1", 0, 2, "0,0", t.p, "dart:5E-1", NULL);
	load_bad(m, strlen(m), "weight_drop has 1 values, expected 2");
	free(m);
	free(t.p);
}

static float logitf(float p) { return -logf(1.0f / p - 1.0f); }

static void test_base_score(void **state)
{
	struct {
		const char *objective, *base, *version;
		float want;
		tree_output output;
		tree_task task;
	} cases[] = {
		{"binary:logistic", "5E-1", NULL, 0.0f, TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY},
		{"binary:logistic", "[5E-1]", "3,1,0", 0.0f, TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY},
		{"binary:logistic", "2.5E-1", NULL, logitf(0.25f), TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY},
		{"binary:logistic", "[2.5E-1]", "3,1,0", logitf(0.25f), TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY},
		{"binary:logistic", "0.8", NULL, logitf(0.8f), TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY},
		{"reg:logistic", "2.5E-1", NULL, logitf(0.25f), TREE_OUTPUT_SIGMOID, TREE_TASK_REGRESSION},
		{"binary:logitraw", "2.5E-1", NULL, 0.25f, TREE_OUTPUT_IDENTITY, TREE_TASK_BINARY},
		{"count:poisson", "2E0", NULL, logf(2.0f), TREE_OUTPUT_EXP, TREE_TASK_REGRESSION},
		{"reg:squarederror", "1.5E0", NULL, 1.5f, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION},
		{"reg:linear", "-3E0", NULL, -3.0f, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION},
		{"reg:pseudohubererror", "1E-1", NULL, 0.1f, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION},
		{"reg:absoluteerror", "1E-1", NULL, 0.1f, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION},
		{"rank:pairwise", "5E-1", NULL, 0.5f, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION},
		{"rank:ndcg", "5E-1", NULL, 0.5f, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION},
		{"rank:map", "5E-1", NULL, 0.5f, TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION},
		/* 3.2 and later clamp a logistic base_score into [1e-6, 1 - 1e-6] */
		{"binary:logistic", "[0E0]", "3,2,0", logitf(1e-6f), TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY},
		{"binary:logistic", "1E0", "3,2,0", logitf(1.0f - 1e-6f), TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *m = stump_model(cases[i].objective, cases[i].base, "0E0", 1);
		if (cases[i].version) {
			char *v = strstr(m, "\"version\":[1,7,4]");
			memcpy(v + 11, cases[i].version, 5);
		}
		tree_ensemble e;
		load_ok(&e, m, strlen(m));
		assert_string_equal(e.objective, cases[i].objective);
		assert_int_equal(e.output, cases[i].output);
		assert_int_equal(e.task, cases[i].task);
		if (e.base_score[0] != (double)cases[i].want)
			fail_msg("%s base_score %s: got %.9g, expected %.9g", cases[i].objective, cases[i].base,
				 e.base_score[0], (double)cases[i].want);
		/* the margin starts there: leaf 1 for x >= 0 */
		float want = cases[i].want;
		want += 1.0f;
		assert_true(margin1(&e, 0) == (double)want);
		tree_ensemble_free(&e);
		free(m);
	}
	const char *bad[][3] = {
		{"binary:logistic", "0E0", "base_score 0 is outside (0, 1)"},
		{"binary:logistic", "1E0", "base_score 1 is outside (0, 1)"},
		{"reg:logistic", "1.5E0", "base_score 1.5 is outside (0, 1)"},
		{"count:poisson", "0E0", "base_score 0 is not positive"},
		{"reg:squarederror", "abc", "base_score is \"abc\", expected a number"},
		{"reg:squarederror", "[1E0,2E0]", "base_score has 2 values, expected 1 or 1"},
		{"reg:squarederror", "[1E0", "is not a list of numbers"},
		{"reg:gamma", "5E-1", "objective 'reg:gamma' is not supported; expected one of binary:logistic"},
		{"survival:cox", "5E-1", "objective 'survival:cox' is not supported"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *m = stump_model(bad[i][0], bad[i][1], "0E0", 1);
		load_bad(m, strlen(m), bad[i][2]);
		free(m);
	}
}

static void test_multiclass_base_scores(void **state)
{
	buf t = {0};
	for (int i = 0; i < 3; i++) {
		if (i)
			put(&t, ",", 1);
		stump(&t, i, 0, "0E0", 1, "1E0", "1E0");
	}
	/* one value for all classes, or one per class (XGBoost >= 3.1) */
	char *m = model_json("multi:softprob", "5E-1", 3, 3, "0,1,2", t.p, NULL, NULL);
	tree_ensemble e;
	load_ok(&e, m, strlen(m));
	assert_int_equal(e.n_groups, 3);
	assert_int_equal(e.task, TREE_TASK_MULTICLASS);
	for (int g = 0; g < 3; g++)
		assert_true(e.base_score[g] == 0.5);
	tree_ensemble_free(&e);
	free(m);
	m = model_json("multi:softmax", "[1E-1, 2E-1,3E-1]", 3, 3, "0,1,2", t.p, NULL, "3,1,0");
	load_ok(&e, m, strlen(m));
	assert_true(e.base_score[0] == (double)0.1f && e.base_score[1] == (double)0.2f &&
		    e.base_score[2] == (double)0.3f);
	double row[4] = {0}, mg[3];
	xgb_margin_ref(&e, row, 3, mg);
	assert_true(mg[0] == (double)(0.1f + 1.0f) && mg[2] == (double)(0.3f + 1.0f));
	tree_ensemble_free(&e);
	free(m);
	m = model_json("multi:softprob", "[1E-1,2E-1]", 3, 3, "0,1,2", t.p, NULL, "3,1,0");
	load_bad(m, strlen(m), "base_score has 2 values, expected 1 or 3");
	free(m);
	m = model_json("multi:softprob", "5E-1", 3, 3, "0,1,3", t.p, NULL, NULL);
	load_bad(m, strlen(m), "tree 2 belongs to output group 3, but the model has 3 groups");
	free(m);
	m = model_json("multi:softprob", "5E-1", 0, 3, "0,1,2", t.p, NULL, NULL);
	load_bad(m, strlen(m), "needs num_class >= 1");
	free(m);
	m = model_json("binary:logistic", "5E-1", 3, 3, "0,1,2", t.p, NULL, NULL);
	load_bad(m, strlen(m), "num_class is 3, but objective 'binary:logistic' has one output");
	free(m);
	free(t.p);
}

static void test_features_and_boosters(void **state)
{
	char *m = stump_model("reg:squarederror", "0E0", "0E0", 1);
	char *p = strstr(m, "\"feature_names\":[],\"feature_types\":[]");
	assert_non_null(p);
	buf b = {0};
	put(&b, m, (size_t)(p - m));
	putf(&b, "\"feature_names\":[\"a\",\"b\\\"q\",\"c\",\"d\"],\"feature_types\":[\"q\",\"float\",\"c\",\"int\"]");
	putf(&b, "%s", p + strlen("\"feature_names\":[],\"feature_types\":[]"));
	tree_ensemble e;
	load_ok(&e, b.p, b.n);
	assert_non_null(e.feature_names);
	assert_string_equal(e.feature_names[0], "a");
	assert_string_equal(e.feature_names[1], "b\"q");
	assert_int_equal(e.feature_is_cat[0], 0);
	assert_int_equal(e.feature_is_cat[1], 0);
	assert_int_equal(e.feature_is_cat[2], 1);
	assert_int_equal(e.feature_is_cat[3], 0);
	tree_ensemble_free(&e);
	b.n = 0;
	put(&b, m, (size_t)(p - m));
	putf(&b, "\"feature_names\":[\"a\"],\"feature_types\":[]");
	putf(&b, "%s", p + strlen("\"feature_names\":[],\"feature_types\":[]"));
	load_bad(b.p, b.n, "feature_names has 1 names, but num_feature is 4");
	b.n = 0;
	put(&b, m, (size_t)(p - m));
	putf(&b, "\"feature_names\":[],\"feature_types\":[\"q\",\"q\",\"x\",\"q\"]");
	putf(&b, "%s", p + strlen("\"feature_names\":[],\"feature_types\":[]"));
	load_bad(b.p, b.n, "feature_types[2] is \"x\"; expected one of int, float, i, q, c");
	free(b.p);
	free(m);

	buf t = {0};
	stump(&t, 0, 0, "0E0", 1, "1E0", "1E0");
	m = model_json("reg:squarederror", "0E0", 0, 1, "0", t.p, "gblinear", NULL);
	load_bad(m, strlen(m), "booster 'gblinear' is not supported");
	free(m);
	m = model_json("reg:squarederror", "0E0", 0, 1, "0", t.p, "gbforest", NULL);
	load_bad(m, strlen(m), "booster 'gbforest' is not supported; expected 'gbtree' or 'dart'");
	free(m);
	free(t.p);
}

/* ---- malformed JSON ----------------------------------------------------- */

static void test_inconsistent_json(void **state)
{
	struct {
		const char *left, *right, *index, *cond, *dleft, *stype, *want;
	} cases[] = {
		{"1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: left_children has 2 values, expected num_nodes 3"},
		{"1,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0", "0,0,0", "0,0,0",
		 "tree 0: split_conditions has 2 values, expected num_nodes 3"},
		{"1,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0",
		 "tree 0: split_type has 2 values, expected num_nodes 3"},
		{"1,-1,-1", "3,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: node 0 has right child 3, outside the tree's 3 nodes"},
		{"-5,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: node 0 has left child -5"},
		{"1,0,-1", "2,2,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: node 0 is reached a second time"},
		{"1,-1,-1", "1,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: node 1 is reached a second time"},
		{"1,-1,-1", "-1,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: node 0 has right child -1"},
		{"2,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: node 2 is reached a second time"},
		{"1,-1,-1", "2,-1,-1", "4,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: node 0 splits on feature 4, but the model has 4 features"},
		{"1,-1,-1", "2,-1,-1", "-1,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: split_indices[0] is -1"},
		{"1,-1,-1", "2,-1,-1", "0,0,0", "0E0,\"x\",2E0", "0,0,0", "0,0,0",
		 "tree 0: split_conditions[1] is a string, expected a number"},
		{"1.5,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "0,0,0",
		 "tree 0: left_children[0] is 1.5, expected an integer"},
		{"1,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "2,0,0", "0,0,0",
		 "tree 0: default_left[0] is 2"},
		{"1,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "2,0,0",
		 "tree 0: split_type[0] is 2"},
		{"1,-1,-1", "2,-1,-1", "0,0,0", "0E0,1E0,2E0", "0,0,0", "1,0,0",
		 "categories_sizes[0] is 1, expected an integer in [1, 0]"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		buf t = {0};
		const char *cats = NULL;
		if (i == sizeof cases / sizeof *cases - 1)
			cats = "\"categories\":[],\"categories_nodes\":[0],\"categories_segments\":[0],"
			       "\"categories_sizes\":[1],";
		tree_json(&t, 0, 3, cases[i].left, cases[i].right, cases[i].index, cases[i].cond,
			  cases[i].dleft, cases[i].stype, cats);
		char *m = model_json("reg:squarederror", "0E0", 0, 1, "0", t.p, NULL, NULL);
		load_bad(m, strlen(m), cases[i].want);
		/* UBJSON says the same */
		buf u = to_ubjson(m, 0);
		load_bad(u.p, u.n, cases[i].want);
		free(u.p);
		free(m);
		free(t.p);
	}

	/* model-level inconsistencies */
	buf t = {0};
	stump(&t, 0, 0, "0E0", 1, "1E0", "1E0");
	char *m = model_json("reg:squarederror", "0E0", 0, 2, "0,0", t.p, NULL, NULL);
	load_bad(m, strlen(m), "num_trees is 2, but 'trees' has 1 entries");
	free(m);
	m = model_json("reg:squarederror", "0E0", 0, 1, "0,0", t.p, NULL, NULL);
	load_bad(m, strlen(m), "num_trees is 1, but 'tree_info' has 2 entries");
	free(m);
	m = model_json("reg:squarederror", "0E0", 0, 1, "-1", t.p, NULL, NULL);
	load_bad(m, strlen(m), "tree 0 belongs to output group -1");
	free(m);
	t.n = 0;
	stump(&t, 0, 0, "0E0", 1, "1E0", "1E0");
	put(&t, ",", 1);
	stump(&t, 0, 0, "0E0", 1, "1E0", "1E0");
	m = model_json("reg:squarederror", "0E0", 0, 2, "0,0", t.p, NULL, NULL);
	load_bad(m, strlen(m), "trees[1] and trees[0] have the same id 0");
	free(m);
	free(t.p);

	const char *docs[][2] = {
		{"", "file is empty"},
		{"{\"learner\": {}}", "missing key 'learner.objective'"},
		{"{\"version\": [1, 7, 4]}", "not an XGBoost model: missing key 'learner'"},
		{"[1, 2]", "truncated at byte 0: LearnerModelParam needs 136 bytes, 6 left"},
		{" {\"learner\": 1}", "'learner' is a number, expected an object"},
		{"{\"learner\": {\"objective\": []}}", "'learner.objective' is an array, expected an object"},
		{"{\"learner\": {\"objective\": {\"name\": 5}}}", "'learner.objective.name' is a number, expected a string"},
	};
	for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
		load_bad(docs[i][0], strlen(docs[i][0]), docs[i][1]);

	/* a syntax error keeps its line and column */
	const char *broken = "{\n  \"learner\": {\n    \"objective\": [1,, 2]\n  }\n}";
	tree_ensemble e;
	bf_error err;
	assert_int_equal(load(&e, broken, strlen(broken), &err), BF_EMODEL);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 21);
	/* NaN inside a string stays text, outside it is a number */
	const char *nan_key = "{\"NaN\": NaN, \"learner\": 1}";
	assert_int_equal(load(&e, nan_key, strlen(nan_key), &err), BF_EMODEL);
	assert_non_null(strstr(err.message, "'learner' is a number, expected an object"));
}

static void test_deleted_nodes_json(void **state)
{
	/* nodes 3 and 4 were pruned (split index 2^31 - 1 with default left:
	 * RegTree::kDeletedNodeMarker); node 1 became a leaf */
	buf t = {0};
	tree_json(&t, 0, 5, "1,-1,-1,-1,-1", "2,-1,-1,-1,-1", "0,0,0,2147483647,2147483647",
		  "5E-1,1E0,2E0,0E0,0E0", "1,0,0,1,1", "0,0,0,0,0", NULL);
	char *m = model_json("reg:squarederror", "0E0", 0, 1, "0", t.p, NULL, NULL);
	char *nd = strstr(m, "\"num_deleted\":\"0\"");
	nd[15] = '2';
	tree_ensemble e;
	load_ok(&e, m, strlen(m));
	assert_int_equal(e.n_nodes, 3);
	double row[4] = {1, 0, 0, 0}, got;
	xgb_margin_ref(&e, row, 1, &got);
	assert_true(got == 2);
	tree_ensemble_free(&e);
	nd[15] = '1';
	load_bad(m, strlen(m), "tree 0: 2 nodes are marked deleted, but num_deleted is 1");
	free(m);
	t.n = 0;
	tree_json(&t, 0, 4, "1,-1,-1,-1", "3,-1,-1,-1", "0,0,0,2147483647", "5E-1,1E0,2E0,0E0", "1,0,0,1",
		  "0,0,0,0", NULL);
	m = model_json("reg:squarederror", "0E0", 0, 1, "0", t.p, NULL, NULL);
	nd = strstr(m, "\"num_deleted\":\"0\"");
	nd[15] = '1';
	load_bad(m, strlen(m), "tree 0: node 0 has deleted node 3 as its right child");
	free(m);
	free(t.p);
}

/* ---- UBJSON ------------------------------------------------------------- */

static void test_ubjson_matches_json(void **state)
{
	buf t = {0};
	stump(&t, 0, 3, "-1.25E0", 0, "1E-1", "-2.5E-1");
	put(&t, ",", 1);
	stump(&t, 1, 2, "NaN", 1, "Infinity", "-Infinity");
	char *m = model_json("binary:logistic", "3E-1", 0, 2, "0,0", t.p, "dart:1E0,5E-1", NULL);
	tree_ensemble a, b;
	load_ok(&a, m, strlen(m));
	assert_true(isinf(a.nodes[a.tree_begin[1] + 1].leaf));
	for (int plain = 0; plain < 2; plain++) {
		buf u = to_ubjson(m, plain);
		load_ok(&b, u.p, u.n);
		assert_same(&a, &b);
		tree_ensemble_free(&b);
		free(u.p);
	}
	tree_ensemble_free(&a);
	free(m);
	free(t.p);

	/* standard UBJSON forms XGBoost does not write: other length markers,
	 * counted objects with typed values, 'D' doubles, 'C' chars, no-count
	 * typed arrays are refused */
	static const unsigned char small[] = {'{', 'U', 1, 'a', '[', '$', 'D', '#', 'i', 1,
					      0x3f, 0xf0, 0, 0, 0, 0, 0, 0, '}'};
	bf_error err;
	tree_ensemble e;
	assert_int_equal(load(&e, (const char *)small, sizeof small, &err), BF_EMODEL);
	assert_non_null(strstr(err.message, "missing key 'learner'"));

	struct {
		const char *bytes;
		size_t n;
		const char *want;
	} bad[] = {
		{"{L\0\0\0\0\0\0\0\1", 10, "ubjson: byte 1: string of 1 bytes runs past the end"},
		{"{L\xff\xff\xff\xff\xff\xff\xff\xff", 10, "string length is negative"},
		{"{i\1aX", 5, "ubjson: byte 4: unknown marker 0x58"},
		{"{i\1a[$d#L\0\0\0\0\0\0\0\2\0\0\0\0}", 22, "container count 2 needs more bytes"},
		{"{i\1a[$Z#i\1}", 11, "containers of type 0x5a are not supported"},
		{"{i\1a[$di\1}", 10, "a typed container must give its count"},
		{"{i\1aH}", 6, "high-precision numbers"},
		{"{i\1aS", 5, "truncated"},
		{"{i\1aSi\2\xff\xfe}", 9, "string is not valid UTF-8"},
		{"{#i\5", 4, "container count 5 needs more bytes"},
		{"{i\1aZ}x", 7, "ubjson: byte 6: unexpected data after the top-level value"},
		{"{i\1a[", 5, "truncated: ']' needs 1 bytes, 0 left"},
		{"{i\1ad\1\2", 7, "truncated: a number needs 4 bytes, 2 left"},
		{"{i\1a[#U\1", 8, "container count 1 needs more bytes than the 0 left"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		load_bad(bad[i].bytes, bad[i].n, bad[i].want);

	/* deep nesting is refused, not a stack overflow */
	size_t deep = 100000;
	char *d = malloc(deep + 4);
	memcpy(d, "{i\1a", 4);
	memset(d + 4, '[', deep);
	load_bad(d, deep + 4, "nesting deeper than 512");
	free(d);
}

static void test_truncated_ubjson(void **state)
{
	size_t len;
	char *text = read_file(FIXTURES "xgb_toy_categorical/xgb_toy_categorical_model.json", &len);
	for (int plain = 0; plain < 2; plain++) {
		buf u = to_ubjson(text, plain);
		for (size_t cut = 0; cut < u.n; cut++) {
			char *p = malloc(cut ? cut : 1);
			memcpy(p, u.p, cut);
			tree_ensemble e;
			bf_error err;
			if (load(&e, p, cut, &err) == BF_OK)
				fail_msg("UBJSON cut at %zu of %zu loaded", cut, u.n);
			assert_true(err.message[0] != '\0');
			free(p);
		}
		free(u.p);
	}
	/* and the JSON text, cut anywhere */
	for (size_t cut = 0; cut < len; cut += 7) {
		char *p = malloc(cut ? cut : 1);
		memcpy(p, text, cut);
		tree_ensemble e;
		bf_error err;
		assert_int_equal(load(&e, p, cut, &err), BF_EMODEL);
		free(p);
	}
	free(text);
}

/* ---- legacy binary ------------------------------------------------------ */

static void le32(buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		putc_(b, (int)(v >> (8 * i) & 0xff));
}

static void le64(buf *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		putc_(b, (int)(v >> (8 * i) & 0xff));
}

static void lef(buf *b, float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	le32(b, u);
}

static void lestr(buf *b, const char *s)
{
	le64(b, strlen(s));
	put(b, s, strlen(s));
}

typedef struct lnode {
	int32_t left, right;
	uint32_t sindex;
	float value;
} lnode;

/* A legacy file: LearnerModelParam, names, GBTreeModelParam, trees. */
static void legacy_header(buf *b, int binf, float base, uint32_t n_features, int32_t num_class,
			  uint32_t major, int extra_attrs, const char *objective, const char *booster,
			  int32_t n_trees)
{
	if (binf)
		put(b, "binf", 4);
	lef(b, base);
	le32(b, n_features);
	le32(b, (uint32_t)num_class);
	le32(b, (uint32_t)extra_attrs);
	le32(b, 0);
	le32(b, major);
	le32(b, 0);
	for (int i = 0; i < 27; i++)
		le32(b, 0);
	lestr(b, objective);
	lestr(b, booster);
	le32(b, (uint32_t)n_trees);
	le32(b, 1);
	le32(b, n_features);
	le32(b, 0);
	le64(b, 0);
	le32(b, 1);
	le32(b, 0);
	for (int i = 0; i < 32; i++)
		le32(b, 0);
}

static void legacy_tree(buf *b, const lnode *nodes, int n, int num_deleted)
{
	le32(b, 1);
	le32(b, (uint32_t)n);
	le32(b, (uint32_t)num_deleted);
	le32(b, 0);
	le32(b, 4);
	le32(b, 0);
	for (int i = 0; i < 31; i++)
		le32(b, 0);
	for (int i = 0; i < n; i++) {
		le32(b, 0x7fffffff);
		le32(b, (uint32_t)nodes[i].left);
		le32(b, (uint32_t)nodes[i].right);
		le32(b, nodes[i].sindex);
		lef(b, nodes[i].value);
	}
	for (int i = 0; i < n; i++) {
		lef(b, 0);
		lef(b, 1);
		lef(b, 0);
		le32(b, 0);
	}
}

static void test_legacy_dart_and_deleted(void **state)
{
	/* tree 0: root splits on feature 1 at 0.5, default left; its right
	 * child 2 was pruned back to a leaf, nodes 3 and 4 deleted */
	lnode t0[] = {{1, 2, 1u | 1u << 31, 0.5f}, {-1, -1, 0, -1.0f}, {-1, -1, 0, 2.0f},
		      {-1, -1, 0xffffffffu, 0}, {-1, -1, 0xffffffffu, 0}};
	lnode t1[] = {{-1, -1, 0, 0.25f}};
	buf b = {0};
	legacy_header(&b, 1, 0.0f, 4, 0, 0, 1, "binary:logitraw", "dart", 2);
	legacy_tree(&b, t0, 5, 2);
	legacy_tree(&b, t1, 1, 0);
	le32(&b, 0);
	le32(&b, 0);
	le64(&b, 2);
	lef(&b, 0.5f);
	lef(&b, 3.0f);
	le64(&b, 1);
	lestr(&b, "SAVED_PARAM_predictor");
	lestr(&b, "cpu_predictor");
	tree_ensemble e;
	load_ok(&e, b.p, b.n);
	assert_string_equal(e.objective, "binary:logitraw");
	assert_int_equal(e.output, TREE_OUTPUT_IDENTITY);
	assert_int_equal(e.task, TREE_TASK_BINARY);
	assert_int_equal(e.n_trees, 2);
	assert_int_equal(e.n_nodes, 4);
	assert_int_equal(e.max_depth, 1);
	assert_non_null(e.tree_weight);
	assert_true(e.tree_weight[1] == 3.0);
	double row[4] = {0, 0.75, 0, 0}, got;
	xgb_margin_ref(&e, row, 2, &got);
	assert_true(got == 2.0 * 0.5 + 0.25 * 3.0);
	row[1] = NAN;
	xgb_margin_ref(&e, row, 2, &got);
	assert_true(got == -1.0 * 0.5 + 0.25 * 3.0);
	tree_ensemble_free(&e);

	/* every cut point is refused */
	for (size_t cut = 0; cut < b.n; cut++) {
		bf_error err;
		if (load(&e, b.p, cut, &err) == BF_OK)
			fail_msg("legacy cut at %zu of %zu loaded", cut, b.n);
		assert_int_equal(err.code, BF_EMODEL);
	}
	free(b.p);
}

static void test_legacy_base_score_versions(void **state)
{
	lnode leaf[] = {{-1, -1, 0, 0.0f}};
	struct {
		const char *objective;
		float stored;
		uint32_t major;
		float want;
	} cases[] = {
		/* before 1.0 the file holds a margin; 1.x round-trips it through
		 * PredTransform and ProbToMargin in float */
		{"binary:logistic", 0.0f, 0, 0.0f},
		{"binary:logistic", 2.0f, 0, 0},
		{"count:poisson", 1.5f, 0, 0},
		{"reg:linear", 0.5f, 0, 0.5f},
		{"multi:softmax", 0.5f, 0, 0.5f},
		/* from 1.0 it holds the user's value */
		{"binary:logistic", 0.25f, 1, 0},
		{"count:poisson", 2.0f, 1, 0},
	};
	float x = 2.0f;
	float p = 1.0f / (expf(-x) + 1.0f + 1e-16f);
	cases[1].want = -logf(1.0f / p - 1.0f);
	cases[2].want = logf(expf(1.5f));
	cases[5].want = -logf(1.0f / 0.25f - 1.0f);
	cases[6].want = logf(2.0f);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		buf b = {0};
		int multi = !strncmp(cases[i].objective, "multi:", 6);
		legacy_header(&b, 0, cases[i].stored, 4, multi ? 3 : 0, cases[i].major, 0, cases[i].objective,
			      "gbtree", 1);
		legacy_tree(&b, leaf, 1, 0);
		le32(&b, 0);
		tree_ensemble e;
		load_ok(&e, b.p, b.n);
		if (e.base_score[0] != (double)cases[i].want)
			fail_msg("%s stored %g (major %u): got %.9g, expected %.9g", cases[i].objective,
				 (double)cases[i].stored, cases[i].major, e.base_score[0], (double)cases[i].want);
		assert_int_equal(e.n_groups, multi ? 3 : 1);
		tree_ensemble_free(&e);
		free(b.p);
	}
	/* a base_score whose first byte is '{' is still a legacy file */
	uint32_t brace = 0x3f00007bu;
	float fbrace;
	memcpy(&fbrace, &brace, sizeof fbrace);
	buf lb = {0};
	legacy_header(&lb, 0, fbrace, 4, 0, 1, 0, "reg:linear", "gbtree", 1);
	legacy_tree(&lb, leaf, 1, 0);
	le32(&lb, 0);
	assert_int_equal(lb.p[0], '{');
	tree_ensemble eb;
	load_ok(&eb, lb.p, lb.n);
	assert_true(eb.base_score[0] == (double)fbrace);
	tree_ensemble_free(&eb);
	free(lb.p);
	bf_error jerr;
	assert_int_equal(load(&eb, "{x", 2, &jerr), BF_EMODEL); /* short: JSON, with its position */
	assert_int_equal(jerr.line, 1);
	assert_int_equal(jerr.column, 2);
	/* a margin too large for float's sigmoid gives probability 1: refused */
	buf b = {0};
	legacy_header(&b, 0, 40.0f, 4, 0, 0, 0, "binary:logistic", "gbtree", 1);
	legacy_tree(&b, leaf, 1, 0);
	le32(&b, 0);
	load_bad(b.p, b.n, "base_score 1 is outside (0, 1)");
	free(b.p);
}

static void test_legacy_refusals(void **state)
{
	lnode leaf[] = {{-1, -1, 0, 0.0f}};
	struct {
		const char *objective, *booster;
		int32_t n_trees, n_nodes;
		const char *want;
	} cases[] = {
		{"reg:linear", "gblinear", 1, 1, "booster 'gblinear' is not supported"},
		{"reg:linear", "gbtreex", 1, 1, "booster 'gbtreex' is not supported"},
		{"reg:tweedie", "gbtree", 1, 1, "objective 'reg:tweedie' is not supported"},
		{"reg:linear", "gbtree", -1, 1, "num_trees is -1"},
		{"reg:linear", "gbtree", 1000000, 1, "num_trees trees needs 188000000 bytes"},
		{"reg:linear", "gbtree", 1, 0, "tree 0: num_nodes is 0"},
		{"reg:linear", "gbtree", 1, -3, "tree 0: num_nodes is -3"},
		{"reg:linear", "gbtree", 1, 1000000, "tree 0's 1000000 nodes needs 36000000 bytes"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		buf b = {0};
		legacy_header(&b, 0, 0.5f, 4, 0, 1, 0, cases[i].objective, cases[i].booster, cases[i].n_trees);
		le32(&b, 1);
		le32(&b, (uint32_t)cases[i].n_nodes);
		for (int k = 0; k < 35; k++)
			le32(&b, 0);
		for (int k = 0; k < 8; k++)
			legacy_tree(&b, leaf, 1, 0);
		load_bad(b.p, b.n, cases[i].want);
		free(b.p);
	}
	buf b = {0};
	put(&b, "bs64", 4);
	put(&b, "xxxxxxxxxxxx", 12);
	load_bad(b.p, b.n, "base64 models");
	free(b.p);
	b = (buf){0};
	legacy_header(&b, 0, 0.5f, 4, 0, 1, 0, "reg:linear", "gbtree", 1);
	lnode bad_child[] = {{1, 7, 0, 0.5f}, {-1, -1, 0, 1.0f}, {-1, -1, 0, 1.0f}};
	legacy_tree(&b, bad_child, 3, 0);
	le32(&b, 0);
	load_bad(b.p, b.n, "tree 0: node 0 has right child 7, outside the tree's 3 nodes");
	free(b.p);
	b = (buf){0};
	legacy_header(&b, 0, 0.5f, 4, 0, 1, 0, "reg:linear", "gbtree", 1);
	lnode cycle[] = {{1, 2, 0, 0.5f}, {0, 2, 0, 1.0f}, {-1, -1, 0, 1.0f}};
	legacy_tree(&b, cycle, 3, 0);
	le32(&b, 0);
	load_bad(b.p, b.n, "reached a second time");
	free(b.p);
	b = (buf){0};
	legacy_header(&b, 0, 0.5f, 4, 0, 1, 1, "reg:linear", "gbtree", 1);
	legacy_tree(&b, leaf, 1, 0);
	le32(&b, 0);
	le64(&b, 0x4000000000000000ull);
	load_bad(b.p, b.n, "attributes needs");
	free(b.p);
}

static void test_truncated_legacy_fixtures(void **state)
{
	const char *files[] = {FIXTURES "mushroom/mushroom.model", FIXTURES "dermatology/dermatology.model"};
	for (size_t f = 0; f < 2; f++) {
		size_t len;
		char *text = read_file(files[f], &len);
		for (size_t cut = 0; cut < len; cut++) {
			char *p = malloc(cut ? cut : 1);
			memcpy(p, text, cut);
			tree_ensemble e;
			bf_error err;
			if (load(&e, p, cut, &err) == BF_OK)
				fail_msg("%s cut at %zu of %zu loaded", files[f], cut, len);
			assert_int_equal(err.code, BF_EMODEL);
			free(p);
		}
		/* flipped bytes load or are refused, never crash */
		srand(42);
		for (int k = 0; k < 3000; k++) {
			char *p = malloc(len);
			memcpy(p, text, len);
			for (int j = 0; j < 1 + k % 4; j++)
				p[(size_t)rand() % len] ^= (char)(1 << (rand() % 8));
			tree_ensemble e;
			bf_error err;
			if (load(&e, p, len, &err) == BF_OK) {
				double row[40], m[8];
				for (int r = 0; r < 40; r++)
					row[r] = r % 3 ? 1.0 : NAN;
				if (e.n_features <= 40 && e.n_groups <= 8)
					xgb_margin_ref(&e, row, e.n_trees, m);
				tree_ensemble_free(&e);
			}
			free(p);
		}
		free(text);
	}
}

/* ---- fuzz regressions ---------------------------------------------------- */
/* Inputs from a libFuzzer run on xgb_load (seeded with XGBoost 1.7.4 models
 * and the fixtures): accepted-* must load and evaluate, refused-* must be
 * refused with a message; none may crash (run under make asan). */

static void test_fuzz_regressions(void **state)
{
	DIR *d = opendir("testdata/fuzz/xgboost");
	if (!d)
		return;
	struct dirent *ent;
	int n = 0;
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "testdata/fuzz/xgboost/%s", ent->d_name);
		size_t len;
		char *text = read_file(path, &len);
		tree_ensemble e;
		bf_error err;
		int rc = load(&e, text, len, &err);
		if (!strncmp(ent->d_name, "accepted-", 9) && rc != BF_OK)
			fail_msg("%s: %s", path, err.message);
		if (!strncmp(ent->d_name, "refused-", 8) && rc == BF_OK)
			fail_msg("%s loaded", path);
		if (rc == BF_OK) {
			double *row = calloc(e.n_features + 1, sizeof *row);
			double *m = calloc(e.n_groups, sizeof *m);
			xgb_margin_ref(&e, row, e.n_trees, m);
			free(row);
			free(m);
			tree_ensemble_free(&e);
		} else {
			assert_true(err.message[0] != '\0');
		}
		free(text);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mushroom_legacy),
		cmocka_unit_test(test_dermatology_legacy_multiclass),
		cmocka_unit_test(test_toy_categorical_json),
		cmocka_unit_test(test_numerical_split_rules),
		cmocka_unit_test(test_categorical_split_rules),
		cmocka_unit_test(test_accumulates_in_float),
		cmocka_unit_test(test_dart_weights),
		cmocka_unit_test(test_base_score),
		cmocka_unit_test(test_multiclass_base_scores),
		cmocka_unit_test(test_features_and_boosters),
		cmocka_unit_test(test_inconsistent_json),
		cmocka_unit_test(test_deleted_nodes_json),
		cmocka_unit_test(test_ubjson_matches_json),
		cmocka_unit_test(test_truncated_ubjson),
		cmocka_unit_test(test_legacy_dart_and_deleted),
		cmocka_unit_test(test_legacy_base_score_versions),
		cmocka_unit_test(test_legacy_refusals),
		cmocka_unit_test(test_truncated_legacy_fixtures),
		cmocka_unit_test(test_fuzz_regressions),
	};
	return cmocka_run_group_tests_name("xgboost", tests, NULL, NULL);
}
