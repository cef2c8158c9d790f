/* trees_fuzz.c: libFuzzer target that checks the fast tree evaluator
 * (tree_layout.c, tree_walk.c: its layouts, the fixed-depth walk and, with AVX2, the vector
 * walk) against the reference evaluators on mutated models. An input is an
 * XGBoost model (JSON, UBJSON or legacy binary), or a LightGBM text model
 * when it starts with "tree\n". Whatever loads is scored on 70 rows (a
 * 64-row block and a tail) drawn from its own thresholds, NaN, +/-inf and
 * category codes; every margin must equal the reference's bit for bit.
 * Inputs that failed, once fixed, go to testdata/fuzz/trees/, where
 * trees_test.c scores them.
 *
 * corpus: testdata/fuzz/trees testdata/fuzz/xgboost testdata/fixtures/treelite/toy_categorical
 * max_len: 200000 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "model.h"
#include "trees.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double draw(const tree_ensemble *e)
{
	static const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-36, -1.0, 0.5, 3.0, 16777216.0};
	if (next() % 4 == 0 || !e->n_nodes)
		return special[next() % (sizeof special / sizeof *special)];
	const tree_node *nd = &e->nodes[next() % e->n_nodes];
	double t = nd->left < 0 ? 0.0 : nd->threshold;
	switch (next() % 3) {
	case 0:
		return t;
	case 1:
		return (double)nextafterf((float)t, -INFINITY);
	default:
		return nextafter(t, INFINITY);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	int xgb = !(size >= 5 && memcmp(text, "tree\n", 5) == 0);
	tree_ensemble e;
	memset(&e, 0, sizeof e);
	bf_error err = {0};
	int rc = xgb ? xgb_load(&e, text, size, "fuzz", &err) : lgb_load(&e, text, size, "fuzz", &err);
	if (rc == BF_OK)
		rc = tree_check(&e, "fuzz", &err);
	if (rc != BF_OK || e.n_features > 4096 || e.n_nodes > 100000) {
		tree_ensemble_free(&e);
		return 0;
	}
	trees_options opt = {.raw = 1};
	model *m;
	if (model_load_mem(xgb ? "xgboost" : "lightgbm", "fuzz", text, size, &opt, &m, &err) != BF_OK) {
		/* the ensemble loaded above, so only the model's own checks may refuse it */
		if (!err.message[0])
			abort();
		tree_ensemble_free(&e);
		return 0;
	}
	size_t n = 70, nf = e.n_features, g = e.n_groups;
	double *x = malloc(n * nf * sizeof *x), *out = malloc(n * m->n_outputs * sizeof *out),
	       *ref = malloc(g * sizeof *ref);
	rng = 0x9e3779b97f4a7c15ull ^ size;
	for (size_t i = 0; i < n * nf; i++)
		x[i] = draw(&e);
	arena a;
	arena_init(&a, 1 << 16);
	if (m->backend->predict(m, x, n, out, &a) != 0)
		abort();
	for (size_t r = 0; r < n; r++) {
		if (xgb)
			xgb_margin_ref(&e, x + r * nf, e.n_trees, ref);
		else
			lgb_margin_ref(&e, x + r * nf, e.n_trees, ref);
		for (size_t k = 0; k < g; k++) {
			double got = out[r * m->n_outputs + k];
			if (!(got == ref[k] || (isnan(got) && isnan(ref[k])))) {
				fprintf(stderr, "row %zu group %zu: fast %.17g, reference %.17g\n", r, k, got, ref[k]);
				abort();
			}
		}
	}
	arena_free(&a);
	free(x);
	free(out);
	free(ref);
	model_free(m);
	tree_ensemble_free(&e);
	return 0;
}
