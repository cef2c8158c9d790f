/* rows.h: records -> rows: the model's input values, the id and the fields
 * copied through, for one CSV or JSON lines record.
 *
 * A row_plan is built once (from the CSV header or the JSON key names) and
 * then used read-only by every thread. rows_parse() never allocates outside
 * the caller's arena. */
#ifndef BF_ROWS_H
#define BF_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "error.h"
#include "model.h"
#include "spec.h"
#include "strmap.h"

typedef enum rows_reason {
	ROWS_OK = 0,
	ROWS_BAD_CSV,       /* malformed quoting */
	ROWS_FIELD_COUNT,   /* CSV record with the wrong number of fields */
	ROWS_BAD_JSON,      /* not valid JSON */
	ROWS_NOT_OBJECT,    /* JSON line that is not an object */
	ROWS_BAD_NUMBER,    /* a number column holds something else */
	ROWS_BAD_UTF8,      /* invalid UTF-8 */
	ROWS_TOO_LONG,      /* record over input.max_record_bytes */
	ROWS_MISSING,       /* missing value where the model has no rule for it */
	ROWS_BAD_SCORE,     /* the model gave a non-finite result */
	ROWS_N_REASONS,
	ROWS_NOMEM = ROWS_N_REASONS, /* not a reject: out of memory parsing the row, the run stops */
} rows_reason;

/* The name written to rejects and the report for each reason (not ROWS_NOMEM). */
extern const char *const rows_reason_name[ROWS_N_REASONS];

typedef enum rows_value_kind {
	ROWS_VALUE_ABSENT,  /* no such field (or JSON null for the id) */
	ROWS_VALUE_TEXT,    /* plain text: needs escaping for output */
	ROWS_VALUE_JSON,    /* JSON text copied as is (numbers, booleans, objects ...) */
	ROWS_VALUE_ROWNUM,  /* the id is the data row number */
} rows_value_kind;

typedef struct rows_value {
	const char *ptr;    /* into the record or the arena */
	uint32_t len;
	uint8_t kind;       /* rows_value_kind */
} rows_value;

typedef struct row_plan {
	const model *m;
	spec_format format;
	char delimiter;
	char **columns;          /* CSV: the header's names (n_columns); JSONL: NULL */
	size_t n_columns;
	int *input_col;          /* (n_inputs) CSV column index of each model input, -1 = none */
	char **input_field;      /* (n_inputs) the name of the column or field each input reads */
	char **level;            /* (n_inputs) indicator inputs: 1 when the column's text is this level; else NULL */
	uint32_t *level_len;     /* (n_inputs) */
	strmap *codes;           /* (n_inputs) features.categories: level text -> code; empty map = none */
	int *next_input;         /* (n_inputs) JSONL: next input reading the same field, -1 = none */
	uint8_t *plain;          /* (n_inputs) 1 = a plain number input (the fast path applies) */
	char **text;             /* text models: input.text_fields (default "text"); NULL otherwise */
	size_t n_text;
	int *text_col;           /* (n_text) CSV column of each text field */
	int id_col;              /* CSV column of the id field, -1 = row number */
	int *include_col;        /* (n_include) CSV column of each include field */
	char **include;          /* (n_include) field names */
	size_t n_include;
	int has_id_field;
	strmap keys;             /* JSONL: field name -> index into slots */
	void *slots;             /* JSONL: what each wanted field feeds (rows.c's key_slot) */
	int missing_is_nan;
	double missing_value;
} row_plan;

/* Builds the plan for the job's input: from its CSV header (header[0..len),
 * the first record; NULL when input.csv.header is false: the columns are
 * then the model's inputs in order) or, for JSON lines, from the keys
 * wanted. A model input, id, included or text field the input lacks is
 * BF_EINPUT saying what is missing and what there is. */
int rows_plan_open(row_plan *p, const model *m, const job_spec *spec, const char *header, size_t header_len,
		   bf_error *err);
/* Builds the plan for a CSV input whose header is header[0..n] (already split
 * and unescaped). Every model input must have a column (via features.columns
 * renames); a missing one is BF_EINPUT listing what is missing and what is
 * there. input_path is used in messages. */
int rows_plan_csv(row_plan *p, const model *m, const job_spec *spec, const char *const *header,
		  const uint32_t *header_len, size_t n, const char *input_path, bf_error *err);
/* Builds the plan for JSON lines (fields are looked up by name in each row). */
int rows_plan_jsonl(row_plan *p, const model *m, const job_spec *spec, bf_error *err);
void rows_plan_free(row_plan *p);

/* For text models: joins the record's text_fields with single spaces into
 * *text (pointing into the record or the arena); an absent or null field
 * adds nothing. Fills id and incl as rows_parse does. */
rows_reason rows_parse_text(const row_plan *p, const char *rec, size_t len, text_span *text, rows_value *id,
			    rows_value *incl, arena *scratch, char *why, size_t why_size);

/* Parses one record into x (n_inputs values: NaN = missing, categories as
 * indices, -1 = unknown), *id and incl (n_include). Returns ROWS_OK or a
 * reason, with a one-line explanation in why (why_size bytes). */
rows_reason rows_parse(const row_plan *p, const char *rec, size_t len, double *x, rows_value *id,
		       rows_value *incl, arena *scratch, char *why, size_t why_size);

#endif
