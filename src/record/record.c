/* record.c: the record formats; see record.h. */
#include "record.h"

#include <string.h>
#include <strings.h>

#include "csv.h"

static int csv_frame_record(const record_opts *o, const char *buf, size_t len, int at_eof, record_frame *f)
{
	return csv_frame(buf, len, at_eof, '"', o->max_lines, f);
}

/* A CSV record is blank when it is an empty line. */
static int csv_blank(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '\r');
}

/* One JSON value a line; a CR before the LF is dropped. */
static int jsonl_frame(const record_opts *o, const char *buf, size_t len, int at_eof, record_frame *f)
{
	(void)o;
	f->open_quote = 0;
	const char *nl = memchr(buf, '\n', len);
	if (!nl) {
		if (!at_eof || len == 0)
			return 0;
		f->len = len;
		f->next = len;
		f->newlines = 0;
	} else {
		f->len = (size_t)(nl - buf);
		f->next = f->len + 1;
		f->newlines = 1;
	}
	if (f->len && buf[f->len - 1] == '\r')
		f->len--;
	return 1;
}

/* A JSON line of nothing but spaces and tabs holds no value. */
static int jsonl_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static const char *const csv_ext[] = {".csv", NULL};
static const char *const jsonl_ext[] = {".jsonl", ".ndjson", NULL};

static const record_format formats[] = {
	[SPEC_FORMAT_CSV] = {"csv", csv_ext, csv_frame_record, csv_blank, "column"},
	[SPEC_FORMAT_JSONL] = {"jsonl", jsonl_ext, jsonl_frame, jsonl_blank, "field"},
};

const record_format *record_format_get(spec_format f)
{
	return f == SPEC_FORMAT_CSV || f == SPEC_FORMAT_JSONL ? &formats[f] : NULL;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && !strncasecmp(s + len - n, suffix, n);
}

spec_format record_format_of_path(const char *path, size_t *stem)
{
	size_t n = strlen(path);
	if (ends_with(path, n, ".zst"))
		n -= 4;
	for (int f = SPEC_FORMAT_CSV; f <= SPEC_FORMAT_JSONL; f++)
		for (const char *const *e = formats[f].extensions; *e; e++)
			if (ends_with(path, n, *e)) {
				if (stem)
					*stem = n - strlen(*e);
				return (spec_format)f;
			}
	if (stem)
		*stem = n;
	return SPEC_FORMAT_AUTO;
}

size_t record_bom(const char *buf, size_t len)
{
	return len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}
