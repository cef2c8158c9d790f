/* spec_test.c: the job spec loader, against spec files written to /tmp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec.h"

#define N_ITEMS(a) (sizeof(a) / sizeof *(a))

/* A folder under /tmp for this run's spec files; removed at the end. */
static char tmp_dir[] = "/tmp/spec_test_XXXXXX";
static char made[64][PATH_MAX];
static size_t n_made;

static const char *tmp_path(const char *name)
{
	static char buf[4][PATH_MAX];
	static size_t next;
	char *p = buf[next++ % 4];
	snprintf(p, PATH_MAX, "%s/%s", tmp_dir, name);
	return p;
}

/* Writes text to name inside the folder; returns the full path. */
static const char *write_spec(const char *name, const char *text)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	size_t i = 0;
	while (i < n_made && strcmp(made[i], path))
		i++;
	if (i == n_made) {
		assert_true(n_made < N_ITEMS(made));
		snprintf(made[n_made++], PATH_MAX, "%s", path);
	}
	return path;
}

static int setup(void **state)
{
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	for (size_t i = n_made; i-- > 0;) {
		struct stat st;
		if (stat(made[i], &st) == 0 && S_ISDIR(st.st_mode))
			rmdir(made[i]);
		else
			unlink(made[i]);
	}
	return rmdir(tmp_dir);
}

static const char *const minimal =
	"version: 1\n"
	"input:\n"
	"  path: leads.csv\n"
	"model:\n"
	"  kind: logistic\n"
	"  path: models/churn.json\n"
	"output:\n"
	"  path: out/scores.jsonl.zst\n";

/* Loads text from <tmp>/job.yaml; the load must succeed. */
static void load_ok(const char *text, const char *const *ov, size_t n_ov, job_spec *s)
{
	bf_error e = {0};
	int rc = spec_load(write_spec("job.yaml", text), ov, n_ov, s, &e);
	if (rc != BF_OK) {
		char msg[2048];
		bf_err_format(&e, msg, sizeof msg);
		fail_msg("spec_load: %s", msg);
	}
}

/* Loads text from <tmp>/job.yaml; the load must fail with exactly this error.
 * file NULL: the spec file. */
static void load_fails(const char *text, const char *const *ov, size_t n_ov, const char *file,
		       int64_t line, int64_t column, const char *message)
{
	const char *path = write_spec("job.yaml", text);
	job_spec s;
	bf_error e = {0};
	assert_int_equal(spec_load(path, ov, n_ov, &s, &e), BF_ESPEC);
	assert_int_equal(e.code, BF_ESPEC);
	assert_string_equal(e.path, file ? file : path);
	char got[1200], want[1200];
	snprintf(got, sizeof got, "%lld:%lld: %s", (long long)e.line, (long long)e.column, e.message);
	snprintf(want, sizeof want, "%lld:%lld: %s", (long long)line, (long long)column, message);
	assert_string_equal(got, want);
	assert_null(s.input.path); /* freed and cleared */
	assert_null(s.spec_path);
}

static char *joined(const char *name)
{
	static char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s/%s", tmp_dir, name);
	return buf;
}

/* ---- valid specs -------------------------------------------------------- */

static void test_full_spec(void **state)
{
	static const char text[] =
		"version: 1\n"
		"name: churn-nightly\n"
		"input:\n"
		"  path: data/leads.csv.zst\n"
		"  format: csv\n"
		"  id_field: customer_id\n"
		"  csv: {delimiter: \";\", header: false}\n"
		"  max_record_bytes: 4096\n"
		"model:\n"
		"  kind: xgboost\n"
		"  path: /srv/models/churn.json\n"
		"features:\n"
		"  missing: -1.5\n"
		"  columns: {age: customer_age, \"plan type\": plan}\n"
		"batch: {rows: 1024}\n"
		"threads: 8\n"
		"output:\n"
		"  path: out/scores.csv\n"
		"  format: jsonl\n"
		"  zstd_level: 7\n"
		"  compress: zstd\n"
		"  include: [plan, region]\n"
		"rejects:\n"
		"  path: out/bad.jsonl\n"
		"  max_ratio: 0.25\n"
		"report:\n"
		"  path: out/report.json\n"
		"cost:\n"
		"  usd_per_hour: 0.34\n";
	job_spec s;
	load_ok(text, NULL, 0, &s);

	assert_string_equal(s.spec_path, joined("job.yaml"));
	assert_int_equal(s.version, 1);
	assert_string_equal(s.name, "churn-nightly");

	assert_string_equal(s.input.path, joined("data/leads.csv.zst"));
	assert_int_equal(s.input.format, SPEC_FORMAT_CSV);
	assert_string_equal(s.input.id_field, "customer_id");
	assert_int_equal(s.input.delimiter, ';');
	assert_int_equal(s.input.header, 0);
	assert_int_equal(s.input.max_record_bytes, 4096);
	assert_string_equal(s.input.path_mark.file, joined("job.yaml"));
	assert_int_equal(s.input.path_mark.line, 4);
	assert_int_equal(s.input.path_mark.column, 9);

	assert_string_equal(s.model.kind, "xgboost");
	assert_string_equal(s.model.path, "/srv/models/churn.json");
	assert_string_equal(s.model.path_mark.file, joined("job.yaml"));
	assert_int_equal(s.model.path_mark.line, 11);
	assert_int_equal(s.model.path_mark.column, 9);

	assert_int_equal(s.features.missing_is_nan, 0);
	assert_true(s.features.missing_value == -1.5);
	assert_int_equal(s.features.n_columns, 2);
	assert_string_equal(s.features.columns[0].key, "age");
	assert_string_equal(s.features.columns[0].value, "customer_age");
	assert_string_equal(s.features.columns[1].key, "plan type");
	assert_string_equal(s.features.columns[1].value, "plan");

	assert_int_equal(s.batch_rows, 1024);
	assert_int_equal(s.threads, 8);

	assert_string_equal(s.output.path, joined("out/scores.csv"));
	assert_int_equal(s.output.format, SPEC_FORMAT_JSONL); /* format wins over the extension */
	assert_int_equal(s.output.zstd, 1);                   /* compress wins over the extension */
	assert_int_equal(s.output.zstd_level, 7);
	assert_int_equal(s.output.n_include, 2);
	assert_string_equal(s.output.include[0], "plan");
	assert_string_equal(s.output.include[1], "region");
	assert_int_equal(s.output.path_mark.line, 18);
	assert_int_equal(s.output.path_mark.column, 9);

	assert_string_equal(s.rejects.path, joined("out/bad.jsonl"));
	assert_true(s.rejects.max_ratio == 0.25);
	assert_string_equal(s.report.path, joined("out/report.json"));
	assert_true(s.cost.usd_per_hour == 0.34);
	spec_free(&s);
	assert_null(s.name);
	spec_free(&s); /* a second free is harmless */
}

static void test_defaults(void **state)
{
	job_spec s;
	bf_error e = {0};
	assert_int_equal(spec_load(write_spec("churn.yaml", minimal), NULL, 0, &s, &e), BF_OK);
	assert_string_equal(s.name, "churn");
	assert_int_equal(s.version, 1);
	assert_string_equal(s.input.path, joined("leads.csv"));
	assert_int_equal(s.input.format, SPEC_FORMAT_CSV);
	assert_null(s.input.id_field);
	assert_int_equal(s.input.delimiter, ',');
	assert_int_equal(s.input.header, 1);
	assert_null(s.input.text_fields);
	assert_int_equal(s.input.n_text_fields, 0);
	assert_int_equal(s.input.max_record_bytes, 1048576);
	assert_string_equal(s.model.kind, "logistic");
	assert_string_equal(s.model.path, joined("models/churn.json"));
	assert_int_equal(s.features.missing_is_nan, 1);
	assert_true(isnan(s.features.missing_value));
	assert_null(s.features.columns);
	assert_int_equal(s.features.n_columns, 0);
	assert_int_equal(s.batch_rows, 0);
	assert_int_equal(s.threads, 0);
	assert_string_equal(s.output.path, joined("out/scores.jsonl.zst"));
	assert_int_equal(s.output.format, SPEC_FORMAT_JSONL);
	assert_int_equal(s.output.zstd, 1);
	assert_int_equal(s.output.zstd_level, 3);
	assert_null(s.output.include);
	assert_int_equal(s.output.n_include, 0);
	assert_string_equal(s.rejects.path, joined("out/scores.rejects.jsonl"));
	assert_true(s.rejects.max_ratio == 0.01);
	assert_string_equal(s.report.path, joined("out/scores.report.json"));
	assert_true(s.cost.usd_per_hour == 0);
	spec_free(&s);
}

/* Formats, compression and the rejects/report paths, from extensions. */
static void test_formats_from_extensions(void **state)
{
	static const struct {
		const char *input, *output, *compress;
		spec_format in_format, out_format;
		int zstd;
		const char *rejects, *report;
	} cases[] = {
		{"a.csv.zst", "o.csv.zst", NULL, SPEC_FORMAT_CSV, SPEC_FORMAT_CSV, 1,
		 "o.rejects.jsonl", "o.report.json"},
		{"a.jsonl", "o.ndjson", NULL, SPEC_FORMAT_JSONL, SPEC_FORMAT_JSONL, 0,
		 "o.rejects.jsonl", "o.report.json"},
		{"a.ndjson.zst", "o.csv", NULL, SPEC_FORMAT_JSONL, SPEC_FORMAT_CSV, 0,
		 "o.rejects.jsonl", "o.report.json"},
		{"A.CSV", "res/o.JSONL.ZST", NULL, SPEC_FORMAT_CSV, SPEC_FORMAT_JSONL, 1,
		 "res/o.rejects.jsonl", "res/o.report.json"},
		{"a.csv", "o.txt", NULL, SPEC_FORMAT_CSV, SPEC_FORMAT_JSONL, 0,
		 "o.txt.rejects.jsonl", "o.txt.report.json"},
		{"a.csv", "-", NULL, SPEC_FORMAT_CSV, SPEC_FORMAT_JSONL, 0, "none", "none"},
		{"a.csv", "/dev/null", NULL, SPEC_FORMAT_CSV, SPEC_FORMAT_JSONL, 0, "none", "none"},
		{"a.csv", "o.jsonl.zst", "none", SPEC_FORMAT_CSV, SPEC_FORMAT_JSONL, 0,
		 "o.rejects.jsonl", "o.report.json"},
		{"a.csv", "o.jsonl", "zstd", SPEC_FORMAT_CSV, SPEC_FORMAT_JSONL, 1,
		 "o.rejects.jsonl", "o.report.json"},
	};
	for (size_t i = 0; i < N_ITEMS(cases); i++) {
		char in[64], out[64], comp[64];
		snprintf(in, sizeof in, "input.path=%s", cases[i].input);
		snprintf(out, sizeof out, "output.path=%s", cases[i].output);
		snprintf(comp, sizeof comp, "output.compress=%s",
			 cases[i].compress ? cases[i].compress : "~");
		const char *ov[] = {in, out, comp};
		job_spec s;
		load_ok(minimal, ov, N_ITEMS(ov), &s);
		assert_int_equal(s.input.format, cases[i].in_format);
		assert_int_equal(s.output.format, cases[i].out_format);
		assert_int_equal(s.output.zstd, cases[i].zstd);
		assert_string_equal(s.rejects.path, cases[i].rejects);
		assert_string_equal(s.report.path, cases[i].report);
		spec_free(&s);
	}
}

static void test_name_from_stem(void **state)
{
	char path[] = "/tmp/binfer_spec_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, minimal, strlen(minimal)), (ssize_t)strlen(minimal));
	close(fd);
	job_spec s;
	bf_error e = {0};
	assert_int_equal(spec_load(path, NULL, 0, &s, &e), BF_OK);
	assert_string_equal(s.name, path + strlen("/tmp/"));
	assert_string_equal(s.input.path, "/tmp/leads.csv");
	spec_free(&s);
	unlink(path);

	assert_int_equal(spec_load(write_spec("night.run.yml", minimal), NULL, 0, &s, &e), BF_OK);
	assert_string_equal(s.name, "night.run");
	spec_free(&s);

	/* stdout output: no side files unless asked for ("none" is off, kept
	 * as is where the spec's folder would otherwise be joined) */
	const char *ov[] = {"output.path=-"};
	assert_int_equal(spec_load(write_spec("night.run.yml", minimal), ov, 1, &s, &e), BF_OK);
	assert_string_equal(s.rejects.path, "none");
	assert_string_equal(s.report.path, "none");
	spec_free(&s);
	char text[512];
	snprintf(text, sizeof text, "%srejects: {path: none}\nreport: {path: r.json}\n", minimal);
	assert_int_equal(spec_load(write_spec("night.run.yml", text), NULL, 0, &s, &e), BF_OK);
	assert_string_equal(s.rejects.path, "none");
	assert_string_equal(s.report.path, joined("r.json"));
	spec_free(&s);
}

/* Paths in the file are relative to its folder; paths in overrides, to the cwd. */
static void test_relative_paths(void **state)
{
	const char *sub = tmp_path("sub");
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(made[n_made++], PATH_MAX, "%s", sub);
	static const char text[] =
		"version: 1\n"
		"input: {path: ../data/x.csv}\n"
		"model: {kind: bert, path: m.json}\n"
		"output: {path: out.csv}\n"
		"rejects: {path: /var/tmp/rejects.jsonl}\n";
	const char *path = write_spec("sub/job.yaml", text);
	job_spec s;
	bf_error e = {0};
	assert_int_equal(spec_load(path, NULL, 0, &s, &e), BF_OK);
	assert_string_equal(s.input.path, joined("sub/../data/x.csv"));
	assert_string_equal(s.model.path, joined("sub/m.json"));
	assert_string_equal(s.output.path, joined("sub/out.csv"));
	assert_string_equal(s.rejects.path, "/var/tmp/rejects.jsonl");
	assert_string_equal(s.report.path, joined("sub/out.report.json"));
	spec_free(&s);

	const char *ov[] = {"model.path=m2.json", "output.path=/srv/o.jsonl", "input.path=-",
			    "input.format=jsonl", "report.path=r.json"};
	assert_int_equal(spec_load(path, ov, N_ITEMS(ov), &s, &e), BF_OK);
	assert_string_equal(s.model.path, "m2.json");
	assert_string_equal(s.model.path_mark.file, "--set");
	assert_int_equal(s.model.path_mark.line, 0);
	assert_int_equal(s.model.path_mark.column, 0);
	assert_string_equal(s.output.path, "/srv/o.jsonl");
	assert_string_equal(s.input.path, "-");
	assert_int_equal(s.input.format, SPEC_FORMAT_JSONL);
	assert_string_equal(s.report.path, "r.json");
	assert_string_equal(s.rejects.path, "/var/tmp/rejects.jsonl");
	spec_free(&s);

	/* a spec named without a folder: its paths stay as written */
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(sub), 0);
	assert_int_equal(spec_load("job.yaml", NULL, 0, &s, &e), BF_OK);
	assert_string_equal(s.model.path, "m.json");
	assert_string_equal(s.name, "job");
	spec_free(&s);
	assert_int_equal(chdir(cwd), 0);
}

static void test_overrides(void **state)
{
	static const char text[] =
		"version: 1\n"
		"input:\n"
		"  path: leads.csv\n"
		"  id_field: id\n"
		"model: {kind: mlp, path: m.json}\n"
		"output:\n"
		"  path: o.jsonl\n"
		"  include: [x]\n"
		"threads: 2\n";
	const char *ov[] = {
		"input.csv.delimiter=tab",       /* creates input.csv */
		"output.include=[plan, region]", /* replaces a list */
		"cost.usd_per_hour=0.5",         /* creates cost */
		"batch.rows=64",
		"threads=4",
		"name=\"123\"",
		"features.columns.age=cust_age",
		"features.missing=0",
		"input.id_field=",               /* empty: absent */
		"model.kind=lightgbm",
	};
	job_spec s;
	load_ok(text, ov, N_ITEMS(ov), &s);
	assert_int_equal(s.input.delimiter, '\t');
	assert_int_equal(s.output.n_include, 2);
	assert_string_equal(s.output.include[0], "plan");
	assert_string_equal(s.output.include[1], "region");
	assert_true(s.cost.usd_per_hour == 0.5);
	assert_int_equal(s.batch_rows, 64);
	assert_int_equal(s.threads, 4);
	assert_string_equal(s.name, "123");
	assert_int_equal(s.features.n_columns, 1);
	assert_string_equal(s.features.columns[0].key, "age");
	assert_string_equal(s.features.columns[0].value, "cust_age");
	assert_int_equal(s.features.missing_is_nan, 0);
	assert_true(s.features.missing_value == 0);
	assert_null(s.input.id_field);
	assert_null(s.input.text_fields);
	assert_int_equal(s.input.n_text_fields, 0);
	assert_string_equal(s.model.kind, "lightgbm");
	assert_string_equal(s.input.path, joined("leads.csv")); /* untouched: from the file */
	spec_free(&s);

	/* a later override wins; a scalar in the way becomes a mapping */
	const char *ov2[] = {"threads=5", "threads=6", "batch=auto", "batch.rows=auto"};
	load_ok(text, ov2, N_ITEMS(ov2), &s);
	assert_int_equal(s.threads, 6);
	assert_int_equal(s.batch_rows, 0);
	spec_free(&s);
}

static void test_scalar_forms(void **state)
{
	static const struct {
		const char *set;
		char delimiter;
		int header;
	} cases[] = {
		{"input.csv={delimiter: \"\\t\", header: no}", '\t', 0},  /* a YAML tab */
		{"input.csv={delimiter: '\\t', header: yes}", '\t', 1},   /* backslash, t */
		{"input.csv={delimiter: \\t, header: off}", '\t', 0},
		{"input.csv={delimiter: tab, header: TRUE}", '\t', 1},
		{"input.csv={delimiter: '|', header: False}", '|', 0},
		{"input.csv={delimiter: ~, header: ~}", ',', 1},          /* null: the defaults */
	};
	for (size_t i = 0; i < N_ITEMS(cases); i++) {
		const char *ov[] = {cases[i].set};
		job_spec s;
		load_ok(minimal, ov, 1, &s);
		assert_int_equal(s.input.delimiter, cases[i].delimiter);
		assert_int_equal(s.input.header, cases[i].header);
		spec_free(&s);
	}

	/* the same forms written in a file */
	static const char text[] =
		"version: 1\n"
		"input:\n"
		"  path: leads.csv\n"
		"  id_field: ~\n"
		"  text_fields: null\n"
		"  csv:\n"
		"    delimiter: \"\\t\"\n"
		"    header: no\n"
		"model: {kind: linear, path: m.json}\n"
		"features: {missing: \"NaN\"}\n"
		"output: {path: o.jsonl, include: []}\n"
		"cost: {usd_per_hour: 1e-1}\n";
	job_spec s;
	load_ok(text, NULL, 0, &s);
	assert_int_equal(s.input.delimiter, '\t');
	assert_int_equal(s.input.header, 0);
	assert_null(s.input.id_field);
	assert_null(s.input.text_fields);
	assert_int_equal(s.features.missing_is_nan, 1);
	assert_null(s.output.include);
	assert_true(s.cost.usd_per_hour == 0.1);
	spec_free(&s);
}

/* ---- errors ------------------------------------------------------------- */

static void test_error_unknown_key(void **state)
{
	char text[512];
	snprintf(text, sizeof text, "%sthread: 4\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 1, "unknown key 'thread'; did you mean 'threads'?");

	load_fails("version: 1\n"
		   "input:\n"
		   "  path: a.csv\n"
		   "  fromat: csv\n",
		   NULL, 0, NULL, 4, 3, "unknown key 'fromat' in 'input'; did you mean 'format'?");
	load_fails("version: 1\n"
		   "input: {path: a.csv, max: 100}\n",
		   NULL, 0, NULL, 2, 22,
		   "unknown key 'max' in 'input'; did you mean 'max_record_bytes'?");
	load_fails("version: 1\n"
		   "batch: {thread: 4}\n",
		   NULL, 0, NULL, 2, 9, "unknown key 'thread' in 'batch'; expected one of rows, max_tokens");
	load_fails("version: 1\n"
		   "rejects:\n"
		   "  size: 4\n",
		   NULL, 0, NULL, 3, 3,
		   "unknown key 'size' in 'rejects'; expected one of path, max_ratio");
	load_fails("version: 1\n"
		   "input:\n"
		   "  csv: {delimter: ','}\n",
		   NULL, 0, NULL, 3, 9,
		   "unknown key 'delimter' in 'input.csv'; did you mean 'delimiter'?");
	load_fails("Version: 1\n", NULL, 0, NULL, 1, 1,
		   "unknown key 'Version'; did you mean 'version'?");
	load_fails("version: 1\n[a]: 1\n", NULL, 0, NULL, 2, 1, "keys must be strings, found a list");
}

static void test_error_wrong_type(void **state)
{
	char text[512];
	snprintf(text, sizeof text, "%sthreads: many\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 10, "'threads' must be a whole number >= 0, found 'many'");
	snprintf(text, sizeof text, "%sthreads: \"4\"\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 10,
		   "'threads' must be a whole number >= 0, found the quoted string '4'");
	snprintf(text, sizeof text, "%sbatch:\n  rows: 2.5\n", minimal);
	load_fails(text, NULL, 0, NULL, 10, 9,
		   "'batch.rows' must be a whole number >= 1 or 'auto', found '2.5'");
	snprintf(text, sizeof text, "%sname: {a: 1}\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 7, "'name' must be a string, found a mapping");
	snprintf(text, sizeof text, "%sfeatures: {missing: none}\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 21,
		   "'features.missing' must be a number or 'nan', found 'none'");
	snprintf(text, sizeof text, "%sfeatures:\n  columns: {age: [a]}\n", minimal);
	load_fails(text, NULL, 0, NULL, 10, 18,
		   "'features.columns.age' must be a string, found a list");
	snprintf(text, sizeof text, "%soutput:\n  path: o.jsonl\n  include: [a, {b: 1}]\n",
		 "version: 1\ninput: {path: a.csv}\nmodel: {kind: mlp, path: m}\n");
	load_fails(text, NULL, 0, NULL, 6, 16, "'output.include[1]' must be a string, found a mapping");
	load_fails("version: 1\ninput: {path: a.csv, csv: {header: \"yes\"}}\n", NULL, 0, NULL, 2,
		   36, "'input.csv.header' must be true or false, found the quoted string 'yes'");
	load_fails("version: 1\ninput: {path: a.csv, csv: {delimiter: ';;'}}\n", NULL, 0, NULL, 2,
		   39, "'input.csv.delimiter' must be a single character, found ';;'");
	load_fails("version: 1\ninput: [a.csv]\n", NULL, 0, NULL, 2, 8,
		   "'input' must be a mapping, found a list");
	load_fails("version: 1\ninput: {path: ''}\n", NULL, 0, NULL, 2, 15,
		   "'input.path' must be a path, found ''");
}

static void test_error_out_of_range(void **state)
{
	char text[512];
	snprintf(text, sizeof text, "%s  zstd_level: 25\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 15,
		   "'output.zstd_level' must be a whole number from 1 to 19, found '25'");
	snprintf(text, sizeof text, "%sthreads: -1\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 10, "'threads' must be a whole number >= 0, found '-1'");
	snprintf(text, sizeof text, "%sthreads: 99999999999\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 10,
		   "'threads' must be a whole number >= 0, found '99999999999', which is too large");
	snprintf(text, sizeof text, "%srejects: {max_ratio: 1.5}\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 22,
		   "'rejects.max_ratio' must be a number from 0 to 1, found '1.5'");
	snprintf(text, sizeof text, "%scost: {usd_per_hour: -0.1}\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 22,
		   "'cost.usd_per_hour' must be a number >= 0, found '-0.1'");
	snprintf(text, sizeof text, "%sbatch: {rows: 0}\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 15,
		   "'batch.rows' must be a whole number >= 1 or 'auto', found '0'");
	const char *ov[] = {"input.max_record_bytes=10"};
	load_fails(minimal, ov, 1, "--set", 0, 0,
		   "'input.max_record_bytes' must be a whole number >= 64, found '10'");
}

static void test_error_bad_enum(void **state)
{
	load_fails("version: 1\ninput:\n  path: a.csv\n  format: xml\n", NULL, 0, NULL, 4, 11,
		   "'input.format' must be one of csv, jsonl, found 'xml'");
	load_fails("version: 1\ninput: {path: a.csv}\nmodel: {kind: svm}\n", NULL, 0, NULL, 3, 15,
		   "'model.kind' must be one of logistic, linear, mlp, xgboost, lightgbm, fasttext, "
		   "bert, found 'svm'");
	char text[512];
	snprintf(text, sizeof text, "%s  compress: gzip\n", minimal);
	load_fails(text, NULL, 0, NULL, 9, 13,
		   "'output.compress' must be one of zstd, none, found 'gzip'");
}

/* Keys the kinds read are errors on a job of another kind, at the key, with
 * the kinds that read them; a text model's own keys load. */
static void test_error_key_of_another_kind(void **state)
{
	(void)state;
	static const char text[] = "version: 1\n"
				   "input: {path: in.jsonl, text_fields: [title]}\n"
				   "model:\n"
				   "  kind: logistic\n"
				   "  path: m.json\n"
				   "  top_k: 3\n"
				   "output: {path: o.jsonl}\n";
	load_fails(text, NULL, 0, NULL, 2, 25, "'input.text_fields' applies to fasttext, bert; this job's model.kind is logistic");
	const char *fasttext[] = {"model.kind=fasttext"};
	job_spec s;
	load_ok(text, fasttext, 1, &s);
	assert_int_equal(s.model.top_k, 3);
	assert_int_equal(s.input.n_text_fields, 1);
	assert_string_equal(s.input.text_fields[0], "title");
	spec_free(&s);
	const char *zs[] = {"model.kind=fasttext", "model.temperature=0.5"};
	load_fails(text, zs, 2, "--set", 0, 0, "'model.temperature' applies to bert; this job's model.kind is fasttext");
	const char *feat[] = {"model.kind=bert", "features.missing=0"};
	load_fails(text, feat, 2, "--set", 0, 0,
		   "'features' applies to logistic, linear, mlp, xgboost, lightgbm; this job's model.kind is bert");
	const char *raw[] = {"input.text_fields=", "model.top_k=", "output.raw=true"};
	load_fails(text, raw, 3, "--set", 0, 0, "'output.raw' applies to xgboost, lightgbm; this job's model.kind is logistic");
	const char *task[] = {"model.kind=bert", "model.task=tag"};
	load_fails(text, task, 2, "--set", 0, 0, "'model.task' must be one of embed, classify, zero_shot for a bert model, found 'tag'");
	const char *top0[] = {"model.kind=bert", "model.top_k=0"};
	load_fails(text, top0, 2, "--set", 0, 0, "'model.top_k' must be a whole number >= 1, or -1 for every label, found 0");
	const char *kind[] = {"model.kind=xgbost"};
	load_fails(text, kind, 1, "--set", 0, 0,
		   "'model.kind' must be one of logistic, linear, mlp, xgboost, lightgbm, fasttext, bert, found 'xgbost'");
}

/* A path with a control character (a newline from a script's variable) is
 * refused, not written as is. */
static void test_error_control_in_path(void **state)
{
	const char *ov[] = {"output.path=\"out\\nx.jsonl\""};
	load_fails(minimal, ov, 1, "--set", 0, 0,
		   "'output.path' holds a control character (byte 4, 0x0a, a newline): 'out\\nx.jsonl'; paths may not");
	const char *esc[] = {"input.path=\"a\\x1b[31m.csv\""};
	load_fails(minimal, esc, 1, "--set", 0, 0,
		   "'input.path' holds a control character (byte 2, 0x1b): 'a\\x1b[31m.csv'; paths may not");
}

static void test_error_missing_required(void **state)
{
	load_fails("version: 1\n"
		   "input: {path: a.csv}\n"
		   "model:\n"
		   "  kind: logistic\n"
		   "output: {path: o.csv}\n",
		   NULL, 0, NULL, 3, 1, "missing required key 'model.path'");
	load_fails("version: 1\n"
		   "input: {path: a.csv}\n"
		   "model: {kind: mlp, path: m}\n",
		   NULL, 0, NULL, 1, 1, "missing required key 'output'");
	load_fails("input: {path: a.csv}\n", NULL, 0, NULL, 1, 1, "missing required key 'version'");
	load_fails("version: 1\n"
		   "input: {path: a.csv}\n"
		   "model:\n"
		   "  kind: mlp\n"
		   "  path:\n"
		   "output: {path: o.csv}\n",
		   NULL, 0, NULL, 5, 8, "'model.path' must be a path, found nothing");
	/* stdin needs a format; so does an extension that says nothing */
	const char *ov[] = {"input.path=-"};
	load_fails(minimal, ov, 1, "--set", 0, 0,
		   "'input.format' must be set when 'input.path' is '-' (stdin); expected csv or jsonl");
	char msg[PATH_MAX + 256];
	snprintf(msg, sizeof msg,
		 "'input.path' must end in .csv, .jsonl or .ndjson (optionally + .zst) when "
		 "'input.format' is not set, found '%s'", joined("leads.txt"));
	load_fails("version: 1\n"
		   "input: {path: leads.txt}\n"
		   "model: {kind: mlp, path: m}\n"
		   "output: {path: o.csv}\n",
		   NULL, 0, NULL, 2, 15, msg);
}

static void test_error_version(void **state)
{
	char text[512];
	snprintf(text, sizeof text, "version: 2\n%s", minimal + strlen("version: 1\n"));
	load_fails(text, NULL, 0, NULL, 1, 10, "'version' must be 1, found '2'");
	snprintf(text, sizeof text, "version: \"1\"\n%s", minimal + strlen("version: 1\n"));
	load_fails(text, NULL, 0, NULL, 1, 10, "'version' must be 1, found the quoted string '1'");
}

static void test_error_duplicate_key(void **state)
{
	char text[512];
	snprintf(text, sizeof text, "%sthreads: 1\nthreads: 2\n", minimal);
	load_fails(text, NULL, 0, NULL, 10, 1, "duplicate key 'threads', first at line 9");
	load_fails("version: 1\ninput:\n  path: a.csv\n  path: b.csv\n", NULL, 0, NULL, 4, 3,
		   "duplicate key 'input.path', first at line 3");
	load_fails("version: 1\nfeatures: {columns: {a: x, b: y, a: z}}\n", NULL, 0, NULL, 2, 34,
		   "duplicate key 'features.columns.a', first at line 2");
}

static void test_error_yaml(void **state)
{
	load_fails("version: 1\ninput: {path: a.csv\nmodel: x\n", NULL, 0, NULL, 3, 6,
		   "invalid yaml: did not find expected ',' or '}' "
		   "(while parsing a flow mapping that starts at line 2, column 8)");
	load_fails("version: 1\n  threads: 2\n", NULL, 0, NULL, 2, 10,
		   "invalid yaml: mapping values are not allowed in this context");
	load_fails("version: 1\nname: \"abc\n", NULL, 0, NULL, 3, 1,
		   "invalid yaml: found unexpected end of stream "
		   "(while scanning a quoted scalar that starts at line 2, column 7)");
	load_fails("- version\n- 1\n", NULL, 0, NULL, 1, 1,
		   "the spec must be a mapping of keys, found a list");
	load_fails("hello\n", NULL, 0, NULL, 1, 1, "the spec must be a mapping of keys, found 'hello'");
	load_fails("# nothing\n", NULL, 0, NULL, 0, 0,
		   "the spec is empty; expected a mapping that starts with 'version: 1'");
	load_fails("version: 1\n---\nversion: 1\n", NULL, 0, NULL, 2, 1,
		   "a second yaml document; the spec must be one document");
	load_fails("version: &v 1\nthreads: *v\n", NULL, 0, NULL, 2, 10,
		   "yaml aliases ('*v') are not supported");
	load_fails("version: 1\nname: \xff\n", NULL, 0, NULL, 0, 0,
		   "invalid yaml: invalid leading UTF-8 octet at byte 17");
	load_fails("version: 1\nname: \"a\\0b\"\n", NULL, 0, NULL, 2, 7,
		   "'name' must be a string, found 'a\\x00b'");
	char deep[256];
	snprintf(deep, sizeof deep, "version: 1\nname: %.40s%.40s\n",
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	load_fails(deep, NULL, 0, NULL, 2, 38, "nesting is deeper than 32 levels");

	job_spec s;
	bf_error e = {0};
	assert_int_equal(spec_load(tmp_path("absent.yaml"), NULL, 0, &s, &e), BF_ESPEC);
	assert_string_equal(e.message, "cannot read the spec: No such file or directory");
	assert_string_equal(e.path, tmp_path("absent.yaml"));
}

static void test_error_overrides(void **state)
{
	static const struct {
		const char *set, *message;
	} cases[] = {
		{"threads", "override 'threads' has no '='; expected key.path=value"},
		{"=4", "override '=4' has an empty key; expected key.path=value"},
		{"output..path=x", "override 'output..path=x' has an empty key; expected key.path=value"},
		{"output.inclde=[a]", "unknown key 'inclde' in 'output'; did you mean 'include'?"},
		{"outptu.path=o.csv", "unknown key 'outptu'; did you mean 'output'?"},
		{"threads=many", "'threads' must be a whole number >= 0, found 'many'"},
		{"output.include=a,b",
		 "the value of 'output.include' must be one yaml value, found 2; write [a, b] for a list"},
		{"output.include=[a, b",
		 "invalid yaml in the value of 'output.include': did not find expected ',' or ']'"},
		{"output.include=[a, {b: 1}]", "'output.include[1]' must be a string, found a mapping"},
		{"threads.max=4", "'threads' must be a whole number >= 0, found a mapping"},
		{"model.path=", "'model.path' must be a path, found nothing"},
	};
	for (size_t i = 0; i < N_ITEMS(cases); i++) {
		const char *ov[] = {"threads=1", cases[i].set};
		load_fails(minimal, ov, N_ITEMS(ov), "--set", 0, 0, cases[i].message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_spec),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_formats_from_extensions),
		cmocka_unit_test(test_name_from_stem),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_scalar_forms),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_wrong_type),
		cmocka_unit_test(test_error_out_of_range),
		cmocka_unit_test(test_error_bad_enum),
		cmocka_unit_test(test_error_key_of_another_kind),
		cmocka_unit_test(test_error_control_in_path),
		cmocka_unit_test(test_error_missing_required),
		cmocka_unit_test(test_error_version),
		cmocka_unit_test(test_error_duplicate_key),
		cmocka_unit_test(test_error_yaml),
		cmocka_unit_test(test_error_overrides),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
