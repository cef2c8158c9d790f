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
#include "report.h"
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

/* Checks what run_job would do without writing anything: loads the model,
 * reads the input's header and first rows (up to sample_rows) and describes
 * the plan. *plan is malloc'd text for the caller to print and free. */
int run_validate(const job_spec *spec, size_t sample_rows, char **plan, bf_error *err);

#endif
