/* numparse.h: fast, correctly rounded text-to-double conversion.
 *
 * A number in a CSV cell or JSON value becomes a double exactly as strtod
 * would round it: a fast path (Clinger: <= 19 significant digits and a small
 * power of ten, exact in double arithmetic) and strtod for the rest. */
#ifndef BF_NUMPARSE_H
#define BF_NUMPARSE_H

#include <stddef.h>

/* Parses all of s[0..len) as a decimal number: optional sign, digits with an
 * optional '.', optional exponent; also "nan", "inf", "infinity" in any case
 * with an optional sign. Leading/trailing spaces are NOT accepted.
 * Returns 0 and sets *out, or -1 when s is not exactly a number. */
int num_parse(const char *s, size_t len, double *out);

extern const double num_exact_pow10[23];

/* The common case inline: a plain decimal of at most 15 characters ("161.6",
 * "-3", "0.25"), exact since the mantissa stays below 2^53. Returns -1 for
 * anything else (then call num_parse). */
static inline int num_parse_short(const char *s, size_t len, double *out)
{
	if (len == 0 || len > 15)
		return -1;
	const char *p = s, *end = s + len, *dot = NULL;
	int neg = *p == '-';
	p += neg;
	unsigned long long m = 0;
	int digits = 0;
	for (; p < end; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (d < 10) {
			m = m * 10 + d;
			digits++;
		} else if (*p == '.' && !dot) {
			dot = p;
		} else {
			return -1;
		}
	}
	if (!digits)
		return -1;
	double v = (double)m;
	if (dot && end - dot > 1)
		v /= num_exact_pow10[end - dot - 1];
	*out = neg ? -v : v;
	return 0;
}

/* Writes v with 9 significant digits (enough to round-trip a float32),
 * trailing zeros dropped, as %g would lay it out; valid JSON and CSV.
 * v must be finite. Returns bytes written (at most 24). Output is locale-free. */
int num_format_f32(char *out, double v);

/* Same with 17 significant digits (round-trips a double). */
int num_format_f64(char *out, double v);

#endif
