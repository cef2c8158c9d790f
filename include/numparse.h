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

/* Writes v with 9 significant digits (enough to round-trip a float32),
 * trailing zeros dropped, as %g would lay it out; valid JSON and CSV.
 * v must be finite. Returns bytes written (at most 24). Output is locale-free. */
int num_format_f32(char *out, double v);

/* Same with 17 significant digits (round-trips a double). */
int num_format_f64(char *out, double v);

#endif
