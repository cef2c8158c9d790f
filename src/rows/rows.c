/* rows.c: one CSV / JSON lines record -> the model's input row, its id and
 * the fields copied through; see rows.h. */
#include "rows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "json.h"
#include "numparse.h"
#include "plan.h"
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

/* Shows at most 40 bytes of a value in a message. */
static int shown(size_t len)
{
	return len > 40 ? 40 : (int)len;
}

/* A value for model input i: infinite values are refused where the model's
 * library refuses them (scikit-learn: "Input contains infinity"), kept
 * where it compares them as numbers (XGBoost, LightGBM). */
static rows_reason finite_or_reject(const row_plan *p, size_t i, double v, const char *s, size_t len, char *why,
				    size_t why_size)
{
	if (!p->m->finite_inputs || !isinf(v))
		return ROWS_OK;
	snprintf(why, why_size, "column '%s': infinite value '%.*s'; scikit-learn models refuse infinite input "
		 "(leave the cell empty for a missing value)", p->m->inputs[i].name, shown(len), s);
	return ROWS_BAD_NUMBER;
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
		return finite_or_reject(p, i, *x, s, len, why, why_size);
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
		return finite_or_reject(p, i, *x, s, len, why, why_size);
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
		return ROWS_NOMEM;
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
		return finite_or_reject(p, i, *x, v->raw, v->raw_len, why, why_size);
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
		return jerr.kind == JSON_ERROR_NOMEM ? ROWS_NOMEM : jerr.kind == JSON_ERROR_UTF8 ? ROWS_BAD_UTF8 : ROWS_BAD_JSON;
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
		return ROWS_NOMEM;
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
		return ROWS_NOMEM;
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
