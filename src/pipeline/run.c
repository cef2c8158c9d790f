/* run.c: the batch pipeline; see pipeline.h.
 *
 * Threads: the reader and writer threads do sequential work (framing, zstd);
 * the main thread runs each batch as OpenMP regions over row blocks with
 * OpenBLAS held at one thread, so the two never oversubscribe the cores. */
#include "pipeline.h"

#include <cblas.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "csv.h"
#include "format.h"
#include "model.h"
#include "rows.h"
#include "sink.h"
#include "source.h"

#define QUEUE_DEPTH 3
#define POOL_SIZE (3 * QUEUE_DEPTH)
#define READ_CHUNK (256 * 1024)
#define MAX_BATCH_BYTES (64u << 20)
#define RAW_KEEP 4096
#define WHY_MAX 256
#define CHUNK_ROWS 256 /* rows of numbers a thread takes at a time: parsed, scored, formatted */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ==== batches and queues ================================================= */

/* What a batch (or one thread's chunks of it) came to: rows, result bytes
 * before compression, text models' tokens, rows cut at the model's max
 * length and squared sequence lengths (attention cost), and the time split
 * (thread 0's, for a batch). */
typedef struct chunk_stats {
	uint64_t scored, rejected, by[ROWS_N_REASONS];
	uint64_t text_bytes, tokens, truncated;
	double len_sq;
	double t_parse, t_compute, t_format;
} chunk_stats;

typedef struct batch {
	int last;                /* end-of-input marker: no records */
	/* records, from the reader */
	char *buf;               /* (cap) record bytes */
	size_t len, cap;
	size_t n, cap_rows;      /* records in this batch */
	uint32_t *off, *rlen;    /* (cap_rows) record spans in buf */
	int64_t *line;           /* (cap_rows) 1-based line where the record starts */
	uint8_t *too_long;       /* (cap_rows) record was cut at RAW_KEEP bytes */
	int64_t first_row;       /* data row number of record 0 (1-based) */
	/* rows, results */
	double *x;               /* (cap_rows, n_inputs) */
	double *y;               /* (cap_rows, n_outputs) */
	uint8_t *reason;         /* (cap_rows) rows_reason */
	const char **why;        /* (cap_rows) explanation of a reject, in the thread's arena */
	rows_value *id;          /* (cap_rows) */
	rows_value *incl;        /* (cap_rows, n_include) */
	text_span *text;         /* (cap_rows) text models: each row's text */
	/* text, one buffer per chunk of rows, written in chunk order */
	size_t n_chunks, cap_chunks;
	tbuf *out, *rej;         /* (cap_chunks) results and rejects of each chunk */
	tbuf *z;                 /* (threads) when zstd: thread t's share of the chunks as one frame */
	chunk_stats stats;
	double latency_ms;
} batch;

typedef struct queue {
	batch *items[POOL_SIZE + 1];
	size_t head, count;
	int closed;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} queue;

static void queue_init(queue *q)
{
	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
}

static void queue_destroy(queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

static void queue_push(queue *q, batch *b)
{
	pthread_mutex_lock(&q->mu);
	q->items[(q->head + q->count++) % (POOL_SIZE + 1)] = b;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Waits for a batch; NULL once the queue is closed. */
static batch *queue_pop(queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->count && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	batch *b = NULL;
	if (q->count && !q->closed) {
		b = q->items[q->head];
		q->head = (q->head + 1) % (POOL_SIZE + 1);
		q->count--;
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

static void queue_close(queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* ==== the run ============================================================ */

typedef struct run {
	const job_spec *spec;
	model *m;
	row_plan plan;
	fmt_ctx fmt;
	source *src;
	sink *out, *rej;
	report *rep;
	int threads;
	size_t batch_rows;
	batch pool[POOL_SIZE];
	queue free_q, full_q, done_q;
	arena *scratch;          /* (threads) */
	ZSTD_CCtx **cctx;        /* (threads) when the output is zstd; NULL otherwise */

	/* reader state */
	char *carry;             /* bytes read but not yet framed */
	size_t carry_len, carry_cap;
	int src_eof;
	int at_start;            /* no byte handed out yet (BOM check) */
	int64_t line;            /* line of the next record */
	int64_t rows;            /* data rows framed so far */
	double t_read;
	bf_error rerr;
	atomic_int failed;       /* a stage failed: the others stop */

	/* writer state */
	bf_error werr;
	double t_write;
	atomic_uint_fast64_t written_in, rows_done;
} run;

/* The record part of a batch: its bytes and spans for `rows` records
 * (zeroes the rest of b). */
static int batch_alloc_records(batch *b, size_t rows)
{
	memset(b, 0, sizeof *b);
	b->cap_rows = rows;
	b->cap = READ_CHUNK * 2;
	b->buf = malloc(b->cap);
	b->off = malloc(rows * sizeof *b->off);
	b->rlen = malloc(rows * sizeof *b->rlen);
	b->line = malloc(rows * sizeof *b->line);
	b->too_long = malloc(rows);
	return b->buf && b->off && b->rlen && b->line && b->too_long ? 0 : -1;
}

/* Rows per chunk of a batch of n rows on nt threads: CHUNK_ROWS, fewer so
 * that every thread gets one; one chunk per thread for models that pack
 * rows into batches of their own (BERT packs a chunk's tokens). */
static size_t chunk_rows(size_t n, int nt, int packs)
{
	size_t share = (n + (size_t)nt - 1) / (size_t)nt;
	return !share ? 1 : packs || share < CHUNK_ROWS ? share : CHUNK_ROWS;
}

static size_t max_chunks(size_t rows, int nt)
{
	size_t c = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
	return c > (size_t)nt ? c : (size_t)nt;
}

static int batch_alloc(run *r, batch *b)
{
	size_t rows = r->batch_rows, ni = r->m->n_inputs ? r->m->n_inputs : 1;
	size_t ninc = r->spec->output.n_include ? r->spec->output.n_include : 1;
	if (batch_alloc_records(b, rows))
		return -1;
	b->x = malloc(rows * ni * sizeof *b->x);
	b->y = malloc(rows * r->m->n_outputs * sizeof *b->y);
	b->reason = malloc(rows);
	b->why = malloc(rows * sizeof *b->why);
	b->id = malloc(rows * sizeof *b->id);
	b->incl = malloc(rows * ninc * sizeof *b->incl);
	b->text = malloc(rows * sizeof *b->text);
	b->cap_chunks = max_chunks(rows, r->threads);
	b->out = calloc(b->cap_chunks, sizeof *b->out);
	b->rej = calloc(b->cap_chunks, sizeof *b->rej);
	b->z = calloc((size_t)r->threads, sizeof *b->z);
	return b->z && b->text && b->x && b->y && b->reason && b->why && b->id && b->incl && b->out && b->rej ? 0 : -1;
}

static void batch_free(run *r, batch *b)
{
	free(b->buf);
	free(b->off);
	free(b->rlen);
	free(b->line);
	free(b->too_long);
	free(b->x);
	free(b->y);
	free(b->reason);
	free(b->why);
	free(b->id);
	free(b->incl);
	free(b->text);
	for (size_t c = 0; b->out && b->rej && c < b->cap_chunks; c++) {
		tbuf_free(&b->out[c]);
		tbuf_free(&b->rej[c]);
	}
	for (int t = 0; b->z && t < r->threads; t++)
		tbuf_free(&b->z[t]);
	free(b->out);
	free(b->rej);
	free(b->z);
}

static int batch_grow(batch *b, size_t need)
{
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->buf, cap);
	if (!p)
		return -1;
	b->buf = p;
	b->cap = cap;
	return 0;
}

/* ---- reader: framing records into batches -------------------------------- */

/* Reads more input to the end of b->buf. */
static int read_more(run *r, batch *b)
{
	if (batch_grow(b, b->len + READ_CHUNK))
		return bf_err_set(&r->rerr, BF_ENOMEM, "", 0, 0, "out of memory");
	size_t got;
	int rc = source_read(r->src, b->buf + b->len, READ_CHUNK, &got, &r->rerr);
	if (rc)
		return rc;
	if (got == 0)
		r->src_eof = 1;
	if (r->at_start && got) {
		/* A UTF-8 byte-order mark at the very start is not data. */
		size_t have = b->len + got;
		while (have < 3 && !r->src_eof) {
			rc = source_read(r->src, b->buf + have, READ_CHUNK - (have - b->len), &got, &r->rerr);
			if (rc)
				return rc;
			if (!got)
				r->src_eof = 1;
			have += got;
		}
		got = have - b->len;
		if (have >= 3 && memcmp(b->buf, "\xef\xbb\xbf", 3) == 0) {
			memmove(b->buf, b->buf + 3, have - 3);
			got -= 3;
		}
		r->at_start = 0;
	}
	b->len += got;
	return BF_OK;
}

/* Frames the record at buf[0..len): 1 found, 0 need more bytes. */
static int frame(const run *r, const char *buf, size_t len, struct csv_frame *f)
{
	if (r->spec->input.format == SPEC_FORMAT_CSV)
		return csv_frame(buf, len, r->src_eof, '"', f);
	const char *nl = memchr(buf, '\n', len);
	if (!nl) {
		if (!r->src_eof || len == 0)
			return 0;
		f->len = len;
		f->next = len;
		f->newlines = 0;
	} else {
		f->len = (size_t)(nl - buf);
		f->next = f->len + 1;
		f->newlines = 1;
	}
	if (f->len && buf[f->len - 1] == '\r')
		f->len--;
	return 1;
}

static int blank(const run *r, const char *s, size_t len)
{
	if (r->spec->input.format == SPEC_FORMAT_CSV)
		return len == 0 || (len == 1 && s[0] == '\r');
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static void push_record(run *r, batch *b, size_t off, size_t len, int too_long)
{
	size_t i = b->n++;
	b->off[i] = (uint32_t)off;
	b->rlen[i] = (uint32_t)(too_long && len > RAW_KEEP ? RAW_KEEP : len);
	b->line[i] = r->line;
	b->too_long[i] = (uint8_t)too_long;
	r->rows++;
}

/* The record at b->buf[pos..] is longer than max_record_bytes: keep its first
 * RAW_KEEP bytes and drop the rest up to the next newline (quotes are not
 * honoured there: it is a recovery). */
static int skip_long_record(run *r, batch *b, size_t pos)
{
	size_t keep = pos + RAW_KEEP;
	size_t scan = keep;
	for (;;) {
		const char *nl = memchr(b->buf + scan, '\n', b->len - scan);
		if (nl) {
			size_t rest = b->len - (size_t)(nl + 1 - b->buf);
			memmove(b->buf + keep, nl + 1, rest);
			b->len = keep + rest;
			push_record(r, b, pos, RAW_KEEP, 1);
			r->line += 1;
			return BF_OK;
		}
		b->len = keep;
		scan = keep;
		if (r->src_eof) {
			push_record(r, b, pos, RAW_KEEP, 1);
			return BF_OK;
		}
		int rc = read_more(r, b);
		if (rc)
			return rc;
	}
}

/* Fills b with up to `limit` records. Records that do not fit stay in r->carry. */
static int fill_batch(run *r, batch *b, size_t limit)
{
	b->n = 0;
	b->last = 0;
	b->first_row = r->rows + 1;
	if (batch_grow(b, r->carry_len + READ_CHUNK))
		return bf_err_set(&r->rerr, BF_ENOMEM, "", 0, 0, "out of memory");
	if (r->carry_len)
		memcpy(b->buf, r->carry, r->carry_len);
	b->len = r->carry_len;
	size_t pos = 0, max = r->spec->input.max_record_bytes;
	while (b->n < limit && pos < MAX_BATCH_BYTES) {
		struct csv_frame f;
		if (frame(r, b->buf + pos, b->len - pos, &f)) {
			if (blank(r, b->buf + pos, f.len)) {
				r->line += f.newlines;
			} else {
				push_record(r, b, pos, f.len, f.len > max);
				r->line += f.newlines;
			}
			pos += f.next;
			continue;
		}
		if (r->src_eof)
			break;
		if (b->len - pos > max) {
			int rc = skip_long_record(r, b, pos);
			if (rc)
				return rc;
			pos += RAW_KEEP;
			continue;
		}
		int rc = read_more(r, b);
		if (rc)
			return rc;
	}
	size_t rest = b->len - pos;
	if (rest > r->carry_cap) {
		char *p = realloc(r->carry, rest);
		if (!p)
			return bf_err_set(&r->rerr, BF_ENOMEM, "", 0, 0, "out of memory");
		r->carry = p;
		r->carry_cap = rest;
	}
	if (rest)
		memcpy(r->carry, b->buf + pos, rest);
	r->carry_len = rest;
	b->len = pos;
	if (b->n == 0 && r->src_eof && rest == 0)
		b->last = 1;
	return BF_OK;
}

static void *reader_main(void *arg)
{
	run *r = arg;
	for (;;) {
		batch *b = queue_pop(&r->free_q);
		if (!b)
			return NULL;
		double t0 = now_s();
		int rc = fill_batch(r, b, r->batch_rows);
		r->t_read += now_s() - t0;
		if (rc) {
			atomic_store(&r->failed, 1);
			b->last = 1;
			b->n = 0;
			queue_push(&r->full_q, b);
			return NULL;
		}
		queue_push(&r->full_q, b);
		if (b->last)
			return NULL;
	}
}

/* ---- writer: result text to the sinks ---------------------------------- */

static void *writer_main(void *arg)
{
	run *r = arg;
	for (;;) {
		batch *b = queue_pop(&r->done_q);
		if (!b)
			return NULL;
		if (b->last) {
			queue_push(&r->free_q, b);
			return NULL;
		}
		double t0 = now_s();
		int rc = BF_OK;
		for (int t = 0; r->cctx && t < r->threads && !rc; t++)
			if (b->z[t].len)
				rc = sink_write(r->out, b->z[t].p, b->z[t].len, &r->werr);
		for (size_t c = 0; c < b->n_chunks && !rc; c++) {
			if (!r->cctx && b->out[c].len)
				rc = sink_write(r->out, b->out[c].p, b->out[c].len, &r->werr);
			if (!rc && b->rej[c].len)
				rc = sink_write(r->rej, b->rej[c].p, b->rej[c].len, &r->werr);
		}
		r->t_write += now_s() - t0;
		if (rc) {
			atomic_store(&r->failed, 1);
			queue_push(&r->free_q, b);
			return NULL;
		}
		atomic_fetch_add(&r->rows_done, b->n);
		queue_push(&r->free_q, b);
	}
}

/* ---- compute: rows, model, text -------------------------------------- */

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
		if (b->too_long[i]) {
			snprintf(why, WHY_MAX, "record longer than input.max_record_bytes (%zu bytes)",
				 r->spec->input.max_record_bytes);
			reason = ROWS_TOO_LONG;
		} else if (m->text_input) {
			reason = rows_parse_text(&r->plan, b->buf + b->off[i], b->rlen[i], &b->text[i], &b->id[i],
						 b->incl + i * ninc, a, why, WHY_MAX);
		} else {
			reason = rows_parse(&r->plan, b->buf + b->off[i], b->rlen[i], b->x + i * ni, &b->id[i],
					    b->incl + i * ninc, a, why, WHY_MAX);
		}
		if (reason && m->text_input)
			b->text[i] = (text_span){"", 0};
		b->reason[i] = (uint8_t)reason;
		/* Rejects are rare: only they keep their explanation. */
		if (reason && !(b->why[i] = arena_strndup(a, why, strlen(why))))
			oom = 1;
	}
	return oom;
}

/* Compresses thread t's share of the batch's chunks, in order, into one zstd
 * frame in b->z[t]; 1 on failure. */
static int compress_share(run *r, batch *b, int t)
{
	size_t c0 = b->n_chunks * (size_t)t / (size_t)r->threads;
	size_t c1 = b->n_chunks * (size_t)(t + 1) / (size_t)r->threads, total = 0;
	tbuf *z = &b->z[t];
	z->len = 0;
	for (size_t c = c0; c < c1; c++)
		total += b->out[c].len;
	if (!total)
		return 0;
	size_t bound = ZSTD_compressBound(total);
	if (tbuf_reserve(z, bound))
		return 1;
	ZSTD_outBuffer ob = {z->p, bound, 0};
	for (size_t c = c0; c < c1; c++) {
		ZSTD_inBuffer ib = {b->out[c].p, b->out[c].len, 0};
		while (ib.pos < ib.size)
			if (ZSTD_isError(ZSTD_compressStream2(r->cctx[t], &ob, &ib, ZSTD_e_continue)))
				return 1;
	}
	ZSTD_inBuffer none = {NULL, 0, 0};
	for (;;) {
		size_t left = ZSTD_compressStream2(r->cctx[t], &ob, &none, ZSTD_e_end);
		if (ZSTD_isError(left))
			return 1;
		if (!left)
			break;
	}
	z->len = ob.pos;
	return 0;
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
 * counting them in st; 1 when out of memory. */
static int format_rows(run *r, batch *b, size_t lo, size_t hi, tbuf *out, tbuf *rej, chunk_stats *st)
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
			st->by[reason]++;
			st->rejected++;
			oom = fmt_reject(rej, row, b->line[i], &b->id[i], reason, b->why[i], b->buf + b->off[i],
					 b->rlen[i]);
			continue;
		}
		st->scored++;
		oom = fmt_result(&r->fmt, out, row, &b->id[i], b->incl + i * ninc, y);
		if (m->text_input) {
			/* the last output: tokens, negative when truncated */
			double tk = y[no - 1];
			st->truncated += tk < 0;
			tk = fabs(tk);
			st->tokens += (uint64_t)tk;
			st->len_sq += tk * tk;
		}
	}
	st->text_bytes += out->len;
	return oom;
}

/* Scores one batch. The threads take chunks of rows as they come free
 * (a thread held up by the reader or the writer takes fewer), each through
 * parsing, the model and formatting into the chunk's own text, so chunk
 * texts concatenate in input order; then, for zstd output, thread t
 * compresses the t-th share of the chunks into a frame of its own, so the
 * writer thread only writes. Concatenated zstd frames are one valid zstd
 * stream. */
static int process_batch(run *r, batch *b)
{
	int nt = r->threads;
	int oom = 0;
	chunk_stats total = {0};
	double t0 = now_s();
	size_t chunk = chunk_rows(b->n, nt, r->m->backend->packs_batches);
	b->n_chunks = (b->n + chunk - 1) / chunk;
#pragma omp parallel num_threads(nt) reduction(| : oom)
	{
		int t = omp_get_thread_num();
		arena *a = &r->scratch[t];
		arena_reset(a);
		chunk_stats st = {0};
#pragma omp for schedule(dynamic, 1)
		for (size_t c = 0; c < b->n_chunks; c++) {
			size_t lo = c * chunk, hi = lo + chunk < b->n ? lo + chunk : b->n;
			b->out[c].len = b->rej[c].len = 0;
			if (oom)
				continue;
			double ta = now_s();
			oom = parse_rows(r, b, lo, hi, a);
			double tb = now_s();
			oom = oom || predict_rows(r, b, lo, hi, a);
			double tc = now_s();
			oom = oom || format_rows(r, b, lo, hi, &b->out[c], &b->rej[c], &st);
			st.t_parse += tb - ta;
			st.t_compute += tc - tb;
			st.t_format += now_s() - tc;
		}
		double td = now_s();
		if (r->cctx && !oom)
			oom = compress_share(r, b, t);
		st.t_format += now_s() - td;
#pragma omp critical
		{
			total.scored += st.scored;
			total.rejected += st.rejected;
			for (int k = 0; k < ROWS_N_REASONS; k++)
				total.by[k] += st.by[k];
			total.text_bytes += st.text_bytes;
			total.tokens += st.tokens;
			total.truncated += st.truncated;
			total.len_sq += st.len_sq;
			if (t == 0) {
				/* the time split is thread 0's */
				total.t_parse = st.t_parse;
				total.t_compute = st.t_compute;
				total.t_format = st.t_format;
			}
		}
	}
	if (oom)
		return -1;
	b->stats = total;
	b->latency_ms = (now_s() - t0) * 1e3;
	return 0;
}

/* ==== setup and teardown ================================================= */

static void run_close(run *r)
{
	for (int i = 0; i < POOL_SIZE; i++)
		batch_free(r, &r->pool[i]);
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
}

/* Loads the model, opens the input and reads the header: everything that can
 * fail before any output exists. */
static int run_open(run *r, const job_spec *spec, bf_error *err)
{
	memset(r, 0, sizeof *r);
	r->spec = spec;
	r->line = 1;
	r->at_start = 1;
	queue_init(&r->free_q);
	queue_init(&r->full_q);
	queue_init(&r->done_q);
	int rc = model_load_spec(spec, &r->m, err);
	if (rc)
		return rc;
	r->threads = spec->threads > 0 ? spec->threads : omp_get_num_procs();
	if (r->threads > 256)
		r->threads = 256;
	r->batch_rows = spec->batch_rows ? spec->batch_rows : r->m->kind->batch_rows;
	rc = source_open(spec->input.path, &r->src, err);
	if (rc)
		return rc;
	if (spec->input.format == SPEC_FORMAT_CSV && spec->input.header) {
		batch hb;
		if (batch_alloc_records(&hb, 1))
			rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		else if ((rc = fill_batch(r, &hb, 1)))
			*err = r->rerr;
		else if (hb.n == 0)
			rc = bf_err_set(err, BF_EINPUT, spec->input.path, 1, 1,
					"input is empty, expected a header line (set input.csv.header: false "
					"for a file without one)");
		else if (hb.too_long[0])
			rc = bf_err_set(err, BF_EINPUT, spec->input.path, 1, 1, "header line is longer than %zu bytes",
					spec->input.max_record_bytes);
		if (!rc) {
			size_t len = hb.rlen[0], cap = 4096;
			csv_field *f = malloc(cap * sizeof *f);
			char *scratch = malloc(len + 1);
			const char **names = malloc(cap * sizeof *names);
			uint32_t *lens = malloc(cap * sizeof *lens);
			csv_error cerr;
			int64_t n = f && scratch && names && lens
					    ? csv_split(hb.buf + hb.off[0], len, spec->input.delimiter, '"', f, cap, scratch, &cerr)
					    : -2;
			if (n == -2)
				rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
			else if (n < 0)
				rc = bf_err_set(err, BF_EINPUT, spec->input.path, 1, (int64_t)cerr.offset + 1,
						"header: %s", cerr.message);
			else if ((size_t)n > cap)
				rc = bf_err_set(err, BF_EINPUT, spec->input.path, 1, 1,
						"header has %lld columns; at most %zu are supported", (long long)n, cap);
			else {
				for (int64_t c = 0; c < n; c++) {
					names[c] = f[c].ptr;
					lens[c] = f[c].len;
				}
				rc = rows_plan_csv(&r->plan, r->m, spec, names, lens, (size_t)n, spec->input.path, err);
			}
			free(f);
			free(scratch);
			free(names);
			free(lens);
		}
		batch_free(r, &hb);
		r->rows = 0;
		if (rc)
			return rc;
	} else if (spec->input.format == SPEC_FORMAT_CSV) {
		/* No header: columns are the model's inputs, in the model's order. */
		const char **names = malloc((r->m->n_inputs + 1) * sizeof *names);
		uint32_t *lens = malloc((r->m->n_inputs + 1) * sizeof *lens);
		if (!names || !lens)
			rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		for (size_t i = 0; !rc && i < r->m->n_inputs; i++) {
			names[i] = r->m->inputs[i].name;
			lens[i] = (uint32_t)strlen(names[i]);
		}
		if (!rc)
			rc = rows_plan_csv(&r->plan, r->m, spec, names, lens, r->m->n_inputs, spec->input.path, err);
		free(names);
		free(lens);
		if (rc)
			return rc;
	} else {
		rc = rows_plan_jsonl(&r->plan, r->m, spec, err);
		if (rc)
			return rc;
	}
	if (fmt_init(&r->fmt, spec->output.format, r->m, spec->output.include, spec->output.n_include))
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	r->scratch = calloc((size_t)r->threads, sizeof *r->scratch);
	if (!r->scratch)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	for (int t = 0; t < r->threads; t++)
		arena_init(&r->scratch[t], 1 << 20);
	return BF_OK;
}

static void report_start(report *rep, const job_spec *spec, const run *r)
{
	memset(rep, 0, sizeof *rep);
	snprintf(rep->job, sizeof rep->job, "%s", spec->name ? spec->name : "");
	snprintf(rep->version, sizeof rep->version, "%s", BF_VERSION);
	rep->start_unix = wall_s();
	snprintf(rep->model_kind, sizeof rep->model_kind, "%s", spec->model.kind);
	snprintf(rep->model_path, sizeof rep->model_path, "%s", spec->model.path);
	snprintf(rep->input_path, sizeof rep->input_path, "%s", spec->input.path);
	snprintf(rep->input_format, sizeof rep->input_format, "%s",
		 spec->input.format == SPEC_FORMAT_CSV ? "csv" : "jsonl");
	snprintf(rep->output_path, sizeof rep->output_path, "%s", spec->output.path);
	snprintf(rep->output_format, sizeof rep->output_format, "%s",
		 spec->output.format == SPEC_FORMAT_CSV ? "csv" : "jsonl");
	snprintf(rep->rejects_path, sizeof rep->rejects_path, "%s", spec->rejects.path ? spec->rejects.path : "");
	rep->max_ratio = spec->rejects.max_ratio;
	rep->usd_per_hour = spec->cost.usd_per_hour;
	rep->input_size = -1;
	if (r && r->m) {
		snprintf(rep->model_sha256, sizeof rep->model_sha256, "%s", r->m->sha256);
		rep->model_params = r->m->n_params;
		rep->threads = r->threads;
		rep->blas_threads = 1;
		rep->batch_rows = r->batch_rows;
		rep->text_model = r->m->text_input;
	}
}

int run_job(const job_spec *spec, const run_options *opt, report *rep, bf_error *err)
{
	double t_start = now_s();
	run r;
	report_start(rep, spec, NULL);
	int rc = run_open(&r, spec, err);
	if (rc) {
		run_close(&r);
		return rc;
	}
	report_start(rep, spec, &r);
	rep->input_zstd = source_is_zstd(r.src);
	rep->input_size = source_size(r.src);
	openblas_set_num_threads(1);

	if (spec->output.zstd) {
		r.cctx = calloc((size_t)r.threads, sizeof *r.cctx);
		for (int t = 0; r.cctx && t < r.threads; t++) {
			r.cctx[t] = ZSTD_createCCtx();
			if (!r.cctx[t])
				break;
			ZSTD_CCtx_setParameter(r.cctx[t], ZSTD_c_compressionLevel, spec->output.zstd_level);
			ZSTD_CCtx_setParameter(r.cctx[t], ZSTD_c_checksumFlag, 1);
		}
		if (!r.cctx || !r.cctx[r.threads - 1]) {
			run_close(&r);
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		}
	}
	/* Compression happens in the compute threads: the sink writes frames as they are. */
	rc = sink_open(spec->output.path, 0, &r.out, err);
	if (!rc)
		rc = sink_open(spec->rejects.path, 0, &r.rej, err);
	for (int i = 0; !rc && i < POOL_SIZE; i++)
		if (batch_alloc(&r, &r.pool[i]))
			rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory for %zu-row batches", r.batch_rows);
	uint64_t header_bytes = 0;
	if (!rc) {
		tbuf head = {0};
		if (fmt_header(&r.fmt, spec->output.include, &head))
			rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		else if (head.len && r.cctx) {
			/* The CSV header as a frame of its own. */
			size_t bound = ZSTD_compressBound(head.len);
			char *z = malloc(bound);
			size_t n = z ? ZSTD_compress2(r.cctx[0], z, bound, head.p, head.len) : 0;
			rc = !z || ZSTD_isError(n) ? bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory")
						   : sink_write(r.out, z, n, err);
			free(z);
		} else if (head.len)
			rc = sink_write(r.out, head.p, head.len, err);
		header_bytes = head.len;
		tbuf_free(&head);
	}
	if (rc) {
		sink_abort(r.out);
		sink_abort(r.rej);
		run_close(&r);
		return rc;
	}
	for (int i = 0; i < POOL_SIZE; i++)
		queue_push(&r.free_q, &r.pool[i]);
	pthread_t reader, writer;
	pthread_create(&reader, NULL, reader_main, &r);
	pthread_create(&writer, NULL, writer_main, &r);

	double next_progress = now_s() + 0.5;
	for (;;) {
		batch *b = queue_pop(&r.full_q);
		if (!b)
			break;
		if (b->last || atomic_load(&r.failed)) {
			b->last = 1;
			queue_push(&r.done_q, b);
			break;
		}
		if (process_batch(&r, b)) {
			rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory while scoring");
			atomic_store(&r.failed, 1);
			b->last = 1;
			queue_push(&r.done_q, b);
			break;
		}
		rep->batches++;
		rep->rows_read += b->n;
		rep->output_bytes_raw += b->stats.text_bytes;
		rep->tokens += b->stats.tokens;
		rep->truncated_rows += b->stats.truncated;
		if (r.m->backend->flops)
			rep->model_flops += r.m->backend->flops(r.m, b->stats.tokens, b->stats.len_sq);
		rep->rows_scored += b->stats.scored;
		rep->rows_rejected += b->stats.rejected;
		for (int k = 0; k < ROWS_N_REASONS; k++)
			rep->rejected_by[k] += b->stats.by[k];
		rep->t_parse_s += b->stats.t_parse;
		rep->t_compute_s += b->stats.t_compute;
		rep->t_format_s += b->stats.t_format;
		report_add_latency(rep, b->latency_ms);
		queue_push(&r.done_q, b);
		if (opt && opt->on_progress && now_s() >= next_progress) {
			rep->input_bytes = source_bytes_in(r.src);
			rep->input_bytes_raw = source_bytes_out(r.src);
			rep->wall_s = now_s() - t_start;
			opt->on_progress(rep, 0, opt->ctx);
			next_progress = now_s() + 0.5;
		}
	}
	pthread_join(writer, NULL);
	/* The reader may be waiting for a free batch after a failure. */
	queue_close(&r.free_q);
	pthread_join(reader, NULL);

	if (!rc && atomic_load(&r.failed)) {
		if (r.rerr.code)
			*err = r.rerr, rc = r.rerr.code;
		else if (r.werr.code)
			*err = r.werr, rc = r.werr.code;
		else
			rc = bf_err_set(err, BF_EINPUT, spec->input.path, 0, 0, "the run stopped");
	}
	if (err && err->code == BF_EINPUT && !err->path[0])
		snprintf(err->path, sizeof err->path, "%s", spec->input.path);
	rep->input_bytes = source_bytes_in(r.src);
	rep->input_bytes_raw = source_bytes_out(r.src);
	rep->output_bytes_raw += header_bytes;
	rep->rows_written = rep->rows_scored;
	rep->t_read_s = r.t_read;
	rep->t_write_s = r.t_write;
	if (!rc)
		rc = sink_commit(r.out, err);
	else
		sink_abort(r.out);
	r.out = NULL;
	if (!rc)
		rc = sink_commit(r.rej, err);
	else
		sink_abort(r.rej);
	rep->end_unix = wall_s();
	rep->wall_s = now_s() - t_start;
	if (!rc) {
		rep->output_bytes = rep->output_bytes_raw; /* refined below for files */
		FILE *f = strcmp(spec->output.path, "-") ? fopen(spec->output.path, "rb") : NULL;
		if (f) {
			fseek(f, 0, SEEK_END);
			rep->output_bytes = (uint64_t)ftell(f);
			fclose(f);
		}
		if (spec->report.path)
			rc = report_write(rep, spec->report.path, err);
	}
	if (opt && opt->on_progress)
		opt->on_progress(rep, 1, opt->ctx);
	run_close(&r);
	return rc;
}

/* ==== validate ========================================================== */

int run_validate(const job_spec *spec, size_t sample_rows, char **plan, bf_error *err)
{
	*plan = NULL;
	run r;
	int rc = run_open(&r, spec, err);
	if (rc) {
		run_close(&r);
		return rc;
	}
	r.batch_rows = sample_rows ? sample_rows : 100;
	batch *b = &r.pool[0];
	size_t keep_threads = (size_t)r.threads;
	r.threads = 1;
	if (batch_alloc(&r, b)) {
		r.threads = (int)keep_threads;
		run_close(&r);
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	}
	rc = fill_batch(&r, b, r.batch_rows);
	if (rc) {
		*err = r.rerr;
	} else if (process_batch(&r, b)) {
		rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	}
	size_t len = 0;
	FILE *f = open_memstream(plan, &len);
	if (!rc && f) {
		const model *m = r.m;
		fprintf(f, "job: %s\n", spec->name);
		fprintf(f, "input: %s (%s%s)\n", spec->input.path,
			spec->input.format == SPEC_FORMAT_CSV ? "csv" : "jsonl", source_is_zstd(r.src) ? ", zstd" : "");
		fprintf(f, "model: %s %s (%s, %zu inputs, %" PRIu64 " parameters, sha256 %.12s)\n", m->kind->name,
			spec->model.path, model_task_name[m->task], m->n_inputs, m->n_params, m->sha256);
		fprintf(f, "features:\n");
		for (size_t i = 0; i < m->n_inputs; i++) {
			const char *col = m->inputs[i].name;
			for (size_t k = 0; k < spec->features.n_columns; k++)
				if (strcmp(spec->features.columns[k].key, col) == 0)
					col = spec->features.columns[k].value;
			fprintf(f, "  %-24s <- %s%s (%s%s)\n", m->inputs[i].name,
				spec->input.format == SPEC_FORMAT_CSV ? "column " : "field ", col,
				m->inputs[i].type == MODEL_INPUT_CATEGORY ? "category" : "number",
				m->inputs[i].missing_ok ? ", missing imputed" : "");
		}
		fprintf(f, "id: %s\n", spec->input.id_field ? spec->input.id_field : "(row number)");
		fprintf(f, "batch: %zu rows%s, %d threads (BLAS 1 thread inside each)\n",
			spec->batch_rows ? spec->batch_rows : m->kind->batch_rows, spec->batch_rows ? "" : " (auto)",
			(int)keep_threads);
		fprintf(f, "output: %s (%s%s)\n", spec->output.path,
			spec->output.format == SPEC_FORMAT_CSV ? "csv" : "jsonl",
			spec->output.zstd ? ", zstd" : "");
		fprintf(f, "rejects: %s (max_ratio %g)\n", spec->rejects.path, spec->rejects.max_ratio);
		fprintf(f, "report: %s\n", spec->report.path);
		fprintf(f, "sample: %zu rows read, %" PRIu64 " would be scored, %" PRIu64 " rejected\n", b->n,
			b->stats.scored, b->stats.rejected);
		for (size_t i = 0, shown = 0; i < b->n && shown < 5; i++)
			if (b->reason[i] && b->reason[i] != ROWS_OK) {
				fprintf(f, "  %s:%" PRId64 ": %s: %s\n", spec->input.path, b->line[i],
					rows_reason_name[b->reason[i]], b->why[i]);
				shown++;
			}
	}
	if (f)
		fclose(f);
	r.threads = 1;
	batch_free(&r, b);
	memset(b, 0, sizeof *b);
	r.threads = (int)keep_threads;
	run_close(&r);
	if (rc) {
		free(*plan);
		*plan = NULL;
	}
	return rc;
}
