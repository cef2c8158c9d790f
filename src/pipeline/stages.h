/* stages.h: what the pipeline's files share: the batch, the queues
 * between the threads, and the run that owns them.
 *
 *   batch.c     batches: their buffers and how a batch splits into chunks
 *   queue.c     the queues that pass batches from thread to thread
 *   reader.c    the reader thread: source bytes -> records -> batches
 *   compute.c   the main thread: batch -> rows -> model -> result text
 *   writer.c    the writer thread: result text -> the sinks
 *   run.c       a job's lifecycle: open, run the three, commit or abort
 *   validate.c  the plan of a job, from a sample of its input
 *
 * Batches come from a fixed pool (POOL_SIZE), so memory is bounded whatever
 * the input, and pass the stages in order: free -> reader -> full ->
 * compute -> done -> writer -> free. */
#ifndef BF_PIPELINE_STAGES_H
#define BF_PIPELINE_STAGES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "error.h"
#include "format.h"
#include "model.h"
#include "outputs.h"
#include "pipeline.h"
#include "record.h"
#include "report.h"
#include "rows.h"
#include "sink.h"
#include "source.h"

#define QUEUE_DEPTH 3
#define POOL_SIZE (3 * QUEUE_DEPTH)
#define READ_CHUNK (256 * 1024)
#define MAX_BATCH_BYTES (64u << 20)
#define RAW_KEEP 4096
#define CHUNK_ROWS 256 /* rows a thread takes at a time: parsed, scored, formatted */
/* A zstd frame holds this many bytes of result text (the last of a batch
 * fewer): how the text splits into frames depends on the bytes alone, not
 * on the threads, so the compressed size does not change with -j. */
#define FRAME_BYTES (256u << 10)

/* Monotonic seconds, for durations. */
double pipeline_now(void);

/* ---- batch.c ---- */

/* What the reader found wrong with a record, before any parsing. */
typedef enum record_flag {
	RECORD_OK,
	RECORD_TOO_LONG,     /* longer than input.max_record_bytes: cut at RAW_KEEP bytes */
	RECORD_OPEN_QUOTE,   /* CSV: a stray quote; the record is its first line */
} record_flag;

typedef struct batch {
	int last;                /* end-of-input marker: no records */
	/* records, from the reader */
	char *buf;               /* (cap) record bytes */
	size_t len, cap;
	size_t n, cap_rows;      /* records in this batch */
	uint32_t *off, *rlen;    /* (cap_rows) record spans in buf */
	int64_t *line;           /* (cap_rows) 1-based line where the record starts */
	uint8_t *flag;           /* (cap_rows) record_flag: what the reader saw wrong */
	uint32_t *lines;         /* (cap_rows) lines the record spans */
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
	tbuf *z;                 /* (cap_frames) when zstd: the text's frames, FRAME_BYTES each */
	size_t n_frames, cap_frames;
	size_t text_bytes;       /* the results text of all chunks */
	report_counts counts;
	double latency_ms;
} batch;

/* The record part of a batch: its bytes and spans for `rows` records
 * (zeroes the rest of b). Returns 0, or -1 when out of memory. */
int batch_alloc_records(batch *b, size_t rows);
/* A whole batch for rows records of model m with n_include included fields,
 * scored by `threads` threads. Returns 0, or -1 when out of memory. */
int batch_alloc(batch *b, size_t rows, const model *m, size_t n_include, int threads);
/* Frees what batch_alloc(_records) made. */
void batch_free(batch *b);
/* Makes room for n frames in b->z; 0, or -1 when out of memory. */
int batch_frames(batch *b, size_t n);
/* Makes buf hold need bytes; 0, or -1 when out of memory. */
int batch_grow(batch *b, size_t need);
/* Rows per chunk of a batch of n rows on nt threads: CHUNK_ROWS, fewer so
 * that every thread gets one; one chunk per thread for models that pack
 * rows into batches of their own (BERT packs a chunk's tokens). */
size_t batch_chunk_rows(size_t n, int nt, int packs);

/* ---- queue.c ---- */

typedef struct queue {
	batch *items[POOL_SIZE + 1];
	size_t head, count;
	int closed;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} queue;

void queue_init(queue *q);
void queue_destroy(queue *q);
void queue_push(queue *q, batch *b);
/* Waits for a batch; NULL once the queue is closed. */
batch *queue_pop(queue *q);
void queue_close(queue *q);

/* ---- the run ---- */

typedef struct run {
	const job_spec *spec;
	const record_format *records;
	model *m;
	row_plan plan;
	fmt_ctx fmt;
	source *src;
	outputs *outs;           /* the set: results, rejects, report */
	sink *out, *rej;         /* outs' results and rejects sinks; rej NULL when off */
	int threads;
	size_t batch_rows;
	batch pool[POOL_SIZE];
	queue free_q, full_q, done_q;
	arena *scratch;          /* (threads) */
	ZSTD_CCtx **cctx;        /* (threads) when the output is zstd; NULL otherwise */

	/* reader state */
	record_opts ropts;       /* framing limits from the spec */
	int cr_only;             /* the input's lines end in CR alone: read as LF */
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
} run;

/* ---- reader.c ---- */

/* Fills b with up to `limit` records; records that do not fit stay in
 * r->carry. BF_OK, or a status with r->rerr filled. */
int reader_fill(run *r, batch *b, size_t limit);
/* The reader thread: fills free batches until the input ends or a stage
 * fails; the last batch it hands on is marked last. */
void *reader_main(void *arg);

/* ---- compute.c ---- */

/* Scores one batch on r->threads threads into its chunks' texts (and, for
 * zstd output, one frame per thread); b->counts and b->latency_ms are set.
 * Returns 0, or -1 when out of memory. */
int compute_batch(run *r, batch *b);

/* ---- writer.c ---- */

/* The writer thread: writes each done batch's frames or texts and its
 * rejects, in order, then returns the batch to the pool. */
void *writer_main(void *arg);

/* ---- run.c ---- */

/* Loads the model, opens the input, reads the header and builds the row
 * plan: everything that can fail before any output exists. */
int run_open(run *r, const job_spec *spec, bf_error *err);
void run_close(run *r);

#endif
