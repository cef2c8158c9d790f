/* writer.c: the writer thread: each done batch's zstd frames (or chunk
 * texts) to the output and its rejects to the rejects file (unless off), in
 * input order (stages.h). */
#include "stages.h"

/* Writes b; BF_OK or the sink's status with r->werr filled. */
static int write_batch(run *r, batch *b)
{
	int rc = BF_OK;
	for (size_t k = 0; r->cctx && k < b->n_frames && !rc; k++)
		if (b->z[k].len)
			rc = sink_write(r->out, b->z[k].p, b->z[k].len, &r->werr);
	for (size_t c = 0; c < b->n_chunks && !rc; c++) {
		if (!r->cctx && b->out[c].len)
			rc = sink_write(r->out, b->out[c].p, b->out[c].len, &r->werr);
		if (!rc && r->rej && b->rej[c].len)
			rc = sink_write(r->rej, b->rej[c].p, b->rej[c].len, &r->werr);
	}
	return rc;
}

void *writer_main(void *arg)
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
		double t0 = pipeline_now();
		int rc = write_batch(r, b);
		r->t_write += pipeline_now() - t0;
		queue_push(&r->free_q, b);
		if (rc) {
			atomic_store(&r->failed, 1);
			return NULL;
		}
	}
}
