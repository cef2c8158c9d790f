/* spec.c: the job spec loader; see spec.h.
 *
 * Read top to bottom: libyaml events become a small tree (mappings, lists and
 * scalars, each with its line and column); `--set` overrides edit that tree;
 * a schema table walks it, checking every key and storing its value into the
 * job_spec; last, the defaults that depend on other keys (formats from
 * extensions, rejects and report paths) are filled in. A new key is a new row
 * in a table below (and a field in job_spec); the walker needs no change. */
#include "spec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "file.h"
#include "model.h"
#include "record.h"
#include "sink.h"

#define SPEC_MAX_DEPTH 32   /* deeper than any valid spec; bounds the recursion */
#define SPEC_SET "--set"    /* the file name that errors in overrides carry */
#define SPEC_PATH_MAX 256   /* a dotted key path in a message */
#define SPEC_QUOTE_MAX 80   /* a quoted value in a message */
#define SPEC_NAME_MAX 64    /* longest key the did-you-mean compares */
#define SPEC_FILE_MAX (16u << 20) /* no job spec is larger */

static int spec_nomem(bf_error *err)
{
	return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory loading the spec");
}

static char *spec_concat(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);
	if (s) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

static int spec_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool spec_ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && !strncasecmp(s + len - n, suffix, n);
}

/* ---- the tree ----------------------------------------------------------- */

typedef enum spec_node_kind {
	SPEC_NODE_SCALAR,
	SPEC_NODE_MAP,  /* kids: key, value, key, value, ... */
	SPEC_NODE_LIST,
} spec_node_kind;

typedef struct spec_node {
	spec_node_kind kind;
	bool quoted;             /* quoted, block or !!str scalar: always a string */
	bool from_set;           /* made by an override: errors name its origin, paths are cwd-relative */
	const char *origin;      /* an override's: "--set", "-o", ... */
	int64_t line, column;    /* 1-based; 0 in overrides */
	char *text;              /* scalar: its text, NUL-terminated */
	size_t len;              /* scalar: its length (a "\0" escape can put a NUL inside) */
	struct spec_node **kids; /* map: key, value, ...; list: items */
	size_t n_kids, cap_kids;
} spec_node;

static spec_node *node_new(spec_node_kind kind, bool from_set, const yaml_mark_t *mark)
{
	spec_node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->kind = kind;
	n->from_set = from_set;
	if (!from_set && mark) {
		n->line = (int64_t)mark->line + 1;
		n->column = (int64_t)mark->column + 1;
	}
	return n;
}

static spec_node *node_scalar(const char *text, size_t len, bool from_set, const yaml_mark_t *mark)
{
	spec_node *n = node_new(SPEC_NODE_SCALAR, from_set, mark);
	if (!n)
		return NULL;
	if (!(n->text = malloc(len + 1))) {
		free(n);
		return NULL;
	}
	memcpy(n->text, text, len);
	n->text[len] = '\0';
	n->len = len;
	return n;
}

static void node_free(spec_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

/* Appends one kid, or two (a key and its value) when b is not NULL. On error
 * nothing is appended and the caller still owns a and b. */
static int node_push(spec_node *n, spec_node *a, spec_node *b)
{
	if (n->cap_kids - n->n_kids < 2) {
		size_t cap = n->cap_kids ? 2 * n->cap_kids : 8;
		spec_node **kids = realloc(n->kids, cap * sizeof *kids);
		if (!kids)
			return -1;
		n->kids = kids;
		n->cap_kids = cap;
	}
	n->kids[n->n_kids++] = a;
	if (b)
		n->kids[n->n_kids++] = b;
	return 0;
}

/* "~", "null" or nothing, written plain: the key is absent. */
static bool node_is_null(const spec_node *n)
{
	return n->kind == SPEC_NODE_SCALAR && !n->quoted &&
	       (n->len == 0 || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
		!strcmp(n->text, "Null") || !strcmp(n->text, "NULL"));
}

static bool node_is(const spec_node *n, const char *key, size_t len)
{
	return n->kind == SPEC_NODE_SCALAR && n->len == len && !memcmp(n->text, key, len);
}

/* The slot holding the value of key in map, or NULL. */
static spec_node **node_get(spec_node *map, const char *key, size_t len)
{
	for (size_t i = 0; i + 1 < map->n_kids; i += 2)
		if (node_is(map->kids[i], key, len))
			return &map->kids[i + 1];
	return NULL;
}

/* ---- reading YAML into the tree ----------------------------------------- */

typedef struct spec_reader {
	yaml_parser_t parser;
	const char *file;  /* the spec path, or "--set" */
	const char *what;  /* how syntax errors start: "invalid yaml", ... */
	bool from_set;     /* an override's value: no lines or columns */
	bf_error *err;
} spec_reader;

static int reader_fail(spec_reader *r)
{
	const yaml_parser_t *p = &r->parser;
	if (p->error == YAML_MEMORY_ERROR)
		return spec_nomem(r->err);
	const char *problem = p->problem ? p->problem : "unreadable input";
	if (p->error == YAML_READER_ERROR)
		return bf_err_set(r->err, BF_ESPEC, r->file, 0, 0, "%s: %s at byte %zu", r->what,
				  problem, p->problem_offset);
	if (r->from_set)
		return bf_err_set(r->err, BF_ESPEC, r->file, 0, 0, "%s: %s", r->what, problem);
	int64_t line = (int64_t)p->problem_mark.line + 1, column = (int64_t)p->problem_mark.column + 1;
	if (p->context)
		return bf_err_set(r->err, BF_ESPEC, r->file, line, column,
				  "%s: %s (%s that starts at line %zu, column %zu)", r->what, problem,
				  p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	return bf_err_set(r->err, BF_ESPEC, r->file, line, column, "%s: %s", r->what, problem);
}

static int reader_fail_at(spec_reader *r, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reader_fail_at(spec_reader *r, const yaml_mark_t *mark, const char *fmt, ...)
{
	char msg[sizeof r->err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int64_t line = r->from_set ? 0 : (int64_t)mark->line + 1;
	int64_t column = r->from_set ? 0 : (int64_t)mark->column + 1;
	return bf_err_set(r->err, BF_ESPEC, r->file, line, column, "%s", msg);
}

static int reader_next(spec_reader *r, yaml_event_t *ev)
{
	return yaml_parser_parse(&r->parser, ev) ? BF_OK : reader_fail(r);
}

/* Builds the node that starts with ev (which it consumes) and its kids. */
static int reader_node(spec_reader *r, yaml_event_t *ev, spec_node **out, int depth)
{
	spec_node_kind kind;
	int rc;

	*out = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		kind = SPEC_NODE_SCALAR;
		break;
	case YAML_SEQUENCE_START_EVENT:
		kind = SPEC_NODE_LIST;
		break;
	case YAML_MAPPING_START_EVENT:
		kind = SPEC_NODE_MAP;
		break;
	case YAML_ALIAS_EVENT:
		rc = reader_fail_at(r, &ev->start_mark, "yaml aliases ('*%s') are not supported",
				    (const char *)ev->data.alias.anchor);
		yaml_event_delete(ev);
		return rc;
	default:
		rc = reader_fail_at(r, &ev->start_mark, "unexpected yaml event %d", (int)ev->type);
		yaml_event_delete(ev);
		return rc;
	}
	if (depth >= SPEC_MAX_DEPTH) {
		rc = reader_fail_at(r, &ev->start_mark, "nesting is deeper than %d levels",
				    SPEC_MAX_DEPTH);
		yaml_event_delete(ev);
		return rc;
	}

	spec_node *n;
	if (kind == SPEC_NODE_SCALAR) {
		const char *tag = (const char *)ev->data.scalar.tag;
		n = node_scalar((const char *)ev->data.scalar.value, ev->data.scalar.length,
				r->from_set, &ev->start_mark);
		if (n)
			n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
				    (tag && !strcmp(tag, YAML_STR_TAG));
	} else {
		n = node_new(kind, r->from_set, &ev->start_mark);
	}
	yaml_event_delete(ev);
	if (!n)
		return spec_nomem(r->err);
	if (r->from_set)
		n->origin = r->file;
	if (kind == SPEC_NODE_SCALAR) {
		*out = n;
		return BF_OK;
	}

	yaml_event_type_t end = kind == SPEC_NODE_LIST ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
	for (;;) {
		yaml_event_t e;
		if ((rc = reader_next(r, &e)))
			goto fail;
		if (e.type == end) {
			yaml_event_delete(&e);
			break;
		}
		spec_node *kid;
		if ((rc = reader_node(r, &e, &kid, depth + 1)))
			goto fail;
		if (node_push(n, kid, NULL)) {
			node_free(kid);
			rc = spec_nomem(r->err);
			goto fail;
		}
	}
	*out = n;
	return BF_OK;
fail:
	node_free(n);
	return rc;
}

/* Reads the stream's one document into *root (NULL when the stream is empty). */
static int reader_document(spec_reader *r, spec_node **root)
{
	yaml_event_t ev;
	int rc;

	*root = NULL;
	for (;;) {
		if ((rc = reader_next(r, &ev)))
			return rc;
		if (ev.type != YAML_STREAM_START_EVENT && ev.type != YAML_DOCUMENT_START_EVENT)
			break;
		yaml_event_delete(&ev);
	}
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return BF_OK;
	}
	if ((rc = reader_node(r, &ev, root, 0)))
		return rc;
	for (;;) {
		if ((rc = reader_next(r, &ev)))
			break;
		yaml_event_type_t type = ev.type;
		yaml_mark_t mark = ev.start_mark;
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			return BF_OK;
		if (type == YAML_DOCUMENT_START_EVENT) {
			rc = reader_fail_at(r, &mark, "a second yaml document; the spec must be one document");
			break;
		}
	}
	node_free(*root);
	*root = NULL;
	return rc;
}

static int spec_read_file(const char *path, spec_node **root, bf_error *err)
{
	*root = NULL;
	char *text;
	size_t len;
	/* a regular file only (a FIFO would hang the read), of a sane size */
	int rc = bf_read_whole(path, "the spec", SPEC_FILE_MAX, 0, BF_ESPEC, &text, &len, err);
	if (rc)
		return rc;
	spec_reader r = {.file = path, .what = "invalid yaml", .err = err};
	if (!yaml_parser_initialize(&r.parser)) {
		free(text);
		return spec_nomem(err);
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
	rc = reader_document(&r, root);
	yaml_parser_delete(&r.parser);
	free(text);
	return rc;
}

/* ---- overrides ---------------------------------------------------------- */

/* Parses the value of an override, a YAML flow value, into a detached node.
 * The value is read inside "[...]" so that "-" or "a: b" stay flow values. */
static int spec_parse_value(const char *key, size_t key_len, const char *value, const char *origin,
			    spec_node **out, bf_error *err)
{
	*out = NULL;
	if (!*value) {
		if ((*out = node_scalar("", 0, true, NULL)))
			(*out)->origin = origin;
		return *out ? BF_OK : spec_nomem(err);
	}
	char what[SPEC_PATH_MAX + 40];
	snprintf(what, sizeof what, "invalid yaml in the value of '%.*s'", (int)key_len, key);
	size_t n = strlen(value);
	char *text = malloc(n + 3);
	if (!text)
		return spec_nomem(err);
	text[0] = '[';
	memcpy(text + 1, value, n);
	memcpy(text + 1 + n, "]", 2);

	spec_reader r = {.file = origin, .what = what, .from_set = true, .err = err};
	if (!yaml_parser_initialize(&r.parser)) {
		free(text);
		return spec_nomem(err);
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, n + 2);
	spec_node *list;
	int rc = reader_document(&r, &list);
	yaml_parser_delete(&r.parser);
	free(text);
	if (rc)
		return rc;
	if (!list || list->kind != SPEC_NODE_LIST || list->n_kids != 1) {
		size_t found = list && list->kind == SPEC_NODE_LIST ? list->n_kids : 0;
		node_free(list);
		return bf_err_set(err, BF_ESPEC, origin, 0, 0,
				  "the value of '%.*s' must be one yaml value, found %zu; "
				  "write [a, b] for a list", (int)key_len, key, found);
	}
	*out = list->kids[0];
	list->n_kids = 0;
	node_free(list);
	return BF_OK;
}

/* Applies "key.path=value": the value replaces the node at that path, and
 * mappings missing on the way (or in the way) are created. */
static int spec_apply_override(spec_node *root, const char *ov, const char *origin, bf_error *err)
{
	const char *eq = strchr(ov, '=');
	if (!eq)
		return bf_err_set(err, BF_ESPEC, origin, 0, 0,
				  "override '%s' has no '='; expected key.path=value", ov);
	for (const char *p = ov;;) {
		const char *dot = memchr(p, '.', (size_t)(eq - p));
		if ((dot ? dot : eq) == p)
			return bf_err_set(err, BF_ESPEC, origin, 0, 0,
					  "override '%s' has an empty key; expected key.path=value", ov);
		if (!dot)
			break;
		p = dot + 1;
	}

	spec_node *value;
	int rc = spec_parse_value(ov, (size_t)(eq - ov), eq + 1, origin, &value, err);
	if (rc)
		return rc;
	spec_node *map = root;
	for (const char *seg = ov;;) {
		const char *dot = memchr(seg, '.', (size_t)(eq - seg));
		size_t len = (size_t)((dot ? dot : eq) - seg);
		spec_node **slot = node_get(map, seg, len);
		spec_node *put = value;
		if (dot) {
			if (slot && (*slot)->kind == SPEC_NODE_MAP) {
				map = *slot;
				seg = dot + 1;
				continue;
			}
			if (!(put = node_new(SPEC_NODE_MAP, true, NULL)))
				goto nomem;
			put->origin = origin;
		}
		if (slot) {
			node_free(*slot);
			*slot = put;
		} else {
			spec_node *key = node_scalar(seg, len, true, NULL);
			if (key)
				key->origin = origin;
			if (!key || node_push(map, key, put)) {
				node_free(key);
				if (put != value)
					node_free(put);
				goto nomem;
			}
		}
		if (!dot)
			return BF_OK;
		map = put;
		seg = dot + 1;
	}
nomem:
	node_free(value);
	return spec_nomem(err);
}

/* ---- the schema --------------------------------------------------------- */

typedef enum spec_type {
	SPEC_MAP,        /* a mapping checked against .keys */
	SPEC_STRING,
	SPEC_PATH,       /* a non-empty string; relative paths in the file join the file's folder */
	SPEC_INT,        /* a whole number in the range */
	SPEC_NUMBER,     /* a finite number in the range */
	SPEC_BOOL,       /* true/false, yes/no, on/off, written plain */
	SPEC_CHAR,       /* one byte; "\t" (two characters) or "tab" for a tab */
	SPEC_ENUM,       /* one of .choices */
	SPEC_STRINGS,    /* a list of strings */
	SPEC_STRING_MAP, /* a mapping of strings to strings */
	SPEC_LIST_MAP,   /* a mapping of strings to lists of strings */
	SPEC_KIND,       /* the name of a model kind of the registry (model.h) */
} spec_type;

enum {
	SPEC_REQUIRED = 1 << 0,
	SPEC_AUTO = 1 << 1, /* SPEC_INT: also "auto", stored as 0 */
	SPEC_NAN = 1 << 2,  /* SPEC_NUMBER: also "nan", stored as NAN */
	SPEC_NONE = 1 << 3, /* SPEC_PATH: also "none" (off), kept as is */
};

typedef struct spec_key {
	const char *name;
	spec_type type;
	unsigned flags;
	bool has_min, has_max;       /* SPEC_INT / SPEC_NUMBER range */
	double min, max;
	double def;                  /* default of an int, number, bool, char or int-valued enum */
	const char *const *choices;  /* SPEC_ENUM: NULL-terminated */
	const int *values;           /* SPEC_ENUM: the int stored per choice; NULL stores the name */
	const struct spec_key *keys; /* SPEC_MAP: its rows, ended by a row with a NULL name */
	size_t at, size;             /* the job_spec field; size 0: checked, not stored */
	size_t count_at;             /* SPEC_STRINGS / SPEC_STRING_MAP / SPEC_LIST_MAP: its size_t count field */
	size_t mark_at;              /* the spec_mark field of the value; 0: none */
} spec_key;

#define SPEC_FIELD(f) .at = offsetof(job_spec, f), .size = sizeof(((job_spec *)0)->f)
#define SPEC_LIST(f, n) SPEC_FIELD(f), .count_at = offsetof(job_spec, n)
#define SPEC_MARK(m) .mark_at = offsetof(job_spec, m)
#define SPEC_AT_LEAST(lo) .has_min = true, .min = (lo)
#define SPEC_RANGE(lo, hi) .has_min = true, .min = (lo), .has_max = true, .max = (hi)
#define SPEC_CHOICES(names, vals) .choices = (names), .values = (vals)

_Static_assert(sizeof(spec_format) == sizeof(int32_t), "spec_format is stored as an int32_t");
_Static_assert(sizeof(int) == sizeof(int32_t), "int fields are stored as int32_t");
_Static_assert(sizeof(size_t) == sizeof(int64_t), "size_t fields are stored as int64_t");

static const char *const spec_format_names[] = {"csv", "jsonl", NULL};
static const int spec_format_values[] = {SPEC_FORMAT_CSV, SPEC_FORMAT_JSONL};
static const char *const spec_output_format_names[] = {"jsonl", "csv", NULL};
static const int spec_output_format_values[] = {SPEC_FORMAT_JSONL, SPEC_FORMAT_CSV};
static const char *const spec_compress_names[] = {"zstd", "none", NULL};
static const int spec_compress_values[] = {1, 0};

static const spec_key spec_csv_keys[] = {
	{"delimiter", SPEC_CHAR, .def = ',', SPEC_FIELD(input.delimiter)},
	{"header", SPEC_BOOL, .def = 1, SPEC_FIELD(input.header)},
	{"max_lines_per_record", SPEC_INT, SPEC_RANGE(1, 1000000), .def = 100, SPEC_FIELD(input.max_lines)},
	{0},
};

static const spec_key spec_input_keys[] = {
	{"path", SPEC_PATH, SPEC_REQUIRED, SPEC_FIELD(input.path), SPEC_MARK(input.path_mark)},
	{"format", SPEC_ENUM, SPEC_CHOICES(spec_format_names, spec_format_values),
	 .def = SPEC_FORMAT_AUTO, SPEC_FIELD(input.format)},
	{"id_field", SPEC_STRING, SPEC_FIELD(input.id_field)},
	{"csv", SPEC_MAP, .keys = spec_csv_keys},
	{"text_fields", SPEC_STRINGS, SPEC_LIST(input.text_fields, input.n_text_fields)},
	{"max_record_bytes", SPEC_INT, SPEC_AT_LEAST(64), .def = 1 << 20,
	 SPEC_FIELD(input.max_record_bytes)},
	{0},
};

static const spec_key spec_model_keys[] = {
	{"kind", SPEC_KIND, SPEC_REQUIRED, SPEC_FIELD(model.kind)},
	{"path", SPEC_PATH, SPEC_REQUIRED, SPEC_FIELD(model.path), SPEC_MARK(model.path_mark)},
	{"trees", SPEC_INT, SPEC_AT_LEAST(1), SPEC_FIELD(model.trees)},
	{"top_k", SPEC_INT, SPEC_AT_LEAST(-1), .def = 1, SPEC_FIELD(model.top_k)},
	{"threshold", SPEC_NUMBER, .def = 0, SPEC_FIELD(model.threshold)},
	/* one of the kind's tasks (model_kind.tasks): checked with the kind */
	{"task", SPEC_STRING, SPEC_FIELD(model.task)},
	{"max_length", SPEC_INT, SPEC_AT_LEAST(2), SPEC_FIELD(model.max_length)},
	{"labels", SPEC_STRING_MAP, SPEC_LIST(model.labels, model.n_labels)},
	{"normalize", SPEC_BOOL, .def = -1, SPEC_FIELD(model.normalize)},
	{"temperature", SPEC_NUMBER, SPEC_AT_LEAST(0), SPEC_FIELD(model.temperature)},
	{"classes", SPEC_STRINGS, SPEC_LIST(model.classes, model.n_classes)},
	{0},
};

static const spec_key spec_features_keys[] = {
	{"missing", SPEC_NUMBER, SPEC_NAN, .def = NAN, SPEC_FIELD(features.missing_value)},
	{"columns", SPEC_STRING_MAP, SPEC_LIST(features.columns, features.n_columns)},
	{"categories", SPEC_LIST_MAP, SPEC_LIST(features.categories, features.n_categories)},
	{"onehot", SPEC_STRING_MAP, SPEC_LIST(features.onehot, features.n_onehot)},
	{"indicators", SPEC_STRING_MAP, SPEC_LIST(features.indicators, features.n_indicators)},
	{"by_position", SPEC_BOOL, SPEC_FIELD(features.by_position)},
	{0},
};

static const spec_key spec_batch_keys[] = {
	{"rows", SPEC_INT, SPEC_AUTO, SPEC_AT_LEAST(1), SPEC_FIELD(batch_rows)},
	{"max_tokens", SPEC_INT, SPEC_AT_LEAST(16), .def = 16384, SPEC_FIELD(batch_max_tokens)},
	{0},
};

static const spec_key spec_output_keys[] = {
	{"path", SPEC_PATH, SPEC_REQUIRED, SPEC_FIELD(output.path), SPEC_MARK(output.path_mark)},
	{"format", SPEC_ENUM, SPEC_CHOICES(spec_output_format_names, spec_output_format_values),
	 .def = SPEC_FORMAT_AUTO, SPEC_FIELD(output.format)},
	{"zstd_level", SPEC_INT, SPEC_RANGE(1, 19), .def = 3, SPEC_FIELD(output.zstd_level)},
	/* -1 until set: spec_finish() then looks at the path */
	{"compress", SPEC_ENUM, SPEC_CHOICES(spec_compress_names, spec_compress_values), .def = -1,
	 SPEC_FIELD(output.zstd)},
	{"include", SPEC_STRINGS, SPEC_LIST(output.include, output.n_include)},
	{"raw", SPEC_BOOL, SPEC_FIELD(output.raw)},
	{0},
};

static const spec_key spec_rejects_keys[] = {
	{"path", SPEC_PATH, SPEC_NONE, SPEC_FIELD(rejects.path)},
	{"max_ratio", SPEC_NUMBER, SPEC_RANGE(0, 1), .def = 0.01, SPEC_FIELD(rejects.max_ratio)},
	{0},
};

static const spec_key spec_report_keys[] = {
	{"path", SPEC_PATH, SPEC_NONE, SPEC_FIELD(report.path)},
	{0},
};

static const spec_key spec_cost_keys[] = {
	{"usd_per_hour", SPEC_NUMBER, SPEC_AT_LEAST(0), SPEC_FIELD(cost.usd_per_hour)},
	{0},
};

static const spec_key spec_root_keys[] = {
	{"version", SPEC_INT, SPEC_REQUIRED, SPEC_RANGE(1, 1), SPEC_FIELD(version)},
	{"name", SPEC_STRING, SPEC_FIELD(name)},
	{"input", SPEC_MAP, SPEC_REQUIRED, .keys = spec_input_keys},
	{"model", SPEC_MAP, SPEC_REQUIRED, .keys = spec_model_keys},
	{"features", SPEC_MAP, .keys = spec_features_keys},
	{"batch", SPEC_MAP, .keys = spec_batch_keys},
	{"threads", SPEC_INT, SPEC_AT_LEAST(0), SPEC_FIELD(threads)},
	{"output", SPEC_MAP, SPEC_REQUIRED, .keys = spec_output_keys},
	{"rejects", SPEC_MAP, .keys = spec_rejects_keys},
	{"report", SPEC_MAP, .keys = spec_report_keys},
	{"cost", SPEC_MAP, .keys = spec_cost_keys},
	{0},
};

/* ---- checking the tree against the schema ------------------------------- */

typedef struct spec_check {
	const char *file; /* the spec path */
	const char *dir;  /* its folder with the trailing '/', NULL when it has none */
	job_spec *s;
	bf_error *err;
} spec_check;

static int spec_fail(const spec_check *c, const spec_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int spec_fail(const spec_check *c, const spec_node *at, const char *fmt, ...)
{
	char msg[sizeof c->err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bf_err_set(c->err, BF_ESPEC, at->from_set ? (at->origin ? at->origin : SPEC_SET) : c->file, at->line,
			  at->column,
			  "%s", msg);
}

static void spec_join(char *buf, size_t size, const char *path, const char *key)
{
	int n = snprintf(buf, size, "%s%s%s", path, *path ? "." : "", key);
	if (n < 0 || (size_t)n >= size)
		memcpy(buf + size - 4, "...", 4); /* only messages see a name this long */
}

/* Writes text in single quotes, control bytes escaped, cut with "..." when
 * it does not fit in size. */
static void spec_quote(const char *text, size_t len, char *buf, size_t size)
{
	size_t o = 0, limit = size - 6; /* room for "...", the quote and the NUL */
	buf[o++] = '\'';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		char esc[8];
		int w;
		if (ch == '\t' || ch == '\n')
			w = snprintf(esc, sizeof esc, "\\%c", ch == '\t' ? 't' : 'n');
		else if (ch < 0x20 || ch == 0x7f)
			w = snprintf(esc, sizeof esc, "\\x%02x", ch);
		else
			w = snprintf(esc, sizeof esc, "%c", ch);
		if (o + (size_t)w > limit) {
			while (i > 0 && (((unsigned char)text[i]) & 0xc0) == 0x80 && o > 1) {
				i--; /* do not cut a UTF-8 sequence */
				o--;
			}
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, (size_t)w);
		o += (size_t)w;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
}

/* What was found, for "..., found %s". A quoted scalar is called out where
 * the key wants a number or a boolean (strict). */
static void spec_found(const spec_node *v, bool strict, char *buf, size_t size)
{
	char q[SPEC_QUOTE_MAX];
	if (v->kind == SPEC_NODE_MAP) {
		snprintf(buf, size, "a mapping");
	} else if (v->kind == SPEC_NODE_LIST) {
		snprintf(buf, size, "a list");
	} else if (node_is_null(v)) {
		snprintf(buf, size, "%s", v->len ? "null" : "nothing");
	} else {
		spec_quote(v->text, v->len, q, sizeof q);
		snprintf(buf, size, "%s%s", v->quoted && strict ? "the quoted string " : "", q);
	}
}

/* What a key wants, for "'key' must be %s". */
static void spec_expected(const spec_key *k, char *buf, size_t size)
{
	size_t o = 0;
	switch (k->type) {
	case SPEC_MAP:
		snprintf(buf, size, "a mapping");
		return;
	case SPEC_STRING:
		snprintf(buf, size, "a string");
		return;
	case SPEC_PATH:
		snprintf(buf, size, "a path");
		return;
	case SPEC_BOOL:
		snprintf(buf, size, "true or false");
		return;
	case SPEC_CHAR:
		snprintf(buf, size, "a single character");
		return;
	case SPEC_STRINGS:
		snprintf(buf, size, "a list of strings");
		return;
	case SPEC_STRING_MAP:
		snprintf(buf, size, "a mapping of strings to strings");
		return;
	case SPEC_LIST_MAP:
		snprintf(buf, size, "a mapping of names to lists of strings");
		return;
	case SPEC_ENUM:
		o += (size_t)snprintf(buf, size, "one of ");
		for (const char *const *ch = k->choices; *ch && o < size; ch++)
			o += (size_t)snprintf(buf + o, size - o, "%s%s", ch == k->choices ? "" : ", ", *ch);
		return;
	case SPEC_KIND:
		o += (size_t)snprintf(buf, size, "one of ");
		model_kinds_list(NULL, buf + o, size - o);
		return;
	case SPEC_INT:
	case SPEC_NUMBER:
		if (k->has_min && k->has_max && k->min == k->max) {
			snprintf(buf, size, "%.15g", k->min);
			return;
		}
		o += (size_t)snprintf(buf, size, "%s", k->type == SPEC_INT ? "a whole number" : "a number");
		if (k->has_min && k->has_max)
			o += (size_t)snprintf(buf + o, size - o, " from %.15g to %.15g", k->min, k->max);
		else if (k->has_min)
			o += (size_t)snprintf(buf + o, size - o, " >= %.15g", k->min);
		else if (k->has_max)
			o += (size_t)snprintf(buf + o, size - o, " <= %.15g", k->max);
		if (o < size && (k->flags & (SPEC_AUTO | SPEC_NAN)))
			snprintf(buf + o, size - o, " or '%s'", k->flags & SPEC_AUTO ? "auto" : "nan");
		return;
	}
}

/* "'key' must be <expected>, found <found>" */
static int spec_wrong(const spec_check *c, const spec_key *k, const spec_node *v, const char *path)
{
	char expected[256], found[SPEC_QUOTE_MAX + 32];
	spec_expected(k, expected, sizeof expected);
	spec_found(v, k->type == SPEC_INT || k->type == SPEC_NUMBER || k->type == SPEC_BOOL, found,
		   sizeof found);
	return spec_fail(c, v, "'%s' must be %s, found %s", path, expected, found);
}

/* Restricted Damerau-Levenshtein distance, ignoring ASCII case; both
 * strings at most SPEC_NAME_MAX bytes. */
static size_t spec_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	size_t rows[3][SPEC_NAME_MAX + 1];
	for (size_t j = 0; j <= m; j++)
		rows[0][j] = j;
	for (size_t i = 1; i <= n; i++) {
		size_t *cur = rows[i % 3], *up = rows[(i - 1) % 3], *up2 = rows[(i + 1) % 3];
		cur[0] = i;
		for (size_t j = 1; j <= m; j++) {
			int ai = spec_lower((unsigned char)a[i - 1]), bj = spec_lower((unsigned char)b[j - 1]);
			size_t d = up[j - 1] + (ai != bj);
			if (up[j] + 1 < d)
				d = up[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ai == spec_lower((unsigned char)b[j - 2]) &&
			    spec_lower((unsigned char)a[i - 2]) == bj && up2[j - 2] + 1 < d)
				d = up2[j - 2] + 1;
			cur[j] = d;
		}
	}
	return rows[n % 3][m];
}

/* The valid key closest to typed: within 2 edits, else sharing a prefix of
 * at least 3 bytes with it; NULL when none is close. */
static const char *spec_suggest(const spec_key *keys, const char *typed)
{
	size_t n = strlen(typed), best_d = 3;
	const char *best = NULL;
	if (n > SPEC_NAME_MAX)
		return NULL;
	for (const spec_key *k = keys; k->name; k++) {
		size_t d = spec_distance(typed, k->name);
		if (d < best_d && d < n) {
			best = k->name;
			best_d = d;
		}
	}
	if (best)
		return best;
	for (const spec_key *k = keys; k->name; k++) {
		size_t m = strlen(k->name), common = n < m ? n : m;
		if (common >= 3 && !strncasecmp(typed, k->name, common))
			return k->name;
	}
	return NULL;
}

static int spec_unknown(const spec_check *c, const spec_key *keys, const spec_node *key,
			const char *path)
{
	char quoted[SPEC_QUOTE_MAX], where[SPEC_PATH_MAX + 8] = "";
	spec_quote(key->text, key->len, quoted, sizeof quoted);
	if (*path)
		snprintf(where, sizeof where, " in '%s'", path);
	const char *best = strlen(key->text) == key->len ? spec_suggest(keys, key->text) : NULL;
	if (best)
		return spec_fail(c, key, "unknown key %s%s; did you mean '%s'?", quoted, where, best);
	char list[512];
	size_t o = 0, count = 0;
	list[0] = '\0';
	for (const spec_key *k = keys; k->name && o < sizeof list; k++, count++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", count ? ", " : "", k->name);
	return spec_fail(c, key, "unknown key %s%s; expected %s%s", quoted, where,
			 count > 1 ? "one of " : "", list);
}

/* Key i of map must be a scalar not seen before in map. */
static int spec_check_key(const spec_check *c, spec_node *map, size_t i, const char *path)
{
	const spec_node *key = map->kids[i];
	if (key->kind != SPEC_NODE_SCALAR) {
		char found[SPEC_QUOTE_MAX + 32];
		spec_found(key, false, found, sizeof found);
		if (*path)
			return spec_fail(c, key, "keys in '%s' must be strings, found %s", path, found);
		return spec_fail(c, key, "keys must be strings, found %s", found);
	}
	for (size_t j = 0; j < i; j += 2) {
		const spec_node *prev = map->kids[j];
		if (!node_is(prev, key->text, key->len))
			continue;
		char full[SPEC_PATH_MAX];
		spec_join(full, sizeof full, path, key->text);
		if (prev->line)
			return spec_fail(c, key, "duplicate key '%s', first at line %lld", full,
					 (long long)prev->line);
		return spec_fail(c, key, "duplicate key '%s'", full);
	}
	return BF_OK;
}

static void *spec_at(const spec_check *c, size_t at)
{
	return (char *)c->s + at;
}

static void spec_store_int(const spec_check *c, const spec_key *k, int64_t v)
{
	void *field = spec_at(c, k->at);
	if (k->size == sizeof(int32_t)) {
		int32_t x = (int32_t)v;
		memcpy(field, &x, sizeof x);
	} else if (k->size == sizeof(int64_t)) {
		memcpy(field, &v, sizeof v);
	}
}

static void spec_store_number(const spec_check *c, const spec_key *k, double v)
{
	if (k->size == sizeof v)
		memcpy(spec_at(c, k->at), &v, sizeof v);
}

/* Puts a string in a char * field, taking ownership of s. */
static void spec_store_string(const spec_check *c, const spec_key *k, char *s)
{
	if (!k->size) {
		free(s);
		return;
	}
	char **field = spec_at(c, k->at);
	free(*field);
	*field = s;
}

static void spec_free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void spec_free_pairs(spec_pair *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* A string value: a scalar without a NUL byte inside. */
static bool spec_is_string(const spec_node *v)
{
	return v->kind == SPEC_NODE_SCALAR && strlen(v->text) == v->len;
}

static bool spec_parse_int(const spec_node *v, int64_t *out)
{
	if (!spec_is_string(v) || v->quoted)
		return false;
	const char *t = v->text;
	bool sign = t[0] == '-' || t[0] == '+';
	if (!(t[sign] >= '0' && t[sign] <= '9'))
		return false;
	char *end;
	errno = 0;
	long long x = strtoll(t, &end, 10);
	if (*end || errno)
		return false;
	*out = x;
	return true;
}

static bool spec_parse_number(const spec_node *v, bool nan_ok, double *out)
{
	if (!spec_is_string(v))
		return false;
	const char *t = v->text;
	if (nan_ok && (!strcasecmp(t, "nan") || !strcasecmp(t, ".nan"))) {
		*out = NAN; /* a word, so "nan" quoted is fine too */
		return true;
	}
	if (v->quoted)
		return false;
	bool sign = t[0] == '-' || t[0] == '+';
	if (!((t[sign] >= '0' && t[sign] <= '9') || t[sign] == '.') || strpbrk(t, "xX"))
		return false;
	char *end;
	double x = strtod(t, &end); /* an underflow to 0 or a subnormal is fine */
	if (*end || !isfinite(x))
		return false;
	*out = x;
	return true;
}

static bool spec_parse_bool(const spec_node *v, int *out)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
	if (!spec_is_string(v) || v->quoted)
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(v->text, yes[i]) || !strcasecmp(v->text, no[i])) {
			*out = !strcasecmp(v->text, yes[i]);
			return true;
		}
	}
	return false;
}

static bool spec_parse_char(const spec_node *v, char *out)
{
	if (v->kind != SPEC_NODE_SCALAR)
		return false;
	if (v->len == 1 && v->text[0] != '\0') {
		*out = v->text[0];
		return true;
	}
	if (!strcmp(v->text, "\\t") || !strcmp(v->text, "tab")) {
		*out = '\t';
		return true;
	}
	return false;
}

static char *spec_resolve(const spec_check *c, const spec_key *k, const spec_node *v)
{
	if (v->from_set || !c->dir || v->text[0] == '/' || !strcmp(v->text, "-") ||
	    ((k->flags & SPEC_NONE) && !strcmp(v->text, "none")))
		return strdup(v->text);
	return spec_concat(c->dir, v->text);
}

/* Copies list v (of strings) into *out; errors name path[i]. */
static int spec_strings_of(const spec_check *c, const spec_key *k, const spec_node *v, const char *path,
			   char ***out, size_t *n_out)
{
	if (v->kind != SPEC_NODE_LIST)
		return spec_wrong(c, k, v, path);
	size_t n = v->n_kids;
	char **list = n ? calloc(n, sizeof *list) : NULL;
	if (n && !list)
		return spec_nomem(c->err);
	for (size_t i = 0; i < n; i++) {
		const spec_node *item = v->kids[i];
		int rc = BF_OK;
		if (!spec_is_string(item) || node_is_null(item)) {
			char sub[SPEC_PATH_MAX + 24], found[SPEC_QUOTE_MAX + 32];
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			spec_found(item, false, found, sizeof found);
			rc = spec_fail(c, item, "'%s' must be a string, found %s", sub, found);
		} else if (!(list[i] = strdup(item->text))) {
			rc = spec_nomem(c->err);
		}
		if (rc) {
			spec_free_strings(list, n);
			return rc;
		}
	}
	*out = list;
	*n_out = n;
	return BF_OK;
}

static int spec_check_strings(const spec_check *c, const spec_key *k, const spec_node *v,
			      const char *path)
{
	char **list;
	size_t n;
	int rc = spec_strings_of(c, k, v, path, &list, &n);
	if (rc)
		return rc;
	if (!k->size) {
		spec_free_strings(list, n);
		return BF_OK;
	}
	char ***field = spec_at(c, k->at);
	size_t *count = spec_at(c, k->count_at);
	spec_free_strings(*field, *count);
	*field = list;
	*count = n;
	return BF_OK;
}

static void spec_free_lists(spec_list *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		spec_free_strings(v[i].items, v[i].n_items);
	}
	free(v);
}

static int spec_check_list_map(const spec_check *c, const spec_key *k, spec_node *v, const char *path)
{
	if (v->kind != SPEC_NODE_MAP)
		return spec_wrong(c, k, v, path);
	size_t n = v->n_kids / 2;
	spec_list *lists = n ? calloc(n, sizeof *lists) : NULL;
	if (n && !lists)
		return spec_nomem(c->err);
	for (size_t i = 0; i < n; i++) {
		const spec_node *key = v->kids[2 * i], *value = v->kids[2 * i + 1];
		int rc = spec_check_key(c, v, 2 * i, path);
		char sub[SPEC_PATH_MAX];
		if (!rc && !spec_is_string(key)) {
			char found[SPEC_QUOTE_MAX + 32];
			spec_found(key, false, found, sizeof found);
			rc = spec_fail(c, key, "keys in '%s' must be strings, found %s", path, found);
		}
		if (!rc) {
			spec_join(sub, sizeof sub, path, key->text);
			rc = spec_strings_of(c, k, value, sub, &lists[i].items, &lists[i].n_items);
		}
		if (!rc && !(lists[i].key = strdup(key->text)))
			rc = spec_nomem(c->err);
		if (rc) {
			spec_free_lists(lists, n);
			return rc;
		}
	}
	spec_list **field = spec_at(c, k->at);
	size_t *count = spec_at(c, k->count_at);
	spec_free_lists(*field, *count);
	*field = lists;
	*count = n;
	return BF_OK;
}

static int spec_check_string_map(const spec_check *c, const spec_key *k, spec_node *v,
				 const char *path)
{
	if (v->kind != SPEC_NODE_MAP)
		return spec_wrong(c, k, v, path);
	size_t n = v->n_kids / 2;
	spec_pair *pairs = n ? calloc(n, sizeof *pairs) : NULL;
	if (n && !pairs)
		return spec_nomem(c->err);
	for (size_t i = 0; i < n; i++) {
		const spec_node *key = v->kids[2 * i], *value = v->kids[2 * i + 1];
		int rc = spec_check_key(c, v, 2 * i, path);
		if (!rc && (!spec_is_string(key) || !spec_is_string(value) || node_is_null(value))) {
			char sub[SPEC_PATH_MAX], found[SPEC_QUOTE_MAX + 32];
			const spec_node *bad = spec_is_string(key) ? value : key;
			spec_join(sub, sizeof sub, path, spec_is_string(key) ? key->text : "");
			spec_found(bad, false, found, sizeof found);
			rc = spec_is_string(key)
				? spec_fail(c, bad, "'%s' must be a string, found %s", sub, found)
				: spec_fail(c, bad, "keys in '%s' must be strings, found %s", path, found);
		}
		if (!rc && (!(pairs[i].key = strdup(key->text)) ||
			    !(pairs[i].value = strdup(value->text))))
			rc = spec_nomem(c->err);
		if (rc) {
			spec_free_pairs(pairs, n);
			return rc;
		}
	}
	if (!k->size) {
		spec_free_pairs(pairs, n);
		return BF_OK;
	}
	spec_pair **field = spec_at(c, k->at);
	size_t *count = spec_at(c, k->count_at);
	spec_free_pairs(*field, *count);
	*field = pairs;
	*count = n;
	return BF_OK;
}

static int spec_check_map(const spec_check *c, const spec_key *keys, spec_node *map,
			  const char *path, const spec_node *owner);

/* Checks the value v of key k (written at key; path is its dotted name) and stores it. */
static int spec_check_value(const spec_check *c, const spec_key *k, const spec_node *key,
			    spec_node *v, const char *path)
{
	int64_t i;
	double d;
	int b;
	char ch;
	char *s;

	switch (k->type) {
	case SPEC_MAP:
		if (v->kind != SPEC_NODE_MAP)
			return spec_wrong(c, k, v, path);
		return spec_check_map(c, k->keys, v, path, key);
	case SPEC_STRING:
	case SPEC_PATH:
		if (!spec_is_string(v) || (k->type == SPEC_PATH && !v->len))
			return spec_wrong(c, k, v, path);
		for (size_t at = 0; k->type == SPEC_PATH && at < v->len; at++) {
			unsigned char ch = (unsigned char)v->text[at];
			if (ch < 0x20 || ch == 0x7f) {
				char found[SPEC_QUOTE_MAX];
				spec_quote(v->text, v->len, found, sizeof found);
				return spec_fail(c, v, "'%s' holds a control character (byte %zu, 0x%02x%s): %s; paths "
						 "may not", path, at + 1, ch, ch == '\n' ? ", a newline" : "", found);
			}
		}
		if (!(s = k->type == SPEC_PATH ? spec_resolve(c, k, v) : strdup(v->text)))
			return spec_nomem(c->err);
		spec_store_string(c, k, s);
		break;
	case SPEC_ENUM: {
		size_t n = 0;
		while (k->choices[n] && !(spec_is_string(v) && !strcmp(v->text, k->choices[n])))
			n++;
		if (!k->choices[n])
			return spec_wrong(c, k, v, path);
		if (k->values) {
			spec_store_int(c, k, k->values[n]);
		} else {
			if (!(s = strdup(k->choices[n])))
				return spec_nomem(c->err);
			spec_store_string(c, k, s);
		}
		break;
	}
	case SPEC_KIND:
		if (!spec_is_string(v) || !model_kind_find(v->text))
			return spec_wrong(c, k, v, path);
		if (!(s = strdup(v->text)))
			return spec_nomem(c->err);
		spec_store_string(c, k, s);
		break;
	case SPEC_INT:
		if ((k->flags & SPEC_AUTO) && spec_is_string(v) && !strcmp(v->text, "auto")) {
			spec_store_int(c, k, 0);
			break;
		}
		if (!spec_parse_int(v, &i) || (k->has_min && i < k->min) || (k->has_max && i > k->max))
			return spec_wrong(c, k, v, path);
		if (k->size == sizeof(int32_t) && i > INT32_MAX) {
			char expected[256], found[SPEC_QUOTE_MAX + 32];
			spec_expected(k, expected, sizeof expected);
			spec_found(v, true, found, sizeof found);
			return spec_fail(c, v, "'%s' must be %s, found %s, which is too large", path,
					 expected, found);
		}
		spec_store_int(c, k, i);
		break;
	case SPEC_NUMBER:
		if (!spec_parse_number(v, k->flags & SPEC_NAN, &d) ||
		    (k->has_min && d < k->min) || (k->has_max && d > k->max))
			return spec_wrong(c, k, v, path);
		spec_store_number(c, k, d);
		break;
	case SPEC_BOOL:
		if (!spec_parse_bool(v, &b))
			return spec_wrong(c, k, v, path);
		spec_store_int(c, k, b);
		break;
	case SPEC_CHAR:
		if (!spec_parse_char(v, &ch))
			return spec_wrong(c, k, v, path);
		if (k->size == 1)
			*(char *)spec_at(c, k->at) = ch;
		break;
	case SPEC_STRINGS:
		return spec_check_strings(c, k, v, path);
	case SPEC_STRING_MAP:
		return spec_check_string_map(c, k, v, path);
	case SPEC_LIST_MAP:
		return spec_check_list_map(c, k, v, path);
	}
	if (k->mark_at) {
		spec_mark *m = spec_at(c, k->mark_at);
		char *file = strdup(v->from_set ? (v->origin ? v->origin : SPEC_SET) : c->file);
		if (!file)
			return spec_nomem(c->err);
		free(m->file);
		m->file = file;
		m->line = v->line;
		m->column = v->column;
	}
	return BF_OK;
}

/* Checks every key of map against keys (path: the map's dotted name, "" at
 * the top), then that the required ones are there; errors about a missing
 * key point at owner, the key that holds map. */
static int spec_check_map(const spec_check *c, const spec_key *keys, spec_node *map,
			  const char *path, const spec_node *owner)
{
	char sub[SPEC_PATH_MAX];
	int rc;

	for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
		const spec_node *key = map->kids[i];
		spec_node *v = map->kids[i + 1];
		if ((rc = spec_check_key(c, map, i, path)))
			return rc;
		const spec_key *k = keys;
		while (k->name && !node_is(key, k->name, strlen(k->name)))
			k++;
		if (!k->name)
			return spec_unknown(c, keys, key, path);
		if (node_is_null(v))
			continue;
		spec_join(sub, sizeof sub, path, k->name);
		if ((rc = spec_check_value(c, k, key, v, sub)))
			return rc;
	}
	for (const spec_key *k = keys; k->name; k++) {
		if (!(k->flags & SPEC_REQUIRED))
			continue;
		spec_node **v = node_get(map, k->name, strlen(k->name));
		if (v && !node_is_null(*v))
			continue;
		spec_join(sub, sizeof sub, path, k->name);
		if (v)
			return spec_wrong(c, k, *v, sub);
		return spec_fail(c, owner, "missing required key '%s'", sub);
	}
	return BF_OK;
}

/* Stores the table's defaults of the fields that are not 0 or NULL. */
static void spec_set_defaults(const spec_check *c, const spec_key *keys)
{
	for (const spec_key *k = keys; k->name; k++) {
		if (k->type == SPEC_MAP)
			spec_set_defaults(c, k->keys);
		else if (!k->size)
			continue;
		else if (k->type == SPEC_INT || k->type == SPEC_BOOL ||
			 (k->type == SPEC_ENUM && k->values))
			spec_store_int(c, k, (int64_t)k->def);
		else if (k->type == SPEC_NUMBER)
			spec_store_number(c, k, k->def);
		else if (k->type == SPEC_CHAR && k->size == 1)
			*(char *)spec_at(c, k->at) = (char)k->def;
	}
}

static void spec_free_fields(job_spec *s, const spec_key *keys)
{
	for (const spec_key *k = keys; k->name; k++) {
		void *field = (char *)s + k->at;
		if (k->mark_at)
			free(((spec_mark *)((char *)s + k->mark_at))->file);
		if (k->type == SPEC_MAP)
			spec_free_fields(s, k->keys);
		else if (!k->size)
			continue;
		else if (k->type == SPEC_STRING || k->type == SPEC_PATH || k->type == SPEC_KIND ||
			 (k->type == SPEC_ENUM && !k->values))
			free(*(char **)field);
		else if (k->type == SPEC_STRINGS)
			spec_free_strings(*(char ***)field, *(size_t *)((char *)s + k->count_at));
		else if (k->type == SPEC_STRING_MAP)
			spec_free_pairs(*(spec_pair **)field, *(size_t *)((char *)s + k->count_at));
		else if (k->type == SPEC_LIST_MAP)
			spec_free_lists(*(spec_list **)field, *(size_t *)((char *)s + k->count_at));
	}
}

/* ---- keys that belong to some model kinds -------------------------------- */

/* The node at the dotted path (a key of a key ...), or NULL. */
static spec_node *spec_node_at(spec_node *map, const char *path)
{
	while (map && map->kind == SPEC_NODE_MAP) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		spec_node **v = node_get(map, path, len);
		if (!v || !dot)
			return v ? *v : NULL;
		map = *v;
		path = dot + 1;
	}
	return NULL;
}

/* Every key of map (dotted name path) that some kind reads must be one that
 * this job's kind reads: 'model.top_k' on a logistic model is a mistake,
 * not a setting to ignore. */
static int spec_check_kind_keys(const spec_check *c, const model_kind *kind, spec_node *map, const char *path)
{
	char sub[SPEC_PATH_MAX];
	for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
		const spec_node *key = map->kids[i];
		spec_node *v = map->kids[i + 1];
		if (node_is_null(v))
			continue;
		spec_join(sub, sizeof sub, path, key->text);
		if (model_key_is_kind_specific(sub)) {
			if (!model_kind_reads(kind, sub)) {
				char kinds[256];
				model_kinds_list(sub, kinds, sizeof kinds);
				return spec_fail(c, key, "'%s' applies to %s; this job's model.kind is %s", sub, kinds,
						 kind->name);
			}
		} else if (v->kind == SPEC_NODE_MAP) {
			int rc = spec_check_kind_keys(c, kind, v, sub);
			if (rc)
				return rc;
		}
	}
	return BF_OK;
}

/* model.task must be one of the kind's tasks. */
static int spec_check_task(const spec_check *c, const model_kind *kind, spec_node *root)
{
	const char *task = c->s->model.task;
	if (!task || !kind->tasks)
		return BF_OK;
	for (const char *const *t = kind->tasks; *t; t++)
		if (strcmp(*t, task) == 0)
			return BF_OK;
	char list[256], found[SPEC_QUOTE_MAX];
	size_t o = 0;
	for (const char *const *t = kind->tasks; *t && o < sizeof list; t++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *t);
	spec_quote(task, strlen(task), found, sizeof found);
	return spec_fail(c, spec_node_at(root, "model.task"), "'model.task' must be one of %s for a %s model, found %s",
			 list, kind->name, found);
}

/* ---- defaults that depend on other keys --------------------------------- */

/* "<output stem><suffix>". */
static char *spec_beside_output(const job_spec *s, const char *suffix)
{
	const char *out = s->output.path;
	size_t n;
	record_format_of_path(out, &n);
	size_t ns = strlen(suffix);
	char *p = malloc(n + ns + 1);
	if (p) {
		memcpy(p, out, n);
		memcpy(p + n, suffix, ns + 1);
	}
	return p;
}

/* The spec file's name without folder and extension. */
static char *spec_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
	return strndup(base, n);
}

static int spec_finish(const spec_check *c)
{
	job_spec *s = c->s;

	if (!s->name && !(s->name = spec_stem(c->file)))
		return spec_nomem(c->err);
	s->features.missing_is_nan = isnan(s->features.missing_value);

	if (s->input.format == SPEC_FORMAT_AUTO) {
		const spec_mark *m = &s->input.path_mark;
		char quoted[SPEC_QUOTE_MAX];
		if (!strcmp(s->input.path, "-"))
			return bf_err_set(c->err, BF_ESPEC, m->file, m->line, m->column,
					  "'input.format' must be set when 'input.path' is '-' (stdin); "
					  "expected csv or jsonl");
		if (!(s->input.format = record_format_of_path(s->input.path, NULL))) {
			spec_quote(s->input.path, strlen(s->input.path), quoted, sizeof quoted);
			return bf_err_set(c->err, BF_ESPEC, m->file, m->line, m->column,
					  "'input.path' must end in .csv, .jsonl or .ndjson (optionally "
					  "+ .zst) when 'input.format' is not set, found %s", quoted);
		}
	}

	if (s->output.format == SPEC_FORMAT_AUTO) {
		spec_format f = strcmp(s->output.path, "-") ? record_format_of_path(s->output.path, NULL) : 0;
		s->output.format = f ? f : SPEC_FORMAT_JSONL;
	}
	if (s->output.zstd < 0)
		s->output.zstd = spec_ends_with(s->output.path, strlen(s->output.path), ".zst");
	/* Rejects and report default to files beside a regular output; a
	 * stream (stdout, a device, a FIFO) gets none: a filter writes no side
	 * files unless told where. */
	sink_kind kind = SINK_STREAM;
	char target[4096];
	bf_error ignore;
	if (sink_resolve(s->output.path, &kind, target, sizeof target, &ignore) != BF_OK)
		kind = SINK_FILE; /* its error comes when the outputs are checked */
	const char *off = kind == SINK_STREAM ? "none" : NULL;
	if (!s->rejects.path && !(s->rejects.path = off ? strdup(off) : spec_beside_output(s, ".rejects.jsonl")))
		return spec_nomem(c->err);
	if (!s->report.path && !(s->report.path = off ? strdup(off) : spec_beside_output(s, ".report.json")))
		return spec_nomem(c->err);
	return BF_OK;
}

/* ---- the entry points --------------------------------------------------- */

int spec_load(const char *path, const char *const *overrides, size_t n_overrides, job_spec *out, bf_error *err)
{
	return spec_load_from(path, overrides, NULL, n_overrides, out, err);
}

int spec_load_from(const char *path, const char *const *overrides, const char *const *origins, size_t n_overrides,
		   job_spec *out, bf_error *err)
{
	spec_node *root = NULL;
	char *dir = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = spec_read_file(path, &root, err)))
		goto done;
	if (!root) {
		rc = bf_err_set(err, BF_ESPEC, path, 0, 0,
				"the spec is empty; expected a mapping that starts with 'version: 1'");
		goto done;
	}
	if (root->kind != SPEC_NODE_MAP) {
		char found[SPEC_QUOTE_MAX + 32];
		spec_found(root, false, found, sizeof found);
		rc = bf_err_set(err, BF_ESPEC, path, root->line, root->column,
				"the spec must be a mapping of keys, found %s", found);
		goto done;
	}
	for (size_t i = 0; i < n_overrides; i++)
		if ((rc = spec_apply_override(root, overrides[i], origins && origins[i] ? origins[i] : SPEC_SET, err)))
			goto done;

	const char *slash = strrchr(path, '/');
	if (slash && !(dir = strndup(path, (size_t)(slash - path) + 1))) {
		rc = spec_nomem(err);
		goto done;
	}
	if (!(out->spec_path = strdup(path))) {
		rc = spec_nomem(err);
		goto done;
	}
	spec_check c = {.file = path, .dir = dir, .s = out, .err = err};
	spec_set_defaults(&c, spec_root_keys);
	if (!(rc = spec_check_map(&c, spec_root_keys, root, "", root))) {
		const model_kind *kind = model_kind_find(out->model.kind);
		if (!(rc = spec_check_kind_keys(&c, kind, root, "")) && !(rc = spec_check_task(&c, kind, root))) {
			if (out->model.top_k == 0)
				rc = spec_fail(&c, spec_node_at(root, "model.top_k"),
					       "'model.top_k' must be a whole number >= 1, or -1 for every label, found 0");
			else
				rc = spec_finish(&c);
		}
	}
done:
	node_free(root);
	free(dir);
	if (rc)
		spec_free(out);
	return rc;
}

void spec_free(job_spec *s)
{
	if (!s)
		return;
	spec_free_fields(s, spec_root_keys);
	free(s->spec_path);
	memset(s, 0, sizeof *s);
}
