/* sgemm_peak.c: the single-precision GEMM rate this machine's OpenBLAS
 * reaches, the ceiling for binfer's and the anchors' BERT forward passes
 * (their time is mostly sgemm). Times cblas_sgemm on M = N = K = 2048
 * (row-major, C = A B) with 1 and 2 OpenBLAS threads (openblas_set_num_threads),
 * best of 5 after a warm-up, and prints GFLOP/s (2 M N K flops per call).
 *
 * Built and run by scripts/bench/bench_bert.sh:
 *   cc -O2 -march=native scripts/bench/sgemm_peak.c -I/usr/include/x86_64-linux-gnu/openblas-openmp \
 *      -L/usr/lib/x86_64-linux-gnu/openblas-openmp -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp \
 *      -lopenblas -fopenmp -o bench/sgemm_peak
 *   bench/sgemm_peak [N] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);
char *openblas_get_config(void);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2048;
	if (n < 16) {
		fprintf(stderr, "usage: sgemm_peak [N >= 16]\n");
		return 2;
	}
	size_t nn = (size_t)n * (size_t)n;
	float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
	if (!a || !b || !c) {
		fprintf(stderr, "sgemm_peak: out of memory\n");
		return 1;
	}
	srand(1);
	for (size_t i = 0; i < nn; i++) {
		a[i] = (float)rand() / (float)RAND_MAX - 0.5f;
		b[i] = (float)rand() / (float)RAND_MAX - 0.5f;
		c[i] = 0;
	}
	printf("OpenBLAS %s\n", openblas_get_config());
	for (int threads = 1; threads <= 2; threads++) {
		openblas_set_num_threads(threads);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		double best = 1e30;
		for (int rep = 0; rep < 5; rep++) {
			double t0 = now();
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
			double t = now() - t0;
			best = t < best ? t : best;
		}
		printf("sgemm %dx%dx%d, %d thread%s: %.1f GFLOP/s (best of 5: %.4f s)\n", n, n, n, threads,
		       threads > 1 ? "s" : "", 2.0 * n * (double)n * n / best / 1e9, best);
	}
	free(a);
	free(b);
	free(c);
	return 0;
}
