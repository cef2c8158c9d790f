/* tabular_test.c: the binfer-tabular backend through model_load() and
 * predict(), on small hand-written model files. Every expected score is
 * computed here from the format's definition (man/binfer.1, MODEL FILES). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "model.h"

/* ---- helpers ---------------------------------------------------------- */

#define NA NAN

/* Model texts below are written with ' for " to stay readable. */
static char *dequote(const char *s)
{
	char *t = strdup(s);
	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

/* Writes text to a fresh file under /tmp; path must hold 64 bytes. */
static void write_temp(const char *text, char *path)
{
	snprintf(path, 64, "/tmp/binfer_tabular_test_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Loads json (' for ") as kind; path receives the file's name (removed again). */
static int load_json(const char *kind, const char *json, model **m, bf_error *err, char *path)
{
	char *text = dequote(json);
	write_temp(text, path);
	free(text);
	memset(err, 0, sizeof *err);
	int rc = model_load(kind, path, NULL, m, err);
	unlink(path);
	return rc;
}

static model *load_ok(const char *kind, const char *json)
{
	model *m = NULL;
	bf_error err;
	char path[64];
	int rc = load_json(kind, json, &m, &err, path);
	if (rc != BF_OK)
		fail_msg("model_load failed (%d): %s", rc, err.message);
	assert_non_null(m);
	return m;
}

static void expect_error(const char *kind, const char *json, int code, const char *message)
{
	model *m = (model *)&m;
	bf_error err;
	char path[64];
	int rc = load_json(kind, json, &m, &err, path);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_null(m);
	assert_string_equal(err.path, path);
	if (!strstr(err.message, message))
		fail_msg("error message \"%s\" lacks \"%s\"", err.message, message);
}

static void assert_close(double got, double want)
{
	if (!(fabs(got - want) <= 1e-12 * fmax(1, fabs(want))))
		fail_msg("got %.17g, expected %.17g", got, want);
}

static double sigmoid(double z)
{
	return 1 / (1 + exp(-z));
}

/* Scores n rows of x into out with a fresh arena. */
static void predict(const model *m, const double *x, size_t n, double *out)
{
	arena a;
	arena_init(&a, 1 << 12);
	assert_int_equal(m->backend->predict(m, x, n, out, &a), 0);
	arena_free(&a);
}

/* Scoring a block of n rows gives what scoring each row alone gives. */
static void assert_block_matches_rows(const model *m, const double *x, size_t n, double tol)
{
	double block[64], one[16];
	assert_true(n * m->n_outputs <= 64 && m->n_outputs <= 16);
	predict(m, x, n, block);
	for (size_t r = 0; r < n; r++) {
		predict(m, x + r * m->n_inputs, 1, one);
		for (size_t k = 0; k < m->n_outputs; k++) {
			double b = block[r * m->n_outputs + k];
			if (!(fabs(b - one[k]) <= tol))
				fail_msg("row %zu output %zu: block %.17g, alone %.17g", r, k, b, one[k]);
		}
	}
}

/* ---- linear, binary ----------------------------------------------------- */

/* Inputs in another order than the features, to check the mapping. Width 7:
 * tenure (scaled), age (raw), contract (3 one-hot), region (2 one-hot). */
static const char *churn =
	"{'format': 'binfer-tabular', 'version': 1, 'kind': 'linear', 'task': 'binary',\n"
	" 'classes': ['no', 'yes'],\n"
	" 'inputs': [{'name': 'tenure', 'type': 'number'}, {'name': 'contract', 'type': 'category'},\n"
	"            {'name': 'age', 'type': 'number'}, {'name': 'region', 'type': 'category'}],\n"
	" 'features': [\n"
	"  {'input': 'tenure', 'steps': [{'op': 'impute', 'value': 12.0},\n"
	"                                {'op': 'scale', 'mean': 3.25, 'scale': 1.75}]},\n"
	"  {'input': 'age', 'steps': []},\n"
	"  {'input': 'contract', 'steps': [{'op': 'impute', 'value': 'Monthly'},\n"
	"                                  {'op': 'onehot', 'categories': ['Monthly', 'Yearly', 'Two']}]},\n"
	"  {'input': 'region', 'steps': [{'op': 'impute', 'value': 'Nowhere'},\n"
	"                                {'op': 'onehot', 'categories': ['N', 'S']}]}],\n"
	" 'linear': {'coef': [[0.8, 0.05, 0.3, -0.5, -1.1, 0.25, -0.4]], 'intercept': [-0.2],\n"
	"            'link': 'logistic'}}\n";

static void test_linear_binary_metadata(void **state)
{
	model *m = load_ok("logistic", churn);
	assert_ptr_equal(m->kind, model_kind_find("logistic"));
	assert_string_equal(m->kind->name, "logistic");
	assert_int_equal(m->task, MODEL_TASK_BINARY);
	assert_int_equal(m->n_outputs, 1);
	assert_int_equal(m->n_params, 8);
	assert_int_equal(m->kind->batch_rows, 8192);
	assert_int_equal(m->n_classes, 2);
	assert_string_equal(m->classes[0], "no");
	assert_string_equal(m->classes[1], "yes");
	assert_int_equal(m->n_inputs, 4);
	assert_string_equal(m->inputs[0].name, "tenure");
	assert_int_equal(m->inputs[0].type, MODEL_INPUT_NUMBER);
	assert_int_equal(m->inputs[0].missing_ok, 1);
	assert_string_equal(m->inputs[1].name, "contract");
	assert_int_equal(m->inputs[1].type, MODEL_INPUT_CATEGORY);
	assert_int_equal(m->inputs[1].missing_ok, 1);
	assert_int_equal(m->inputs[2].missing_ok, 0); /* age: no imputer */
	assert_int_equal(m->inputs[3].missing_ok, 1);
	assert_int_equal(m->inputs[1].categories.count, 3);
	assert_int_equal(strmap_get(&m->inputs[1].categories, "Monthly", 7), 0);
	assert_int_equal(strmap_get(&m->inputs[1].categories, "Yearly", 6), 1);
	assert_int_equal(strmap_get(&m->inputs[1].categories, "Two", 3), 2);
	assert_int_equal(strmap_get(&m->inputs[1].categories, "Nowhere", 7), -1);
	assert_int_equal(strmap_get(&m->inputs[3].categories, "S", 1), 1);
	assert_int_equal(m->inputs[0].categories.count, 0);
	assert_int_equal(model_input_index(m, "age"), 2);
	assert_int_equal(model_input_index(m, "nope"), -1);
	assert_int_equal(m->file_bytes, strlen(churn));
	assert_int_equal(strlen(m->sha256), 64);
	model_free(m);
}

static void test_linear_binary_scores(void **state)
{
	model *m = load_ok("logistic", churn);
	const double w_contract[3] = {0.3, -0.5, -1.1}, w_region[2] = {0.25, -0.4};
	/* x: tenure, contract, age, region */
	double x[] = {
		5, 1, 40, 0,      /* known categories */
		5, -1, 40, -1,    /* unknown categories: all zeros */
		NA, NA, 40, NA,   /* missing: tenure 12, contract Monthly, region 'Nowhere' = zeros */
		0, 2, -10, 1,
		-3.5, 0, 0.25, NA,
	};
	double want[5] = {
		sigmoid(-0.2 + 0.8 * (5 - 3.25) / 1.75 + 0.05 * 40 + w_contract[1] + w_region[0]),
		sigmoid(-0.2 + 0.8 * (5 - 3.25) / 1.75 + 0.05 * 40),
		sigmoid(-0.2 + 0.8 * (12 - 3.25) / 1.75 + 0.05 * 40 + w_contract[0]),
		sigmoid(-0.2 + 0.8 * (0 - 3.25) / 1.75 + 0.05 * -10 + w_contract[2] + w_region[1]),
		sigmoid(-0.2 + 0.8 * (-3.5 - 3.25) / 1.75 + 0.05 * 0.25 + w_contract[0]),
	};
	for (size_t r = 0; r < 5; r++) {
		double out;
		predict(m, x + 4 * r, 1, &out);
		assert_close(out, want[r]);
	}
	double block[5];
	predict(m, x, 5, block);
	for (size_t r = 0; r < 5; r++)
		assert_close(block[r], want[r]);
	assert_block_matches_rows(m, x, 5, 0);

	/* A missing value the model has no rule for stays missing. */
	double nan_age[4] = {5, 1, NA, 0}, out;
	predict(m, nan_age, 1, &out);
	assert_true(isnan(out));
	model_free(m);
}

/* ---- linear, multiclass and regression ---------------------------------- */

static const double mc_coef[3][3] = {{1.0, 0.5, -0.5}, {-0.5, 0.2, 0.8}, {0.3, -1.0, 0.1}};
static const double mc_intercept[3] = {0.1, -0.2, 0.3};

static char *multiclass_json(const char *link)
{
	static char buf[2048];
	snprintf(buf, sizeof buf,
		 "{'format': 'binfer-tabular', 'version': 1, 'kind': 'linear', 'task': 'multiclass',"
		 " 'classes': ['r', 'g', 'b'],"
		 " 'inputs': [{'name': 'c', 'type': 'category'}, {'name': 'x', 'type': 'number'}],"
		 " 'features': [{'input': 'x', 'steps': [{'op': 'scale', 'mean': 1, 'scale': 2}]},"
		 "              {'input': 'c', 'steps': [{'op': 'onehot', 'categories': ['a', 'b']}]}],"
		 " 'linear': {'coef': [[1.0, 0.5, -0.5], [-0.5, 0.2, 0.8], [0.3, -1.0, 0.1]],"
		 "            'intercept': [0.1, -0.2, 0.3], 'link': '%s'}}",
		 link);
	return buf;
}

/* z_k = intercept_k + coef_k . [(x - 1) / 2, onehot(c)]; c < 0 or NaN: zeros. */
static void mc_logits(double c, double x, double z[3])
{
	for (int k = 0; k < 3; k++) {
		z[k] = mc_intercept[k] + mc_coef[k][0] * (x - 1) / 2;
		if (c == 0 || c == 1)
			z[k] += mc_coef[k][1 + (int)c];
	}
}

static const double mc_x[] = {
	/* c, x */
	0, 3,
	1, -1.5,
	-1, 0.25,
	NA, 10,
	1, 1,
};

static void test_linear_multiclass_softmax(void **state)
{
	model *m = load_ok("logistic", multiclass_json("softmax"));
	assert_int_equal(m->task, MODEL_TASK_MULTICLASS);
	assert_int_equal(m->n_outputs, 3);
	assert_int_equal(m->n_classes, 3);
	assert_string_equal(m->classes[2], "b");
	assert_int_equal(m->n_params, 3 * (3 + 1));
	assert_int_equal(m->inputs[0].missing_ok, 0);
	assert_int_equal(m->inputs[1].missing_ok, 0);
	double out[15];
	predict(m, mc_x, 5, out);
	for (size_t r = 0; r < 5; r++) {
		double z[3];
		mc_logits(mc_x[2 * r], mc_x[2 * r + 1], z);
		double sum = exp(z[0]) + exp(z[1]) + exp(z[2]);
		for (int k = 0; k < 3; k++)
			assert_close(out[3 * r + k], exp(z[k]) / sum);
		assert_close(out[3 * r] + out[3 * r + 1] + out[3 * r + 2], 1);
	}
	assert_block_matches_rows(m, mc_x, 5, 0);
	model_free(m);
}

static void test_linear_multiclass_ovr(void **state)
{
	model *m = load_ok("logistic", multiclass_json("ovr"));
	assert_int_equal(m->n_outputs, 3);
	double out[15];
	predict(m, mc_x, 5, out);
	for (size_t r = 0; r < 5; r++) {
		double z[3];
		mc_logits(mc_x[2 * r], mc_x[2 * r + 1], z);
		double sum = sigmoid(z[0]) + sigmoid(z[1]) + sigmoid(z[2]);
		for (int k = 0; k < 3; k++)
			assert_close(out[3 * r + k], sigmoid(z[k]) / sum);
	}
	/* ovr is not softmax. */
	model *s = load_ok("logistic", multiclass_json("softmax"));
	double soft[3];
	predict(s, mc_x, 1, soft);
	assert_true(fabs(soft[0] - out[0]) > 1e-3);
	model_free(s);
	model_free(m);
}

static void test_linear_regression(void **state)
{
	model *m = load_ok("linear",
			   "{'format': 'binfer-tabular', 'version': 1, 'kind': 'linear', 'task': 'regression',"
			   " 'inputs': [{'name': 'x1', 'type': 'number'}, {'name': 'x2', 'type': 'number'}],"
			   " 'features': [{'input': 'x1', 'steps': [{'op': 'impute', 'value': 2.5}]},"
			   "              {'input': 'x2', 'steps': [{'op': 'scale', 'mean': -1, 'scale': 0.5}]}],"
			   " 'linear': {'coef': [[1.5, -2.0]], 'intercept': [10], 'link': 'identity'}}");
	assert_int_equal(m->task, MODEL_TASK_REGRESSION);
	assert_null(m->classes);
	assert_int_equal(m->n_classes, 0);
	assert_int_equal(m->n_outputs, 1);
	assert_int_equal(m->n_params, 3);
	assert_int_equal(m->inputs[0].missing_ok, 1);
	assert_int_equal(m->inputs[1].missing_ok, 0);
	double x[] = {1, 2, NA, -3, 0, -1, 1e6, 0.125, -7.5, 4};
	double out[5];
	predict(m, x, 5, out);
	for (size_t r = 0; r < 5; r++) {
		double x1 = isnan(x[2 * r]) ? 2.5 : x[2 * r];
		assert_close(out[r], 10 + 1.5 * x1 - 2.0 * (x[2 * r + 1] + 1) / 0.5);
	}
	assert_block_matches_rows(m, x, 5, 0);
	model_free(m);
}

/* ---- MLP ---------------------------------------------------------------- */

/* A small text builder for model files generated from the arrays below. */
typedef struct text {
	char s[16384];
	size_t n;
} text;

static void put(text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
	va_end(ap);
	assert_true(k >= 0 && (size_t)k < sizeof t->s - t->n);
	t->n += (size_t)k;
}

static void put_numbers(text *t, const double *v, size_t n)
{
	put(t, "[");
	for (size_t i = 0; i < n; i++)
		put(t, "%s%.17g", i ? ", " : "", v[i]);
	put(t, "]");
}

typedef struct ref_layer {
	size_t n_in, n_out;
	const double *w; /* (n_in, n_out) */
	const double *b; /* (n_out) */
} ref_layer;

/* Inputs: x1 number (impute 0.5), x2 number (scale mean 2, scale 4), c category
 * (impute 'b', onehot a, b). Feature width 4. */
static const char *mlp_head =
	"{'format': 'binfer-tabular', 'version': 1, 'kind': 'mlp', 'task': '%s', %s"
	" 'inputs': [{'name': 'x1', 'type': 'number'}, {'name': 'x2', 'type': 'number'},"
	"            {'name': 'c', 'type': 'category'}],"
	" 'features': [{'input': 'x1', 'steps': [{'op': 'impute', 'value': 0.5}]},"
	"              {'input': 'x2', 'steps': [{'op': 'scale', 'mean': 2, 'scale': 4}]},"
	"              {'input': 'c', 'steps': [{'op': 'impute', 'value': 'b'},"
	"                                       {'op': 'onehot', 'categories': ['a', 'b']}]}],"
	" 'mlp': {'activation': '%s', 'output': '%s', 'layers': [";

static char *mlp_json(const char *task, const char *classes, const char *act, const char *out,
		      const ref_layer *layers, size_t n_layers)
{
	static text t;
	t.n = 0;
	put(&t, mlp_head, task, classes, act, out);
	for (size_t l = 0; l < n_layers; l++) {
		put(&t, "%s{'weights': [", l ? ", " : "");
		for (size_t i = 0; i < layers[l].n_in; i++) {
			put(&t, i ? ", " : "");
			put_numbers(&t, layers[l].w + i * layers[l].n_out, layers[l].n_out);
		}
		put(&t, "], 'bias': ");
		put_numbers(&t, layers[l].b, layers[l].n_out);
		put(&t, "}");
	}
	put(&t, "]}}");
	return t.s;
}

static void mlp_features(const double *x, double f[4])
{
	f[0] = isnan(x[0]) ? 0.5 : x[0];
	f[1] = (x[1] - 2) / 4;
	double c = isnan(x[2]) ? 1 : x[2];
	f[2] = c == 0;
	f[3] = c == 1;
}

static double act_apply(const char *act, double v)
{
	if (strcmp(act, "relu") == 0)
		return v > 0 ? v : 0;
	if (strcmp(act, "tanh") == 0)
		return tanh(v);
	if (strcmp(act, "logistic") == 0)
		return sigmoid(v);
	return v;
}

/* The forward pass written out: h = act(h W + b) per hidden layer, then the
 * output function. *clipped counts hidden pre-activations below 0. */
static void mlp_reference(const ref_layer *layers, size_t n_layers, const char *act, const char *out_fn,
			  const double *x, double *out, int *clipped)
{
	double h[8], next[8];
	mlp_features(x, h);
	for (size_t l = 0; l < n_layers; l++) {
		const ref_layer *L = &layers[l];
		for (size_t j = 0; j < L->n_out; j++) {
			double s = L->b[j];
			for (size_t i = 0; i < L->n_in; i++)
				s += h[i] * L->w[i * L->n_out + j];
			next[j] = s;
		}
		if (l + 1 < n_layers)
			for (size_t j = 0; j < L->n_out; j++) {
				*clipped += next[j] < 0;
				next[j] = act_apply(act, next[j]);
			}
		memcpy(h, next, L->n_out * sizeof *h);
	}
	size_t n = layers[n_layers - 1].n_out;
	if (strcmp(out_fn, "softmax") == 0) {
		double sum = 0;
		for (size_t k = 0; k < n; k++)
			sum += exp(h[k]);
		for (size_t k = 0; k < n; k++)
			out[k] = exp(h[k]) / sum;
	} else if (strcmp(out_fn, "logistic") == 0) {
		out[0] = sigmoid(h[0]);
	} else {
		out[0] = h[0];
	}
}

static const double w1[4 * 3] = {0.5, -1.2, 0.3, -0.7, 0.8, 1.1, 0.9, -0.4, -0.6, -0.3, 0.2, 0.7};
static const double b1[3] = {0.1, -0.2, 0.05};

static const double mlp_x[] = {
	/* x1, x2, c */
	1.0, 3.0, 0,
	-2.0, 10.0, 1,
	NA, -6.0, NA,  /* imputed x1 and c */
	0.75, 2.0, -1, /* unknown category */
	3.0, -1.0, 0,
};

static void check_mlp(const char *task, const char *classes, const char *act, const char *out_fn,
		      const ref_layer *layers, size_t n_layers, size_t n_outputs, uint64_t n_params)
{
	model *m = load_ok("mlp", mlp_json(task, classes, act, out_fn, layers, n_layers));
	assert_int_equal(m->n_outputs, n_outputs);
	assert_int_equal(m->n_params, n_params);
	assert_int_equal(m->kind->batch_rows, 4096);
	assert_int_equal(m->n_inputs, 3);
	assert_int_equal(m->inputs[0].missing_ok, 1);
	assert_int_equal(m->inputs[1].missing_ok, 0);
	assert_int_equal(m->inputs[2].missing_ok, 1);
	double out[5 * 3];
	predict(m, mlp_x, 5, out);
	int clipped = 0;
	for (size_t r = 0; r < 5; r++) {
		double want[3];
		mlp_reference(layers, n_layers, act, out_fn, mlp_x + 3 * r, want, &clipped);
		for (size_t k = 0; k < n_outputs; k++)
			assert_close(out[r * n_outputs + k], want[k]);
	}
	if (strcmp(act, "relu") == 0)
		assert_true(clipped > 0); /* the rows exercise relu's cut */
	/* One GEMM over the block or one a row: same up to rounding. */
	assert_block_matches_rows(m, mlp_x, 5, 1e-13);
	model_free(m);
}

static void test_mlp_relu_softmax(void **state)
{
	static const double w2[3 * 3] = {1.0, -0.5, 0.2, -0.8, 0.6, 0.4, 0.3, 0.9, -1.1};
	static const double b2[3] = {0.0, 0.1, -0.1};
	const ref_layer layers[] = {{4, 3, w1, b1}, {3, 3, w2, b2}};
	check_mlp("multiclass", "'classes': ['x', 'y', 'z'],", "relu", "softmax", layers, 2, 3,
		  (4 + 1) * 3 + (3 + 1) * 3);
	model *m = load_ok("mlp", mlp_json("multiclass", "'classes': ['x', 'y', 'z'],", "relu", "softmax",
					   layers, 2));
	assert_int_equal(m->task, MODEL_TASK_MULTICLASS);
	assert_string_equal(m->kind->name, "mlp");
	assert_int_equal(m->n_classes, 3);
	assert_string_equal(m->classes[1], "y");
	assert_int_equal(strmap_get(&m->inputs[2].categories, "b", 1), 1);
	model_free(m);
}

static void test_mlp_binary(void **state)
{
	/* Two hidden layers (4 -> 3 -> 2), then one logistic output. */
	static const double w2[3 * 2] = {0.7, -0.9, -0.4, 0.5, 1.2, 0.3};
	static const double b2[2] = {0.05, -0.15};
	static const double w3[2 * 1] = {1.5, -2.0};
	static const double b3[1] = {0.2};
	const ref_layer layers[] = {{4, 3, w1, b1}, {3, 2, w2, b2}, {2, 1, w3, b3}};
	const uint64_t n_params = (4 + 1) * 3 + (3 + 1) * 2 + (2 + 1) * 1;
	check_mlp("binary", "'classes': ['neg', 'pos'],", "tanh", "logistic", layers, 3, 1, n_params);
	check_mlp("binary", "'classes': ['neg', 'pos'],", "logistic", "logistic", layers, 3, 1, n_params);
	check_mlp("binary", "'classes': ['neg', 'pos'],", "relu", "logistic", layers, 3, 1, n_params);
	model *m = load_ok("mlp", mlp_json("binary", "'classes': ['neg', 'pos'],", "tanh", "logistic", layers, 3));
	assert_int_equal(m->task, MODEL_TASK_BINARY);
	assert_int_equal(m->n_classes, 2);
	assert_string_equal(m->classes[1], "pos");
	model_free(m);
}

static void test_mlp_regression(void **state)
{
	static const double w2[3 * 1] = {2.0, -1.0, 0.5};
	static const double b2[1] = {3.0};
	const ref_layer layers[] = {{4, 3, w1, b1}, {3, 1, w2, b2}};
	check_mlp("regression", "", "relu", "identity", layers, 2, 1, (4 + 1) * 3 + (3 + 1) * 1);
	check_mlp("regression", "", "identity", "identity", layers, 2, 1, (4 + 1) * 3 + (3 + 1) * 1);
	model *m = load_ok("mlp", mlp_json("regression", "", "relu", "identity", layers, 2));
	assert_int_equal(m->task, MODEL_TASK_REGRESSION);
	assert_null(m->classes);
	model_free(m);
}

/* ---- errors ------------------------------------------------------------- */

/* A valid linear binary model with each part replaceable. */
static char *lin(const char *task, const char *inputs, const char *features, const char *linear)
{
	static char buf[4096];
	snprintf(buf, sizeof buf,
		 "{'format': 'binfer-tabular', 'version': 1, 'kind': 'linear', %s,"
		 " 'inputs': [%s], 'features': [%s], 'linear': {%s}}",
		 task ? task : "'task': 'binary', 'classes': ['n', 'y']",
		 inputs ? inputs : "{'name': 'x', 'type': 'number'}, {'name': 'c', 'type': 'category'}",
		 features ? features
			  : "{'input': 'x', 'steps': [{'op': 'scale', 'mean': 0, 'scale': 2}]},"
			    " {'input': 'c', 'steps': [{'op': 'onehot', 'categories': ['a', 'b']}]}",
		 linear ? linear : "'coef': [[1, 2, 3]], 'intercept': [0.5], 'link': 'logistic'");
	return buf;
}

/* A valid MLP regression with its layers replaceable (feature width 1). */
static char *mlp(const char *task, const char *output, const char *layers)
{
	static char buf[4096];
	snprintf(buf, sizeof buf,
		 "{'format': 'binfer-tabular', 'version': 1, 'kind': 'mlp', %s,"
		 " 'inputs': [{'name': 'x', 'type': 'number'}],"
		 " 'features': [{'input': 'x', 'steps': []}],"
		 " 'mlp': {'activation': 'relu', 'output': '%s', 'layers': [%s]}}",
		 task ? task : "'task': 'regression'", output ? output : "identity",
		 layers ? layers
			: "{'weights': [[1, 2]], 'bias': [0, 0]}, {'weights': [[1], [1]], 'bias': [0]}");
	return buf;
}

static void test_templates_are_valid(void **state)
{
	model_free(load_ok("logistic", lin(NULL, NULL, NULL, NULL)));
	model_free(load_ok("mlp", mlp(NULL, NULL, NULL)));
}

static void test_error_file_missing(void **state)
{
	model *m = (model *)&m;
	bf_error err;
	memset(&err, 0, sizeof err);
	const char *path = "/tmp/binfer_tabular_test_no_such_file.json";
	assert_int_equal(model_load("logistic", path, NULL, &m, &err), BF_EMODEL);
	assert_null(m);
	assert_int_equal(err.code, BF_EMODEL);
	assert_string_equal(err.path, path);
	assert_string_equal(err.message, "cannot open model file: No such file or directory");
}

static void test_error_unknown_kind(void **state)
{
	model *m = (model *)&m;
	bf_error err;
	assert_int_equal(model_load("xgboost2", "/dev/null", NULL, &m, &err), BF_ESPEC);
	assert_null(m);
	assert_non_null(strstr(err.message, "model kind 'xgboost2' is not supported; expected one of logistic, linear"));
}

static void test_error_invalid_json(void **state)
{
	model *m = (model *)&m;
	bf_error err;
	char path[64];
	int rc = load_json("logistic", "{'format': 'binfer-tabular',\n  'version': 1,\n  'kind': }", &m, &err, path);
	assert_int_equal(rc, BF_EMODEL);
	assert_int_equal(err.code, BF_EMODEL);
	assert_null(m);
	assert_string_equal(err.path, path);
	assert_true(err.line >= 1);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 11);
	assert_true(err.message[0] != '\0');
	if (!strstr(err.message, "'}'"))
		fail_msg("message \"%s\" does not show what was found", err.message);

	expect_error("logistic", "", BF_EMODEL, "end of input");
	expect_error("logistic", "[1, 2", BF_EMODEL, "end of input");
}

static void test_error_header(void **state)
{
	expect_error("logistic", "{'format': 'sklearn', 'version': 1}", BF_EMODEL,
		     "not a binfer-tabular model file ('format' is not \"binfer-tabular\"); "
		     "export scikit-learn models with tools/binfer-export-sklearn");
	expect_error("logistic", "{'version': 1}", BF_EMODEL, "not a binfer-tabular model file");
	expect_error("logistic", "[1]", BF_EMODEL, "not a binfer-tabular model file");
	expect_error("logistic", "{'format': 'binfer-tabular', 'version': 2, 'kind': 'linear'}", BF_EMODEL,
		     "model format version 2 is not supported; expected 1");
	expect_error("logistic", "{'format': 'binfer-tabular', 'version': '1', 'kind': 'linear'}", BF_EMODEL,
		     "'version' has the wrong type, expected a number, found a string");
	expect_error("logistic", "{'format': 'binfer-tabular', 'version': 1}", BF_EMODEL, "missing key 'kind'");
	expect_error("logistic", "{'format': 'binfer-tabular', 'version': 1, 'kind': 'forest'}", BF_EMODEL,
		     "model kind 'forest' in the file is not supported; expected linear or mlp");
}

static void test_error_kind_mismatch(void **state)
{
	expect_error("mlp", lin(NULL, NULL, NULL, NULL), BF_ESPEC,
		     "the file holds a 'linear' model but model.kind is 'mlp'");
	expect_error("logistic", mlp(NULL, NULL, NULL), BF_ESPEC,
		     "the file holds a 'mlp' model but model.kind is 'logistic'");
	expect_error("linear", mlp(NULL, NULL, NULL), BF_ESPEC,
		     "the file holds a 'mlp' model but model.kind is 'linear'");
}

static void test_error_task_and_classes(void **state)
{
	expect_error("logistic", lin("'task': 'ranking'", NULL, NULL, NULL), BF_EMODEL,
		     "task 'ranking' is not supported; expected binary, multiclass or regression");
	expect_error("logistic", lin("'task': 'binary', 'classes': ['y']", NULL, NULL, NULL), BF_EMODEL,
		     "'classes' has too few entries; expected 2 for binary, >= 2 for multiclass");
	expect_error("logistic", lin("'task': 'binary', 'classes': ['a', 'b', 'c']", NULL, NULL, NULL), BF_EMODEL,
		     "'classes' has too many entries; expected 2 for binary, >= 2 for multiclass");
	expect_error("logistic", lin("'task': 'multiclass', 'classes': ['a']", NULL, NULL, NULL), BF_EMODEL,
		     "'classes' has too few entries");
	expect_error("logistic", lin("'task': 'binary'", NULL, NULL, NULL), BF_EMODEL, "missing key 'classes'");
	expect_error("logistic", lin("'task': 'binary', 'classes': ['n', 1]", NULL, NULL, NULL), BF_EMODEL,
		     "'classes' must hold strings");
}

static void test_error_linear_shapes(void **state)
{
	expect_error("logistic", lin(NULL, NULL, NULL, "'coef': [[1, 2]], 'intercept': [0.5], 'link': 'logistic'"),
		     BF_EMODEL, "'linear.coef[0]' has 2 values, expected 3");
	expect_error("logistic",
		     lin(NULL, NULL, NULL, "'coef': [[1, 2, 3, 4]], 'intercept': [0.5], 'link': 'logistic'"),
		     BF_EMODEL, "'linear.coef[0]' has 4 values, expected 3");
	expect_error("logistic",
		     lin(NULL, NULL, NULL, "'coef': [[1, 2, 3], [1, 2, 3]], 'intercept': [0.5], 'link': 'logistic'"),
		     BF_EMODEL, "'linear.coef' must be an array of 1 rows");
	expect_error("logistic", lin(NULL, NULL, NULL, "'coef': [[1, 2, 'x']], 'intercept': [0.5], 'link': 'logistic'"),
		     BF_EMODEL, "'linear.coef[0]' must hold only numbers");
	expect_error("logistic", lin(NULL, NULL, NULL, "'coef': [[1, 2, 3]], 'intercept': [0.5, 1], 'link': 'logistic'"),
		     BF_EMODEL, "'linear.intercept' has 2 values, expected 1");
	expect_error("logistic", lin(NULL, NULL, NULL, "'coef': [[1, 2, 3]], 'intercept': [], 'link': 'logistic'"),
		     BF_EMODEL, "'linear.intercept' has 0 values, expected 1");
	expect_error("logistic", lin(NULL, NULL, NULL, "'coef': [[1, 2, 3]], 'link': 'logistic'"), BF_EMODEL,
		     "'linear.intercept' must be an array of numbers");
	expect_error("logistic", lin(NULL, NULL, NULL, "'intercept': [0.5], 'link': 'logistic'"), BF_EMODEL,
		     "missing key 'linear.coef'");
	expect_error("logistic",
		     lin("'task': 'multiclass', 'classes': ['a', 'b', 'c']", NULL, NULL,
			 "'coef': [[1, 2, 3], [1, 2, 3], [1, 2, 3]], 'intercept': [0, 0], 'link': 'softmax'"),
		     BF_EMODEL, "'linear.intercept' has 2 values, expected 3");
	expect_error("logistic",
		     lin("'task': 'multiclass', 'classes': ['a', 'b', 'c']", NULL, NULL,
			 "'coef': [[1, 2, 3], [1, 2, 3]], 'intercept': [0, 0, 0], 'link': 'softmax'"),
		     BF_EMODEL, "'linear.coef' must be an array of 3 rows");
}

static void test_error_link(void **state)
{
	const char *body = "'coef': [[1, 2, 3]], 'intercept': [0.5], 'link': '%s'";
	const struct {
		const char *task, *link;
	} bad[] = {
		{NULL, "softmax"},
		{NULL, "ovr"},
		{NULL, "identity"},
		{"'task': 'regression'", "logistic"},
		{"'task': 'multiclass', 'classes': ['a', 'b']", "logistic"},
		{"'task': 'multiclass', 'classes': ['a', 'b']", "identity"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char linear[128], want[128];
		snprintf(linear, sizeof linear, body, bad[i].link);
		snprintf(want, sizeof want, "link '%s' does not fit the model's task", bad[i].link);
		expect_error("logistic", lin(bad[i].task, NULL, NULL, linear), BF_EMODEL, want);
	}
	expect_error("logistic", lin(NULL, NULL, NULL, "'coef': [[1, 2, 3]], 'intercept': [0.5], 'link': 'probit'"),
		     BF_EMODEL, "link 'probit' is not supported; expected logistic, softmax, ovr or identity");
}

static void test_error_inputs(void **state)
{
	expect_error("logistic",
		     lin(NULL, "{'name': 'x', 'type': 'number'}, {'name': 'c', 'type': 'category'}, {'name': 'x', 'type': 'number'}",
			 NULL, NULL),
		     BF_EMODEL, "input 'x' is listed twice in 'inputs'");
	expect_error("logistic", lin(NULL, "{'name': 'x', 'type': 'number'}, {'name': 'c', 'type': 'text'}", NULL, NULL),
		     BF_EMODEL, "input type 'text' is not supported; expected number or category");
	expect_error("logistic", lin(NULL, "{'name': 'x', 'type': 'number'}, {'type': 'category'}", NULL, NULL),
		     BF_EMODEL, "missing key 'inputs[].name'");
	expect_error("logistic",
		     lin(NULL, NULL,
			 "{'input': 'z', 'steps': []}, {'input': 'c', 'steps': [{'op': 'onehot', 'categories': ['a', 'b']}]}",
			 NULL),
		     BF_EMODEL, "feature input 'z' is not listed in 'inputs'");
}

static void test_error_steps(void **state)
{
	const char *c_ok = ", {'input': 'c', 'steps': [{'op': 'onehot', 'categories': ['a', 'b']}]}";
	char f[512];
	snprintf(f, sizeof f, "{'input': 'x', 'steps': [{'op': 'log'}]}%s", c_ok);
	expect_error("logistic", lin(NULL, NULL, f, NULL), BF_EMODEL,
		     "unknown preprocessing op 'log'; expected impute, scale or onehot");
	snprintf(f, sizeof f, "{'input': 'x', 'steps': [{'op': 'scale', 'mean': 1, 'scale': 0}]}%s", c_ok);
	expect_error("logistic", lin(NULL, NULL, f, NULL), BF_EMODEL, "scale step of input 'x' has scale 0");
	snprintf(f, sizeof f, "{'input': 'x', 'steps': [{'op': 'scale', 'mean': 1}]}%s", c_ok);
	expect_error("logistic", lin(NULL, NULL, f, NULL), BF_EMODEL, "missing key 'scale.scale'");
	snprintf(f, sizeof f, "{'input': 'x', 'steps': [{'op': 'onehot', 'categories': ['1', '2']}]}%s", c_ok);
	expect_error("logistic", lin(NULL, NULL, f, NULL), BF_EMODEL,
		     "onehot step on number input 'x'; declare it as a category");
	snprintf(f, sizeof f, "{'input': 'x', 'steps': [{'op': 'impute', 'value': 'a'}]}%s", c_ok);
	expect_error("logistic", lin(NULL, NULL, f, NULL), BF_EMODEL,
		     "impute step of input 'x' needs a 'value' of the input's type");
	expect_error("logistic",
		     lin(NULL, NULL, "{'input': 'x', 'steps': []}, {'input': 'c', 'steps': [{'op': 'impute', 'value': 'a'}]}",
			 NULL),
		     BF_EMODEL, "category input 'c' needs a onehot step");
	expect_error("logistic",
		     lin(NULL, NULL,
			 "{'input': 'x', 'steps': []}, {'input': 'c', 'steps': [{'op': 'onehot', 'categories': ['a']},"
			 " {'op': 'scale', 'mean': 0, 'scale': 1}]}",
			 NULL),
		     BF_EMODEL, "scale step on category input 'c'");
	expect_error("logistic",
		     lin(NULL, NULL,
			 "{'input': 'x', 'steps': []}, {'input': 'c', 'steps': [{'op': 'onehot', 'categories': ['a', 1]}]}",
			 NULL),
		     BF_EMODEL, "onehot categories of 'c' must be strings");
	expect_error("logistic", lin(NULL, "{'name': 'x', 'type': 'number'}", "", NULL), BF_EMODEL,
		     "the model has no features");
}

static void test_error_mlp(void **state)
{
	/* Binary needs one logistic unit; multiclass one softmax unit a class. */
	expect_error("mlp",
		     mlp("'task': 'binary', 'classes': ['n', 'y']", "logistic",
			 "{'weights': [[1, 2]], 'bias': [0, 0]}"),
		     BF_EMODEL, "the last MLP layer (logistic) does not fit the model's task");
	expect_error("mlp",
		     mlp("'task': 'binary', 'classes': ['n', 'y']", "softmax",
			 "{'weights': [[1, 2]], 'bias': [0, 0]}"),
		     BF_EMODEL, "the last MLP layer (softmax) does not fit the model's task");
	expect_error("mlp",
		     mlp("'task': 'multiclass', 'classes': ['a', 'b', 'c']", "softmax",
			 "{'weights': [[1, 2]], 'bias': [0, 0]}"),
		     BF_EMODEL, "the last MLP layer (softmax) does not fit the model's task");
	expect_error("mlp", mlp(NULL, "logistic", NULL), BF_EMODEL,
		     "the last MLP layer (logistic) does not fit the model's task");
	expect_error("mlp", mlp(NULL, "ovr", NULL), BF_EMODEL,
		     "output 'ovr' is not supported; expected logistic, softmax or identity");
	/* Row lengths that disagree, rows that disagree with the layer below. */
	expect_error("mlp",
		     mlp(NULL, NULL, "{'weights': [[1, 2]], 'bias': [0, 0]}, {'weights': [[1], [1, 2]], 'bias': [0]}"),
		     BF_EMODEL, "'mlp.layers[].weights[1]' has 2 values, expected 1");
	expect_error("mlp",
		     mlp(NULL, NULL, "{'weights': [[1, 2]], 'bias': [0, 0]}, {'weights': [[1, 1], [1]], 'bias': [0, 0]}"),
		     BF_EMODEL, "'mlp.layers[].weights[1]' has 1 values, expected 2");
	expect_error("mlp",
		     mlp(NULL, NULL, "{'weights': [[1, 2]], 'bias': [0, 0]}, {'weights': [[1]], 'bias': [0]}"),
		     BF_EMODEL, "'mlp.layers[].weights' must be an array of 2 rows");
	expect_error("mlp", mlp(NULL, NULL, "{'weights': [[1, 2]], 'bias': [0]}, {'weights': [[1], [1]], 'bias': [0]}"),
		     BF_EMODEL, "'mlp.layers[].bias' has 1 values, expected 2");
	expect_error("mlp", mlp(NULL, NULL, "{'weights': [], 'bias': []}"), BF_EMODEL,
		     "'mlp.layers[].weights' must be a non-empty matrix");
	expect_error("mlp", mlp(NULL, NULL, "{'weights': [[]], 'bias': []}"), BF_EMODEL,
		     "'mlp.layers[].weights' must be a non-empty matrix");
	expect_error("mlp", mlp(NULL, NULL, ""), BF_EMODEL, "'mlp.layers' is empty");
	char *bad_act = mlp(NULL, NULL, NULL);
	memcpy(strstr(bad_act, "'relu'") + 1, "gelu", 4);
	expect_error("mlp", bad_act, BF_EMODEL,
		     "activation 'gelu' is not supported; expected relu, tanh, logistic or identity");
	expect_error("mlp",
		     "{'format': 'binfer-tabular', 'version': 1, 'kind': 'mlp', 'task': 'regression',"
		     " 'inputs': [{'name': 'x', 'type': 'number'}], 'features': [{'input': 'x', 'steps': []}]}",
		     BF_EMODEL, "missing key 'mlp'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_binary_metadata),
		cmocka_unit_test(test_linear_binary_scores),
		cmocka_unit_test(test_linear_multiclass_softmax),
		cmocka_unit_test(test_linear_multiclass_ovr),
		cmocka_unit_test(test_linear_regression),
		cmocka_unit_test(test_mlp_relu_softmax),
		cmocka_unit_test(test_mlp_binary),
		cmocka_unit_test(test_mlp_regression),
		cmocka_unit_test(test_templates_are_valid),
		cmocka_unit_test(test_error_file_missing),
		cmocka_unit_test(test_error_unknown_kind),
		cmocka_unit_test(test_error_invalid_json),
		cmocka_unit_test(test_error_header),
		cmocka_unit_test(test_error_kind_mismatch),
		cmocka_unit_test(test_error_task_and_classes),
		cmocka_unit_test(test_error_linear_shapes),
		cmocka_unit_test(test_error_link),
		cmocka_unit_test(test_error_inputs),
		cmocka_unit_test(test_error_steps),
		cmocka_unit_test(test_error_mlp),
	};
	return cmocka_run_group_tests_name("tabular", tests, NULL, NULL);
}
