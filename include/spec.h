/* spec.h: the job spec (YAML, version 1) and its loader.
 *
 * spec_load() reads the YAML file with libyaml, applies `--set key.path=value`
 * overrides, checks every key against the schema (unknown keys are errors with
 * a did-you-mean), checks types and ranges, resolves defaults and paths, and
 * fills a job_spec. Relative paths written in the file are relative to the
 * file's folder; paths given by overrides are relative to the current folder.
 * "-" means stdin (input) or stdout (output) and is kept as is. */
#ifndef BF_SPEC_H
#define BF_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum spec_format {
	SPEC_FORMAT_AUTO = 0, /* never left in a loaded spec: resolved from the path */
	SPEC_FORMAT_CSV,
	SPEC_FORMAT_JSONL,
} spec_format;

typedef struct spec_pair {
	char *key;
	char *value;
} spec_pair;

/* A name with a list of strings (features.categories: feature -> levels). */
typedef struct spec_list {
	char *key;
	char **items;
	size_t n_items;
} spec_list;

/* Where a key was written, for errors found after loading (model path missing, ...). */
typedef struct spec_mark {
	char *file;     /* spec path, or "--set" for an override */
	int64_t line;   /* 1-based, 0 = not written (a default) */
	int64_t column;
} spec_mark;

typedef struct job_spec {
	char *spec_path;
	int version;                 /* always 1 */
	char *name;                  /* default: spec file name without folder and extension */

	struct {
		char *path;              /* required; "-" = stdin */
		spec_format format;      /* default from the extension (.csv, .jsonl/.ndjson; +.zst) */
		char *id_field;          /* NULL = row number */
		char delimiter;          /* csv.delimiter, default ',' (one byte) */
		int header;              /* csv.header, default 1 */
		size_t max_lines;        /* csv.max_lines_per_record: lines a quoted field may span, default 100 */
		char **text_fields;      /* input.text_fields (text models), NULL if absent */
		size_t n_text_fields;
		size_t max_record_bytes; /* input.max_record_bytes, default 1 MiB */
		spec_mark path_mark;
	} input;

	struct {
		char *kind;              /* required: logistic | linear | mlp | xgboost | lightgbm | fasttext | bert */
		char *path;              /* required */
		size_t trees;            /* model.trees: use the first N trees (iterations); 0 = all */
		int top_k;               /* model.top_k: tags per row (text models), default 1, -1 = all */
		char *task;              /* model.task (bert): embed | classify | zero_shot; NULL = from the folder */
		size_t max_length;       /* model.max_length (bert): tokens per text; 0 = the model's own limit */
		spec_pair *labels;       /* model.labels (zero_shot): label -> description */
		size_t n_labels;
		int normalize;           /* model.normalize (bert embed): -1 = as the folder says, 0, 1 */
		double temperature;      /* model.temperature (zero_shot): softmax over similarities; 0 = cosine */
		double threshold;        /* model.threshold: drop tags scoring below, default 0 */
		char **classes;          /* model.classes: names of classes 0..K-1 (tree models) */
		size_t n_classes;
		spec_mark path_mark;
	} model;

	struct {
		int missing_is_nan;      /* features.missing: nan (default) */
		double missing_value;    /* features.missing: <number> instead of nan */
		spec_pair *columns;      /* features.columns: {model_feature: input_column} */
		size_t n_columns;
		spec_list *categories;   /* features.categories: {feature: [level0, level1, ...]}: text -> code */
		size_t n_categories;
		spec_pair *onehot;       /* features.onehot: {input_column: prefix}: <prefix><level> = indicator */
		size_t n_onehot;
		spec_pair *indicators;   /* features.indicators: {model_feature: "column=level"} */
		size_t n_indicators;
		int by_position;         /* features.by_position: model feature k reads CSV column k */
	} features;

	size_t batch_rows;           /* batch.rows; 0 = auto (the default) */
	size_t batch_max_tokens;     /* batch.max_tokens: token budget of one batch (text models); default 16384 */
	int threads;                 /* 0 = all cores (default) */

	struct {
		char *path;              /* required; "-" = stdout */
		spec_format format;      /* default from extension; jsonl when unknown or stdout */
		int zstd;                /* 1 when path ends in .zst, or output.compress: zstd */
		int zstd_level;          /* 1..19, default 3 */
		char **include;          /* output.include */
		size_t n_include;
		int raw;                 /* output.raw: the margin instead of probabilities (tree models) */
		spec_mark path_mark;
	} output;

	struct {
		char *path;              /* default <output stem>.rejects.jsonl, "none" for a stream output; "none" = off */
		double max_ratio;        /* default 0.01, 0..1 */
	} rejects;

	struct {
		char *path;              /* default <output stem>.report.json, "none" for a stream output; "none" = off */
	} report;

	struct {
		double usd_per_hour;     /* default 0 */
	} cost;
} job_spec;

/* Loads path (the spec) and applies overrides ("key.path=value", value parsed
 * as a YAML flow value: `--set output.include=[a,b]`). Returns BF_OK or
 * BF_ESPEC with err saying file:line:col, the key, what was found and what
 * was expected. On error *out is freed. */
int spec_load(const char *path, const char *const *overrides, size_t n_overrides,
	      job_spec *out, bf_error *err);
/* spec_load, with where each override came from (origins[i]: "-o", "-j",
 * ...; NULL or a NULL item: "--set"), which errors about it name. The
 * strings must outlive the call. */
int spec_load_from(const char *path, const char *const *overrides, const char *const *origins, size_t n_overrides,
		   job_spec *out, bf_error *err);
void spec_free(job_spec *s);

#endif
