/* fasttext_fuzz.c: libFuzzer target for the fastText backend. An input
 * that starts with fastText's magic number is a model file: ft_load, and
 * when the mutated file still loads, ft_tokenize + ft_predict on a few
 * lines. Any other input is a line of text, tokenized and predicted with
 * the models of testdata/fasttext/ (loaded once; run from the repository
 * root). Built by `make fuzz`, run briefly by `make fuzz-smoke`:
 *   build-fuzz/fasttext/fasttext_fuzz -max_len=65536 NEW_DIR testdata/fuzz/fasttext
 * Inputs that crashed, once fixed, go to testdata/fuzz/fasttext/, where
 * fasttext_test.c loads them.
 *
 * corpus: testdata/fuzz/fasttext
 * max_len: 65536 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fasttext.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *text_models[] = {"testdata/fasttext/softmax_subword.bin",
				    "testdata/fasttext/hs_trigram.bin",
				    "testdata/fasttext/subword_q.ftz", "testdata/fasttext/ova_qout.ftz"};
static ft_model loaded[4];
static int n_loaded;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (size_t i = 0; i < sizeof text_models / sizeof *text_models; i++) {
		FILE *f = fopen(text_models[i], "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		rewind(f);
		char *data = malloc((size_t)n);
		bf_error err;
		if (data && fread(data, 1, (size_t)n, f) == (size_t)n &&
		    ft_load(&loaded[n_loaded], data, (size_t)n, text_models[i], &err) == BF_OK)
			n_loaded++; /* data stays for the process's life */
		fclose(f);
	}
	return 0;
}

static void predict_line(const ft_model *m, const char *line, size_t len)
{
	size_t cap = ft_ids_bound(m, len);
	int32_t *ids = malloc(cap * sizeof *ids);
	float *scratch = malloc(ft_scratch_floats(m) * sizeof *scratch);
	int32_t *labels = malloc((size_t)m->nlabels * sizeof *labels);
	float *probs = malloc((size_t)m->nlabels * sizeof *probs);
	if (ids && scratch && labels && probs) {
		size_t n = ft_tokenize(m, line, len, ids, cap, NULL);
		if (n == FT_IDS_OVERFLOW)
			abort(); /* ft_ids_bound must always suffice */
		ft_predict(m, ids, n, -1, 0.0f, labels, probs, scratch);
		ft_predict(m, ids, n, 2, 0.3f, labels, probs, scratch);
	}
	free(ids);
	free(scratch);
	free(labels);
	free(probs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: reads past the end are caught. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size < 4 || memcmp(copy, "\xba\x16\x4f\x2f", 4) != 0) {
		for (int i = 0; i < n_loaded; i++)
			predict_line(&loaded[i], copy, size);
		free(copy);
		return 0;
	}
	ft_model m;
	bf_error err;
	if (ft_load(&m, copy, size, "fuzz.bin", &err) == BF_OK) {
		static const char *lines[] = {"", "a b c", "\xc3\xa9t\xc3\xa9 __label__x </s> y",
					      "the quick brown fox \xf0\x9f\xa6\x8a jumps\t\x80\xff"};
		for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
			predict_line(&m, lines[i], strlen(lines[i]));
		ft_free(&m);
	}
	free(copy);
	return 0;
}
