/* lightgbm_fuzz.c: libFuzzer target for lgb_load + lgb_margin_ref: a
 * LightGBM text model that loads is scored on a few rows of edge values.
 *
 * corpus: testdata/fixtures/treelite/toy_categorical testdata/fixtures/treelite/lightgbm_constant_tree testdata/fuzz/trees
 * max_len: 200000 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "trees.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tree_ensemble e;
	memset(&e, 0, sizeof e);
	bf_error err;
	int rc = lgb_load(&e, (const char *)data, size, "fuzz.txt", &err);
	if (rc == BF_OK) {
		double *row = malloc((e.n_features ? e.n_features : 1) * sizeof *row);
		double *m = malloc(e.n_groups * sizeof *m);
		static const double vals[] = {0, -0.0, 1, -1, 0.5, 2, 3, 33, 1e-36, -1e-36, 1e10, -1e10, INFINITY, -INFINITY, NAN, 64, 2147483648.0};
		for (int k = 0; k < 6; k++) {
			for (size_t j = 0; j < e.n_features; j++)
				row[j] = vals[(j * 7 + (size_t)k * 5) % (sizeof vals / sizeof *vals)];
			lgb_margin_ref(&e, row, e.n_trees, m);
		}
		free(row);
		free(m);
	} else if (rc != BF_EMODEL) {
		abort();
	} else if (!err.message[0]) {
		abort();
	}
	tree_ensemble_free(&e);
	return 0;
}
