/* validate.c: what a job would do, from a sample of its input, writing
 * nothing (pipeline.h): the model loaded, the header read, the first rows
 * scored on one thread. The command renders the plan. */
#include <stdlib.h>
#include <string.h>

#include "stages.h"

void job_plan_free(job_plan *p)
{
	for (size_t i = 0; p->m && i < p->m->n_inputs; i++) {
		if (p->source)
			free(p->source[i]);
		if (p->level)
			free(p->level[i]);
	}
	free(p->source);
	free(p->level);
	for (size_t k = 0; k < p->n_shown; k++)
		free(p->shown[k].why);
	model_free(p->m);
	memset(p, 0, sizeof *p);
}

/* The plan's part that the run's setup decides. */
static int describe(job_plan *p, run *r, bf_error *err)
{
	const model *m = r->m;
	p->input_zstd = source_is_zstd(r->src);
	p->threads = r->threads;
	p->batch_rows = r->batch_rows;
	p->batch_auto = !r->spec->batch_rows;
	p->source = calloc(m->n_inputs + 1, sizeof *p->source);
	p->level = calloc(m->n_inputs + 1, sizeof *p->level);
	if (!p->source || !p->level)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	for (size_t i = 0; i < m->n_inputs; i++) {
		const char *lv = r->plan.level[i];
		if (!(p->source[i] = strdup(r->plan.input_field[i])) || (lv && !(p->level[i] = strdup(lv))))
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	}
	return BF_OK;
}

/* The sample batch's counts and first rejects. */
static int sample(job_plan *p, const batch *b, bf_error *err)
{
	p->sample_rows = b->n;
	p->scored = b->counts.scored;
	p->rejected = b->counts.rejected;
	for (size_t i = 0; i < b->n && p->n_shown < PLAN_SHOWN_REJECTS; i++) {
		if (!b->reason[i])
			continue;
		size_t k = p->n_shown++;
		p->shown[k].line = b->line[i];
		p->shown[k].reason = (rows_reason)b->reason[i];
		if (!(p->shown[k].why = strdup(b->why[i] ? b->why[i] : "")))
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	}
	return BF_OK;
}

int run_validate(const job_spec *spec, size_t sample_rows, job_plan *plan, bf_error *err)
{
	memset(plan, 0, sizeof *plan);
	int rc = outputs_check(spec, err);
	if (rc)
		return rc;
	run r;
	rc = run_open(&r, spec, err);
	if (!rc)
		rc = describe(plan, &r, err);
	if (rc) {
		run_close(&r);
		return rc;
	}
	/* one batch of the sample, scored on one thread */
	int threads = r.threads;
	r.threads = 1;
	batch *b = &r.pool[0];
	if (batch_alloc(b, sample_rows ? sample_rows : 100, r.m, spec->output.n_include, 1))
		rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	else if ((rc = reader_fill(&r, b, b->cap_rows)))
		*err = r.rerr;
	else if (compute_batch(&r, b))
		rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	else
		rc = sample(plan, b, err);
	batch_free(b);
	r.threads = threads;
	plan->m = r.m; /* the plan keeps the model */
	r.m = NULL;
	run_close(&r);
	return rc;
}
