/* report.h: what a run did, observed from every stage; written as
 * report.json and summarised on stderr. The report observes, never steers. */
#ifndef BF_REPORT_H
#define BF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "model.h"
#include "rows.h"
#include "sink.h"
#include "spec.h"

/* Batch latencies in a log-scale histogram: bounded memory for any run. */
#define REPORT_LAT_BUCKETS 2400   /* 1 us * 1.01^i, up to ~6 hours */

typedef struct report {
	char job[256];
	char version[32];
	double start_unix, end_unix;       /* seconds since the epoch */
	double wall_s;

	char model_kind[32];
	char model_path[1024];
	char model_sha256[65];
	uint64_t model_params;

	char input_path[1024];
	char input_format[8];
	int input_zstd;
	uint64_t input_bytes;              /* bytes read from the file (compressed when zstd) */
	uint64_t input_bytes_raw;          /* decompressed */
	int64_t input_size;                /* file size, -1 unknown */
	uint64_t rows_read;
	uint64_t rows_scored;
	uint64_t rows_rejected;
	uint64_t rejected_by[ROWS_N_REASONS];

	char output_path[1024];
	char output_format[8];
	uint64_t rows_written;
	uint64_t output_bytes_raw;         /* before compression */
	uint64_t output_bytes;             /* on disk */
	char rejects_path[1024];           /* "" when off */
	uint64_t rejects_bytes;
	double max_ratio;

	uint64_t batches;
	size_t batch_rows;
	uint32_t lat_hist[REPORT_LAT_BUCKETS];
	double lat_max_ms;
	double t_read_s, t_parse_s, t_compute_s, t_format_s, t_write_s;

	uint64_t tokens;                   /* text models: tokens scored */
	uint64_t truncated_rows;           /* text models: texts cut at max_length */
	double model_flops;                /* floating-point operations of the model (when known) */
	int text_model;

	int threads;
	int threads_asked;                 /* the spec's threads (0 = all cores), when more than the cores */
	int blas_threads;
	double usd_per_hour;
} report;

/* What a batch (or one thread's chunks of it) came to: rows scored and
 * rejected by reason, result bytes before compression, text models'
 * tokens, rows cut at the model's max length and squared sequence lengths
 * (attention cost), and the time spent in each step. */
typedef struct report_counts {
	uint64_t scored, rejected, by[ROWS_N_REASONS];
	uint64_t text_bytes, tokens, truncated;
	double len_sq;
	double t_parse, t_compute, t_format;
} report_counts;

/* Adds b's counts to a's. */
void report_counts_add(report_counts *a, const report_counts *b);

/* The run's lifecycle, in order. report_begin: the job as the spec says
 * (before anything is opened); report_setup: once the model is loaded and
 * the input opened; report_add_batch: per batch, in input order, with the
 * model's floating-point operations for it (0 when unknown);
 * report_input: the bytes read so far; report_end: the time split of the
 * reader and writer threads, the output's header (written before any
 * batch), and the sizes of the results and rejects files as written. */
void report_begin(report *r, const job_spec *spec);
void report_setup(report *r, const model *m, int threads, size_t batch_rows, int input_zstd, int64_t input_size);
void report_add_batch(report *r, uint64_t rows, const report_counts *c, double flops, double latency_ms);
void report_input(report *r, uint64_t bytes_in, uint64_t bytes_raw, double wall_s);
void report_end(report *r, double t_read, double t_write, uint64_t header_bytes, uint64_t output_bytes,
		uint64_t rejects_bytes, double wall_s);

void report_add_latency(report *r, double ms);
/* The q-quantile (0..1) of batch latency in ms (bucket upper bound), 0 when empty. */
double report_latency_ms(const report *r, double q);
/* Writes the report as JSON into s (the report's sink of the run's outputs). */
int report_write(const report *r, sink *s, bf_error *err);
/* The short human summary for stderr. */
void report_summary(const report *r, FILE *f);
/* A warning when rejected rows were not kept anywhere (rejects off):
 * printed even when the summary is not. */
void report_lost(const report *r, FILE *f);

#endif
