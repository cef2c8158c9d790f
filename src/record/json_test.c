/* json_test.c: JSONTestSuite conformance and targeted tests for json.c.
 * Run from the repository root: fixtures are read from testdata/fixtures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json.h"

#define SUITE_DIR "testdata/fixtures/json-test-suite/test_parsing/"

/* Reads a file into a buffer of exactly its size (so ASan sees overreads). */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Parses s in a fresh copy of exactly strlen(s) bytes. */
static int parse(arena *a, const char *s, json_value **v, json_error *e)
{
	size_t n = strlen(s);
	char *copy = arena_alloc(a, n + 1);
	memcpy(copy, s, n);
	return json_parse(copy, n, a, v, e);
}

static int cmp_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Runs every fixture whose name starts with prefix; want 0 = must parse,
 * -1 = must fail, 1 = either. Returns the number of files run. */
static int run_suite(arena *a, const char *prefix, int want)
{
	DIR *d = opendir(SUITE_DIR);
	assert_non_null(d);
	char *names[512];
	int count = 0, bad = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		assert_true(count < 512);
		names[count++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)count, sizeof *names, cmp_name);

	for (int i = 0; i < count; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s%s", SUITE_DIR, names[i]);
		size_t len = 0;
		char *text = read_file(path, &len);
		assert_non_null(text);
		json_value *v = NULL;
		json_error e;
		memset(&e, 0, sizeof e);
		int rc = json_parse(text, len, a, &v, &e);
		if (want == 0 && rc != 0) {
			print_error("%s: rejected: %lld:%lld: %s\n", names[i],
				    (long long)e.line, (long long)e.column, e.message);
			bad++;
		} else if (want == -1) {
			if (rc != -1 || !e.message[0] || e.line < 1 || e.column < 1 ||
			    e.offset > len) {
				print_error("%s: accepted or bad error (rc %d, %lld:%lld '%s')\n",
					    names[i], rc, (long long)e.line,
					    (long long)e.column, e.message);
				bad++;
			}
		} else if (want == 0 && (v->raw < text || v->raw + v->raw_len > text + len)) {
			print_error("%s: raw span outside the text\n", names[i]);
			bad++;
		}
		if (rc == 0)
			assert_non_null(v);
		free(text);
		free(names[i]);
		arena_reset(a);
	}
	assert_int_equal(bad, 0);
	return count;
}

static int setup(void **state)
{
	arena *a = malloc(sizeof *a);
	if (!a)
		return -1;
	arena_init(a, 0);
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	arena_free(*state);
	free(*state);
	return 0;
}

static void test_suite_y(void **state)
{
	assert_true(run_suite(*state, "y_", 0) >= 95);
}

static void test_suite_n(void **state)
{
	assert_true(run_suite(*state, "n_", -1) >= 188);
}

static void test_suite_i(void **state)
{
	assert_true(run_suite(*state, "i_", 1) >= 35);
}

static double num(arena *a, const char *s)
{
	json_value *v;
	json_error e;
	assert_int_equal(parse(a, s, &v, &e), 0);
	assert_int_equal(v->type, JSON_NUMBER);
	assert_int_equal(v->raw_len, strlen(s));
	return v->u.number;
}

static void test_numbers(void **state)
{
	arena *a = *state;
	double z = num(a, "0");
	assert_true(z == 0 && !signbit(z));
	z = num(a, "-0");
	assert_true(z == 0 && signbit(z));
	assert_true(num(a, "-0.0e+0") == 0);
	assert_true(num(a, "1e-7") == strtod("1e-7", NULL));
	assert_true(num(a, "123.456e+2") == strtod("123.456e+2", NULL));
	assert_true(num(a, "1.7976931348623157e308") == 1.7976931348623157e308);
	assert_true(num(a, "5e-324") == strtod("5e-324", NULL));
	assert_true(num(a, "5e-324") > 0);
	assert_true(num(a, "0.1") == strtod("0.1", NULL));
	assert_true(num(a, "-42") == -42);
	assert_true(num(a, "123456789012345") == 123456789012345.0);
	assert_true(num(a, "9007199254740993") == strtod("9007199254740993", NULL));
	assert_true(num(a, "12345678901234567890123") ==
		    strtod("12345678901234567890123", NULL));
	assert_true(num(a, "1E2") == 100);
	assert_true(num(a, "1e999") == HUGE_VAL);
	assert_true(num(a, "-1e999") == -HUGE_VAL);
	assert_true(num(a, "1e-999") == 0);

	static const char *bad[] = {
		"01", "+1", ".5", "1.", "0x10", "NaN", "Infinity", "-Infinity",
		"1e", "1e+", "-", "--1", "1.e3", "-01", "00", "1ee2", "1.2.3",
		"- 1", "1 2",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_value *v;
		json_error e;
		if (parse(a, bad[i], &v, &e) != -1)
			fail_msg("number '%s' accepted", bad[i]);
		double d;
		assert_int_equal(json_number(bad[i], strlen(bad[i]), &d), -1);
	}
	double d = 0;
	assert_int_equal(json_number("-12.5e1", 7, &d), 0);
	assert_true(d == -125);
	assert_int_equal(json_number("0.1", 3, &d), 0);
	assert_true(d == strtod("0.1", NULL));
	assert_int_equal(json_number("", 0, &d), -1);
	assert_int_equal(json_number(" 1", 2, &d), -1);
}

static const json_value *str(arena *a, const char *s)
{
	json_value *v;
	json_error e;
	if (parse(a, s, &v, &e) != 0)
		fail_msg("%s: %s", s, e.message);
	assert_int_equal(v->type, JSON_STRING);
	assert_int_equal(v->u.string[v->len], '\0');
	return v;
}

static void test_strings(void **state)
{
	arena *a = *state;
	const json_value *v = str(a, "\"plain ascii text that is long enough\"");
	assert_string_equal(v->u.string, "plain ascii text that is long enough");
	v = str(a, "\"\"");
	assert_int_equal(v->len, 0);
	v = str(a, "\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"");
	assert_string_equal(v->u.string, "a\"b\\c/d\be\ff\ng\rh\ti");
	v = str(a, "\"\\u0041\\u00e9\\u20AC\"");
	assert_string_equal(v->u.string, "A\xc3\xa9\xe2\x82\xac");
	v = str(a, "\"x\\u0000y\"");
	assert_int_equal(v->len, 3);
	assert_memory_equal(v->u.string, "x\0y", 3);
	/* U+1F600 as a surrogate pair, and U+10FFFF */
	v = str(a, "\"\\ud83d\\ude00\"");
	assert_int_equal(v->len, 4);
	assert_memory_equal(v->u.string, "\xf0\x9f\x98\x80", 4);
	v = str(a, "\"\\uDBFF\\uDFFF!\"");
	assert_string_equal(v->u.string, "\xf4\x8f\xbf\xbf!");
	/* raw UTF-8 passes through */
	v = str(a, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf\"");
	assert_string_equal(v->u.string, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf");

	static const struct {
		const char *text, *message;
	} bad[] = {
		{"\"\\ud800\"", "invalid \\u surrogate"},
		{"\"\\ud800x\"", "invalid \\u surrogate"},
		{"\"\\ud800\\u0041\"", "invalid \\u surrogate"},
		{"\"\\udc00\"", "invalid \\u surrogate"},
		{"\"\\udfff\\ud800\"", "invalid \\u surrogate"},
		{"\"\\u12\"", "invalid \\u escape"},
		{"\"\\x\"", "invalid escape"},
		{"\"abc", "unterminated string"},
		{"\"abc\\", "unterminated string"},
		{"\"a\tb\"", "unescaped control character '\\t' in string"},
		{"\"a\x01\"", "unescaped control character '\\x01' in string"},
		{"\"\xff\"", "invalid UTF-8 byte 0xff in string"},
		{"\"\x80\"", "invalid UTF-8 byte 0x80 in string"},
		{"\"\xc0\xaf\"", "overlong UTF-8 encoding in string"},
		{"\"\xe0\x80\xaf\"", "overlong UTF-8 encoding in string"},
		{"\"\xf0\x80\x80\xaf\"", "overlong UTF-8 encoding in string"},
		{"\"\xed\xa0\x80\"", "UTF-8 encoded surrogate in string"},
		{"\"\xf4\x90\x80\x80\"", "UTF-8 code point above U+10FFFF in string"},
		{"\"\xf5\x80\x80\x80\"", "invalid UTF-8 byte 0xf5 in string"},
		{"\"\xe2\x82\"", "truncated UTF-8 sequence in string"},
		{"\"\xe2\x82", "truncated UTF-8 sequence in string"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_value *out;
		json_error e;
		assert_int_equal(parse(a, bad[i].text, &out, &e), -1);
		if (strncmp(e.message, bad[i].message, strlen(bad[i].message)) != 0)
			fail_msg("%s: got '%s', want '%s...'", bad[i].text, e.message,
				 bad[i].message);
	}
}

static void test_structure(void **state)
{
	arena *a = *state;
	json_value *v;
	json_error e;
	assert_int_equal(parse(a, " \t\r\n{\"a\" : [1, true, false, null, {}, []], \"b\":{\"c\":\"d\"}} \n", &v, &e), 0);
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->len, 2);
	assert_string_equal(v->u.members[0].key, "a");
	assert_int_equal(v->u.members[0].key_len, 1);
	const json_value *arr = &v->u.members[0].value;
	assert_int_equal(arr->type, JSON_ARRAY);
	assert_int_equal(arr->len, 6);
	assert_true(arr->u.items[0].type == JSON_NUMBER && arr->u.items[0].u.number == 1);
	assert_int_equal(arr->u.items[1].type, JSON_TRUE);
	assert_int_equal(arr->u.items[2].type, JSON_FALSE);
	assert_int_equal(arr->u.items[3].type, JSON_NULL);
	assert_int_equal(arr->u.items[4].type, JSON_OBJECT);
	assert_int_equal(arr->u.items[4].len, 0);
	assert_int_equal(arr->u.items[5].type, JSON_ARRAY);
	assert_int_equal(arr->u.items[5].len, 0);
	assert_string_equal(json_get(json_get(v, "b"), "c")->u.string, "d");

	/* more children than the inline scratch holds, nested */
	enum { N = 10000 };
	char *big = malloc(N * 24 + 16);
	size_t n = 0;
	big[n++] = '[';
	for (int i = 0; i < N; i++)
		n += (size_t)sprintf(big + n, "%s{\"k\":[%d,%d]}", i ? "," : "", i, -i);
	big[n++] = ']';
	assert_int_equal(json_parse(big, n, a, &v, &e), 0);
	assert_int_equal(v->len, N);
	for (int i = 0; i < N; i++) {
		const json_value *k = json_get(&v->u.items[i], "k");
		assert_non_null(k);
		assert_int_equal(k->len, 2);
		assert_true(k->u.items[0].u.number == i && k->u.items[1].u.number == -i);
	}
	free(big);

	/* the text need not be NUL-terminated: only len bytes are read */
	assert_int_equal(json_parse("123garbage", 3, a, &v, &e), 0);
	assert_true(v->u.number == 123);
	assert_int_equal(json_parse("[1]]", 3, a, &v, &e), 0);
}

static void test_raw_spans(void **state)
{
	arena *a = *state;
	json_value *v;
	json_error e;
	const char *text = "  {\"s\": \"x\\ny\", \"n\": -1.5e3 , \"a\": [ true , null ], \"o\": {\"k\": {}}}  ";
	assert_int_equal(json_parse(text, strlen(text), a, &v, &e), 0);
	assert_ptr_equal(v->raw, text + 2);
	assert_int_equal(v->raw_len, strlen(text) - 4);
	const json_value *s = json_get(v, "s");
	assert_int_equal(s->raw_len, 6);
	assert_memory_equal(s->raw, "\"x\\ny\"", 6);
	assert_int_equal(s->len, 3);
	const json_value *n = json_get(v, "n");
	assert_memory_equal(n->raw, "-1.5e3", n->raw_len);
	assert_int_equal(n->raw_len, 6);
	const json_value *arr = json_get(v, "a");
	assert_int_equal(arr->raw_len, 15);
	assert_memory_equal(arr->raw, "[ true , null ]", 15);
	assert_memory_equal(arr->u.items[0].raw, "true", arr->u.items[0].raw_len);
	assert_memory_equal(arr->u.items[1].raw, "null", arr->u.items[1].raw_len);
	const json_value *o = json_get(v, "o");
	assert_memory_equal(o->raw, "{\"k\": {}}", o->raw_len);
	assert_int_equal(o->raw_len, 9);
	assert_memory_equal(json_get(o, "k")->raw, "{}", 2);
}

static void test_get(void **state)
{
	arena *a = *state;
	json_value *v;
	json_error e;
	assert_int_equal(parse(a, "{\"a\":1,\"b\":2,\"a\":3,\"a\\u0000b\":4,\"\":5}", &v, &e), 0);
	assert_int_equal(v->len, 5);
	assert_true(json_get(v, "a")->u.number == 3);
	assert_true(json_getn(v, "a", 1)->u.number == 3);
	assert_true(json_get(v, "b")->u.number == 2);
	assert_true(json_getn(v, "a\0b", 3)->u.number == 4);
	assert_true(json_get(v, "")->u.number == 5);
	assert_null(json_get(v, "c"));
	assert_null(json_get(v, "ab"));
	assert_null(json_get(NULL, "a"));
	assert_null(json_get(&v->u.members[0].value, "a"));
}

static void test_depth(void **state)
{
	arena *a = *state;
	json_value *v;
	json_error e;
	enum { DEEP = 100000 };
	char *deep = malloc(2 * DEEP);
	memset(deep, '[', DEEP);
	assert_int_equal(json_parse(deep, DEEP, a, &v, &e), -1);
	assert_non_null(strstr(e.message, "nesting deeper than"));
	memset(deep + DEEP, ']', DEEP);
	assert_int_equal(json_parse(deep, 2 * DEEP, a, &v, &e), -1);
	assert_int_equal(e.offset, JSON_MAX_DEPTH);

	/* exactly JSON_MAX_DEPTH levels are fine, one more is not */
	size_t n = JSON_MAX_DEPTH;
	char *lim = deep + DEEP - n; /* n '[' then n ']' */
	assert_int_equal(json_parse(lim, 2 * n, a, &v, &e), 0);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(v->type, JSON_ARRAY);
		assert_int_equal(v->len, 1);
		v = v->u.items;
	}
	assert_int_equal(v->len, 0);
	assert_int_equal(json_parse(lim - 1, 2 * n + 2, a, &v, &e), -1);

	/* objects count too */
	size_t m = 0;
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		m += (size_t)sprintf(deep + m, "{\"\":");
	assert_int_equal(json_parse(deep, m, a, &v, &e), -1);
	assert_non_null(strstr(e.message, "nesting deeper than"));
	free(deep);
}

static void test_errors(void **state)
{
	arena *a = *state;
	json_value *v;
	json_error e;
	assert_int_equal(parse(a, "{\n  \"a\": 1,\n  \"b\": [1, 2 x]\n}", &v, &e), -1);
	assert_int_equal(e.line, 3);
	assert_int_equal(e.column, 14);
	assert_int_equal(e.offset, 25);
	assert_string_equal(e.message, "expected ',' or ']' after array item, found 'x'");

	static const struct {
		const char *text, *message;
		int64_t line, column;
	} cases[] = {
		{"", "unexpected end of input, expected a value", 1, 1},
		{"  \n ", "unexpected end of input, expected a value", 2, 2},
		{"{\"a\":1 x}", "expected ',' or '}' after object member, found 'x'", 1, 8},
		{"{\"a\":1,}", "expected a string key after ',' in object, found '}'", 1, 8},
		{"{\"a\" 1}", "expected ':' after object key, found '1'", 1, 6},
		{"{1:1}", "expected a string key or '}' after '{', found '1'", 1, 2},
		{"[1,]", "expected a value, found ']'", 1, 4},
		{"[1", "unexpected end of input, expected ',' or ']' after array item", 1, 3},
		{"1 2", "expected end of input after value, found '2'", 1, 3},
		{"\n\n  tru", "invalid literal, expected 'true'", 3, 3},
		{"-x", "expected a digit after '-', found 'x'", 1, 2},
		{"1.e5", "expected a digit after '.' in number, found 'e'", 1, 3},
		{"1e", "unexpected end of input, expected a digit in the exponent of number", 1, 3},
		{"012", "invalid number, a leading '0' must not be followed by a digit", 1, 1},
		{"\"ab\ncd\"", "unescaped control character '\\n' in string", 1, 4},
		{"[\"abc", "unterminated string", 1, 2},
		{"[\"\xc3\xa9\", \"\xff\"]", "invalid UTF-8 byte 0xff in string", 1, 9},
		{"\xef\xbb\xbf{}", "expected a value, found '\\xef'", 1, 1},
		{"\"\\ud800\\u0041\"", "invalid \\u surrogate: high surrogate \\ud800 not followed by a low surrogate", 1, 2},
		{"\"\\udc00\"", "invalid \\u surrogate: lone low surrogate \\udc00 in string", 1, 2},
		{"\"\\q\"", "invalid escape in string, expected one of \"\\/bfnrtu after '\\', found 'q'", 1, 3},
		{"\f1", "expected a value, found '\\x0c'", 1, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		memset(&e, 0, sizeof e);
		assert_int_equal(parse(a, cases[i].text, &v, &e), -1);
		/* the kind of error is set, not read from the message */
		json_error_kind kind = strstr(cases[i].message, "UTF-8") ? JSON_ERROR_UTF8 : JSON_ERROR_SYNTAX;
		if (e.kind != kind)
			fail_msg("case %zu: error kind %d, want %d", i, (int)e.kind, (int)kind);
		if (strcmp(e.message, cases[i].message) != 0 ||
		    e.line != cases[i].line || e.column != cases[i].column)
			fail_msg("case %zu: got %lld:%lld '%s', want %lld:%lld '%s'", i,
				 (long long)e.line, (long long)e.column, e.message,
				 (long long)cases[i].line, (long long)cases[i].column,
				 cases[i].message);
	}
	/* err may be NULL */
	assert_int_equal(parse(a, "[", &v, NULL), -1);
}

/* An arena that cannot grow is an out-of-memory error, not a syntax one. */
static void test_out_of_memory(void **state)
{
	arena tiny;
	arena_init(&tiny, (size_t)1 << 46); /* no block of 64 TiB is ever given */
	json_value *v;
	json_error e;
	memset(&e, 0, sizeof e);
	assert_int_equal(json_parse("{\"a\": [1, 2]}", 13, &tiny, &v, &e), -1);
	assert_int_equal(e.kind, JSON_ERROR_NOMEM);
	assert_string_equal(e.message, "out of memory");
	arena_free(&tiny);
}

static void test_escape(void **state)
{
	char out[6 * 64 + 2];
	size_t n = json_escape(out, "", 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\"\"", 2);

	const char in[] = "a\"b\\c\b\f\n\r\t\x01\x1f\x7f/caf\xc3\xa9\0z";
	const char want[] = "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/caf\xc3\xa9\\u0000z\"";
	n = json_escape(out, in, sizeof in - 1);
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(out, want, n);

	/* worst case fits the documented bound */
	char ctl[64];
	memset(ctl, 0x01, sizeof ctl);
	assert_int_equal(json_escape(out, ctl, sizeof ctl), 6 * sizeof ctl + 2);

	/* round trip through the parser */
	arena *a = *state;
	json_value *v;
	assert_int_equal(json_parse(out, json_escape(out, in, sizeof in - 1), a, &v, NULL), 0);
	assert_int_equal(v->len, sizeof in - 1);
	assert_memory_equal(v->u.string, in, sizeof in - 1);
}

/* Under ASan, a malloc that cannot be served returns NULL, as it does
 * without it: the out-of-memory tests need that. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_suite_y, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suite_n, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suite_i, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_spans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
