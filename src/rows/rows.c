/* rows.c: CSV / JSON lines records -> model input rows; see rows.h. */
#include "rows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "json.h"
#include "numparse.h"
#include "utf8.h"

const char *const rows_reason_name[ROWS_N_REASONS] = {
	[ROWS_OK] = "ok",
	[ROWS_BAD_CSV] = "bad_csv",
	[ROWS_FIELD_COUNT] = "field_count",
	[ROWS_BAD_JSON] = "bad_json",
	[ROWS_NOT_OBJECT] = "not_object",
	[ROWS_BAD_NUMBER] = "bad_number",
	[ROWS_BAD_UTF8] = "bad_utf8",
	[ROWS_TOO_LONG] = "too_long",
	[ROWS_MISSING] = "missing_value",
	[ROWS_BAD_SCORE] = "bad_score",
};

/* pandas.read_csv's default missing-value markers: a pipeline trained from
 * pandas saw these as NaN, so binfer does too. */
static int is_na_token(const char *s, size_t len)
{
#define NA(t) {t, sizeof(t) - 1}
	static const struct {
		const char *text;
		size_t len;
	} tokens[] = {NA("NA"),	  NA("N/A"),  NA("NaN"),      NA("nan"),    NA("-NaN"),	 NA("-nan"),
		      NA("NULL"), NA("null"), NA("None"),     NA("n/a"),    NA("<NA>"),	 NA("#N/A"),
		      NA("#NA"),  NA("#N/A N/A"), NA("1.#IND"), NA("-1.#IND"), NA("1.#QNAN"), NA("-1.#QNAN")};
#undef NA
	if (len == 0)
		return 1;
	if (len > 8)
		return 0;
	for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++)
		if (tokens[i].len == len && memcmp(tokens[i].text, s, len) == 0)
			return 1;
	return 0;
}

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
	if (!p->level || !p->level_len || !p->codes || !p->next_input || !p->plain)
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

/* JSONL slots: one per distinct wanted key. */
typedef struct key_slot {
	int input;    /* model input index or -1 */
	int include;  /* include index or -1 (a key can only be included once) */
	int text;     /* text field index or -1 */
	int is_id;
} key_slot;

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
		}
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

/* Shows at most 40 bytes of a value in a message. */
static int shown(size_t len)
{
	return len > 40 ? 40 : (int)len;
}

/* Converts one text value for model input i; returns ROWS_OK or a reason. */
static rows_reason text_value(const row_plan *p, size_t i, const char *s, size_t len, double *x,
			      char *why, size_t why_size)
{
	const model_input *in = &p->m->inputs[i];
	if (p->level[i]) {
		*x = len == p->level_len[i] && memcmp(s, p->level[i], len) == 0;
		return ROWS_OK;
	}
	if (in->type == MODEL_INPUT_CATEGORY) {
		int32_t k = strmap_get(&in->categories, s, len);
		*x = k >= 0 ? k : is_na_token(s, len) ? NAN : -1;
		return ROWS_OK;
	}
	if (p->codes[i].count) {
		/* features.categories: a level's code; codes given as numbers pass
		 * through; an unknown level is missing (as pandas' code -1). */
		int32_t k = strmap_get(&p->codes[i], s, len);
		if (k >= 0)
			*x = k;
		else if (num_parse(s, len, x) != 0)
			*x = NAN;
		return ROWS_OK;
	}
	if (num_parse(s, len, x) == 0)
		return ROWS_OK;
	if (is_na_token(s, len)) {
		*x = NAN;
		return ROWS_OK;
	}
	/* Tolerate spaces around a number, as pandas does. */
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len && num_parse(s, len, x) == 0)
		return ROWS_OK;
	snprintf(why, why_size, "column '%s': expected a number, found '%.*s'", in->name, shown(len), s);
	return ROWS_BAD_NUMBER;
}

/* NaN is the only value that differs from itself: one pass, no branches. */
static int any_missing(const double *x, size_t n)
{
	int nan = 0;
	for (size_t i = 0; i < n; i++)
		nan |= x[i] != x[i];
	return nan;
}

static rows_reason finish(const row_plan *p, double *x, char *why, size_t why_size)
{
	const model *m = p->m;
	for (size_t i = 0; i < m->n_inputs; i++) {
		if (!isnan(x[i]))
			continue;
		if (m->inputs[i].type == MODEL_INPUT_NUMBER && !p->missing_is_nan) {
			x[i] = p->missing_value;
			continue;
		}
		if (!m->inputs[i].missing_ok) {
			snprintf(why, why_size, "column '%s' is missing and the model has no rule for a missing value",
				 m->inputs[i].name);
			return ROWS_MISSING;
		}
	}
	return ROWS_OK;
}

/* Splits a CSV record into its fields (*fields, n_columns of them, in the
 * arena) and fills the id and the include values: the part every CSV row
 * shares, for models of numbers and of text. */
static rows_reason csv_record(const row_plan *p, const char *rec, size_t len, csv_field **fields, void **mark,
			      rows_value *id, rows_value *incl, arena *scratch, char *why, size_t why_size)
{
	size_t off = utf8_check(rec, len);
	if (off != len) {
		snprintf(why, why_size, "invalid UTF-8 byte 0x%02x at byte %zu", (unsigned char)rec[off], off + 1);
		return ROWS_BAD_UTF8;
	}
	size_t cap = p->n_columns + 1;
	/* buf first: values unescaped into it outlive the row, the fields do not */
	char *buf = arena_alloc(scratch, len + 1);
	csv_field *f = arena_alloc(scratch, cap * sizeof *f);
	*mark = buf;
	*fields = f;
	if (!f || !buf) {
		snprintf(why, why_size, "out of memory");
		return ROWS_TOO_LONG;
	}
	csv_error cerr;
	int64_t n = csv_split(rec, len, p->delimiter, '"', f, cap, buf, &cerr);
	if (n < 0) {
		snprintf(why, why_size, "%s (at byte %zu)", cerr.message, cerr.offset + 1);
		return ROWS_BAD_CSV;
	}
	if (p->id_col >= 0 && p->id_col < n)
		*id = (rows_value){f[p->id_col].ptr, f[p->id_col].len, ROWS_VALUE_TEXT};
	else
		*id = (rows_value){NULL, 0, p->id_col >= 0 ? ROWS_VALUE_ABSENT : ROWS_VALUE_ROWNUM};
	if ((size_t)n != p->n_columns) {
		snprintf(why, why_size, "expected %zu fields as in the header, found %lld", p->n_columns,
			 (long long)n);
		return ROWS_FIELD_COUNT;
	}
	for (size_t k = 0; k < p->n_include; k++) {
		const csv_field *c = &f[p->include_col[k]];
		incl[k] = (rows_value){c->ptr, c->len, ROWS_VALUE_TEXT};
	}
	*fields = f;
	return ROWS_OK;
}

/* Model input i from the text s[0..len) of its field. */
static inline rows_reason field_value(const row_plan *p, size_t i, const char *s, size_t len, double *x, char *why,
				      size_t why_size)
{
	if (p->plain[i]) {
		/* one digit (indicator columns, small counts) is the commonest field */
		unsigned d = len == 1 ? (unsigned)(s[0] - '0') : 10;
		if (d < 10) {
			*x = d;
			return ROWS_OK;
		}
		if (num_parse_short(s, len, x) == 0)
			return ROWS_OK;
	}
	return text_value(p, i, s, len, x, why, why_size);
}

static rows_reason parse_csv_fields(const row_plan *p, const csv_field *f, double *x, char *why, size_t why_size)
{
	const model *m = p->m;
	for (size_t i = 0; i < m->n_inputs; i++) {
		const csv_field *c = &f[p->input_col[i]];
		rows_reason r = field_value(p, i, c->ptr, c->len, &x[i], why, why_size);
		if (r)
			return r;
	}
	return any_missing(x, m->n_inputs) ? finish(p, x, why, why_size) : ROWS_OK;
}

/* Field c of a record split by csv_ends. */
static inline rows_value field_at(const char *rec, const uint32_t *ends, size_t c)
{
	uint32_t start = c ? ends[c - 1] + 1 : 0;
	return (rows_value){rec + start, ends[c] - start, ROWS_VALUE_TEXT};
}

/* A quote-free record with the header's number of fields, split by csv_ends:
 * read in place, nothing copied. */
static rows_reason parse_csv_ends(const row_plan *p, const char *rec, const uint32_t *ends, double *x,
				  rows_value *id, rows_value *incl, char *why, size_t why_size)
{
	const model *m = p->m;
	*id = p->id_col >= 0 ? field_at(rec, ends, (size_t)p->id_col) : (rows_value){NULL, 0, ROWS_VALUE_ROWNUM};
	for (size_t k = 0; k < p->n_include; k++)
		incl[k] = field_at(rec, ends, (size_t)p->include_col[k]);
	for (size_t i = 0; i < m->n_inputs; i++) {
		rows_value v = field_at(rec, ends, (size_t)p->input_col[i]);
		rows_reason r = field_value(p, i, v.ptr, v.len, &x[i], why, why_size);
		if (r)
			return r;
	}
	return any_missing(x, m->n_inputs) ? finish(p, x, why, why_size) : ROWS_OK;
}

/* A CSV row. Most records hold no quote and are valid UTF-8 with the
 * header's number of fields: those are split by csv_ends and read in place.
 * The rest go through csv_record, which unescapes and explains. Scratch is
 * given back afterwards (the unescaping buffer too when the record has no
 * quote: nothing points into it then), so a batch's scratch stays in
 * cache. */
static rows_reason parse_csv(const row_plan *p, const char *rec, size_t len, double *x, rows_value *id,
			     rows_value *incl, arena *scratch, char *why, size_t why_size)
{
	uint32_t *ends = arena_alloc(scratch, (p->n_columns + 1) * sizeof *ends);
	if (ends && utf8_check(rec, len) == len &&
	    csv_ends(rec, len, p->delimiter, '"', ends, p->n_columns + 1) == (int64_t)p->n_columns) {
		rows_reason r = parse_csv_ends(p, rec, ends, x, id, incl, why, why_size);
		arena_unwind(scratch, ends);
		return r;
	}
	if (ends)
		arena_unwind(scratch, ends);
	csv_field *f = NULL;
	void *mark = NULL;
	rows_reason r0 = csv_record(p, rec, len, &f, &mark, id, incl, scratch, why, why_size);
	if (r0 == ROWS_OK)
		r0 = parse_csv_fields(p, f, x, why, why_size);
	if (mark)
		arena_unwind(scratch, memchr(rec, '"', len) ? (void *)f : mark);
	return r0;
}

static const char *json_type_name(json_type t)
{
	static const char *names[] = {"null", "false", "true", "a number", "a string", "an array", "an object"};
	return names[t];
}

static rows_reason json_input(const row_plan *p, size_t i, const json_value *v, double *x, char *why,
			      size_t why_size)
{
	const model_input *in = &p->m->inputs[i];
	if (p->level[i]) {
		const char *t = v->type == JSON_STRING ? v->u.string : v->raw;
		size_t len = v->type == JSON_STRING ? v->len : v->raw_len;
		*x = v->type != JSON_NULL && len == p->level_len[i] && memcmp(t, p->level[i], len) == 0;
		return ROWS_OK;
	}
	switch (v->type) {
	case JSON_NULL:
		*x = NAN;
		return ROWS_OK;
	case JSON_STRING:
		return text_value(p, i, v->u.string, v->len, x, why, why_size);
	case JSON_NUMBER:
		if (in->type == MODEL_INPUT_CATEGORY)
			return text_value(p, i, v->raw, v->raw_len, x, why, why_size);
		*x = v->u.number;
		return ROWS_OK;
	case JSON_TRUE:
	case JSON_FALSE:
		if (in->type == MODEL_INPUT_CATEGORY)
			*x = strmap_get(&in->categories, v->type == JSON_TRUE ? "True" : "False",
					v->type == JSON_TRUE ? 4 : 5);
		else
			*x = v->type == JSON_TRUE;
		return ROWS_OK;
	default:
		snprintf(why, why_size, "field '%s': expected a %s, found %s", in->name,
			 in->type == MODEL_INPUT_CATEGORY ? "string" : "number", json_type_name(v->type));
		return ROWS_BAD_NUMBER;
	}
}

static rows_value json_out(const json_value *v)
{
	if (v->type == JSON_STRING)
		return (rows_value){v->u.string, v->len, ROWS_VALUE_TEXT};
	return (rows_value){v->raw, v->raw_len, ROWS_VALUE_JSON};
}

/* What the JSON member mb feeds, or NULL when nothing wants its key. */
static const key_slot *slot_of(const row_plan *p, const json_member *mb)
{
	int32_t s = strmap_get(&p->keys, mb->key, mb->key_len);
	return s < 0 ? NULL : (const key_slot *)p->slots + s;
}

/* Takes mb's value as the id (when not null) and as an include value, where
 * its slot says so. */
static void keep_member(const key_slot *ks, const json_member *mb, rows_value *id, rows_value *incl)
{
	if (ks->is_id && mb->value.type != JSON_NULL)
		*id = json_out(&mb->value);
	if (ks->include >= 0)
		incl[ks->include] = json_out(&mb->value);
}

/* Parses a JSON lines record that must be an object, and resets the id
 * and include values to absent: what every JSON lines row shares. */
static rows_reason json_record(const row_plan *p, const char *rec, size_t len, json_value **root, rows_value *id,
			       rows_value *incl, arena *scratch, char *why, size_t why_size)
{
	json_error jerr;
	if (json_parse(rec, len, scratch, root, &jerr) < 0) {
		snprintf(why, why_size, "%s (at byte %zu)", jerr.message, jerr.offset + 1);
		return strstr(jerr.message, "UTF-8") ? ROWS_BAD_UTF8 : ROWS_BAD_JSON;
	}
	if ((*root)->type != JSON_OBJECT) {
		snprintf(why, why_size, "expected a JSON object, found %s", json_type_name((*root)->type));
		return ROWS_NOT_OBJECT;
	}
	*id = p->has_id_field ? (rows_value){NULL, 0, ROWS_VALUE_ABSENT} : (rows_value){NULL, 0, ROWS_VALUE_ROWNUM};
	for (size_t k = 0; k < p->n_include; k++)
		incl[k] = (rows_value){NULL, 0, ROWS_VALUE_ABSENT};
	return ROWS_OK;
}

static rows_reason parse_jsonl(const row_plan *p, const char *rec, size_t len, double *x, rows_value *id,
			       rows_value *incl, arena *scratch, char *why, size_t why_size)
{
	json_value *root;
	rows_reason r0 = json_record(p, rec, len, &root, id, incl, scratch, why, why_size);
	if (r0)
		return r0;
	const model *m = p->m;
	for (size_t i = 0; i < m->n_inputs; i++)
		x[i] = p->level[i] ? 0 : NAN;
	for (uint32_t j = 0; j < root->len; j++) {
		const json_member *mb = &root->u.members[j];
		const key_slot *ks = slot_of(p, mb);
		if (!ks)
			continue;
		for (int in = ks->input; in >= 0; in = p->next_input[in]) {
			rows_reason r = json_input(p, (size_t)in, &mb->value, &x[in], why, why_size);
			if (r)
				return r;
		}
		keep_member(ks, mb, id, incl);
	}
	return finish(p, x, why, why_size);
}

rows_reason rows_parse(const row_plan *p, const char *rec, size_t len, double *x, rows_value *id,
		       rows_value *incl, arena *scratch, char *why, size_t why_size)
{
	why[0] = '\0';
	if (p->format == SPEC_FORMAT_JSONL)
		return parse_jsonl(p, rec, len, x, id, incl, scratch, why, why_size);
	return parse_csv(p, rec, len, x, id, incl, scratch, why, why_size);
}

/* Appends piece to the joined text in buf (cap bytes, NUL not needed). */
static void join_piece(text_span *parts, size_t k, const char *ptr, size_t len)
{
	parts[k].ptr = ptr;
	parts[k].len = len;
}

static rows_reason join_text(const row_plan *p, text_span *parts, text_span *text, arena *scratch,
			     char *why, size_t why_size)
{
	size_t total = 0, used = 0, last = 0;
	for (size_t k = 0; k < p->n_text; k++)
		if (parts[k].len) {
			total += parts[k].len + (used ? 1 : 0);
			used++;
			last = k;
		}
	if (used <= 1) {
		*text = used ? parts[last] : (text_span){"", 0};
		return ROWS_OK;
	}
	char *buf = arena_alloc(scratch, total + 1);
	if (!buf) {
		snprintf(why, why_size, "out of memory");
		return ROWS_TOO_LONG;
	}
	size_t o = 0;
	for (size_t k = 0; k < p->n_text; k++) {
		if (!parts[k].len)
			continue;
		if (o)
			buf[o++] = ' ';
		memcpy(buf + o, parts[k].ptr, parts[k].len);
		o += parts[k].len;
	}
	buf[o] = '\0';
	*text = (text_span){buf, o};
	return ROWS_OK;
}

rows_reason rows_parse_text(const row_plan *p, const char *rec, size_t len, text_span *text, rows_value *id,
			    rows_value *incl, arena *scratch, char *why, size_t why_size)
{
	why[0] = '\0';
	text_span *parts = arena_alloc(scratch, (p->n_text + 1) * sizeof *parts);
	if (!parts) {
		snprintf(why, why_size, "out of memory");
		return ROWS_TOO_LONG;
	}
	for (size_t k = 0; k < p->n_text; k++)
		join_piece(parts, k, "", 0);
	if (p->format == SPEC_FORMAT_JSONL) {
		json_value *root;
		rows_reason r0 = json_record(p, rec, len, &root, id, incl, scratch, why, why_size);
		if (r0)
			return r0;
		for (uint32_t j = 0; j < root->len; j++) {
			const json_member *mb = &root->u.members[j];
			const key_slot *ks = slot_of(p, mb);
			const json_value *v = &mb->value;
			if (!ks)
				continue;
			keep_member(ks, mb, id, incl);
			if (ks->text < 0)
				continue;
			if (v->type == JSON_STRING)
				join_piece(parts, (size_t)ks->text, v->u.string, v->len);
			else if (v->type == JSON_NULL)
				join_piece(parts, (size_t)ks->text, "", 0);
			else
				join_piece(parts, (size_t)ks->text, v->raw, v->raw_len);
		}
		return join_text(p, parts, text, scratch, why, why_size);
	}
	csv_field *f = NULL;
	void *mark = NULL;
	rows_reason r0 = csv_record(p, rec, len, &f, &mark, id, incl, scratch, why, why_size);
	if (r0)
		return r0;
	for (size_t k = 0; k < p->n_text; k++)
		join_piece(parts, k, f[p->text_col[k]].ptr, f[p->text_col[k]].len);
	return join_text(p, parts, text, scratch, why, why_size);
}
