/* json.h: RFC 8259 JSON parser building a read-only tree in an arena.
 *
 * Used for JSON lines records (one value per line, tree reset per batch) and
 * for model files. Strict: what RFC 8259 rejects is rejected (JSONTestSuite's
 * n_ cases), strings must be valid UTF-8, nesting is limited to
 * JSON_MAX_DEPTH. Duplicate object keys are kept; lookups return the last. */
#ifndef BF_JSON_H
#define BF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define JSON_MAX_DEPTH 512

typedef enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
} json_type;

typedef struct json_value json_value;
typedef struct json_member json_member;

struct json_value {
	json_type type;
	uint32_t len;          /* string: bytes after unescaping; array/object: count */
	union {
		double number;         /* JSON_NUMBER, correctly rounded */
		const char *string;    /* JSON_STRING, unescaped, NUL-terminated, in the arena */
		json_value *items;     /* JSON_ARRAY: items[len] */
		json_member *members;  /* JSON_OBJECT: members[len], in document order */
	} u;
	const char *raw;       /* the value's own text in the source (NOT NUL-terminated) */
	uint32_t raw_len;
};

struct json_member {
	const char *key;       /* unescaped, NUL-terminated, in the arena */
	uint32_t key_len;
	json_value value;
};

typedef enum json_error_kind {
	JSON_ERROR_SYNTAX,     /* not JSON (RFC 8259) */
	JSON_ERROR_UTF8,       /* a string is not valid UTF-8 */
	JSON_ERROR_NOMEM,      /* the arena could not grow */
} json_error_kind;

typedef struct json_error {
	json_error_kind kind;
	size_t offset;         /* byte offset of the problem in the text */
	int64_t line;          /* 1-based line in the text */
	int64_t column;        /* 1-based byte column */
	char message[256];     /* e.g. "expected ',' or '}' after object member, found 'x'" */
} json_error;

/* Parses text[0..len) as exactly one JSON value, optionally surrounded by
 * whitespace (space, tab, CR, LF). The text need not be NUL-terminated and must
 * outlive the tree (raw spans point into it). Tree memory comes from a.
 * Returns 0 and sets *out, or -1 and fills err (NULL ok). */
int json_parse(const char *text, size_t len, arena *a, json_value **out,
	       json_error *err);

/* Last member of object v named key (len bytes), or NULL. v may be NULL or
 * not an object. */
const json_value *json_get(const json_value *v, const char *key);
const json_value *json_getn(const json_value *v, const char *key, size_t len);

/* Parses a JSON number (grammar already validated or not: returns -1 when
 * s[0..len) is not exactly a JSON number) into a correctly rounded double. */
int json_number(const char *s, size_t len, double *out);

/* Appends s[0..len) to out as a JSON string literal with quotes, escaping '"',
 * '\\' and control characters. out must hold 6 * len + 2 bytes. Returns the
 * number of bytes written. s must be valid UTF-8. */
size_t json_escape(char *out, const char *s, size_t len);

#endif
