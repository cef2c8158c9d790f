/* reader.c: the reader thread: source bytes framed into records, records
 * packed into batches (stages.h). Framing is the record format's; a record
 * longer than input.max_record_bytes keeps its first RAW_KEEP bytes (for
 * the reject) and the rest is dropped. */
#include <stdlib.h>
#include <string.h>

#include "stages.h"

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
		/* A byte-order mark at the very start is not data: have 3 bytes to tell. */
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
		size_t bom = record_bom(b->buf, have);
		memmove(b->buf, b->buf + bom, have - bom);
		got -= bom;
		r->at_start = 0;
		/* lines that end in CR alone (old Mac and Excel exports): CRs and no
		 * LF in the first block; every CR is then read as LF */
		r->cr_only = got && !memchr(b->buf + b->len, '\n', got) && memchr(b->buf + b->len, '\r', got);
	}
	if (r->cr_only)
		for (char *p = b->buf + b->len, *end = p + got; (p = memchr(p, '\r', (size_t)(end - p))); p++)
			*p = '\n';
	b->len += got;
	return BF_OK;
}

static void push_record(run *r, batch *b, size_t off, size_t len, record_flag flag, uint32_t lines)
{
	size_t i = b->n++;
	b->off[i] = (uint32_t)off;
	b->rlen[i] = (uint32_t)(flag == RECORD_TOO_LONG && len > RAW_KEEP ? RAW_KEEP : len);
	b->line[i] = r->line;
	b->flag[i] = (uint8_t)flag;
	b->lines[i] = lines ? lines : 1;
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
			push_record(r, b, pos, RAW_KEEP, RECORD_TOO_LONG, 1);
			r->line += 1;
			return BF_OK;
		}
		b->len = keep;
		scan = keep;
		if (r->src_eof) {
			push_record(r, b, pos, RAW_KEEP, RECORD_TOO_LONG, 1);
			return BF_OK;
		}
		int rc = read_more(r, b);
		if (rc)
			return rc;
	}
}

/* Keeps b->buf[pos..b->len) for the next batch. */
static int carry_rest(run *r, batch *b, size_t pos)
{
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
	return BF_OK;
}

int reader_fill(run *r, batch *b, size_t limit)
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
		record_frame f;
		if (r->records->frame(&r->ropts, b->buf + pos, b->len - pos, r->src_eof, &f)) {
			record_flag flag = f.open_quote ? RECORD_OPEN_QUOTE : f.len > max ? RECORD_TOO_LONG : RECORD_OK;
			if (flag || !r->records->blank(b->buf + pos, f.len))
				push_record(r, b, pos, f.len, flag, f.newlines);
			r->line += f.newlines;
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
	int rc = carry_rest(r, b, pos);
	if (rc)
		return rc;
	if (b->n == 0 && r->src_eof && r->carry_len == 0)
		b->last = 1;
	return BF_OK;
}

void *reader_main(void *arg)
{
	run *r = arg;
	for (;;) {
		batch *b = queue_pop(&r->free_q);
		if (!b)
			return NULL;
		double t0 = pipeline_now();
		int rc = reader_fill(r, b, r->batch_rows);
		r->t_read += pipeline_now() - t0;
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
