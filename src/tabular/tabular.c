/* tabular.c: scikit-learn style tabular models: a preprocessing plan
 * (impute, scale, one-hot per input column) feeding a linear model or an MLP.
 *
 * The file format ("binfer-tabular", JSON) is written by
 * tools/binfer-export-sklearn and documented in man/binfer.1. Preprocessing and
 * the linear model run in double precision, as scikit-learn does; MLP layers
 * run as OpenBLAS GEMMs over the whole block of rows. */
#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"

typedef enum tab_link { TAB_LINK_IDENTITY, TAB_LINK_LOGISTIC, TAB_LINK_SOFTMAX, TAB_LINK_OVR } tab_link;
typedef enum tab_act { TAB_ACT_IDENTITY, TAB_ACT_RELU, TAB_ACT_TANH, TAB_ACT_LOGISTIC } tab_act;

/* One entry of "features": an input column turned into 1 or n_cats values. */
typedef struct tab_feature {
	int input;            /* index into model.inputs */
	int has_impute;
	double impute;        /* number, or category index (-1: not a known category) */
	int has_scale;
	double mean, scale;
	int onehot;           /* 1: emits n_cats indicator values */
	size_t n_cats;
	size_t offset;        /* first position in the feature vector */
} tab_feature;

typedef struct tab_layer {
	size_t n_in, n_out;
	double *w;            /* (n_in, n_out) */
	double *b;            /* (n_out) */
} tab_layer;

typedef struct tabular {
	tab_feature *features;
	size_t n_features;
	size_t width;         /* length of the feature vector */
	int is_mlp;
	/* linear */
	double *coef;         /* (n_rows, width) */
	double *intercept;    /* (n_rows) */
	size_t n_rows;
	tab_link link;
	/* mlp */
	tab_layer *layers;
	size_t n_layers;
	tab_act act;
	tab_link out;
	size_t max_dim;       /* widest layer */
} tabular;

/* ---- loading ---------------------------------------------------------- */

typedef struct loader {
	const char *path;
	bf_error *err;
} loader;

static int fail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills the error for the model file; returns BF_EMODEL. */
static int fail(loader *L, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bf_err_set(L->err, BF_EMODEL, L->path, 0, 0, "%s", msg);
}

static const json_value *need(loader *L, const json_value *obj, const char *key, json_type type,
			      const char *where)
{
	static const char *names[] = {"null", "false", "true", "a number", "a string", "an array", "an object"};
	const json_value *v = json_get(obj, key);
	char what[128];
	snprintf(what, sizeof what, "%s%s%s", where, *where ? "." : "", key);
	if (!v) {
		fail(L, "missing key '%s'", what);
		return NULL;
	}
	if (v->type != type && !(type == JSON_TRUE && v->type == JSON_FALSE)) {
		char detail[64];
		snprintf(detail, sizeof detail, ", expected %s, found %s", names[type], names[v->type]);
		fail(L, "'%s' has the wrong type%s", what, detail);
		return NULL;
	}
	return v;
}

/* Reads a JSON array of n numbers (n = 0: any length, returned in *n_out). */
static double *numbers(loader *L, const json_value *v, size_t n, size_t *n_out, const char *what)
{
	if (!v || v->type != JSON_ARRAY) {
		fail(L, "'%s' must be an array of numbers", what);
		return NULL;
	}
	if (n && v->len != n) {
		char detail[96];
		snprintf(detail, sizeof detail, " has %u values, expected %zu", v->len, n);
		fail(L, "'%s'%s", what, detail);
		return NULL;
	}
	double *out = malloc((v->len ? v->len : 1) * sizeof *out);
	if (!out) {
		bf_err_set(L->err, BF_ENOMEM, L->path, 0, 0, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < v->len; i++) {
		if (v->u.items[i].type != JSON_NUMBER) {
			free(out);
			fail(L, "'%s' must hold only numbers", what);
			return NULL;
		}
		out[i] = v->u.items[i].u.number;
	}
	if (n_out)
		*n_out = v->len;
	return out;
}

/* Reads a (rows, cols) matrix given as an array of rows. */
static double *matrix(loader *L, const json_value *v, size_t rows, size_t cols, const char *what)
{
	if (!v || v->type != JSON_ARRAY || v->len != rows) {
		char detail[96];
		snprintf(detail, sizeof detail, " must be an array of %zu rows", rows);
		fail(L, "'%s'%s", what, detail);
		return NULL;
	}
	double *out = malloc((rows * cols > 0 ? rows * cols : 1) * sizeof *out);
	if (!out) {
		bf_err_set(L->err, BF_ENOMEM, L->path, 0, 0, "out of memory");
		return NULL;
	}
	for (size_t r = 0; r < rows; r++) {
		char name[160];
		snprintf(name, sizeof name, "%s[%zu]", what, r);
		double *row = numbers(L, &v->u.items[r], cols, NULL, name);
		if (!row) {
			free(out);
			return NULL;
		}
		memcpy(out + r * cols, row, cols * sizeof *row);
		free(row);
	}
	return out;
}

static int parse_link(const char *s, tab_link *out)
{
	static const char *names[] = {"identity", "logistic", "softmax", "ovr"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (tab_link)i;
			return 0;
		}
	return -1;
}

static int parse_act(const char *s, tab_act *out)
{
	static const char *names[] = {"identity", "relu", "tanh", "logistic"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (tab_act)i;
			return 0;
		}
	return -1;
}

static int load_inputs(loader *L, model *m, const json_value *root)
{
	const json_value *inputs = need(L, root, "inputs", JSON_ARRAY, "");
	if (!inputs)
		return -1;
	m->inputs = calloc(inputs->len ? inputs->len : 1, sizeof *m->inputs);
	if (!m->inputs)
		return bf_err_set(L->err, BF_ENOMEM, L->path, 0, 0, "out of memory"), -1;
	for (uint32_t i = 0; i < inputs->len; i++) {
		const json_value *in = &inputs->u.items[i];
		const json_value *name = need(L, in, "name", JSON_STRING, "inputs[]");
		const json_value *type = need(L, in, "type", JSON_STRING, "inputs[]");
		if (!name || !type)
			return -1;
		if (model_input_index(m, name->u.string) >= 0)
			return fail(L, "input '%s' is listed twice in 'inputs'", name->u.string), -1;
		model_input *mi = &m->inputs[m->n_inputs++];
		mi->name = strdup(name->u.string);
		strmap_init(&mi->categories);
		if (strcmp(type->u.string, "number") == 0)
			mi->type = MODEL_INPUT_NUMBER;
		else if (strcmp(type->u.string, "category") == 0)
			mi->type = MODEL_INPUT_CATEGORY;
		else
			return fail(L, "input type '%s' is not supported; expected number or category",
				    type->u.string), -1;
	}
	return 0;
}

static int load_feature(loader *L, model *m, tabular *t, const json_value *fv, tab_feature *f)
{
	const json_value *input = need(L, fv, "input", JSON_STRING, "features[]");
	const json_value *steps = need(L, fv, "steps", JSON_ARRAY, "features[]");
	if (!input || !steps)
		return -1;
	f->input = model_input_index(m, input->u.string);
	if (f->input < 0)
		return fail(L, "feature input '%s' is not listed in 'inputs'", input->u.string), -1;
	model_input *mi = &m->inputs[f->input];
	const json_value *impute_cat = NULL;
	for (uint32_t s = 0; s < steps->len; s++) {
		const json_value *step = &steps->u.items[s];
		const json_value *op = need(L, step, "op", JSON_STRING, "features[].steps[]");
		if (!op)
			return -1;
		if (strcmp(op->u.string, "impute") == 0) {
			const json_value *v = json_get(step, "value");
			if (!v || (mi->type == MODEL_INPUT_NUMBER ? v->type != JSON_NUMBER
								  : v->type != JSON_STRING && v->type != JSON_NUMBER))
				return fail(L, "impute step of input '%s' needs a 'value' of the input's type",
					    mi->name), -1;
			f->has_impute = 1;
			mi->missing_ok = 1;
			if (mi->type == MODEL_INPUT_NUMBER)
				f->impute = v->u.number;
			else
				impute_cat = v;
		} else if (strcmp(op->u.string, "scale") == 0) {
			const json_value *mean = need(L, step, "mean", JSON_NUMBER, "scale");
			const json_value *scale = need(L, step, "scale", JSON_NUMBER, "scale");
			if (!mean || !scale)
				return -1;
			if (mi->type != MODEL_INPUT_NUMBER || f->onehot)
				return fail(L, "scale step on category input '%s'", mi->name), -1;
			f->has_scale = 1;
			f->mean = mean->u.number;
			f->scale = scale->u.number;
			if (f->scale == 0)
				return fail(L, "scale step of input '%s' has scale 0", mi->name), -1;
		} else if (strcmp(op->u.string, "onehot") == 0) {
			const json_value *cats = need(L, step, "categories", JSON_ARRAY, "onehot");
			if (!cats)
				return -1;
			if (mi->type != MODEL_INPUT_CATEGORY)
				return fail(L, "onehot step on number input '%s'; declare it as a category",
					    mi->name), -1;
			if (mi->categories.count)
				return fail(L, "input '%s' is one-hot encoded twice", mi->name), -1;
			for (uint32_t c = 0; c < cats->len; c++) {
				const json_value *cv = &cats->u.items[c];
				if (cv->type != JSON_STRING)
					return fail(L, "onehot categories of '%s' must be strings", mi->name), -1;
				if (strmap_put(&mi->categories, cv->u.string, cv->len, (int32_t)c) < 0)
					return bf_err_set(L->err, BF_ENOMEM, L->path, 0, 0, "out of memory"), -1;
			}
			f->onehot = 1;
			f->n_cats = cats->len;
		} else {
			return fail(L, "unknown preprocessing op '%s'; expected impute, scale or onehot",
				    op->u.string), -1;
		}
	}
	if (mi->type == MODEL_INPUT_CATEGORY && !f->onehot)
		return fail(L, "category input '%s' needs a onehot step", mi->name), -1;
	if (impute_cat) {
		const char *s = impute_cat->type == JSON_STRING ? impute_cat->u.string : NULL;
		size_t len = s ? impute_cat->len : impute_cat->raw_len;
		f->impute = strmap_get(&mi->categories, s ? s : impute_cat->raw, len);
	}
	f->offset = t->width;
	t->width += f->onehot ? f->n_cats : 1;
	return 0;
}

static int load_classes(loader *L, model *m, const json_value *root)
{
	const json_value *task = need(L, root, "task", JSON_STRING, "");
	if (!task)
		return -1;
	if (strcmp(task->u.string, "regression") == 0) {
		m->task = MODEL_TASK_REGRESSION;
		m->n_outputs = 1;
		return 0;
	}
	if (strcmp(task->u.string, "binary") == 0)
		m->task = MODEL_TASK_BINARY;
	else if (strcmp(task->u.string, "multiclass") == 0)
		m->task = MODEL_TASK_MULTICLASS;
	else
		return fail(L, "task '%s' is not supported; expected binary, multiclass or regression",
			    task->u.string), -1;
	const json_value *classes = need(L, root, "classes", JSON_ARRAY, "");
	if (!classes)
		return -1;
	if (classes->len < 2 || (m->task == MODEL_TASK_BINARY && classes->len != 2))
		return fail(L, "'classes' has %s entries; expected 2 for binary, >= 2 for multiclass",
			    classes->len < 2 ? "too few" : "too many"), -1;
	m->classes = calloc(classes->len, sizeof *m->classes);
	if (!m->classes)
		return bf_err_set(L->err, BF_ENOMEM, L->path, 0, 0, "out of memory"), -1;
	for (uint32_t i = 0; i < classes->len; i++) {
		if (classes->u.items[i].type != JSON_STRING)
			return fail(L, "'classes' must hold strings"), -1;
		m->classes[m->n_classes++] = strdup(classes->u.items[i].u.string);
	}
	m->n_outputs = m->task == MODEL_TASK_BINARY ? 1 : m->n_classes;
	return 0;
}

static int load_linear(loader *L, model *m, tabular *t, const json_value *root)
{
	const json_value *lin = need(L, root, "linear", JSON_OBJECT, "");
	const json_value *link = lin ? need(L, lin, "link", JSON_STRING, "linear") : NULL;
	const json_value *coef = lin ? need(L, lin, "coef", JSON_ARRAY, "linear") : NULL;
	if (!link || !coef)
		return -1;
	if (parse_link(link->u.string, &t->link) < 0)
		return fail(L, "link '%s' is not supported; expected logistic, softmax, ovr or identity",
			    link->u.string), -1;
	size_t rows = m->task == MODEL_TASK_MULTICLASS ? m->n_classes : 1;
	int link_ok = m->task == MODEL_TASK_REGRESSION  ? t->link == TAB_LINK_IDENTITY
		      : m->task == MODEL_TASK_BINARY    ? t->link == TAB_LINK_LOGISTIC
							: t->link == TAB_LINK_SOFTMAX || t->link == TAB_LINK_OVR;
	if (!link_ok)
		return fail(L, "link '%s' does not fit the model's task", link->u.string), -1;
	t->n_rows = rows;
	t->coef = matrix(L, coef, rows, t->width, "linear.coef");
	t->intercept = t->coef ? numbers(L, json_get(lin, "intercept"), rows, NULL, "linear.intercept") : NULL;
	if (!t->intercept)
		return -1;
	m->n_params = rows * (t->width + 1);
	return 0;
}

static int load_mlp(loader *L, model *m, tabular *t, const json_value *root)
{
	const json_value *mlp = need(L, root, "mlp", JSON_OBJECT, "");
	const json_value *act = mlp ? need(L, mlp, "activation", JSON_STRING, "mlp") : NULL;
	const json_value *out = mlp ? need(L, mlp, "output", JSON_STRING, "mlp") : NULL;
	const json_value *layers = mlp ? need(L, mlp, "layers", JSON_ARRAY, "mlp") : NULL;
	if (!act || !out || !layers)
		return -1;
	if (parse_act(act->u.string, &t->act) < 0)
		return fail(L, "activation '%s' is not supported; expected relu, tanh, logistic or identity",
			    act->u.string), -1;
	if (parse_link(out->u.string, &t->out) < 0 || t->out == TAB_LINK_OVR)
		return fail(L, "output '%s' is not supported; expected logistic, softmax or identity",
			    out->u.string), -1;
	if (layers->len == 0)
		return fail(L, "'mlp.layers' is empty"), -1;
	t->layers = calloc(layers->len, sizeof *t->layers);
	if (!t->layers)
		return bf_err_set(L->err, BF_ENOMEM, L->path, 0, 0, "out of memory"), -1;
	size_t n_in = t->width;
	t->max_dim = n_in;
	for (uint32_t i = 0; i < layers->len; i++) {
		const json_value *lv = &layers->u.items[i];
		const json_value *w = need(L, lv, "weights", JSON_ARRAY, "mlp.layers[]");
		if (!w)
			return -1;
		size_t n_out = w->len && w->u.items[0].type == JSON_ARRAY ? w->u.items[0].len : 0;
		if (!n_out)
			return fail(L, "'mlp.layers[].weights' must be a non-empty matrix"), -1;
		tab_layer *layer = &t->layers[t->n_layers++];
		layer->n_in = n_in;
		layer->n_out = n_out;
		layer->w = matrix(L, w, n_in, n_out, "mlp.layers[].weights");
		layer->b = layer->w ? numbers(L, json_get(lv, "bias"), n_out, NULL, "mlp.layers[].bias") : NULL;
		if (!layer->b)
			return -1;
		m->n_params += (n_in + 1) * n_out;
		n_in = n_out;
		if (n_out > t->max_dim)
			t->max_dim = n_out;
	}
	size_t want = m->task == MODEL_TASK_MULTICLASS ? m->n_classes : 1;
	tab_link want_out = m->task == MODEL_TASK_MULTICLASS ? TAB_LINK_SOFTMAX
			    : m->task == MODEL_TASK_BINARY   ? TAB_LINK_LOGISTIC
							     : TAB_LINK_IDENTITY;
	if (n_in != want || t->out != want_out)
		return fail(L, "the last MLP layer (%s) does not fit the model's task", out->u.string), -1;
	return 0;
}

static void tab_free(model *m);

extern const model_backend mlp_backend;

static int tab_load(model *m, const model_file *file, const void *opts, bf_error *err)
{
	(void)opts;
	const char *text = file->data;
	size_t len = file->size;
	loader L = {m->path, err};
	arena a;
	arena_init(&a, 1 << 20);
	json_value *root;
	json_error jerr;
	int rc = -1;
	if (json_parse(text, len, &a, &root, &jerr) < 0) {
		bf_err_set(err, BF_EMODEL, m->path, jerr.line, jerr.column, "%s", jerr.message);
		goto out;
	}
	const json_value *format = json_get(root, "format");
	if (!format || format->type != JSON_STRING || strcmp(format->u.string, "binfer-tabular") != 0) {
		bf_err_set(err, BF_EMODEL, m->path, 0, 0,
			   "not a binfer-tabular model file ('format' is not \"binfer-tabular\"); "
			   "export scikit-learn models with tools/binfer-export-sklearn");
		goto out;
	}
	const json_value *version = need(&L, root, "version", JSON_NUMBER, "");
	if (!version)
		goto out;
	if (version->u.number != 1) {
		bf_err_set(err, BF_EMODEL, m->path, 0, 0, "model format version %g is not supported; expected 1",
			   version->u.number);
		goto out;
	}
	const json_value *kind = need(&L, root, "kind", JSON_STRING, "");
	if (!kind)
		goto out;
	tabular *t = calloc(1, sizeof *t);
	if (!t) {
		bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
		goto out;
	}
	m->impl = t;
	if (strcmp(kind->u.string, "linear") == 0)
		t->is_mlp = 0;
	else if (strcmp(kind->u.string, "mlp") == 0)
		t->is_mlp = 1;
	else {
		fail(&L, "model kind '%s' in the file is not supported; expected linear or mlp",
		     kind->u.string);
		goto out;
	}
	if (t->is_mlp != (m->backend == &mlp_backend)) {
		bf_err_set(err, BF_ESPEC, m->path, 0, 0, "the file holds a '%s' model but model.kind is '%s'",
			   kind->u.string, m->kind->name);
		goto out;
	}
	if (load_inputs(&L, m, root) < 0 || load_classes(&L, m, root) < 0)
		goto out;
	const json_value *features = need(&L, root, "features", JSON_ARRAY, "");
	if (!features)
		goto out;
	t->features = calloc(features->len ? features->len : 1, sizeof *t->features);
	if (!t->features) {
		bf_err_set(err, BF_ENOMEM, m->path, 0, 0, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < features->len; i++, t->n_features++)
		if (load_feature(&L, m, t, &features->u.items[i], &t->features[i]) < 0)
			goto out;
	if (t->width == 0) {
		fail(&L, "the model has no features");
		goto out;
	}
	rc = t->is_mlp ? load_mlp(&L, m, t, root) : load_linear(&L, m, t, root);
	m->finite_inputs = 1; /* scikit-learn's check_array refuses infinity */
out:
	arena_free(&a);
	if (rc && err && err->code == BF_OK)
		err->code = BF_EMODEL;
	return rc ? (err ? err->code : BF_EMODEL) : BF_OK;
}

static void tab_free(model *m)
{
	tabular *t = m->impl;
	if (!t)
		return;
	free(t->features);
	free(t->coef);
	free(t->intercept);
	for (size_t i = 0; i < t->n_layers; i++) {
		free(t->layers[i].w);
		free(t->layers[i].b);
	}
	free(t->layers);
	free(t);
	m->impl = NULL;
}

/* ---- scoring ---------------------------------------------------------- */

/* Fills f (width) from one input row; see the format's semantics. */
static void preprocess(const tabular *t, const double *x, double *f)
{
	for (size_t i = 0; i < t->n_features; i++) {
		const tab_feature *ft = &t->features[i];
		double v = x[ft->input];
		if (isnan(v) && ft->has_impute)
			v = ft->impute;
		if (ft->onehot) {
			double *o = f + ft->offset;
			memset(o, 0, ft->n_cats * sizeof *o);
			if (v >= 0 && v < (double)ft->n_cats)
				o[(size_t)v] = 1;
		} else {
			f[ft->offset] = ft->has_scale ? (v - ft->mean) / ft->scale : v;
		}
	}
}

static double sigmoid(double z)
{
	return 1 / (1 + exp(-z));
}

static void softmax(double *z, size_t n)
{
	double max = z[0], sum = 0;
	for (size_t k = 1; k < n; k++)
		if (z[k] > max)
			max = z[k];
	for (size_t k = 0; k < n; k++)
		sum += z[k] = exp(z[k] - max);
	for (size_t k = 0; k < n; k++)
		z[k] /= sum;
}

static void apply_link(tab_link link, double *z, size_t n)
{
	switch (link) {
	case TAB_LINK_IDENTITY:
		break;
	case TAB_LINK_LOGISTIC:
		z[0] = sigmoid(z[0]);
		break;
	case TAB_LINK_SOFTMAX:
		softmax(z, n);
		break;
	case TAB_LINK_OVR: {
		double sum = 0;
		for (size_t k = 0; k < n; k++)
			sum += z[k] = sigmoid(z[k]);
		for (size_t k = 0; k < n; k++)
			z[k] /= sum;
		break;
	}
	}
}

static void activate(tab_act act, double *h, size_t n)
{
	switch (act) {
	case TAB_ACT_IDENTITY:
		break;
	case TAB_ACT_RELU:
		for (size_t i = 0; i < n; i++)
			h[i] = h[i] > 0 ? h[i] : 0;
		break;
	case TAB_ACT_TANH:
		for (size_t i = 0; i < n; i++)
			h[i] = tanh(h[i]);
		break;
	case TAB_ACT_LOGISTIC:
		for (size_t i = 0; i < n; i++)
			h[i] = sigmoid(h[i]);
		break;
	}
}

static int tab_predict(const model *m, const double *x, size_t n, double *out, arena *scratch)
{
	const tabular *t = m->impl;
	if (!t->is_mlp) {
		/* Sums coef * feature without building the feature vector: a one-hot
		 * block adds one coefficient (or none), a number adds one product. */
		double *z = arena_alloc(scratch, t->n_rows * sizeof *z);
		if (!z)
			return -1;
		size_t K = t->n_rows, W = t->width;
		if (K == 1) {
			/* Binary and regression: one dot product a row. */
			for (size_t r = 0; r < n; r++) {
				const double *xr = x + r * m->n_inputs;
				double s = 0;
				for (size_t i = 0; i < t->n_features; i++) {
					const tab_feature *ft = &t->features[i];
					double v = xr[ft->input];
					if (isnan(v) && ft->has_impute)
						v = ft->impute;
					if (!ft->onehot)
						s += t->coef[ft->offset] * (ft->has_scale ? (v - ft->mean) / ft->scale : v);
					else if (v >= 0 && v < (double)ft->n_cats)
						s += t->coef[ft->offset + (size_t)v];
				}
				out[r] = s + t->intercept[0];
				apply_link(t->link, out + r, 1);
			}
			return 0;
		}
		for (size_t r = 0; r < n; r++) {
			const double *xr = x + r * m->n_inputs;
			for (size_t k = 0; k < K; k++)
				z[k] = 0;
			for (size_t i = 0; i < t->n_features; i++) {
				const tab_feature *ft = &t->features[i];
				double v = xr[ft->input];
				if (isnan(v) && ft->has_impute)
					v = ft->impute;
				if (ft->onehot) {
					if (v >= 0 && v < (double)ft->n_cats) {
						const double *c = t->coef + ft->offset + (size_t)v;
						for (size_t k = 0; k < K; k++)
							z[k] += c[k * W];
					}
				} else {
					double f = ft->has_scale ? (v - ft->mean) / ft->scale : v;
					const double *c = t->coef + ft->offset;
					for (size_t k = 0; k < K; k++)
						z[k] += c[k * W] * f;
				}
			}
			for (size_t k = 0; k < K; k++)
				z[k] += t->intercept[k];
			apply_link(t->link, z, K);
			memcpy(out + r * m->n_outputs, z, m->n_outputs * sizeof *z);
		}
		return 0;
	}
	/* MLP: the block goes through each layer as one GEMM, (n, in) x (in, out). */
	double *a = arena_alloc(scratch, n * t->max_dim * sizeof *a);
	double *b = arena_alloc(scratch, n * t->max_dim * sizeof *b);
	if (!a || !b)
		return -1;
	for (size_t r = 0; r < n; r++)
		preprocess(t, x + r * m->n_inputs, a + r * t->width);
	for (size_t l = 0; l < t->n_layers; l++) {
		const tab_layer *L = &t->layers[l];
		for (size_t r = 0; r < n; r++)
			memcpy(b + r * L->n_out, L->b, L->n_out * sizeof *b);
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)L->n_out, (int)L->n_in, 1.0,
			    a, (int)L->n_in, L->w, (int)L->n_out, 1.0, b, (int)L->n_out);
		if (l + 1 < t->n_layers)
			activate(t->act, b, n * L->n_out);
		else
			for (size_t r = 0; r < n; r++)
				apply_link(t->out, b + r * L->n_out, L->n_out);
		double *tmp = a;
		a = b;
		b = tmp;
	}
	memcpy(out, a, n * m->n_outputs * sizeof *out);
	return 0;
}

static void tab_describe(const model *m, FILE *f)
{
	const tabular *t = m->impl;
	static const char *links[] = {"identity", "logistic", "softmax", "ovr"};
	static const char *acts[] = {"identity", "relu", "tanh", "logistic"};
	fprintf(f, "feature width: %zu (from %zu input columns)\n", t->width, m->n_inputs);
	if (t->is_mlp) {
		fprintf(f, "layers: %zu", t->width);
		for (size_t l = 0; l < t->n_layers; l++)
			fprintf(f, " -> %zu", t->layers[l].n_out);
		fprintf(f, "\nactivation: %s\noutput: %s\n", acts[t->act], links[t->out]);
	} else {
		fprintf(f, "link: %s\n", links[t->link]);
	}
}

/* One backend for each kind of file, so that a kind that names the wrong
 * one is caught: logistic and linear models are "linear" files. */
const model_backend linear_backend = {
	.load = tab_load,
	.predict = tab_predict,
	.describe = tab_describe,
	.free = tab_free,
	.lists_inputs = 1,
};

const model_backend mlp_backend = {
	.load = tab_load,
	.predict = tab_predict,
	.describe = tab_describe,
	.free = tab_free,
	.lists_inputs = 1,
};
