/* csv.h: RFC 4180 CSV framing and field splitting.
 *
 * Two steps, so that framing (sequential: a quote can hide a newline) runs in
 * the reader thread and splitting (independent per record) runs on all cores:
 *   csv_frame()  finds where the record at the start of a buffer ends;
 *   csv_split()  cuts one framed record into fields, unescaping quotes.
 * Records end at LF or CRLF outside quotes; a lone CR inside a field is data
 * (a file whose lines end in CR alone is read as such by the reader).
 * Quoted fields may hold delimiters, quotes doubled ("") and newlines. A quote
 * inside an unquoted field is taken literally (as Python's csv and pandas do).
 * The UTF-8 byte-order mark is the caller's business (strip it before the
 * first record). */
#ifndef BF_CSV_H
#define BF_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* Frames the record at buf[0..len).
 * Returns 1 with *out set when a whole record was found; at_eof != 0 means no
 * more bytes will come, so a record without terminator ends at len. Returns
 * 0 when more bytes are needed (len == 0 at EOF also returns 0: no record).
 * With max_lines (0 = no limit), a record that would span more than
 * max_lines lines, or that reaches the end of the input inside a quote after
 * its first line, is taken for a stray quote: the frame is then its first line only, with open_quote set,
 * and the next record starts on the line after. */
int csv_frame(const char *buf, size_t len, int at_eof, char quote, uint32_t max_lines, record_frame *out);

typedef struct csv_field {
	const char *ptr;   /* into the record, or into scratch when unescaped */
	uint32_t len;
	uint8_t quoted;    /* 1 when the field was quoted (so "" is an empty string, not missing) */
} csv_field;

typedef struct csv_error {
	size_t offset;     /* byte offset in the record where the problem is */
	char message[160]; /* e.g. "expected delimiter ',' after closing quote, found 'x'" */
} csv_error;

/* Splits the framed record rec[0..len) (a trailing CR is dropped) into fields.
 * Fills at most max_fields entries of fields; returns the number of fields the
 * record has (which may exceed max_fields: the caller reports the mismatch), or
 * -1 and fills err for malformed quoting (unterminated quote, text after a
 * closing quote). scratch must hold len bytes; fields may point into it. An
 * empty record has one empty field. */
int64_t csv_split(const char *rec, size_t len, char delim, char quote,
		  csv_field *fields, size_t max_fields, char *scratch, csv_error *err);

/* The quick split of a record with no quote character in it (most records):
 * ends[k] is the offset just past field k (its delimiter, or the record's
 * end; a trailing CR is dropped), so field k is rec[ends[k-1] + 1, ends[k])
 * (from 0 for k = 0). Fills at most max entries; returns the number of
 * fields, or -1 when the record holds a quote (split it with csv_split). */
int64_t csv_ends(const char *rec, size_t len, char delim, char quote, uint32_t *ends, size_t max);

#endif
