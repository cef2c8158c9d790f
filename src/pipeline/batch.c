/* batch.c: a batch's buffers, sized once for the run; see stages.h. */
#include <stdlib.h>
#include <string.h>

#include "stages.h"

int batch_alloc_records(batch *b, size_t rows)
{
	memset(b, 0, sizeof *b);
	b->cap_rows = rows;
	b->cap = READ_CHUNK * 2;
	b->buf = malloc(b->cap);
	b->off = malloc(rows * sizeof *b->off);
	b->rlen = malloc(rows * sizeof *b->rlen);
	b->line = malloc(rows * sizeof *b->line);
	b->flag = malloc(rows);
	b->lines = malloc(rows * sizeof *b->lines);
	return b->buf && b->off && b->rlen && b->line && b->flag && b->lines ? 0 : -1;
}

/* The most chunks a batch of rows can split into on nt threads. */
static size_t max_chunks(size_t rows, int nt)
{
	size_t c = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
	return c > (size_t)nt ? c : (size_t)nt;
}

int batch_alloc(batch *b, size_t rows, const model *m, size_t n_include, int threads)
{
	size_t ni = m->n_inputs ? m->n_inputs : 1, ninc = n_include ? n_include : 1;
	if (batch_alloc_records(b, rows))
		return -1;
	b->x = malloc(rows * ni * sizeof *b->x);
	b->y = malloc(rows * m->n_outputs * sizeof *b->y);
	b->reason = malloc(rows);
	b->why = malloc(rows * sizeof *b->why);
	b->id = malloc(rows * sizeof *b->id);
	b->incl = malloc(rows * ninc * sizeof *b->incl);
	b->text = malloc(rows * sizeof *b->text);
	b->cap_chunks = max_chunks(rows, threads);
	b->out = calloc(b->cap_chunks, sizeof *b->out);
	b->rej = calloc(b->cap_chunks, sizeof *b->rej);
	return b->text && b->x && b->y && b->reason && b->why && b->id && b->incl && b->out && b->rej ? 0 : -1;
}

void batch_free(batch *b)
{
	free(b->buf);
	free(b->off);
	free(b->rlen);
	free(b->line);
	free(b->flag);
	free(b->lines);
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
	for (size_t k = 0; b->z && k < b->cap_frames; k++)
		tbuf_free(&b->z[k]);
	free(b->out);
	free(b->rej);
	free(b->z);
	memset(b, 0, sizeof *b);
}

int batch_grow(batch *b, size_t need)
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

int batch_frames(batch *b, size_t n)
{
	if (n <= b->cap_frames)
		return 0;
	tbuf *z = realloc(b->z, n * sizeof *z);
	if (!z)
		return -1;
	memset(z + b->cap_frames, 0, (n - b->cap_frames) * sizeof *z);
	b->z = z;
	b->cap_frames = n;
	return 0;
}

size_t batch_chunk_rows(size_t n, int nt, int packs)
{
	size_t share = (n + (size_t)nt - 1) / (size_t)nt;
	return !share ? 1 : packs || share < CHUNK_ROWS ? share : CHUNK_ROWS;
}
