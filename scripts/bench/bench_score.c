/* bench_score.c: model evaluation alone, on rows already in memory.
 *
 *   bench_score KIND MODEL IN.csv [THREADS] [RUNS] [SCORES.jsonl]
 *
 * Reads the CSV once (header names = model inputs; other columns ignored;
 * empty cells are missing) into a (rows, inputs) matrix of doubles, then
 * scores it RUNS times with THREADS OpenMP threads over blocks of 8192 rows,
 * as `binfer run` does, and prints the median seconds and rows/s. With
 * SCORES.jsonl, writes each row's first output as {"score": v} (9 digits, as
 * binfer prints), for the benchmark to check it against the other tools.
 * Built by `make bench`; this is a benchmark harness, not part of binfer. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "model.h"
#include "numparse.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_score KIND MODEL IN.csv [THREADS] [RUNS] [SCORES.jsonl]\n");
		return 2;
	}
	int threads = argc > 4 ? atoi(argv[4]) : 2, runs = argc > 5 ? atoi(argv[5]) : 5;
	model *m;
	bf_error err = {0};
	if (model_load(argv[1], argv[2], NULL, &m, &err)) {
		fprintf(stderr, "bench_score: %s: %s\n", err.path, err.message);
		return 3;
	}
	FILE *f = fopen(argv[3], "r");
	if (!f)
		return perror(argv[3]), 3;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, f);
	if (len <= 0)
		return 3;
	/* header -> column of each model input */
	int cols = 0, map[4096];
	for (char *save = NULL, *tok = strtok_r(line, ",\r\n", &save); tok && cols < 4096;
	     tok = strtok_r(NULL, ",\r\n", &save), cols++)
		map[cols] = model_input_index(m, tok);
	size_t ni = m->n_inputs, n = 0, rcap = 1 << 20;
	double *x = malloc(rcap * ni * sizeof *x);
	while ((len = getline(&line, &cap, f)) > 0) {
		if (n == rcap) {
			rcap *= 2;
			x = realloc(x, rcap * ni * sizeof *x);
		}
		double *row = x + n * ni;
		for (size_t i = 0; i < ni; i++)
			row[i] = NAN;
		char *p = line;
		for (int c = 0; c < cols && p; c++) {
			char *end = strpbrk(p, ",\r\n");
			if (map[c] >= 0 && end != p)
				row[map[c]] = strtod(p, NULL);
			p = end && *end == ',' ? end + 1 : NULL;
		}
		n++;
	}
	fclose(f);
	free(line);
	double *out = malloc(n * m->n_outputs * sizeof *out), t[64];
	arena *scratch = calloc((size_t)threads, sizeof *scratch);
	for (int k = 0; k < threads; k++)
		arena_init(&scratch[k], 1 << 20);
	if (runs > 64)
		runs = 64;
	for (int r = 0; r < runs; r++) {
		double t0 = now();
#pragma omp parallel for num_threads(threads) schedule(static)
		for (size_t b = 0; b < n; b += 8192) {
			arena *a = &scratch[omp_get_thread_num()];
			arena_reset(a);
			size_t nb = n - b < 8192 ? n - b : 8192;
			m->backend->predict(m, x + b * ni, nb, out + b * m->n_outputs, a);
		}
		t[r] = now() - t0;
	}
	qsort(t, (size_t)runs, sizeof *t, cmp);
	double med = t[runs / 2];
	printf("%zu rows, %d threads, median %.4f s, %.0f rows/s (first score %.9g)\n", n, threads, med, n / med, out[0]);
	if (argc > 6) {
		FILE *g = fopen(argv[6], "w");
		if (!g)
			return perror(argv[6]), 3;
		char num[32];
		for (size_t r = 0; r < n; r++) {
			num_format_f32(num, out[r * m->n_outputs]);
			fprintf(g, "{\"score\": %s}\n", num);
		}
		if (fclose(g) != 0)
			return perror(argv[6]), 3;
	}
	for (int k = 0; k < threads; k++)
		arena_free(&scratch[k]);
	free(scratch);
	free(out);
	free(x);
	model_free(m);
	return 0;
}
