/* rows_test.c: CSV and JSON lines records -> model rows (rows_plan_csv,
 * rows_plan_jsonl, rows_parse) against a small hand-written tabular model:
 * x1 number (imputed), x2 number (no rule for missing), c category (a, b). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "model.h"
#include "rows.h"
#include "spec.h"

static const char *model_text =
	"{\"format\": \"binfer-tabular\", \"version\": 1, \"kind\": \"linear\", \"task\": \"binary\",\n"
	" \"classes\": [\"n\", \"y\"],\n"
	" \"inputs\": [{\"name\": \"x1\", \"type\": \"number\"}, {\"name\": \"x2\", \"type\": \"number\"},\n"
	"            {\"name\": \"c\", \"type\": \"category\"}],\n"
	" \"features\": [{\"input\": \"x1\", \"steps\": [{\"op\": \"impute\", \"value\": 0}]},\n"
	"              {\"input\": \"x2\", \"steps\": []},\n"
	"              {\"input\": \"c\", \"steps\": [{\"op\": \"onehot\", \"categories\": [\"a\", \"b\"]}]}],\n"
	" \"linear\": {\"coef\": [[1, 2, 3, 4]], \"intercept\": [0], \"link\": \"logistic\"}}\n";

static model *M;
static arena A;
static char *last_rec; /* the record the last parse() read; values point into it */

static int setup(void **state)
{
	char path[] = "/tmp/binfer_rows_test_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	size_t len = strlen(model_text);
	ssize_t wrote = write(fd, model_text, len);
	close(fd);
	bf_error err;
	int rc = wrote == (ssize_t)len ? model_load("logistic", path, NULL, &M, &err) : -1;
	unlink(path);
	if (rc) {
		fprintf(stderr, "cannot load the test model: %s\n", rc > 0 ? err.message : "write failed");
		return -1;
	}
	arena_init(&A, 1 << 12);
	return 0;
}

static int teardown(void **state)
{
	model_free(M);
	arena_free(&A);
	free(last_rec);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static char *include_note[] = {"note"};
static char *include_meta[] = {"meta"};

static void spec_init(job_spec *s, spec_format format)
{
	memset(s, 0, sizeof *s);
	s->input.format = format;
	s->input.delimiter = ',';
	s->input.id_field = "id";
	s->features.missing_is_nan = 1;
	s->output.include = format == SPEC_FORMAT_CSV ? include_note : include_meta;
	s->output.n_include = 1;
}

/* Plans a CSV input whose header is names[0..n). */
static int plan_csv(row_plan *p, const job_spec *s, const char *const *names, size_t n, bf_error *err)
{
	uint32_t len[16];
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		len[i] = (uint32_t)strlen(names[i]);
	memset(err, 0, sizeof *err);
	return rows_plan_csv(p, M, s, names, len, n, "data/in.csv", err);
}

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* The usual plan: header id,x1,x2,c,note. */
static void plan_usual(row_plan *p, job_spec *s)
{
	static const char *const header[] = {"id", "x1", "x2", "c", "note"};
	spec_init(s, SPEC_FORMAT_CSV);
	bf_error err;
	assert_int_equal(plan_csv(p, s, header, N_OF(header), &err), BF_OK);
}

typedef struct parsed {
	rows_reason reason;
	double x[3];
	rows_value id;
	rows_value incl[1];
	char why[256];
} parsed;

/* Parses rec[0..len) from an exact-size heap copy (ASan sees any read past it). */
static parsed parse_n(const row_plan *p, const char *rec, size_t len)
{
	parsed r;
	memset(&r, 0, sizeof r);
	free(last_rec);
	last_rec = malloc(len ? len : 1);
	assert_non_null(last_rec);
	memcpy(last_rec, rec, len);
	arena_reset(&A);
	for (size_t i = 0; i < 3; i++)
		r.x[i] = 12345; /* must be overwritten */
	r.id = (rows_value){"junk", 4, 99};
	r.reason = rows_parse(p, last_rec, len, r.x, &r.id, r.incl, &A, r.why, sizeof r.why);
	return r;
}

#define parse(p, rec) parse_n(p, rec, strlen(rec))

static void assert_value(rows_value v, rows_value_kind kind, const char *text)
{
	assert_int_equal(v.kind, kind);
	if (!text)
		return;
	if (v.len != strlen(text) || memcmp(v.ptr, text, v.len) != 0)
		fail_msg("value '%.*s', expected '%s'", (int)v.len, v.ptr ? v.ptr : "", text);
}

static void assert_row(parsed r, double x1, double x2, double c)
{
	if (r.reason != ROWS_OK)
		fail_msg("rejected (%s): %s", rows_reason_name[r.reason], r.why);
	const double want[3] = {x1, x2, c};
	for (int i = 0; i < 3; i++)
		if (!(r.x[i] == want[i] || (isnan(r.x[i]) && isnan(want[i]))))
			fail_msg("x[%d] = %.17g, expected %.17g", i, r.x[i], want[i]);
}

static void assert_reject(parsed r, rows_reason reason, const char *why)
{
	if (r.reason != reason)
		fail_msg("reason %s (%s), expected %s", rows_reason_name[r.reason], r.why,
			 rows_reason_name[reason]);
	if (why && !strstr(r.why, why))
		fail_msg("why \"%s\" lacks \"%s\"", r.why, why);
}

/* ---- CSV plans ---------------------------------------------------------- */

static void test_csv_plan_by_name(void **state)
{
	static const char *const header[] = {"extra", "c", "id", "x2", "note", "x1"};
	job_spec s;
	spec_init(&s, SPEC_FORMAT_CSV);
	row_plan p;
	bf_error err;
	assert_int_equal(plan_csv(&p, &s, header, N_OF(header), &err), BF_OK);
	assert_int_equal(p.n_columns, 6);
	assert_string_equal(p.columns[0], "extra");
	assert_string_equal(p.columns[5], "x1");
	assert_int_equal(p.input_col[0], 5);
	assert_int_equal(p.input_col[1], 3);
	assert_int_equal(p.input_col[2], 1);
	assert_int_equal(p.id_col, 2);
	assert_int_equal(p.has_id_field, 1);
	assert_int_equal(p.n_include, 1);
	assert_int_equal(p.include_col[0], 4);
	assert_string_equal(p.include[0], "note");
	assert_int_equal(p.delimiter, ',');

	parsed r = parse(&p, "ignored,b,r1,2.5,hello,1");
	assert_row(r, 1, 2.5, 1);
	assert_value(r.id, ROWS_VALUE_TEXT, "r1");
	assert_value(r.incl[0], ROWS_VALUE_TEXT, "hello");
	rows_plan_free(&p);
}

static void test_csv_plan_missing_column(void **state)
{
	static const char *const one[] = {"x1", "c", "id", "note", "extra"};
	static const char *const two[] = {"c", "id", "note"};
	job_spec s;
	spec_init(&s, SPEC_FORMAT_CSV);
	row_plan p;
	bf_error err;
	assert_int_equal(plan_csv(&p, &s, one, N_OF(one), &err), BF_EINPUT);
	assert_int_equal(err.code, BF_EINPUT);
	assert_string_equal(err.path, "data/in.csv");
	assert_int_equal(err.line, 1);
	assert_string_equal(err.message, "the model needs 1 column the input lacks: 'x2'; the input has: "
					 "'x1', 'c', 'id', 'note', 'extra' (map names with features.columns)");
	rows_plan_free(&p);

	assert_int_equal(plan_csv(&p, &s, two, N_OF(two), &err), BF_EINPUT);
	assert_string_equal(err.message, "the model needs 2 columns the input lacks: 'x1', 'x2'; the input has: "
					 "'c', 'id', 'note' (map names with features.columns)");
	rows_plan_free(&p);
}

static void test_csv_plan_renames(void **state)
{
	static const char *const header[] = {"colour", "x2", "first", "id", "note"};
	spec_pair renames[] = {{"x1", "first"}, {"c", "colour"}};
	job_spec s;
	spec_init(&s, SPEC_FORMAT_CSV);
	s.features.columns = renames;
	s.features.n_columns = 2;
	row_plan p;
	bf_error err;
	assert_int_equal(plan_csv(&p, &s, header, N_OF(header), &err), BF_OK);
	assert_int_equal(p.input_col[0], 2);
	assert_int_equal(p.input_col[1], 1);
	assert_int_equal(p.input_col[2], 0);
	assert_row(parse(&p, "a,-1,0.5,r,n"), 0.5, -1, 0);
	rows_plan_free(&p);

	/* A renamed input reads only its new name. */
	static const char *const plain[] = {"x1", "x2", "c", "id", "note"};
	assert_int_equal(plan_csv(&p, &s, plain, N_OF(plain), &err), BF_EINPUT);
	assert_non_null(strstr(err.message, "lacks: 'first', 'colour'; the input has: 'x1', 'x2', 'c', 'id', 'note'"));
	rows_plan_free(&p);
}

static void test_csv_plan_id_and_include(void **state)
{
	static const char *const header[] = {"x1", "x2", "c", "note"};
	job_spec s;
	spec_init(&s, SPEC_FORMAT_CSV);
	row_plan p;
	bf_error err;
	assert_int_equal(plan_csv(&p, &s, header, N_OF(header), &err), BF_EINPUT);
	assert_string_equal(err.message, "input.id_field 'id' is not a column of the input");
	assert_string_equal(err.path, "data/in.csv");
	rows_plan_free(&p);

	static const char *const no_note[] = {"x1", "x2", "c", "id"};
	assert_int_equal(plan_csv(&p, &s, no_note, N_OF(no_note), &err), BF_EINPUT);
	assert_string_equal(err.message, "output.include field 'note' is not a column of the input");
	rows_plan_free(&p);

	/* No id field: the id is the row number; no include. */
	s.input.id_field = NULL;
	s.output.n_include = 0;
	assert_int_equal(plan_csv(&p, &s, header, N_OF(header), &err), BF_OK);
	assert_int_equal(p.id_col, -1);
	assert_int_equal(p.has_id_field, 0);
	parsed r = parse(&p, "1,2,a,n");
	assert_row(r, 1, 2, 0);
	assert_value(r.id, ROWS_VALUE_ROWNUM, NULL);
	rows_plan_free(&p);
}

/* ---- CSV rows ----------------------------------------------------------- */

static void test_csv_numbers(void **state)
{
	job_spec s;
	row_plan p;
	plan_usual(&p, &s);
	assert_row(parse(&p, "r,1.5,-2,a,n"), 1.5, -2, 0);
	assert_row(parse(&p, "r,1e3, 7 ,b,n"), 1000, 7, 1);
	assert_row(parse(&p, "r,\t-0.25 ,+3,a,n"), -0.25, 3, 0);
	assert_row(parse(&p, "r,\"12.5\",.5,a,n"), 12.5, 0.5, 0);
	assert_row(parse(&p, "r,123456789012345678,1E-3,a,n"), 123456789012345678.0, 1e-3, 0);
	assert_row(parse(&p, "r,0.1,-0,a,n"), 0.1, 0, 0);
	rows_plan_free(&p);
}

static void test_csv_missing(void **state)
{
	job_spec s;
	row_plan p;
	plan_usual(&p, &s);
	/* x1 has an imputer: missing is fine and stays NaN for the model. */
	assert_row(parse(&p, "r,,3,a,n"), NAN, 3, 0);
	const char *markers[] = {"NA", "null", "N/A", "NaN", "\"\""};
	char rec[64];
	for (size_t i = 0; i < N_OF(markers); i++) {
		snprintf(rec, sizeof rec, "r,%s,3,a,n", markers[i]);
		assert_row(parse(&p, rec), NAN, 3, 0);
		/* x2 has no rule for a missing value. */
		snprintf(rec, sizeof rec, "r,1,%s,a,n", markers[i]);
		assert_reject(parse(&p, rec), ROWS_MISSING,
			      "column 'x2' is missing and the model has no rule for a missing value");
	}
	/* Nor has c. */
	assert_reject(parse(&p, "r,1,2,,n"), ROWS_MISSING, "column 'c' is missing");
	assert_reject(parse(&p, "r,1,2,NA,n"), ROWS_MISSING, "column 'c' is missing");
	rows_plan_free(&p);

	/* features.missing: a number fills missing number cells, not categories. */
	static const char *const header[] = {"id", "x1", "x2", "c", "note"};
	spec_init(&s, SPEC_FORMAT_CSV);
	s.features.missing_is_nan = 0;
	s.features.missing_value = -7;
	bf_error err;
	assert_int_equal(plan_csv(&p, &s, header, N_OF(header), &err), BF_OK);
	assert_row(parse(&p, "r,,NA,b,n"), -7, -7, 1);
	assert_reject(parse(&p, "r,1,2,,n"), ROWS_MISSING, "column 'c'");
	rows_plan_free(&p);
}

static void test_csv_bad_records(void **state)
{
	job_spec s;
	row_plan p;
	plan_usual(&p, &s);
	parsed r = parse(&p, "r,abc,1,a,n");
	assert_reject(r, ROWS_BAD_NUMBER, NULL);
	assert_string_equal(r.why, "column 'x1': expected a number, found 'abc'");
	assert_reject(parse(&p, "r,1,2x,a,n"), ROWS_BAD_NUMBER, "column 'x2': expected a number, found '2x'");
	assert_reject(parse(&p, "r,1,1 2,a,n"), ROWS_BAD_NUMBER, "column 'x2'");

	r = parse(&p, "r9,1,2,a");
	assert_reject(r, ROWS_FIELD_COUNT, NULL);
	assert_string_equal(r.why, "expected 5 fields as in the header, found 4");
	assert_value(r.id, ROWS_VALUE_TEXT, "r9"); /* the reject can still name the row */
	assert_reject(parse(&p, "r,1,2,a,n,extra"), ROWS_FIELD_COUNT, "expected 5 fields as in the header, found 6");
	assert_reject(parse(&p, ""), ROWS_FIELD_COUNT, "found 1");

	assert_reject(parse(&p, "r,\"1,2,a,n"), ROWS_BAD_CSV, NULL);
	assert_reject(parse(&p, "r,\"1\"x,2,a,n"), ROWS_BAD_CSV, NULL);

	r = parse(&p, "r,1,2,a,\xff");
	assert_reject(r, ROWS_BAD_UTF8, NULL);
	assert_string_equal(r.why, "invalid UTF-8 byte 0xff at byte 9");
	assert_reject(parse(&p, "r,1,2,\xc0\xaf,n"), ROWS_BAD_UTF8, "at byte 7");
	assert_reject(parse(&p, "r,1,2,a,\xe2\x82"), ROWS_BAD_UTF8, NULL);
	rows_plan_free(&p);
}

static void test_csv_categories(void **state)
{
	job_spec s;
	row_plan p;
	plan_usual(&p, &s);
	assert_row(parse(&p, "r,1,2,a,n"), 1, 2, 0);
	assert_row(parse(&p, "r,1,2,b,n"), 1, 2, 1);
	assert_row(parse(&p, "r,1,2,\"b\",n"), 1, 2, 1);
	assert_row(parse(&p, "r,1,2,z,n"), 1, 2, -1);
	assert_row(parse(&p, "r,1,2,A,n"), 1, 2, -1);   /* exact match */
	assert_row(parse(&p, "r,1,2, a,n"), 1, 2, -1);  /* no trimming for text */
	assert_row(parse(&p, "r,1,2,\xc3\xa9,n"), 1, 2, -1);
	rows_plan_free(&p);
}

static void test_csv_id_and_include(void **state)
{
	job_spec s;
	row_plan p;
	plan_usual(&p, &s);
	parsed r = parse(&p, "\"id, 1\",1,2,a,\"say \"\"hi\"\", twice\"");
	assert_row(r, 1, 2, 0);
	assert_value(r.id, ROWS_VALUE_TEXT, "id, 1");
	assert_value(r.incl[0], ROWS_VALUE_TEXT, "say \"hi\", twice");

	r = parse(&p, "17,1,2,a,");
	assert_value(r.id, ROWS_VALUE_TEXT, "17"); /* CSV values are text */
	assert_value(r.incl[0], ROWS_VALUE_TEXT, "");

	r = parse(&p, "r,1,2,a,\"line\nbreak\"\r");
	assert_row(r, 1, 2, 0);
	assert_value(r.incl[0], ROWS_VALUE_TEXT, "line\nbreak");
	rows_plan_free(&p);

	/* Another delimiter. */
	static const char *const header[] = {"id", "x1", "x2", "c", "note"};
	spec_init(&s, SPEC_FORMAT_CSV);
	s.input.delimiter = ';';
	bf_error err;
	assert_int_equal(plan_csv(&p, &s, header, N_OF(header), &err), BF_OK);
	r = parse(&p, "k;1,5;2;b;x,y");
	assert_reject(r, ROWS_BAD_NUMBER, "found '1,5'");
	r = parse(&p, "k;1.5;2;b;x,y");
	assert_row(r, 1.5, 2, 1);
	assert_value(r.incl[0], ROWS_VALUE_TEXT, "x,y");
	rows_plan_free(&p);
}

/* ---- JSON lines --------------------------------------------------------- */

static void plan_jsonl(row_plan *p, job_spec *s)
{
	spec_init(s, SPEC_FORMAT_JSONL);
	bf_error err;
	memset(&err, 0, sizeof err);
	assert_int_equal(rows_plan_jsonl(p, M, s, &err), BF_OK);
	assert_null(p->columns);
	assert_int_equal(p->format, SPEC_FORMAT_JSONL);
}

static void test_jsonl_values(void **state)
{
	job_spec s;
	row_plan p;
	plan_jsonl(&p, &s);
	parsed r = parse(&p, "{\"id\": 17, \"x1\": 1.5, \"x2\": \"2.5\", \"c\": \"b\", \"meta\": {\"k\": [1, 2]}}");
	assert_row(r, 1.5, 2.5, 1);
	assert_value(r.id, ROWS_VALUE_JSON, "17");
	assert_value(r.incl[0], ROWS_VALUE_JSON, "{\"k\": [1, 2]}");

	r = parse(&p, "{\"id\": \"r1\", \"x1\": null, \"x2\": -3e2, \"c\": \"a\", \"other\": [1]}");
	assert_row(r, NAN, -300, 0);
	assert_value(r.id, ROWS_VALUE_TEXT, "r1");
	assert_value(r.incl[0], ROWS_VALUE_ABSENT, NULL);

	/* Absent x1 is missing (imputed); absent id; a null id is no id. */
	r = parse(&p, "{\"x2\": 1, \"c\": \"a\", \"meta\": \"a\\\"b\"}");
	assert_row(r, NAN, 1, 0);
	assert_value(r.id, ROWS_VALUE_ABSENT, NULL);
	assert_value(r.incl[0], ROWS_VALUE_TEXT, "a\"b");
	r = parse(&p, "{\"id\": null, \"x1\": 1, \"x2\": 1, \"c\": \"a\", \"meta\": 3.50}");
	assert_value(r.id, ROWS_VALUE_ABSENT, NULL);
	assert_value(r.incl[0], ROWS_VALUE_JSON, "3.50");
	r = parse(&p, "{\"id\": true, \"x1\": 1, \"x2\": 1, \"c\": \"a\", \"meta\": null}");
	assert_value(r.id, ROWS_VALUE_JSON, "true");
	assert_value(r.incl[0], ROWS_VALUE_JSON, "null");

	/* Booleans are 1 and 0 for a number input. */
	assert_row(parse(&p, "{\"x1\": true, \"x2\": false, \"c\": \"z\"}"), 1, 0, -1);
	/* Numeric strings, with spaces, and NA markers. */
	assert_row(parse(&p, "{\"x1\": \" 7 \", \"x2\": \"1e3\", \"c\": \"a\"}"), 7, 1000, 0);
	assert_row(parse(&p, "{\"x1\": \"NA\", \"x2\": 0, \"c\": \"b\"}"), NAN, 0, 1);
	/* A number for a category matches its text. */
	assert_row(parse(&p, "{\"x1\": 1, \"x2\": 2, \"c\": 1}"), 1, 2, -1);
	rows_plan_free(&p);
}

static void test_jsonl_missing(void **state)
{
	job_spec s;
	row_plan p;
	plan_jsonl(&p, &s);
	assert_reject(parse(&p, "{\"x1\": 1, \"c\": \"a\"}"), ROWS_MISSING, "column 'x2' is missing");
	assert_reject(parse(&p, "{\"x1\": 1, \"x2\": null, \"c\": \"a\"}"), ROWS_MISSING, "column 'x2' is missing");
	assert_reject(parse(&p, "{\"x1\": 1, \"x2\": \"\", \"c\": \"a\"}"), ROWS_MISSING, "column 'x2' is missing");
	assert_reject(parse(&p, "{\"x1\": 1, \"x2\": 2}"), ROWS_MISSING, "column 'c' is missing");
	assert_reject(parse(&p, "{}"), ROWS_MISSING, NULL);
	rows_plan_free(&p);
}

static void test_jsonl_bad_records(void **state)
{
	job_spec s;
	row_plan p;
	plan_jsonl(&p, &s);
	parsed r = parse(&p, "{\"x1\": 1, \"x2\": {\"a\": 1}, \"c\": \"a\"}");
	assert_reject(r, ROWS_BAD_NUMBER, NULL);
	assert_string_equal(r.why, "field 'x2': expected a number, found an object");
	assert_reject(parse(&p, "{\"x1\": [1], \"x2\": 1, \"c\": \"a\"}"), ROWS_BAD_NUMBER,
		      "field 'x1': expected a number, found an array");
	assert_reject(parse(&p, "{\"x1\": 1, \"x2\": 1, \"c\": [\"a\"]}"), ROWS_BAD_NUMBER,
		      "field 'c': expected a string, found an array");
	assert_reject(parse(&p, "{\"x1\": \"abc\", \"x2\": 1, \"c\": \"a\"}"), ROWS_BAD_NUMBER,
		      "column 'x1': expected a number, found 'abc'");

	r = parse(&p, "[1, 2]");
	assert_reject(r, ROWS_NOT_OBJECT, NULL);
	assert_string_equal(r.why, "expected a JSON object, found an array");
	assert_reject(parse(&p, "\"x1\""), ROWS_NOT_OBJECT, "found a string");
	assert_reject(parse(&p, "17"), ROWS_NOT_OBJECT, "found a number");
	assert_reject(parse(&p, "null"), ROWS_NOT_OBJECT, "found null");

	assert_reject(parse(&p, "{\"x1\": 1,"), ROWS_BAD_JSON, NULL);
	assert_reject(parse(&p, "{'x1': 1}"), ROWS_BAD_JSON, "at byte 2");
	assert_reject(parse(&p, "{\"x1\": 1} {}"), ROWS_BAD_JSON, NULL);
	assert_reject(parse(&p, "{\"x1\": 01}"), ROWS_BAD_JSON, NULL);
	assert_reject(parse(&p, ""), ROWS_BAD_JSON, NULL);
	assert_reject(parse(&p, "{\"x1\": \"\xff\"}"), ROWS_BAD_UTF8, "UTF-8");
	assert_reject(parse(&p, "{\"c\": \"\xed\xa0\x80\", \"x1\": 1, \"x2\": 1}"), ROWS_BAD_UTF8, "UTF-8");
	rows_plan_free(&p);
}

static void test_jsonl_duplicate_keys(void **state)
{
	job_spec s;
	row_plan p;
	plan_jsonl(&p, &s);
	parsed r = parse(&p, "{\"x1\": 1, \"x2\": 2, \"c\": \"a\", \"id\": 5, \"x1\": 9, \"c\": \"b\", \"id\": \"last\","
			     " \"meta\": 1, \"meta\": [2]}");
	assert_row(r, 9, 2, 1);
	assert_value(r.id, ROWS_VALUE_TEXT, "last");
	assert_value(r.incl[0], ROWS_VALUE_JSON, "[2]");
	/* A later null makes the value missing again. */
	assert_row(parse(&p, "{\"x1\": 1, \"x2\": 2, \"c\": \"a\", \"x1\": null}"), NAN, 2, 0);
	rows_plan_free(&p);
}

static void test_jsonl_plans(void **state)
{
	/* No id field: row numbers. */
	job_spec s;
	spec_init(&s, SPEC_FORMAT_JSONL);
	s.input.id_field = NULL;
	s.output.n_include = 0;
	row_plan p;
	bf_error err;
	assert_int_equal(rows_plan_jsonl(&p, M, &s, &err), BF_OK);
	assert_int_equal(p.has_id_field, 0);
	parsed r = parse(&p, "{\"id\": 3, \"x1\": 1, \"x2\": 2, \"c\": \"b\"}");
	assert_row(r, 1, 2, 1);
	assert_value(r.id, ROWS_VALUE_ROWNUM, NULL);
	rows_plan_free(&p);

	/* features.columns renames keys; the model's own names are then ignored. */
	spec_pair renames[] = {{"x1", "first"}};
	spec_init(&s, SPEC_FORMAT_JSONL);
	s.features.columns = renames;
	s.features.n_columns = 1;
	assert_int_equal(rows_plan_jsonl(&p, M, &s, &err), BF_OK);
	assert_row(parse(&p, "{\"first\": 4, \"x1\": 99, \"x2\": 2, \"c\": \"b\"}"), 4, 2, 1);
	assert_row(parse(&p, "{\"x1\": 99, \"x2\": 2, \"c\": \"b\"}"), NAN, 2, 1);
	rows_plan_free(&p);

	/* A key that is both the id and an input feeds both. */
	spec_init(&s, SPEC_FORMAT_JSONL);
	s.input.id_field = "x2";
	s.output.include = include_note;
	assert_int_equal(rows_plan_jsonl(&p, M, &s, &err), BF_OK);
	r = parse(&p, "{\"x1\": 1, \"x2\": 2.0, \"c\": \"a\", \"note\": \"n\"}");
	assert_row(r, 1, 2, 0);
	assert_value(r.id, ROWS_VALUE_JSON, "2.0");
	assert_value(r.incl[0], ROWS_VALUE_TEXT, "n");
	rows_plan_free(&p);
}

/* Out of memory while parsing a row is ROWS_NOMEM, which stops the run
 * (exit 3), never a reject such as too_long. */
static void test_out_of_memory(void **state)
{
	arena tiny;
	arena_init(&tiny, (size_t)1 << 46); /* no block of 64 TiB is ever given */
	job_spec s;
	row_plan p;
	char why[256];
	double x[3];
	rows_value id, incl[1];
	plan_usual(&p, &s);
	static const char csv[] = "r1,1,\"2\",a,n";
	assert_int_equal(rows_parse(&p, csv, sizeof csv - 1, x, &id, incl, &tiny, why, sizeof why), ROWS_NOMEM);
	rows_plan_free(&p);
	plan_jsonl(&p, &s);
	static const char json[] = "{\"x1\": 1, \"x2\": 2, \"c\": \"a\"}";
	assert_int_equal(rows_parse(&p, json, sizeof json - 1, x, &id, incl, &tiny, why, sizeof why), ROWS_NOMEM);
	rows_plan_free(&p);
	arena_free(&tiny);
}

/* Under ASan, a malloc that cannot be served returns NULL, as it does
 * without it: the out-of-memory test needs that. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_plan_by_name),
		cmocka_unit_test(test_csv_plan_missing_column),
		cmocka_unit_test(test_csv_plan_renames),
		cmocka_unit_test(test_csv_plan_id_and_include),
		cmocka_unit_test(test_csv_numbers),
		cmocka_unit_test(test_csv_missing),
		cmocka_unit_test(test_csv_bad_records),
		cmocka_unit_test(test_csv_categories),
		cmocka_unit_test(test_csv_id_and_include),
		cmocka_unit_test(test_jsonl_values),
		cmocka_unit_test(test_jsonl_missing),
		cmocka_unit_test(test_jsonl_bad_records),
		cmocka_unit_test(test_jsonl_duplicate_keys),
		cmocka_unit_test(test_jsonl_plans),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests_name("rows", tests, setup, teardown);
}
