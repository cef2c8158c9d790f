/* record.h: the record formats of the input: how its bytes split into
 * records. One table (record_formats[], by spec_format) gives each
 * format's name, the file name endings that imply it and its framing, so
 * that the reader, the spec's defaults and the report ask one place.
 *
 * Framing is sequential (a CSV quote can hide a newline) and runs in the
 * reader thread; what a record holds is the rows stage's business. */
#ifndef BF_RECORD_H
#define BF_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* Where the record at the start of a buffer ends. */
typedef struct record_frame {
	size_t len;        /* record bytes, without its LF/CRLF terminator */
	size_t next;       /* offset where the next record starts */
	uint32_t newlines; /* LF bytes consumed, terminator included (for line numbers) */
	uint8_t open_quote; /* CSV: a quote that does not close in time; the frame is the record's first line */
} record_frame;

/* What framing is told by the spec. */
typedef struct record_opts {
	uint32_t max_lines;  /* CSV: lines one record may span (input.csv.max_lines_per_record) */
} record_opts;

typedef struct record_format {
	const char *name;                /* as the spec, the report and messages name it */
	const char *const *extensions;   /* file name endings that imply it (before an optional .zst) */
	/* Frames the record at buf[0..len): 1 with *f set, 0 when more bytes
	 * are needed; at_eof: no more bytes come, so a record without its
	 * terminator ends at len (len == 0 at EOF: 0, no record). */
	int (*frame)(const record_opts *o, const char *buf, size_t len, int at_eof, record_frame *f);
	/* 1 when a framed record holds nothing: skipped, not counted as a row. */
	int (*blank)(const char *rec, size_t len);
	const char *field;               /* what a named input is: "column", "field" */
} record_format;

/* The formats, indexed by spec_format (SPEC_FORMAT_AUTO has no entry). */
const record_format *record_format_get(spec_format f);
/* The format the name of path implies (".csv", ".jsonl.zst" ...), or
 * SPEC_FORMAT_AUTO when none. *stem (NULL ok) is set to the length of path
 * without the format's ending and an optional ".zst". */
spec_format record_format_of_path(const char *path, size_t *stem);

/* The bytes of a UTF-8 byte-order mark at buf[0..len) (3), else 0: not
 * data, dropped before the first record. */
size_t record_bom(const char *buf, size_t len);

#endif
