/* numparse.c: decimal text <-> double, fast and exact; see numparse.h. */
#include "numparse.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exactly representable powers of ten (Clinger's fast path). */
const double num_exact_pow10[23] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int lower_eq(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);
	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != word[i])
			return 0;
	return 1;
}

static int slow_parse(const char *s, size_t len, double *out)
{
	char stack[128];
	char *buf = len < sizeof stack ? stack : malloc(len + 1);
	if (!buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end;
	*out = strtod(buf, &end);
	int ok = end == buf + len;
	if (buf != stack)
		free(buf);
	return ok ? 0 : -1;
}

int num_parse(const char *s, size_t len, double *out)
{
	if (num_parse_short(s, len, out) == 0)
		return 0;
	const char *p = s, *end = s + len;
	int neg = 0;
	if (p < end && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
	}
	if (p < end && (*p | 0x20) >= 'a') {
		size_t n = (size_t)(end - p);
		if (lower_eq(p, n, "nan"))
			*out = neg ? -NAN : NAN;
		else if (lower_eq(p, n, "inf") || lower_eq(p, n, "infinity"))
			*out = neg ? -INFINITY : INFINITY;
		else
			return -1;
		return 0;
	}
	uint64_t m = 0;
	int digits = 0, any = 0, inexact = 0;
	int64_t exp10 = 0;
	while (p < end && *p == '0') {
		p++;
		any = 1;
	}
	for (; p < end && (unsigned)(*p - '0') < 10; p++) {
		any = 1;
		if (digits < 19) {
			m = m * 10 + (uint64_t)(*p - '0');
			digits++;
		} else {
			exp10++;
			inexact |= *p != '0';
		}
	}
	if (p < end && *p == '.') {
		p++;
		for (; p < end && (unsigned)(*p - '0') < 10; p++) {
			any = 1;
			if (m == 0 && *p == '0') {
				exp10--;
			} else if (digits < 19) {
				m = m * 10 + (uint64_t)(*p - '0');
				digits++;
				exp10--;
			} else {
				inexact |= *p != '0';
			}
		}
	}
	if (!any)
		return -1;
	if (p < end && (*p | 0x20) == 'e') {
		p++;
		int eneg = 0;
		if (p < end && (*p == '+' || *p == '-')) {
			eneg = *p == '-';
			p++;
		}
		if (p == end || (unsigned)(*p - '0') >= 10)
			return -1;
		int64_t e = 0;
		for (; p < end && (unsigned)(*p - '0') < 10; p++)
			if (e < 100000)
				e = e * 10 + (*p - '0');
		exp10 += eneg ? -e : e;
	}
	if (p != end)
		return -1;
	if (m == 0) {
		*out = neg ? -0.0 : 0.0;
		return 0;
	}
	if (!inexact && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
		double d = (double)m;
		d = exp10 < 0 ? d / num_exact_pow10[-exp10] : d * num_exact_pow10[exp10];
		*out = neg ? -d : d;
		return 0;
	}
	return slow_parse(s, len, out);
}

/* Powers of ten for scaling into a 9-digit integer (products are rounded
 * once; 9 digits leave ample room for that error). */
static double pow10i(int k)
{
	if (k >= 0 && k <= 22)
		return num_exact_pow10[k];
	if (k < 0 && k >= -22)
		return 1 / num_exact_pow10[-k];
	return pow(10.0, k);
}

int num_format_f32(char *out, double v)
{
	char *o = out;
	if (v == 0) {
		*o++ = '0';
		*o = '\0';
		return 1;
	}
	if (v < 0) {
		*o++ = '-';
		v = -v;
	}
	/* Decimal exponent from the binary one, corrected by one comparison. */
	int e2;
	frexp(v, &e2);
	int e = (int)floor((e2 - 1) * 0.30102999566398120);
	if (e + 1 >= -300 && e + 1 <= 300 && v >= pow10i(e + 1))
		e++;
	uint64_t m = (uint64_t)llround(e <= 8 ? v * pow10i(8 - e) : v / pow10i(e - 8));
	if (m >= UINT64_C(1000000000)) {
		e++;
		m = (m + 5) / 10;
	} else if (m < UINT64_C(100000000)) {
		e--;
		m = (uint64_t)llround(e <= 8 ? v * pow10i(8 - e) : v / pow10i(e - 8));
	}
	char d[10];
	for (int i = 8; i >= 0; i--) {
		d[i] = (char)('0' + m % 10);
		m /= 10;
	}
	int nd = 9;
	while (nd > 1 && d[nd - 1] == '0')
		nd--;
	if (e < -5 || e >= 9) {
		*o++ = d[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	} else if (e < 0) {
		*o++ = '0';
		*o++ = '.';
		for (int i = -1; i > e; i--)
			*o++ = '0';
		memcpy(o, d, (size_t)nd);
		o += nd;
	} else {
		memcpy(o, d, (size_t)e + 1 < (size_t)nd ? (size_t)e + 1 : (size_t)nd);
		if (e + 1 > nd) {
			o += nd;
			for (int i = nd; i <= e; i++)
				*o++ = '0';
		} else {
			o += e + 1;
			if (nd > e + 1) {
				*o++ = '.';
				memcpy(o, d + e + 1, (size_t)(nd - e - 1));
				o += nd - e - 1;
			}
		}
	}
	*o = '\0';
	return (int)(o - out);
}

int num_format_f64(char *out, double v)
{
	return snprintf(out, 32, "%.17g", v);
}
