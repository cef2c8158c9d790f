/* pipeline.h: a job from source to sink.
 *
 *   reader thread:  source -> records (framing) -> batches
 *   main thread:    batches -> rows -> model -> result text, OpenMP over row blocks
 *   writer thread:  result text -> zstd -> temporary file, renamed at the end
 *
 * Batches come from a fixed pool, so memory is bounded whatever the input
 * size, and pass through the three stages in order, so results keep the
 * input's order whatever the batching and threading. */
#ifndef BF_PIPELINE_H
#define BF_PIPELINE_H

#include "error.h"
#include "model.h"
#include "report.h"
#include "rows.h"
#include "spec.h"

typedef struct run_options {
	/* Called from the main thread about twice a second while running, and
	 * once with done = 1 at the end; NULL ok. */
	void (*on_progress)(const report *r, int done, void *ctx);
	void *ctx;
} run_options;

/* Runs the job. Fills rep (also on failure, as far as the run got) and
 * writes the output, rejects and report files. Returns BF_OK, or the status
 * that stopped the run (nothing is left under the final names then). */
int run_job(const job_spec *spec, const run_options *opt, report *rep, bf_error *err);

#define PLAN_SHOWN_REJECTS 5

/* What run_job would do, found by run_validate. */
typedef struct job_plan {
	model *m;                 /* the loaded model */
	char **source;            /* (m->n_inputs) the column or field each input reads */
	char **level;             /* (m->n_inputs) an indicator input's level, else NULL */
	int input_zstd;
	int threads;
	size_t batch_rows;
	int batch_auto;           /* batch_rows is the kind's default */
	size_t sample_rows;       /* rows read from the input */
	uint64_t scored, rejected;
	struct {
		int64_t line;
		rows_reason reason;
		char *why;
	} shown[PLAN_SHOWN_REJECTS]; /* the first rejects of the sample */
	size_t n_shown;
} job_plan;

/* Checks what run_job would do without writing anything: loads the model,
 * reads the input's header and first rows (up to sample_rows), scores them
 * and fills *plan (job_plan_free it, also on failure). */
int run_validate(const job_spec *spec, size_t sample_rows, job_plan *plan, bf_error *err);
void job_plan_free(job_plan *plan);

#endif
