/* format.c: result and reject lines; see format.h. */
#include "format.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "numparse.h"
#include "utf8.h"

#define RAW_MAX 4096

static char *json_literal(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(6 * len + 3);
	if (out)
		out[json_escape(out, s, len)] = '\0';
	return out;
}

static int csv_needs_quotes(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			return 1;
	return 0;
}

/* Writes s as one CSV field; out must hold 2 * len + 2 bytes. */
static size_t csv_field(char *out, const char *s, size_t len)
{
	if (!csv_needs_quotes(s, len)) {
		memcpy(out, s, len);
		return len;
	}
	char *o = out;
	*o++ = '"';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			*o++ = '"';
		*o++ = s[i];
	}
	*o++ = '"';
	return (size_t)(o - out);
}

static char *csv_literal(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(2 * len + 3);
	if (out)
		out[csv_field(out, s, len)] = '\0';
	return out;
}

int fmt_init(fmt_ctx *c, spec_format format, const model *m, char *const *include, size_t n_include)
{
	memset(c, 0, sizeof *c);
	c->format = format;
	c->m = m;
	c->n_include = n_include;
	c->class_json = calloc(m->n_classes + 1, sizeof *c->class_json);
	c->class_csv = calloc(m->n_classes + 1, sizeof *c->class_csv);
	c->include_json = calloc(n_include + 1, sizeof *c->include_json);
	c->class_len = calloc(m->n_classes + 1, sizeof *c->class_len);
	c->include_len = calloc(n_include + 1, sizeof *c->include_len);
	if (!c->class_json || !c->class_csv || !c->include_json || !c->class_len || !c->include_len)
		return -1;
	c->fixed_bound = 64;
	for (size_t k = 0; k < m->n_classes; k++) {
		if (!(c->class_json[k] = json_literal(m->classes[k])) || !(c->class_csv[k] = csv_literal(m->classes[k])))
			return -1;
		c->class_len[k] = strlen(c->class_json[k]);
		c->fixed_bound += 2 * c->class_len[k] + 40;
	}
	if (m->task == MODEL_TASK_TAGS || m->task == MODEL_TASK_EMBED) {
		/* Only top_k labels per row are written, or the embedding's numbers. */
		size_t longest = 0;
		for (size_t k = 0; k < m->n_classes; k++)
			if (c->class_len[k] > longest)
				longest = c->class_len[k];
		c->fixed_bound = 64 + m->n_outputs * (2 * longest + 48);
	}
	for (size_t k = 0; k < n_include; k++) {
		char *lit = json_literal(include[k]);
		if (!lit)
			return -1;
		size_t n = strlen(lit);
		c->include_json[k] = malloc(n + 3);
		if (!c->include_json[k]) {
			free(lit);
			return -1;
		}
		snprintf(c->include_json[k], n + 3, ",%s:", lit);
		c->include_len[k] = n + 2;
		free(lit);
	}
	return 0;
}

void fmt_free(fmt_ctx *c)
{
	if (c->m)
		for (size_t k = 0; k < c->m->n_classes; k++) {
			if (c->class_json)
				free(c->class_json[k]);
			if (c->class_csv)
				free(c->class_csv[k]);
		}
	for (size_t k = 0; c->include_json && k < c->n_include; k++)
		free(c->include_json[k]);
	free(c->class_json);
	free(c->class_csv);
	free(c->include_json);
	free(c->class_len);
	free(c->include_len);
	memset(c, 0, sizeof *c);
}

static int put(tbuf *b, const char *s, size_t len)
{
	if (tbuf_reserve(b, len))
		return -1;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	return 0;
}

static int puts_(tbuf *b, const char *s)
{
	return put(b, s, strlen(s));
}

int fmt_header(const fmt_ctx *c, char *const *include, tbuf *out)
{
	if (c->format != SPEC_FORMAT_CSV)
		return 0;
	const model *m = c->m;
	int rc = puts_(out, "id");
	if (m->task == MODEL_TASK_TAGS) {
		rc |= puts_(out, ",labels,scores");
	} else if (m->task == MODEL_TASK_EMBED) {
		rc |= puts_(out, ",embedding");
	} else if (m->task == MODEL_TASK_MULTICLASS) {
		rc |= puts_(out, m->raw ? ",label,margin" : ",label,score");
		for (size_t k = 0; k < m->n_classes; k++) {
			char *name = malloc(strlen(m->classes[k]) + 8);
			if (!name)
				return -1;
			sprintf(name, "%s%s", m->raw ? "margin_" : "prob_", m->classes[k]);
			char *lit = csv_literal(name);
			free(name);
			if (!lit)
				return -1;
			rc |= puts_(out, ",") | puts_(out, lit);
			free(lit);
		}
	} else {
		rc |= puts_(out, m->raw ? ",margin" : ",score");
	}
	for (size_t k = 0; k < c->n_include; k++) {
		char *lit = csv_literal(include[k]);
		if (!lit)
			return -1;
		rc |= puts_(out, ",") | puts_(out, lit);
		free(lit);
	}
	return rc | puts_(out, "\n");
}

/* Appends a value as JSON (text escaped, JSON copied, row number as an integer). */
static void put_json_value(tbuf *b, const rows_value *v, int64_t row)
{
	switch (v->kind) {
	case ROWS_VALUE_TEXT:
		b->len += json_escape(b->p + b->len, v->ptr, v->len);
		break;
	case ROWS_VALUE_JSON:
		memcpy(b->p + b->len, v->ptr, v->len);
		b->len += v->len;
		break;
	case ROWS_VALUE_ROWNUM:
		b->len += (size_t)sprintf(b->p + b->len, "%" PRId64, row);
		break;
	default:
		memcpy(b->p + b->len, "null", 4);
		b->len += 4;
	}
}

static void put_csv_value(tbuf *b, const rows_value *v, int64_t row)
{
	switch (v->kind) {
	case ROWS_VALUE_TEXT:
	case ROWS_VALUE_JSON:
		b->len += csv_field(b->p + b->len, v->ptr, v->len);
		break;
	case ROWS_VALUE_ROWNUM:
		b->len += (size_t)sprintf(b->p + b->len, "%" PRId64, row);
		break;
	default:
		break;
	}
}

static size_t value_bound(const rows_value *v)
{
	return 6 * (size_t)v->len + 24;
}

static void put_num(tbuf *b, double v)
{
	b->len += (size_t)num_format_f32(b->p + b->len, v);
}

static void put_mem(tbuf *b, const char *s, size_t n)
{
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* A string literal, its length known at compile time. */
#define put_lit(b, s) put_mem((b), (s), sizeof(s) - 1)

/* Text models: tags (top_k (label, score) pairs, label -1 = none) or an
 * embedding; the last output (the token count) is not written. */
static void fmt_text_result(const fmt_ctx *c, tbuf *out, int64_t row, const rows_value *id,
			    const rows_value *incl, const double *y)
{
	const model *m = c->m;
	size_t n = m->n_outputs - 1;
	int csv = c->format == SPEC_FORMAT_CSV;
	if (csv)
		put_csv_value(out, id, row);
	else {
		put_lit(out, "{\"id\":");
		put_json_value(out, id, row);
	}
	if (m->task == MODEL_TASK_EMBED) {
		if (csv)
			put_lit(out, ",");
		else
			put_lit(out, ",\"embedding\":[");
		for (size_t k = 0; k < n; k++) {
			if (k)
				out->p[out->len++] = csv ? '|' : ',';
			put_num(out, y[k]);
		}
		if (!csv)
			out->p[out->len++] = ']';
	} else if (csv) {
		out->p[out->len++] = ',';
		/* labels joined by '|', one CSV field: quoted when a label is
		 * (its class_csv form starts with a quote), quotes doubled */
		int quote = 0;
		for (size_t k = 0; k + 1 < n && y[k] >= 0; k += 2)
			quote |= c->class_csv[(size_t)y[k]][0] == '"';
		if (quote)
			out->p[out->len++] = '"';
		for (size_t k = 0; k + 1 < n && y[k] >= 0; k += 2) {
			if (k)
				out->p[out->len++] = '|';
			for (const char *l = m->classes[(size_t)y[k]]; *l; l++) {
				if (*l == '"')
					out->p[out->len++] = '"';
				out->p[out->len++] = *l;
			}
		}
		if (quote)
			out->p[out->len++] = '"';
		out->p[out->len++] = ',';
		for (size_t k = 0; k + 1 < n && y[k] >= 0; k += 2) {
			if (k)
				out->p[out->len++] = '|';
			put_num(out, y[k + 1]);
		}
	} else {
		put_lit(out, ",\"tags\":[");
		for (size_t k = 0; k + 1 < n && y[k] >= 0; k += 2) {
			if (k)
				out->p[out->len++] = ',';
			put_lit(out, "{\"label\":");
			put_mem(out, c->class_json[(size_t)y[k]], c->class_len[(size_t)y[k]]);
			put_lit(out, ",\"score\":");
			put_num(out, y[k + 1]);
			out->p[out->len++] = '}';
		}
		out->p[out->len++] = ']';
	}
	for (size_t k = 0; k < c->n_include; k++) {
		if (csv) {
			out->p[out->len++] = ',';
			put_csv_value(out, &incl[k], row);
		} else {
			put_mem(out, c->include_json[k], c->include_len[k]);
			put_json_value(out, &incl[k], row);
		}
	}
	if (!csv)
		out->p[out->len++] = '}';
	out->p[out->len++] = '\n';
}

int fmt_result(const fmt_ctx *c, tbuf *out, int64_t row, const rows_value *id, const rows_value *incl,
	       const double *y)
{
	const model *m = c->m;
	size_t bound = value_bound(id) + c->fixed_bound;
	for (size_t k = 0; k < c->n_include; k++)
		bound += value_bound(&incl[k]) + c->include_len[k];
	if (tbuf_reserve(out, bound))
		return -1;
	if (m->task == MODEL_TASK_TAGS || m->task == MODEL_TASK_EMBED) {
		fmt_text_result(c, out, row, id, incl, y);
		return 0;
	}
	size_t best = 0;
	if (m->task == MODEL_TASK_MULTICLASS)
		for (size_t k = 1; k < m->n_classes; k++)
			if (y[k] > y[best])
				best = k;
	if (c->format == SPEC_FORMAT_CSV) {
		put_csv_value(out, id, row);
		if (m->task == MODEL_TASK_MULTICLASS) {
			out->p[out->len++] = ',';
			put_mem(out, c->class_csv[best], strlen(c->class_csv[best]));
			out->p[out->len++] = ',';
			put_num(out, y[best]);
			for (size_t k = 0; k < m->n_classes; k++) {
				out->p[out->len++] = ',';
				put_num(out, y[k]);
			}
		} else {
			out->p[out->len++] = ',';
			put_num(out, y[0]);
		}
		for (size_t k = 0; k < c->n_include; k++) {
			out->p[out->len++] = ',';
			put_csv_value(out, &incl[k], row);
		}
		out->p[out->len++] = '\n';
		return 0;
	}
	put_lit(out, "{\"id\":");
	put_json_value(out, id, row);
	if (m->task == MODEL_TASK_MULTICLASS) {
		put_lit(out, ",\"label\":");
		put_mem(out, c->class_json[best], c->class_len[best]);
		if (m->raw)
			put_lit(out, ",\"margin\":");
		else
			put_lit(out, ",\"score\":");
		put_num(out, y[best]);
		if (m->raw)
			put_lit(out, ",\"margins\":{");
		else
			put_lit(out, ",\"probs\":{");
		for (size_t k = 0; k < m->n_classes; k++) {
			if (k)
				out->p[out->len++] = ',';
			put_mem(out, c->class_json[k], c->class_len[k]);
			out->p[out->len++] = ':';
			put_num(out, y[k]);
		}
		out->p[out->len++] = '}';
	} else {
		if (m->raw)
			put_lit(out, ",\"margin\":");
		else
			put_lit(out, ",\"score\":");
		put_num(out, y[0]);
	}
	for (size_t k = 0; k < c->n_include; k++) {
		put_mem(out, c->include_json[k], c->include_len[k]);
		put_json_value(out, &incl[k], row);
	}
	put_lit(out, "}\n");
	return 0;
}

/* JSON string of possibly invalid UTF-8: bad bytes become U+FFFD. */
static void put_lossy(tbuf *b, const char *s, size_t len)
{
	b->p[b->len++] = '"';
	while (len) {
		size_t ok = utf8_check(s, len);
		size_t n = json_escape(b->p + b->len, s, ok);
		/* json_escape adds quotes: drop them. */
		memmove(b->p + b->len, b->p + b->len + 1, n - 2);
		b->len += n - 2;
		s += ok;
		len -= ok;
		if (len) {
			memcpy(b->p + b->len, "\xef\xbf\xbd", 3);
			b->len += 3;
			s++;
			len--;
		}
	}
	b->p[b->len++] = '"';
}

int fmt_reject(tbuf *out, int64_t row, int64_t line, const rows_value *id, rows_reason reason,
	       const char *detail, const char *raw, size_t raw_len)
{
	raw_len = utf8_truncate(raw, raw_len, RAW_MAX);
	size_t dlen = strlen(detail);
	if (tbuf_reserve(out, 6 * raw_len + 6 * dlen + value_bound(id) + 160))
		return -1;
	out->len += (size_t)sprintf(out->p + out->len, "{\"row\":%" PRId64 ",\"line\":%" PRId64 ",\"id\":",
				    row, line);
	put_json_value(out, id, row);
	out->len += (size_t)sprintf(out->p + out->len, ",\"reason\":\"%s\",\"detail\":", rows_reason_name[reason]);
	put_lossy(out, detail, dlen);
	put_lit(out, ",\"raw\":");
	put_lossy(out, raw, raw_len);
	put_lit(out, "}\n");
	return 0;
}
