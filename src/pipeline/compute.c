/* compute.c: a batch through rows, the model and the result text, on all
 * compute threads (stages.h). The threads take chunks of rows as they come
 * free (a thread held up elsewhere takes fewer), each through parsing, the
 * model and formatting into the chunk's own text, so chunk texts
 * concatenate in input order; then, for zstd output, the threads compress
 * the text in frames of FRAME_BYTES, so the writer thread only writes. OpenBLAS is held at one thread: one level of
 * parallelism. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "stages.h"

#define WHY_MAX 256

/* Parses rows [lo, hi) of b into model inputs (or reject reasons); 1 when
 * out of memory. */
static int parse_rows(run *r, batch *b, size_t lo, size_t hi, arena *a)
{
	const model *m = r->m;
	size_t ni = m->n_inputs, ninc = r->plan.n_include;
	char why[WHY_MAX];
	int oom = 0;
	for (size_t i = lo; i < hi; i++) {
		b->id[i] = (rows_value){NULL, 0, ROWS_VALUE_ABSENT};
		b->why[i] = NULL;
		rows_reason reason;
		if (b->flag[i] == RECORD_TOO_LONG) {
			snprintf(why, WHY_MAX, "record longer than input.max_record_bytes (%zu bytes), spanning %u line%s",
				 r->spec->input.max_record_bytes, b->lines[i], b->lines[i] > 1 ? "s" : "");
			reason = ROWS_TOO_LONG;
		} else if (b->flag[i] == RECORD_OPEN_QUOTE) {
			snprintf(why, WHY_MAX, "a quote opened on this line is not closed within %u lines "
				 "(input.csv.max_lines_per_record): a stray quote? This line is rejected and reading "
				 "goes on at the next", r->ropts.max_lines);
			reason = ROWS_BAD_CSV;
		} else if (m->text_input) {
			reason = rows_parse_text(&r->plan, b->buf + b->off[i], b->rlen[i], &b->text[i], &b->id[i],
						 b->incl + i * ninc, a, why, WHY_MAX);
			if (!reason && m->max_text_bytes && b->text[i].len > m->max_text_bytes) {
				snprintf(why, WHY_MAX, "a text of %zu bytes is more than this model scores in one row "
					 "(%zu bytes, from its word and character n-gram lengths)", b->text[i].len,
					 m->max_text_bytes);
				reason = ROWS_TOO_LONG;
			}
		} else {
			reason = rows_parse(&r->plan, b->buf + b->off[i], b->rlen[i], b->x + i * ni, &b->id[i],
					    b->incl + i * ninc, a, why, WHY_MAX);
		}
		if (reason == ROWS_NOMEM)
			return 1;
		if (reason && m->text_input)
			b->text[i] = (text_span){"", 0};
		b->reason[i] = (uint8_t)reason;
		/* Rejects are rare: only they keep their explanation. */
		if (reason && !(b->why[i] = arena_strndup(a, why, strlen(why))))
			oom = 1;
	}
	return oom;
}

/* Scores the parsed rows [lo, hi) of b with the model; 1 when out of memory.
 * The model's scratch is given back afterwards. */
static int predict_rows(run *r, batch *b, size_t lo, size_t hi, arena *a)
{
	const model *m = r->m;
	size_t no = m->n_outputs;
	void *mark = arena_alloc(a, 1);
	int rc = !mark || (m->text_input ? m->backend->predict_text(m, b->text + lo, hi - lo, b->y + lo * no, a)
					 : m->backend->predict(m, b->x + lo * m->n_inputs, hi - lo, b->y + lo * no, a)) < 0;
	arena_unwind(a, mark);
	return rc;
}

/* Formats rows [lo, hi) of b, results into out and rejects into rej,
 * counting them in c; 1 when out of memory. */
static int format_rows(run *r, batch *b, size_t lo, size_t hi, tbuf *out, tbuf *rej, report_counts *c)
{
	const model *m = r->m;
	size_t no = m->n_outputs, ninc = r->plan.n_include;
	int oom = 0;
	for (size_t i = lo; i < hi && !oom; i++) {
		int64_t row = b->first_row + (int64_t)i;
		const double *y = b->y + i * no;
		rows_reason reason = (rows_reason)b->reason[i];
		if (!reason) {
			for (size_t k = 0; k < no; k++)
				if (!isfinite(y[k])) {
					reason = ROWS_BAD_SCORE;
					b->why[i] = "the model gave a non-finite score";
					break;
				}
		}
		if (reason) {
			c->by[reason]++;
			c->rejected++;
			oom = fmt_reject(rej, row, b->line[i], &b->id[i], reason, b->why[i], b->buf + b->off[i],
					 b->rlen[i]);
			continue;
		}
		c->scored++;
		oom = fmt_result(&r->fmt, out, row, &b->id[i], b->incl + i * ninc, y);
		if (m->text_input) {
			/* the last output: tokens, negative when truncated */
			double tk = y[no - 1];
			c->truncated += tk < 0;
			tk = fabs(tk);
			c->tokens += (uint64_t)tk;
			c->len_sq += tk * tk;
		}
	}
	c->text_bytes += out->len;
	return oom;
}

int compute_batch(run *r, batch *b)
{
	int nt = r->threads;
	int oom = 0;
	report_counts total = {0};
	double t0 = pipeline_now();
	size_t chunk = batch_chunk_rows(b->n, nt, r->m->backend->packs_batches);
	b->n_chunks = (b->n + chunk - 1) / chunk;
#pragma omp parallel num_threads(nt) reduction(| : oom)
	{
		int t = omp_get_thread_num();
		arena *a = &r->scratch[t];
		arena_reset(a);
		report_counts c = {0};
#pragma omp for schedule(dynamic, 1)
		for (size_t k = 0; k < b->n_chunks; k++) {
			size_t lo = k * chunk, hi = lo + chunk < b->n ? lo + chunk : b->n;
			b->out[k].len = b->rej[k].len = 0;
			if (oom)
				continue;
			double ta = pipeline_now();
			oom = parse_rows(r, b, lo, hi, a);
			double tb = pipeline_now();
			oom = oom || predict_rows(r, b, lo, hi, a);
			double tc = pipeline_now();
			oom = oom || format_rows(r, b, lo, hi, &b->out[k], &b->rej[k], &c);
			c.t_parse += tb - ta;
			c.t_compute += tc - tb;
			c.t_format += pipeline_now() - tc;
		}
		/* zstd: the batch's text in frames of FRAME_BYTES, however many
		 * threads there are, compressed by whichever thread is free */
		if (r->cctx) {
#pragma omp single
			{
				size_t bytes = 0;
				for (size_t k = 0; k < b->n_chunks; k++)
					bytes += b->out[k].len;
				b->n_frames = (bytes + FRAME_BYTES - 1) / FRAME_BYTES;
				if (batch_frames(b, b->n_frames))
					oom = 1, b->n_frames = 0;
				b->text_bytes = bytes;
			}
			double td = pipeline_now();
#pragma omp for schedule(dynamic, 1)
			for (size_t k = 0; k < b->n_frames; k++) {
				size_t from = k * (size_t)FRAME_BYTES, to = from + FRAME_BYTES;
				if (to > b->text_bytes)
					to = b->text_bytes;
				if (sink_frame(r->cctx[t], b->out, b->n_chunks, from, to, &b->z[k]) < 0)
					oom = 1;
			}
			c.t_format += pipeline_now() - td;
		}
#pragma omp critical
		report_counts_add(&total, &c);
	}
	if (oom)
		return -1;
	b->counts = total;
	b->latency_ms = (pipeline_now() - t0) * 1e3;
	return 0;
}
