/* numparse_test.c: num_parse agrees with strtod; num_format_f32 round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"

static int parse(const char *s, double *d) { return num_parse(s, strlen(s), d); }

static void test_parse_forms(void **state)
{
	double d;
	assert_int_equal(parse("0", &d), 0);
	assert_true(d == 0 && !signbit(d));
	assert_int_equal(parse("-0.0", &d), 0);
	assert_true(d == 0 && signbit(d));
	assert_int_equal(parse("+1.5", &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(parse(".5", &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(parse("5.", &d), 0);
	assert_true(d == 5);
	assert_int_equal(parse("1e3", &d), 0);
	assert_true(d == 1000);
	assert_int_equal(parse("1E-3", &d), 0);
	assert_true(d == strtod("1e-3", NULL));
	assert_int_equal(parse("NaN", &d), 0);
	assert_true(isnan(d));
	assert_int_equal(parse("-inf", &d), 0);
	assert_true(isinf(d) && d < 0);
	assert_int_equal(parse("Infinity", &d), 0);
	assert_true(isinf(d) && d > 0);
	assert_int_equal(parse("1e999", &d), 0);
	assert_true(isinf(d));
	const char *bad[] = {"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "12a", " 1", "1 ",
			     "0x10", "nana", "--1", "1,5"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(parse(bad[i], &d), -1);
}

static void test_parse_matches_strtod(void **state)
{
	const char *cases[] = {"0.1", "0.3", "123456789012345678901234567890", "9007199254740993",
			       "2.2250738585072011e-308", "4.9e-324", "1.7976931348623157e308",
			       "0.000000000000000000000000000001234", "3.14159265358979323846264338327950288",
			       "128.015", "1448.0000000000002", "-93.7"};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		double d;
		assert_int_equal(parse(cases[i], &d), 0);
		assert_true(d == strtod(cases[i], NULL));
	}
	srand(7);
	char buf[64];
	for (int i = 0; i < 200000; i++) {
		int whole = rand() % 100000, frac = rand() % 1000000, e = rand() % 40 - 20;
		snprintf(buf, sizeof buf, "%s%d.%06de%d", rand() & 1 ? "-" : "", whole, frac, e);
		double d;
		assert_int_equal(parse(buf, &d), 0);
		if (d != strtod(buf, NULL))
			fail_msg("%s: %.17g != %.17g", buf, d, strtod(buf, NULL));
	}
}

static void test_format_roundtrips_float32(void **state)
{
	char buf[32];
	assert_int_equal(num_format_f32(buf, 0.5), 3);
	assert_string_equal(buf, "0.5");
	num_format_f32(buf, 12.5);
	assert_string_equal(buf, "12.5");
	num_format_f32(buf, 1e-7);
	assert_string_equal(buf, "1e-07");
	num_format_f32(buf, -1234567890.0);
	assert_string_equal(buf, "-1.23456789e+09");
	num_format_f32(buf, 100);
	assert_string_equal(buf, "100");
	num_format_f32(buf, 0.000123);
	assert_string_equal(buf, "0.000123");
	srand(11);
	for (int i = 0; i < 300000; i++) {
		uint32_t bits = ((uint32_t)rand() << 16) ^ (uint32_t)rand();
		float f;
		memcpy(&f, &bits, sizeof f);
		if (!isfinite(f) || f == 0)
			continue;
		int n = num_format_f32(buf, f);
		assert_true(n > 0 && n < 24);
		char ref[32];
		snprintf(ref, sizeof ref, "%.9g", (double)f);
		if (strtof(buf, NULL) != f)
			fail_msg("%s does not round-trip %s", buf, ref);
		double d;
		assert_int_equal(num_parse(buf, (size_t)n, &d), 0);
		assert_true(fabs(d - f) <= fabs(f) * 1e-8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_matches_strtod),
		cmocka_unit_test(test_format_roundtrips_float32),
	};
	return cmocka_run_group_tests_name("numparse", tests, NULL, NULL);
}
