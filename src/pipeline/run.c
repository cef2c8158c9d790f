/* run.c: a job's lifecycle (pipeline.h): open everything that can fail
 * before any output exists, run the reader, compute and writer stages
 * over the batch pool (stages.h), then commit the outputs, or abort them so
 * that nothing is left under the final names. */
#include <cblas.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "stages.h"

/* The signals a run handles (INT, TERM, HUP) go to the main thread only:
 * the other threads start with them blocked, so that the commit, which
 * holds them off in the main thread, is not interrupted from elsewhere. */
static void block_run_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

double pipeline_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ==== open and close ===================================================== */

void run_close(run *r)
{
	for (int i = 0; i < POOL_SIZE; i++)
		batch_free(&r->pool[i]);
	if (r->scratch)
		for (int t = 0; t < r->threads; t++)
			arena_free(&r->scratch[t]);
	free(r->scratch);
	if (r->cctx)
		for (int t = 0; t < r->threads; t++)
			ZSTD_freeCCtx(r->cctx[t]);
	free(r->cctx);
	free(r->carry);
	fmt_free(&r->fmt);
	rows_plan_free(&r->plan);
	source_close(r->src);
	model_free(r->m);
	queue_destroy(&r->free_q);
	queue_destroy(&r->full_q);
	queue_destroy(&r->done_q);
	outputs_abort(r->outs);
	r->outs = NULL;
}

/* The row plan, from the input's header when it has one. */
static int open_plan(run *r, bf_error *err)
{
	const job_spec *spec = r->spec;
	if (spec->input.format != SPEC_FORMAT_CSV || !spec->input.header)
		return rows_plan_open(&r->plan, r->m, spec, NULL, 0, err);
	batch hb;
	int rc = BF_OK;
	if (batch_alloc_records(&hb, 1))
		rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	else if ((rc = reader_fill(r, &hb, 1)))
		*err = r->rerr;
	else if (hb.n == 0)
		rc = bf_err_set(err, BF_EINPUT, spec->input.path, 1, 1,
				"input is empty, expected a header line (set input.csv.header: false "
				"for a file without one)");
	else if (hb.flag[0] == RECORD_TOO_LONG)
		rc = bf_err_set(err, BF_EINPUT, spec->input.path, 1, 1, "header line is longer than %zu bytes",
				spec->input.max_record_bytes);
	else
		rc = rows_plan_open(&r->plan, r->m, spec, hb.buf + hb.off[0], hb.rlen[0], err);
	batch_free(&hb);
	r->rows = 0; /* the header is not a data row */
	return rc;
}

int run_open(run *r, const job_spec *spec, bf_error *err)
{
	memset(r, 0, sizeof *r);
	r->spec = spec;
	r->records = record_format_get(spec->input.format);
	r->ropts.max_lines = (uint32_t)spec->input.max_lines;
	r->line = 1;
	r->at_start = 1;
	queue_init(&r->free_q);
	queue_init(&r->full_q);
	queue_init(&r->done_q);
	int rc = model_load_spec(spec, &r->m, err);
	if (rc)
		return rc;
	/* more threads than cores only fight over them (and each holds a
	 * scratch arena and a compression context): the cores are the cap */
	int cores = omp_get_num_procs();
	r->threads = spec->threads > 0 && spec->threads < cores ? spec->threads : cores;
	/* OpenMP's threads start now, with the run's signals blocked */
	sigset_t old;
	block_run_signals(&old);
#pragma omp parallel num_threads(r->threads)
	{
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	r->batch_rows = spec->batch_rows ? spec->batch_rows : r->m->kind->batch_rows;
	if ((rc = source_open(spec->input.path, &r->src, err)) || (rc = open_plan(r, err)))
		return rc;
	if (fmt_init(&r->fmt, spec->output.format, r->m, spec->output.include, spec->output.n_include))
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	r->scratch = calloc((size_t)r->threads, sizeof *r->scratch);
	if (!r->scratch)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	for (int t = 0; t < r->threads; t++)
		arena_init(&r->scratch[t], 1 << 20);
	return BF_OK;
}

/* ==== the run ============================================================ */

/* The batch pool and the compression contexts; the header (CSV results)
 * written first, as a frame of its own when compressed. */
static int open_outputs(run *r, uint64_t *header_bytes, bf_error *err)
{
	const job_spec *spec = r->spec;
	if (spec->output.zstd) {
		r->cctx = calloc((size_t)r->threads, sizeof *r->cctx);
		for (int t = 0; r->cctx && t < r->threads; t++)
			if (!(r->cctx[t] = sink_frame_context(spec->output.zstd_level)))
				return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		if (!r->cctx)
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	}
	int rc = BF_OK;
	for (int i = 0; !rc && i < POOL_SIZE; i++)
		if (batch_alloc(&r->pool[i], r->batch_rows, r->m, spec->output.n_include, r->threads))
			rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory for %zu-row batches", r->batch_rows);
	if (rc)
		return rc;
	tbuf head = {0}, z = {0};
	if (fmt_header(&r->fmt, spec->output.include, &head) ||
	    (r->cctx && sink_frame(r->cctx[0], &head, 1, 0, head.len, &z)))
		rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	else if (r->cctx && z.len)
		rc = sink_write(r->out, z.p, z.len, err);
	else if (!r->cctx && head.len)
		rc = sink_write(r->out, head.p, head.len, err);
	*header_bytes = head.len;
	tbuf_free(&head);
	tbuf_free(&z);
	return rc;
}

/* The main thread's loop: full batches through compute to the writer. */
static int compute_all(run *r, const run_options *opt, report *rep, double t_start, bf_error *err)
{
	double next_progress = pipeline_now() + 0.5;
	for (;;) {
		batch *b = queue_pop(&r->full_q);
		if (!b)
			return BF_OK;
		if (b->last || atomic_load(&r->failed)) {
			b->last = 1;
			queue_push(&r->done_q, b);
			return BF_OK;
		}
		if (compute_batch(r, b)) {
			atomic_store(&r->failed, 1);
			b->last = 1;
			queue_push(&r->done_q, b);
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory while scoring");
		}
		const model *m = r->m;
		double flops = m->backend->flops ? m->backend->flops(m, b->counts.tokens, b->counts.len_sq) : 0;
		report_add_batch(rep, b->n, &b->counts, flops, b->latency_ms);
		queue_push(&r->done_q, b);
		if (opt && opt->on_progress && pipeline_now() >= next_progress) {
			report_input(rep, source_bytes_in(r->src), source_bytes_out(r->src), pipeline_now() - t_start);
			opt->on_progress(rep, 0, opt->ctx);
			next_progress = pipeline_now() + 0.5;
		}
	}
}

/* Runs the reader and writer threads around the main thread's loop. */
static int run_stages(run *r, const run_options *opt, report *rep, double t_start, bf_error *err)
{
	for (int i = 0; i < POOL_SIZE; i++)
		queue_push(&r->free_q, &r->pool[i]);
	pthread_t reader, writer;
	sigset_t old;
	block_run_signals(&old);
	int no_reader = pthread_create(&reader, NULL, reader_main, r);
	int no_writer = no_reader || pthread_create(&writer, NULL, writer_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (no_reader)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "cannot start the reader thread");
	if (no_writer) {
		atomic_store(&r->failed, 1);
		queue_close(&r->free_q);
		pthread_join(reader, NULL);
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "cannot start the writer thread");
	}
	int rc = compute_all(r, opt, rep, t_start, err);
	pthread_join(writer, NULL);
	/* The reader may be waiting for a free batch after a failure. */
	queue_close(&r->free_q);
	pthread_join(reader, NULL);
	if (!rc && atomic_load(&r->failed)) {
		if (r->rerr.code)
			*err = r->rerr, rc = r->rerr.code;
		else if (r->werr.code)
			*err = r->werr, rc = r->werr.code;
		else
			rc = bf_err_set(err, BF_EINPUT, r->spec->input.path, 0, 0, "the run stopped");
	}
	if (err && err->code == BF_EINPUT && !err->path[0])
		snprintf(err->path, sizeof err->path, "%s", r->spec->input.path);
	return rc;
}

/* Permission bits for the outputs: those of the input, at most (its raw
 * rows end up in the rejects), as zstd does. */
static mode_t output_mode(const job_spec *spec)
{
	struct stat st;
	if (strcmp(spec->input.path, "-") && stat(spec->input.path, &st) == 0 && S_ISREG(st.st_mode))
		return st.st_mode & 0666;
	return 0666;
}

/* The report into its sink, then the whole set published. */
static int publish(run *r, report *rep, bf_error *err)
{
	sink *s = outputs_sink(r->outs, OUT_REPORT);
	int rc = s ? report_write(rep, s, err) : BF_OK;
	if (rc) {
		outputs_abort(r->outs);
		r->outs = NULL;
		return rc;
	}
	rc = outputs_commit(r->outs, err);
	r->outs = NULL;
	return rc;
}

int run_job(const job_spec *spec, const run_options *opt, report *rep, bf_error *err)
{
	double t_start = pipeline_now();
	run r;
	report_begin(rep, spec);
	/* nothing is read before the paths are known to be safe */
	int rc = outputs_check(spec, err);
	outputs *outs = NULL;
	if (!rc)
		rc = outputs_open(spec, output_mode(spec), &outs, err);
	if (rc)
		return rc;
	rc = run_open(&r, spec, err);
	r.outs = outs;
	if (rc) {
		run_close(&r);
		return rc;
	}
	r.out = outputs_sink(outs, OUT_RESULTS);
	r.rej = outputs_sink(outs, OUT_REJECTS);
	report_setup(rep, r.m, r.threads, r.batch_rows, source_is_zstd(r.src), source_size(r.src));
	rep->threads_asked = spec->threads;
	openblas_set_num_threads(1);
	uint64_t header_bytes = 0;
	rc = open_outputs(&r, &header_bytes, err);
	if (!rc)
		rc = run_stages(&r, opt, rep, t_start, err);
	report_input(rep, source_bytes_in(r.src), source_bytes_out(r.src), pipeline_now() - t_start);
	report_end(rep, r.t_read, r.t_write, header_bytes, r.out ? sink_bytes(r.out) : 0,
		   r.rej ? sink_bytes(r.rej) : 0, pipeline_now() - t_start);
	if (!rc)
		rc = publish(&r, rep, err);
	if (opt && opt->on_progress)
		opt->on_progress(rep, 1, opt->ctx);
	run_close(&r);
	return rc;
}
