/* format.h: results and rejects as JSON lines or CSV text.
 *
 * Called from the compute threads, each writing its own block of rows into
 * its own buffer, so formatting scales with the cores. */
#ifndef BF_FORMAT_H
#define BF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "rows.h"
#include "spec.h"
#include "tbuf.h"


typedef struct fmt_ctx {
	spec_format format;      /* of the results */
	const model *m;
	char **class_json;       /* (n_classes) JSON string literals of the labels */
	char **class_csv;        /* (n_classes) CSV fields of the labels */
	char **include_json;     /* (n_include) ,"name": prefixes */
	size_t n_include;
	size_t *class_len;       /* (n_classes) strlen of class_json */
	size_t *include_len;     /* (n_include) strlen of include_json */
	size_t fixed_bound;      /* bytes a result needs besides id and includes */
} fmt_ctx;

int fmt_init(fmt_ctx *c, spec_format format, const model *m, char *const *include, size_t n_include);
void fmt_free(fmt_ctx *c);
/* Appends the CSV header line (nothing for JSON lines). */
int fmt_header(const fmt_ctx *c, char *const *include, tbuf *out);
/* Appends one result line. row is the 1-based data row number; y holds the
 * model's n_outputs values. Returns 0 or -1 when out of memory. */
int fmt_result(const fmt_ctx *c, tbuf *out, int64_t row, const rows_value *id, const rows_value *incl,
	       const double *y);
/* Appends one rejects line (always JSON lines):
 * {"row":..,"line":..,"id":..,"reason":"code","detail":"...","raw":"<first 4 KiB>"} */
int fmt_reject(tbuf *out, int64_t row, int64_t line, const rows_value *id, rows_reason reason,
	       const char *detail, const char *raw, size_t raw_len);

#endif
