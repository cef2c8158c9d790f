/* plan.c: the row plan, built once before any row: which field of the
 * record each model input, the id, the included fields and the text fields
 * come from, from the CSV header or the JSON keys wanted; see rows.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "plan.h"

#define HEADER_MAX_COLUMNS 4096

static const char *column_for(const job_spec *spec, const char *feature)
{
	for (size_t i = 0; i < spec->features.n_columns; i++)
		if (strcmp(spec->features.columns[i].key, feature) == 0)
			return spec->features.columns[i].value;
	return feature;
}

/* Where model input `name` comes from: *column is the input field; *level
 * is set (malloc'd) when the input is an indicator of column == level, from
 * features.indicators or a features.onehot prefix. has_column (NULL ok: JSON
 * lines, where any field may appear) says whether the input has a field. */
static int resolve_input(const job_spec *spec, const char *name, int (*has_column)(void *, const char *),
			 void *ctx, const char **column, char **level)
{
	*level = NULL;
	*column = column_for(spec, name);
	for (size_t k = 0; k < spec->features.n_indicators; k++) {
		const spec_pair *ind = &spec->features.indicators[k];
		if (strcmp(ind->key, name) != 0)
			continue;
		const char *eq = strchr(ind->value, '=');
		if (!eq)
			return -1;
		*column = ind->value; /* caller cuts at '=' */
		*level = strdup(eq + 1);
		return *level ? 0 : -2;
	}
	if (has_column && has_column(ctx, *column))
		return 0;
	for (size_t k = 0; k < spec->features.n_onehot; k++) {
		const spec_pair *oh = &spec->features.onehot[k];
		size_t plen = strlen(oh->value);
		if (strncmp(name, oh->value, plen) != 0 || (has_column && !has_column(ctx, oh->key)))
			continue;
		*column = oh->key;
		*level = strdup(name + plen);
		return *level ? 0 : -2;
	}
	return 0;
}

/* Marks the inputs that are plain numbers (no indicator, no level codes). */
static void plan_finish(row_plan *p)
{
	for (size_t i = 0; i < p->m->n_inputs; i++)
		p->plain[i] = p->m->inputs[i].type == MODEL_INPUT_NUMBER && !p->level[i] && !p->codes[i].count;
}

/* Resolves model input i of the plan (see resolve_input): its field name
 * goes to col (cap bytes); an indicator's level to p->level[i]. */
static int plan_input(row_plan *p, const job_spec *spec, size_t i, int (*has_column)(void *, const char *),
		      void *ctx, char *col, size_t cap, bf_error *err)
{
	const char *name = p->m->inputs[i].name, *c;
	char *level;
	int rc = resolve_input(spec, name, has_column, ctx, &c, &level);
	if (rc == -1)
		return bf_err_set(err, BF_ESPEC, "", 0, 0, "features.indicators.%s must be \"column=level\"", name);
	if (rc == -2)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	/* indicators give "column=level": keep the column part */
	const char *eq = level ? strchr(c, '=') : NULL;
	snprintf(col, cap, "%.*s", eq ? (int)(eq - c) : (int)strlen(c), c);
	if (!(p->input_field[i] = strdup(col)))
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	if (level) {
		p->level[i] = level;
		p->level_len[i] = (uint32_t)strlen(level);
	}
	return BF_OK;
}

static int plan_common(row_plan *p, const model *m, const job_spec *spec, bf_error *err)
{
	memset(p, 0, sizeof *p);
	p->m = m;
	p->format = spec->input.format;
	p->delimiter = spec->input.delimiter ? spec->input.delimiter : ',';
	p->id_col = -1;
	p->has_id_field = spec->input.id_field != NULL;
	p->missing_is_nan = spec->features.missing_is_nan;
	p->missing_value = spec->features.missing_value;
	p->n_include = spec->output.n_include;
	p->input_col = malloc((m->n_inputs + 1) * sizeof *p->input_col);
	p->level = calloc(m->n_inputs + 1, sizeof *p->level);
	p->level_len = calloc(m->n_inputs + 1, sizeof *p->level_len);
	p->codes = calloc(m->n_inputs + 1, sizeof *p->codes);
	p->next_input = malloc((m->n_inputs + 1) * sizeof *p->next_input);
	p->plain = calloc(m->n_inputs + 1, 1);
	p->input_field = calloc(m->n_inputs + 1, sizeof *p->input_field);
	if (!p->input_field || !p->level || !p->level_len || !p->codes || !p->next_input || !p->plain)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	for (size_t i = 0; i < m->n_inputs; i++) {
		strmap_init(&p->codes[i]);
		p->next_input[i] = -1;
		for (size_t k = 0; k < spec->features.n_categories; k++) {
			const spec_list *c = &spec->features.categories[k];
			if (strcmp(c->key, m->inputs[i].name) != 0)
				continue;
			for (size_t j = 0; j < c->n_items; j++)
				if (strmap_put(&p->codes[i], c->items[j], strlen(c->items[j]), (int32_t)j) < 0)
					return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		}
	}
	p->include_col = malloc((p->n_include + 1) * sizeof *p->include_col);
	p->include = calloc(p->n_include + 1, sizeof *p->include);
	if (!p->input_col || !p->include_col || !p->include)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	for (size_t k = 0; k < p->n_include; k++)
		if (!(p->include[k] = strdup(spec->output.include[k])))
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	if (m->text_input) {
		static char *const default_text[] = {"text"};
		char *const *names = spec->input.n_text_fields ? spec->input.text_fields : default_text;
		p->n_text = spec->input.n_text_fields ? spec->input.n_text_fields : 1;
		p->text = calloc(p->n_text, sizeof *p->text);
		p->text_col = malloc(p->n_text * sizeof *p->text_col);
		if (!p->text || !p->text_col)
			return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		for (size_t k = 0; k < p->n_text; k++)
			if (!(p->text[k] = strdup(names[k])))
				return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	}
	strmap_init(&p->keys);
	return BF_OK;
}

static int find_column(const char *const *header, const uint32_t *len, size_t n, const char *name)
{
	size_t want = strlen(name);
	for (size_t c = 0; c < n; c++)
		if (len[c] == want && memcmp(header[c], name, want) == 0)
			return (int)c;
	return -1;
}

typedef struct csv_header {
	const char *const *names;
	const uint32_t *len;
	size_t n;
} csv_header;

static int has_csv_column(void *ctx, const char *name)
{
	const csv_header *h = ctx;
	return find_column(h->names, h->len, h->n, name) >= 0;
}

int rows_plan_csv(row_plan *p, const model *m, const job_spec *spec, const char *const *header,
		  const uint32_t *header_len, size_t n, const char *input_path, bf_error *err)
{
	int rc = plan_common(p, m, spec, err);
	if (rc)
		return rc;
	p->n_columns = n;
	p->columns = calloc(n + 1, sizeof *p->columns);
	if (!p->columns)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	for (size_t c = 0; c < n; c++)
		p->columns[c] = strndup(header[c], header_len[c]);

	char missing[1024] = "";
	size_t n_missing = 0;
	csv_header hdr = {header, header_len, n};
	int id_at = spec->input.id_field ? find_column(header, header_len, n, spec->input.id_field) : -1;
	for (size_t i = 0, pos = 0; i < m->n_inputs; i++) {
		char col[512];
		int rc = plan_input(p, spec, i, has_csv_column, &hdr, col, sizeof col, err);
		if (rc)
			return rc;
		const char *level = p->level[i];
		if (spec->features.by_position && !level) {
			/* model feature k reads column k, the id column skipped */
			if (pos == (size_t)id_at)
				pos++;
			p->input_col[i] = pos < n ? (int)pos : -1;
			pos++;
		} else {
			p->input_col[i] = find_column(header, header_len, n, col);
		}
		if (p->input_col[i] >= 0) {
			/* by position, the column read may have another name */
			free(p->input_field[i]);
			if (!(p->input_field[i] = strdup(p->columns[p->input_col[i]])))
				return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
		}
		if (p->input_col[i] < 0) {
			size_t used = strlen(missing);
			snprintf(missing + used, sizeof missing - used, "%s'%s'", n_missing ? ", " : "", col);
			n_missing++;
		}
	}
	if (n_missing) {
		char there[1024] = "";
		for (size_t c = 0; c < n; c++) {
			size_t used = strlen(there);
			snprintf(there + used, sizeof there - used, "%s'%s'", c ? ", " : "", p->columns[c]);
		}
		return bf_err_set(err, BF_EINPUT, input_path, 1, 0,
				  "the model needs %zu column%s the input lacks: %s; the input has: %s "
				  "(map names with features.columns)",
				  n_missing, n_missing == 1 ? "" : "s", missing, there);
	}
	if (spec->input.id_field) {
		p->id_col = find_column(header, header_len, n, spec->input.id_field);
		if (p->id_col < 0)
			return bf_err_set(err, BF_EINPUT, input_path, 1, 0,
					  "input.id_field '%s' is not a column of the input", spec->input.id_field);
	}
	for (size_t k = 0; k < p->n_include; k++) {
		p->include_col[k] = find_column(header, header_len, n, p->include[k]);
		if (p->include_col[k] < 0)
			return bf_err_set(err, BF_EINPUT, input_path, 1, 0,
					  "output.include field '%s' is not a column of the input", p->include[k]);
	}
	for (size_t k = 0; k < p->n_text; k++) {
		p->text_col[k] = find_column(header, header_len, n, p->text[k]);
		if (p->text_col[k] < 0)
			return bf_err_set(err, BF_EINPUT, input_path, 1, 0,
					  "text field '%s' is not a column of the input (set input.text_fields)",
					  p->text[k]);
	}
	plan_finish(p);
	return BF_OK;
}


/* The slot of key name, added when new. */
static int32_t slot_for(row_plan *p, key_slot *slots, size_t *n, const char *name)
{
	int32_t s = strmap_get(&p->keys, name, strlen(name));
	if (s < 0) {
		s = (int32_t)(*n)++;
		slots[s] = (key_slot){-1, -1, -1, 0};
		strmap_put(&p->keys, name, strlen(name), s);
	}
	return s;
}

int rows_plan_jsonl(row_plan *p, const model *m, const job_spec *spec, bf_error *err)
{
	int rc = plan_common(p, m, spec, err);
	if (rc)
		return rc;
	size_t cap = m->n_inputs + p->n_include + p->n_text + 1;
	key_slot *slots = malloc(cap * sizeof *slots);
	if (!slots)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	p->slots = slots;
	size_t n = 0;
	for (size_t i = 0; i < m->n_inputs; i++) {
		char col[512];
		int rc = plan_input(p, spec, i, NULL, NULL, col, sizeof col, err);
		if (rc)
			return rc;
		key_slot *ks = &slots[slot_for(p, slots, &n, col)];
		/* several inputs may read one field (indicators of one column) */
		p->next_input[i] = ks->input;
		ks->input = (int)i;
	}
	if (spec->input.id_field)
		slots[slot_for(p, slots, &n, spec->input.id_field)].is_id = 1;
	for (size_t k = 0; k < p->n_include; k++)
		slots[slot_for(p, slots, &n, p->include[k])].include = (int)k;
	for (size_t k = 0; k < p->n_text; k++)
		slots[slot_for(p, slots, &n, p->text[k])].text = (int)k;
	plan_finish(p);
	return BF_OK;
}

void rows_plan_free(row_plan *p)
{
	if (p->columns)
		for (size_t c = 0; c < p->n_columns; c++)
			free(p->columns[c]);
	free(p->columns);
	free(p->slots);
	if (p->codes && p->m)
		for (size_t i = 0; i < p->m->n_inputs; i++) {
			strmap_free(&p->codes[i]);
			free(p->level[i]);
			if (p->input_field)
				free(p->input_field[i]);
		}
	free(p->input_field);
	free(p->codes);
	free(p->level);
	free(p->level_len);
	free(p->next_input);
	free(p->plain);
	for (size_t k = 0; p->text && k < p->n_text; k++)
		free(p->text[k]);
	free(p->text);
	free(p->text_col);
	free(p->input_col);
	free(p->include_col);
	if (p->include)
		for (size_t k = 0; k < p->n_include; k++)
			free(p->include[k]);
	free(p->include);
	strmap_free(&p->keys);
	memset(p, 0, sizeof *p);
}

/* The first record split into the header's names. */
static int plan_from_header(row_plan *p, const model *m, const job_spec *spec, const char *rec, size_t len,
			    bf_error *err)
{
	const char *path = spec->input.path;
	size_t cap = HEADER_MAX_COLUMNS;
	csv_field *f = malloc(cap * sizeof *f);
	char *scratch = malloc(len + 1);
	const char **names = malloc(cap * sizeof *names);
	uint32_t *lens = malloc(cap * sizeof *lens);
	csv_error cerr;
	int rc = BF_OK;
	int64_t n = f && scratch && names && lens ? csv_split(rec, len, spec->input.delimiter, '"', f, cap, scratch, &cerr)
						  : -2;
	if (n == -2)
		rc = bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	else if (n < 0)
		rc = bf_err_set(err, BF_EINPUT, path, 1, (int64_t)cerr.offset + 1, "header: %s", cerr.message);
	else if ((size_t)n > cap)
		rc = bf_err_set(err, BF_EINPUT, path, 1, 1, "header has %lld columns; at most %zu are supported",
				(long long)n, cap);
	else {
		for (int64_t c = 0; c < n; c++) {
			names[c] = f[c].ptr;
			lens[c] = f[c].len;
		}
		rc = rows_plan_csv(p, m, spec, names, lens, (size_t)n, path, err);
	}
	free(f);
	free(scratch);
	free(names);
	free(lens);
	return rc;
}

/* No header: the columns are the model's inputs, in the model's order. */
static int plan_headerless(row_plan *p, const model *m, const job_spec *spec, bf_error *err)
{
	const char **names = malloc((m->n_inputs + 1) * sizeof *names);
	uint32_t *lens = malloc((m->n_inputs + 1) * sizeof *lens);
	int rc = !names || !lens ? bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory") : BF_OK;
	for (size_t i = 0; !rc && i < m->n_inputs; i++) {
		names[i] = m->inputs[i].name;
		lens[i] = (uint32_t)strlen(names[i]);
	}
	if (!rc)
		rc = rows_plan_csv(p, m, spec, names, lens, m->n_inputs, spec->input.path, err);
	free(names);
	free(lens);
	return rc;
}

int rows_plan_open(row_plan *p, const model *m, const job_spec *spec, const char *header, size_t header_len,
		   bf_error *err)
{
	if (spec->input.format == SPEC_FORMAT_JSONL)
		return rows_plan_jsonl(p, m, spec, err);
	if (header)
		return plan_from_header(p, m, spec, header, header_len, err);
	return plan_headerless(p, m, spec, err);
}
