/* xgboost_fuzz.c: libFuzzer target for xgb_load + xgb_margin_ref: an
 * XGBoost model (JSON, UBJSON or legacy binary) that loads is scored on a
 * few rows of edge values.
 *
 * corpus: testdata/fuzz/xgboost testdata/fixtures/treelite/xgb_toy_categorical testdata/fixtures/treelite/mushroom
 * max_len: 200000 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "trees.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tree_ensemble e;
	bf_error err;
	if (xgb_load(&e, (const char *)data, size, "fuzz", &err) != BF_OK) {
		if (!err.message[0]) abort();
		return 0;
	}
	double *row = malloc((e.n_features + 1) * sizeof *row);
	double *m = malloc(e.n_groups * sizeof *m);
	double vals[] = {NAN, 0.0, 1.0, -1.0, 3.5, 1e30, -0.0, 40.0};
	for (int k = 0; k < 8; k++) {
		for (size_t i = 0; i < e.n_features; i++)
			row[i] = vals[(i + k) % 8];
		xgb_margin_ref(&e, row, e.n_trees, m);
	}
	free(row);
	free(m);
	tree_ensemble_free(&e);
	return 0;
}
