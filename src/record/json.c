/* json.c: strict RFC 8259 parser building a tree in an arena; see json.h.
 *
 * One pass, no recursion: open containers sit on a fixed stack of
 * JSON_MAX_DEPTH frames, and their finished children on a scratch stack of
 * members (on the C stack while small, malloc'd and freed before return when
 * large). A closing bracket copies its children into an arena array of exactly
 * len elements. Strings are scanned 8 bytes at a time while they hold nothing
 * but plain ASCII, and validated as UTF-8 byte by byte otherwise. */
#include "json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"

#define SCRATCH_INLINE 64

typedef struct json_frame {
	const char *start; /* the '[' or '{' that opened the container */
	size_t base;       /* index of its first child on the scratch stack */
} json_frame;

typedef struct json_parser {
	const char *text, *end;
	arena *a;
	json_error *err;
	json_member *scratch; /* (cap) finished children of open containers */
	size_t top, cap;
	bool heap;            /* scratch was malloc'd */
} json_parser;

/* ---- errors ------------------------------------------------------------ */

static void json_where(const char *text, size_t offset, json_error *err)
{
	int64_t line = 1;
	size_t bol = 0;
	const char *p = text, *stop = text + offset;
	while ((p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
		line++;
		p++;
		bol = (size_t)(p - text);
	}
	err->offset = offset;
	err->line = line;
	err->column = (int64_t)(offset - bol) + 1;
}

__attribute__((cold, format(printf, 4, 5)))
static int json_fail_as(json_parser *P, json_error_kind kind, const char *at, const char *fmt, ...)
{
	if (!P->err)
		return -1;
	json_where(P->text, (size_t)(at - P->text), P->err);
	P->err->kind = kind;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(P->err->message, sizeof P->err->message, fmt, ap);
	va_end(ap);
	return -1;
}

#define json_fail(P, at, ...) json_fail_as(P, JSON_ERROR_SYNTAX, at, __VA_ARGS__)
#define json_fail_utf8(P, at, ...) json_fail_as(P, JSON_ERROR_UTF8, at, __VA_ARGS__)
#define json_fail_nomem(P, at) json_fail_as(P, JSON_ERROR_NOMEM, at, "out of memory")

/* Quotes byte c for a message: 'x', '\n', '\xff'. */
static void json_describe(unsigned char c, char out[8])
{
	if (c == '\n')
		snprintf(out, 8, "'\\n'");
	else if (c == '\r')
		snprintf(out, 8, "'\\r'");
	else if (c == '\t')
		snprintf(out, 8, "'\\t'");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(out, 8, "'%c'", c);
	else
		snprintf(out, 8, "'\\x%02x'", c);
}

/* "expected <what>, found 'x'", or "unexpected end of input, expected <what>". */
__attribute__((cold))
static int json_fail_expected(json_parser *P, const char *at, const char *what)
{
	if (at >= P->end)
		return json_fail(P, at, "unexpected end of input, expected %s", what);
	char found[8];
	json_describe((unsigned char)*at, found);
	return json_fail(P, at, "expected %s, found %s", what, found);
}

/* ---- scanning ---------------------------------------------------------- */

static inline const char *json_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* 1 for bytes that end a run of plain string content: '"', '\\', control
 * characters and every byte of a multi-byte UTF-8 sequence. */
static const unsigned char json_str_stop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define JSON_ONES  0x0101010101010101ull
#define JSON_HIGHS 0x8080808080808080ull

/* First byte in [p, end) with json_str_stop set, or end. */
static inline const char *json_scan_plain(const char *p, const char *end)
{
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t quote = w ^ (JSON_ONES * '"');
		uint64_t bslash = w ^ (JSON_ONES * '\\');
		/* A byte is flagged when it is >= 0x80, < 0x20, '"' or '\\'. */
		uint64_t hit = w | ((w - JSON_ONES * 0x20) & ~w) |
			       ((quote - JSON_ONES) & ~quote) |
			       ((bslash - JSON_ONES) & ~bslash);
		if (hit & JSON_HIGHS)
			break;
		p += 8;
	}
	while (p < end && !json_str_stop[(unsigned char)*p])
		p++;
	return p;
}

static inline int json_hex4(const char *p, const char *end)
{
	if (end - p < 4)
		return -1;
	int v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)p[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static inline char *json_put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or -1 after
 * filling the error. */
static int json_utf8_len(json_parser *P, const char *p)
{
	const unsigned char *s = (const unsigned char *)p;
	ptrdiff_t avail = P->end - p;
	unsigned char c = s[0];
	int n;
	if (c < 0xc2) {
		if (c >= 0xc0)
			return json_fail_utf8(P, p, "overlong UTF-8 encoding in string");
		return json_fail_utf8(P, p, "invalid UTF-8 byte 0x%02x in string", c);
	} else if (c < 0xe0) {
		n = 2;
	} else if (c < 0xf0) {
		n = 3;
	} else if (c < 0xf5) {
		n = 4;
	} else {
		return json_fail_utf8(P, p, "invalid UTF-8 byte 0x%02x in string", c);
	}
	for (int i = 1; i < n; i++)
		if (i >= avail || (s[i] & 0xc0) != 0x80)
			return json_fail_utf8(P, p, "truncated UTF-8 sequence in string");
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xf0 && s[1] < 0x90))
		return json_fail_utf8(P, p, "overlong UTF-8 encoding in string");
	if (c == 0xed && s[1] >= 0xa0)
		return json_fail_utf8(P, p, "UTF-8 encoded surrogate in string");
	if (c == 0xf4 && s[1] >= 0x90)
		return json_fail_utf8(P, p, "UTF-8 code point above U+10FFFF in string");
	return n;
}

/* Parses the string whose opening quote is at *pp; on success sets *out and
 * *out_len (unescaped, NUL-terminated, in the arena) and moves *pp past the
 * closing quote. */
static int json_parse_string(json_parser *P, const char **pp, const char **out,
			     uint32_t *out_len)
{
	const char *quote = *pp, *end = P->end;
	const char *start = quote + 1;
	const char *p = json_scan_plain(start, end);
	char *buf;
	size_t n;

	if (p < end && *p == '"') {
		n = (size_t)(p - start);
		if (n > UINT32_MAX)
			return json_fail(P, quote, "string longer than 4 GiB");
		if (!(buf = arena_alloc(P->a, n + 1)))
			return json_fail_nomem(P, quote);
		memcpy(buf, start, n);
		buf[n] = '\0';
		*out = buf;
		*out_len = (uint32_t)n;
		*pp = p + 1;
		return 0;
	}

	/* Unescaping never lengthens the text, so the raw length up to the
	 * closing quote (or the end of input) bounds the result. */
	const char *q = p;
	while (q < end && *q != '"')
		q += *q == '\\' && end - q >= 2 ? 2 : 1;
	size_t cap = (size_t)(q - start);
	if (!(buf = arena_alloc(P->a, cap + 1)))
		return json_fail_nomem(P, quote);
	memcpy(buf, start, (size_t)(p - start));
	char *o = buf + (p - start);

	for (;;) {
		const char *run = p;
		p = json_scan_plain(p, end);
		memcpy(o, run, (size_t)(p - run));
		o += p - run;
		if (p >= end)
			return json_fail(P, quote, "unterminated string");
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c >= 0x80) {
			int len = json_utf8_len(P, p);
			if (len < 0)
				return -1;
			memcpy(o, p, (size_t)len);
			o += len;
			p += len;
			continue;
		}
		if (c < 0x20) {
			char found[8];
			json_describe(c, found);
			return json_fail(P, p, "unescaped control character %s in string",
					 found);
		}
		/* c == '\\' */
		if (end - p < 2)
			return json_fail(P, quote, "unterminated string");
		switch (p[1]) {
		case '"':  *o++ = '"';  break;
		case '\\': *o++ = '\\'; break;
		case '/':  *o++ = '/';  break;
		case 'b':  *o++ = '\b'; break;
		case 'f':  *o++ = '\f'; break;
		case 'n':  *o++ = '\n'; break;
		case 'r':  *o++ = '\r'; break;
		case 't':  *o++ = '\t'; break;
		case 'u': {
			int cp = json_hex4(p + 2, end);
			if (cp < 0)
				return json_fail(P, p, "invalid \\u escape in string, expected 4 hex digits");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return json_fail(P, p, "invalid \\u surrogate: lone low surrogate \\u%04x in string",
						 (unsigned)cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				int lo = -1;
				if (end - p >= 8 && p[6] == '\\' && p[7] == 'u') {
					lo = json_hex4(p + 8, end);
					if (lo < 0)
						return json_fail(P, p + 6, "invalid \\u escape in string, expected 4 hex digits");
				}
				if (lo < 0xdc00 || lo > 0xdfff)
					return json_fail(P, p, "invalid \\u surrogate: high surrogate \\u%04x not followed by a low surrogate",
							 (unsigned)cp);
				o = json_put_utf8(o, 0x10000 + (((uint32_t)cp - 0xd800) << 10) +
							  ((uint32_t)lo - 0xdc00));
				p += 12;
				continue;
			}
			o = json_put_utf8(o, (uint32_t)cp);
			p += 6;
			continue;
		}
		default: {
			char found[8];
			json_describe((unsigned char)p[1], found);
			return json_fail(P, p + 1, "invalid escape in string, expected one of \"\\/bfnrtu after '\\', found %s",
					 found);
		}
		}
		p += 2;
	}
	n = (size_t)(o - buf);
	if (n > UINT32_MAX)
		return json_fail(P, quote, "string longer than 4 GiB");
	*o = '\0';
	*out = buf;
	*out_len = (uint32_t)n;
	*pp = p + 1;
	return 0;
}

/* Number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
typedef enum json_num_status {
	JSON_NUM_OK,
	JSON_NUM_NO_DIGIT,     /* '-' not followed by a digit */
	JSON_NUM_LEADING_ZERO, /* "01" */
	JSON_NUM_NO_FRACTION,  /* '.' not followed by a digit */
	JSON_NUM_NO_EXPONENT,  /* 'e' not followed by a digit */
} json_num_status;

/* Scans the number at p; sets *stop to its end (or to the offending byte) and
 * *value when it is small enough to convert without num_parse. */
static inline json_num_status json_scan_number(const char *p, const char *end,
					       const char **stop, double *value,
					       bool *done)
{
	bool neg = false;
	*done = false;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= end || (unsigned)(*p - '0') > 9) {
		*stop = p;
		return JSON_NUM_NO_DIGIT;
	}
	const char *digits = p;
	uint64_t u = 0;
	if (*p == '0') {
		p++;
		if (p < end && (unsigned)(*p - '0') <= 9) {
			*stop = p - 1;
			return JSON_NUM_LEADING_ZERO;
		}
	} else {
		while (p < end && (unsigned)(*p - '0') <= 9)
			u = u * 10 + (uint64_t)(*p++ - '0'); /* wraps harmlessly when long */
	}
	bool simple = p - digits <= 15;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || (unsigned)(*p - '0') > 9) {
			*stop = p;
			return JSON_NUM_NO_FRACTION;
		}
		while (p < end && (unsigned)(*p - '0') <= 9)
			p++;
		simple = false;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || (unsigned)(*p - '0') > 9) {
			*stop = p;
			return JSON_NUM_NO_EXPONENT;
		}
		while (p < end && (unsigned)(*p - '0') <= 9)
			p++;
		simple = false;
	}
	*stop = p;
	if (simple) {
		/* At most 15 digits: exact in a double, so trivially rounded. */
		double d = (double)u;
		*value = neg ? -d : d;
		*done = true;
	}
	return JSON_NUM_OK;
}

int json_number(const char *s, size_t len, double *out)
{
	const char *stop;
	bool done;
	double d;
	if (json_scan_number(s, s + len, &stop, &d, &done) != JSON_NUM_OK ||
	    stop != s + len)
		return -1;
	if (!done && num_parse(s, len, &d) != 0)
		return -1;
	*out = d;
	return 0;
}

static int json_parse_number(json_parser *P, const char **pp, double *out)
{
	const char *p = *pp, *stop;
	bool done;
	switch (json_scan_number(p, P->end, &stop, out, &done)) {
	case JSON_NUM_OK:
		break;
	case JSON_NUM_NO_DIGIT:
		return json_fail_expected(P, stop, "a digit after '-'");
	case JSON_NUM_LEADING_ZERO:
		return json_fail(P, stop, "invalid number, a leading '0' must not be followed by a digit");
	case JSON_NUM_NO_FRACTION:
		return json_fail_expected(P, stop, "a digit after '.' in number");
	case JSON_NUM_NO_EXPONENT:
		return json_fail_expected(P, stop, "a digit in the exponent of number");
	}
	if (!done && num_parse(p, (size_t)(stop - p), out) != 0)
		return json_fail(P, p, "invalid number");
	*pp = stop;
	return 0;
}

/* ---- tree -------------------------------------------------------------- */

/* Pushes a member slot for the next child of the innermost container. */
static inline json_member *json_push(json_parser *P)
{
	if (P->top == P->cap) {
		size_t cap = P->cap * 2;
		json_member *s = P->heap ? realloc(P->scratch, cap * sizeof *s)
					 : malloc(cap * sizeof *s);
		if (!s)
			return NULL;
		if (!P->heap)
			memcpy(s, P->scratch, P->top * sizeof *s);
		P->scratch = s;
		P->cap = cap;
		P->heap = true;
	}
	return &P->scratch[P->top++];
}

int json_parse(const char *text, size_t len, arena *a, json_value **out,
	       json_error *err)
{
	json_member inline_scratch[SCRATCH_INLINE];
	json_frame frames[JSON_MAX_DEPTH];
	json_parser P = {
		.text = text, .end = text + len, .a = a, .err = err,
		.scratch = inline_scratch, .top = 0, .cap = SCRATCH_INLINE,
		.heap = false,
	};
	const char *p = text, *end = P.end;
	int depth = 0;
	json_value v;
	json_member *m;

	if (err) {
		err->offset = 0;
		err->line = 0;
		err->column = 0;
		err->message[0] = '\0';
	}
	if (len > UINT32_MAX) {
		json_fail(&P, text, "input longer than 4 GiB");
		goto fail;
	}
	p = json_skip_ws(p, end);

value:
	if (p >= end) {
		json_fail_expected(&P, p, "a value");
		goto fail;
	}
	v.raw = p;
	switch (*p) {
	case '[':
	case '{':
		if (depth == JSON_MAX_DEPTH) {
			json_fail(&P, p, "nesting deeper than %d levels", JSON_MAX_DEPTH);
			goto fail;
		}
		frames[depth].start = p;
		frames[depth].base = P.top;
		depth++;
		p = json_skip_ws(p + 1, end);
		if (*v.raw == '[') {
			if (p < end && *p == ']')
				goto close_array;
			goto item;
		}
		if (p < end && *p == '}')
			goto close_object;
		if (p >= end || *p != '"') {
			json_fail_expected(&P, p, "a string key or '}' after '{'");
			goto fail;
		}
		goto member;
	case '"':
		v.type = JSON_STRING;
		if (json_parse_string(&P, &p, &v.u.string, &v.len))
			goto fail;
		break;
	case 't':
		if (end - p < 4 || memcmp(p, "true", 4)) {
			json_fail(&P, p, "invalid literal, expected 'true'");
			goto fail;
		}
		v.type = JSON_TRUE;
		v.len = 0;
		v.u.number = 0;
		p += 4;
		break;
	case 'f':
		if (end - p < 5 || memcmp(p, "false", 5)) {
			json_fail(&P, p, "invalid literal, expected 'false'");
			goto fail;
		}
		v.type = JSON_FALSE;
		v.len = 0;
		v.u.number = 0;
		p += 5;
		break;
	case 'n':
		if (end - p < 4 || memcmp(p, "null", 4)) {
			json_fail(&P, p, "invalid literal, expected 'null'");
			goto fail;
		}
		v.type = JSON_NULL;
		v.len = 0;
		v.u.number = 0;
		p += 4;
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		v.type = JSON_NUMBER;
		v.len = 0;
		if (json_parse_number(&P, &p, &v.u.number))
			goto fail;
		break;
	default:
		json_fail_expected(&P, p, "a value");
		goto fail;
	}
	v.raw_len = (uint32_t)(p - v.raw);

have_value:
	if (depth == 0)
		goto finish;
	P.scratch[P.top - 1].value = v;
	p = json_skip_ws(p, end);
	if (*frames[depth - 1].start == '[') {
		if (p < end && *p == ',') {
			p = json_skip_ws(p + 1, end);
			goto item;
		}
		if (p < end && *p == ']')
			goto close_array;
		json_fail_expected(&P, p, "',' or ']' after array item");
		goto fail;
	}
	if (p < end && *p == ',') {
		p = json_skip_ws(p + 1, end);
		if (p >= end || *p != '"') {
			json_fail_expected(&P, p, "a string key after ',' in object");
			goto fail;
		}
		goto member;
	}
	if (p < end && *p == '}')
		goto close_object;
	json_fail_expected(&P, p, "',' or '}' after object member");
	goto fail;

item: /* p is at the next array item */
	if (!(m = json_push(&P))) {
		json_fail_nomem(&P, p);
		goto fail;
	}
	m->key = NULL;
	m->key_len = 0;
	goto value;

member: /* p is at the opening quote of a key */
	if (!(m = json_push(&P))) {
		json_fail_nomem(&P, p);
		goto fail;
	}
	if (json_parse_string(&P, &p, &m->key, &m->key_len))
		goto fail;
	p = json_skip_ws(p, end);
	if (p >= end || *p != ':') {
		json_fail_expected(&P, p, "':' after object key");
		goto fail;
	}
	p = json_skip_ws(p + 1, end);
	goto value;

close_array: { /* p is at ']' */
	json_frame *f = &frames[--depth];
	size_t n = P.top - f->base;
	if (n > UINT32_MAX) {
		json_fail(&P, f->start, "array with more than 2^32-1 items");
		goto fail;
	}
	v.type = JSON_ARRAY;
	v.len = (uint32_t)n;
	v.u.items = NULL;
	if (n) {
		json_value *items = arena_alloc(a, n * sizeof *items);
		if (!items) {
			json_fail_nomem(&P, f->start);
			goto fail;
		}
		const json_member *src = P.scratch + f->base;
		for (size_t i = 0; i < n; i++)
			items[i] = src[i].value;
		v.u.items = items;
	}
	P.top = f->base;
	p++;
	v.raw = f->start;
	v.raw_len = (uint32_t)(p - f->start);
	goto have_value;
}

close_object: { /* p is at '}' */
	json_frame *f = &frames[--depth];
	size_t n = P.top - f->base;
	if (n > UINT32_MAX) {
		json_fail(&P, f->start, "object with more than 2^32-1 members");
		goto fail;
	}
	v.type = JSON_OBJECT;
	v.len = (uint32_t)n;
	v.u.members = NULL;
	if (n) {
		json_member *members = arena_alloc(a, n * sizeof *members);
		if (!members) {
			json_fail_nomem(&P, f->start);
			goto fail;
		}
		memcpy(members, P.scratch + f->base, n * sizeof *members);
		v.u.members = members;
	}
	P.top = f->base;
	p++;
	v.raw = f->start;
	v.raw_len = (uint32_t)(p - f->start);
	goto have_value;
}

finish:
	p = json_skip_ws(p, end);
	if (p < end) {
		json_fail_expected(&P, p, "end of input after value");
		goto fail;
	}
	json_value *root = arena_alloc(a, sizeof *root);
	if (!root) {
		json_fail_nomem(&P, text);
		goto fail;
	}
	*root = v;
	if (P.heap)
		free(P.scratch);
	*out = root;
	return 0;

fail:
	if (P.heap)
		free(P.scratch);
	return -1;
}

/* ---- lookup and output ------------------------------------------------- */

const json_value *json_getn(const json_value *v, const char *key, size_t len)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (uint32_t i = v->len; i-- > 0;) {
		const json_member *m = &v->u.members[i];
		if (m->key_len == len && memcmp(m->key, key, len) == 0)
			return &m->value;
	}
	return NULL;
}

const json_value *json_get(const json_value *v, const char *key)
{
	return json_getn(v, key, strlen(key));
}

size_t json_escape(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const char *end = s + len;
	char *o = out;
	*o++ = '"';
	while (s < end) {
		const char *run = s;
		while (s < end && ((unsigned char)*s >= 0x80 ||
				   !json_str_stop[(unsigned char)*s]))
			s++;
		memcpy(o, run, (size_t)(s - run));
		o += s - run;
		if (s >= end)
			break;
		unsigned char c = (unsigned char)*s++;
		*o++ = '\\';
		switch (c) {
		case '"':  *o++ = '"';  break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b';  break;
		case '\f': *o++ = 'f';  break;
		case '\n': *o++ = 'n';  break;
		case '\r': *o++ = 'r';  break;
		case '\t': *o++ = 't';  break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	return (size_t)(o - out);
}
