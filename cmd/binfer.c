/* binfer.c: the command line. Turns argv into a job spec and options, runs
 * the subcommand, and maps its status to an exit code:
 *   0 success; 1 finished but rejects exceeded rejects.max_ratio;
 *   2 usage or spec error (nothing written); 3 model, input or output error;
 *   4 another run is writing the same output; 130 interrupted (partial
 *   output removed); 141 the reader of standard output went away. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "model.h"
#include "outputs.h"
#include "pipeline.h"
#include "record.h"
#include "report.h"
#include "sink.h"
#include "spec.h"

enum {
	EXIT_OK = 0,
	EXIT_REJECTS = 1,
	EXIT_USAGE = 2,
	EXIT_RUN = 3,
	EXIT_BUSY = 4,
	EXIT_INTERRUPTED = 130,
	EXIT_PIPE = 141, /* 128 + SIGPIPE, as a filter killed by it */
};

static const char usage_main[] =
	"usage: binfer <command> [options]\n"
	"\n"
	"Batch inference: stream a CSV or JSON lines file through a trained model and\n"
	"write the results in input order, with rejects and a run report.\n"
	"\n"
	"commands:\n"
	"  run JOB.yaml        run a job (see `binfer help run`)\n"
	"  validate JOB.yaml   check the spec, load the model, read the first rows, print the plan\n"
	"  inspect MODEL       describe a model file\n"
	"  help [COMMAND]      show help\n"
	"  version             print the version\n"
	"\n"
	"exit status: 0 ok, 1 too many rejects, 2 usage or spec error, 3 model/input/output error,\n"
	"4 output locked by another run, 130 interrupted, 141 output pipe closed. See binfer(1).\n";

static const char usage_run[] =
	"usage: binfer run JOB.yaml [options]\n"
	"\n"
	"options (each overrides the spec):\n"
	"  -i, --input FILE        input file, - for stdin (input.path)\n"
	"  -o, --output FILE       output file, - for stdout (output.path)\n"
	"      --report FILE       report file (report.path)\n"
	"  -j, --threads N         compute threads, 0 = all cores (threads)\n"
	"      --batch-rows N      rows per batch (batch.rows)\n"
	"      --set KEY=VALUE     set any spec key, e.g. --set cost.usd_per_hour=0.5\n"
	"  -q, --quiet             no summary on stderr\n"
	"      --progress WHEN     auto (stderr is a terminal), always or never\n"
	"  -h, --help              this help\n";

static const char usage_validate[] =
	"usage: binfer validate JOB.yaml [--set KEY=VALUE ...] [-i FILE] [-o FILE]\n"
	"\n"
	"Checks the spec, loads the model, reads the input's header and first 100 rows\n"
	"and prints the plan. Writes nothing. Exit 0 when the job can run, 2 when not.\n";

static const char usage_inspect[] =
	"usage: binfer inspect MODEL [--kind KIND]\n"
	"\n"
	"Describes a model file: kind, task, input columns, classes, parameters, size.\n"
	"KIND (logistic, linear, mlp, xgboost, lightgbm, fasttext, bert) is read from\n"
	"the file when not given.\n";

/* ---- signals: remove partial output on Ctrl-C ----------------------------- */

static void on_signal(int sig)
{
	outputs_cleanup_all();
	signal(sig, SIG_DFL);
	static const char removed[] = "binfer: interrupted; partial output removed\n";
	static const char after[] = "binfer: interrupted after the run's outputs were complete\n";
	int done = outputs_published();
	ssize_t unused = write(STDERR_FILENO, done ? after : removed, done ? sizeof after - 1 : sizeof removed - 1);
	(void)unused;
	_exit(EXIT_INTERRUPTED);
}

/* A signal that was ignored when binfer started (nohup, a shell's
 * background job) stays ignored. SIGPIPE is ignored: a write to a closed
 * pipe then fails with EPIPE, and the run ends as a filter does (141). */
static void install_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- helpers ------------------------------------------------------------ */

static int status_exit(int status)
{
	switch (status) {
	case BF_OK:
		return EXIT_OK;
	case BF_EUSAGE:
	case BF_ESPEC:
		return EXIT_USAGE;
	case BF_EINTR:
		return EXIT_INTERRUPTED;
	case BF_EPIPE:
		return EXIT_PIPE;
	case BF_EBUSY:
		return EXIT_BUSY;
	default:
		return EXIT_RUN;
	}
}

/* Writes s to f with control bytes as \xNN: messages quote paths, column
 * names and input values, and a terminal must not take them as commands. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static int print_error(const bf_error *e)
{
	if (e->code == BF_EPIPE)
		return EXIT_PIPE; /* a filter whose reader left ends quietly */
	char buf[2200];
	bf_err_format(e, buf, sizeof buf);
	fputs("binfer: ", stderr);
	put_escaped(stderr, buf);
	fputc('\n', stderr);
	return status_exit(e->code);
}

/* Overrides collected from the command line, applied by spec_load. */
typedef struct overrides {
	char **items;
	const char **origins; /* the flag each came from: errors about it name it */
	size_t n, cap;
} overrides;

static void add_override(overrides *o, const char *key, const char *value, int quote, const char *origin)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 8;
		o->items = realloc(o->items, o->cap * sizeof *o->items);
		o->origins = realloc(o->origins, o->cap * sizeof *o->origins);
		if (!o->items || !o->origins) {
			perror("binfer");
			exit(EXIT_RUN);
		}
	}
	o->origins[o->n] = origin;
	size_t len = strlen(key) + 4 * strlen(value) + 8;
	char *s = malloc(len), *p = s;
	if (!s) {
		perror("binfer");
		exit(EXIT_RUN);
	}
	p += sprintf(p, "%s=", key);
	if (quote) {
		/* A YAML double-quoted scalar, so paths with ':' or '#' stay whole;
		 * control bytes escaped (a raw newline would be folded into a
		 * space), so that the spec sees them and can refuse them. */
		*p++ = '"';
		for (const char *v = value; *v; v++) {
			unsigned char c = (unsigned char)*v;
			if (c < 0x20 || c == 0x7f) {
				p += sprintf(p, "\\x%02x", c);
				continue;
			}
			if (*v == '"' || *v == '\\')
				*p++ = '\\';
			*p++ = *v;
		}
		*p++ = '"';
		*p = '\0';
	} else {
		strcpy(p, value);
	}
	o->items[o->n++] = s;
}

static void free_overrides(overrides *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->items[i]);
	free(o->items);
	free(o->origins);
}

typedef struct cli {
	const char *spec;
	overrides ov;
	int quiet;
	int progress; /* -1 auto, 0 never, 1 always */
} cli;

/* Parses run/validate options. Returns -1 after printing a usage error, 1 for --help. */
static int parse_job_args(int argc, char **argv, cli *c, const char *usage)
{
	static const struct option opts[] = {
		{"input", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"report", required_argument, NULL, 'r'},
		{"threads", required_argument, NULL, 'j'},
		{"batch-rows", required_argument, NULL, 'b'},
		{"set", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"progress", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(c, 0, sizeof *c);
	c->progress = -1;
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, ":i:o:j:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			add_override(&c->ov, "input.path", optarg, 1, "-i");
			break;
		case 'o':
			add_override(&c->ov, "output.path", optarg, 1, "-o");
			break;
		case 'r':
			add_override(&c->ov, "report.path", optarg, 1, "--report");
			break;
		case 'j':
			add_override(&c->ov, "threads", optarg, 0, "-j");
			break;
		case 'b':
			add_override(&c->ov, "batch.rows", optarg, 0, "--batch-rows");
			break;
		case 's':
			if (!strchr(optarg, '=')) {
				fprintf(stderr, "binfer: --set '%s': expected KEY=VALUE, e.g. --set cost.usd_per_hour=0.5\n",
					optarg);
				return -1;
			}
			add_override(&c->ov, "", optarg, 0, "--set");
			memmove(c->ov.items[c->ov.n - 1], c->ov.items[c->ov.n - 1] + 1,
				strlen(c->ov.items[c->ov.n - 1]));
			break;
		case 'q':
			c->quiet = 1;
			break;
		case 'p':
			if (strcmp(optarg, "auto") == 0)
				c->progress = -1;
			else if (strcmp(optarg, "always") == 0)
				c->progress = 1;
			else if (strcmp(optarg, "never") == 0)
				c->progress = 0;
			else {
				fprintf(stderr, "binfer: --progress '%s': expected auto, always or never\n", optarg);
				return -1;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case ':':
			fprintf(stderr, "binfer: option '%s' needs a value\n%s", argv[optind - 1], usage);
			return -1;
		default:
			fprintf(stderr, "binfer: unknown option '%s'\n%s", argv[optind - 1], usage);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "binfer: %s\n%s", optind >= argc ? "missing JOB.yaml" : "too many arguments", usage);
		return -1;
	}
	c->spec = argv[optind];
	return 0;
}

/* ---- progress ------------------------------------------------------------ */

static void show_progress(const report *r, int done, void *ctx)
{
	(void)ctx;
	if (done) {
		fputs("\r\033[K", stderr);
		return;
	}
	double rate = r->wall_s > 0 ? (double)r->rows_read / r->wall_s : 0;
	double mbs = r->wall_s > 0 ? (double)r->input_bytes_raw / 1e6 / r->wall_s : 0;
	fprintf(stderr, "\r\033[Kbinfer: %llu rows, %.0f rows/s, %.1f MB/s", (unsigned long long)r->rows_read, rate,
		mbs);
	if (r->input_size > 0 && r->input_bytes > 0 && r->wall_s > 0) {
		double frac = (double)r->input_bytes / (double)r->input_size;
		if (frac > 0 && frac <= 1)
			fprintf(stderr, ", %.0f%%, ETA %.0f s", frac * 100, r->wall_s * (1 - frac) / frac);
	}
	fflush(stderr);
}

/* ---- subcommands ---------------------------------------------------------- */

/* Parses run/validate arguments and loads the spec with the overrides.
 * Returns -1 with *spec loaded, or the exit code to leave with. */
static int load_job(int argc, char **argv, const char *usage, cli *c, job_spec *spec)
{
	int p = parse_job_args(argc, argv, c, usage);
	if (p) {
		free_overrides(&c->ov);
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	}
	bf_error err = {0};
	int rc = spec_load_from(c->spec, (const char *const *)c->ov.items, c->ov.origins, c->ov.n, spec, &err);
	free_overrides(&c->ov);
	if (rc)
		return print_error(&err);
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	cli c;
	job_spec spec;
	bf_error err = {0};
	int rc = load_job(argc, argv, usage_run, &c, &spec);
	if (rc >= 0)
		return rc;
	install_signals();
	int progress = c.progress < 0 ? isatty(STDERR_FILENO) && !c.quiet : c.progress;
	run_options opt = {progress ? show_progress : NULL, NULL};
	report rep;
	rc = run_job(&spec, &opt, &rep, &err);
	int code;
	if (rep.threads_asked > rep.threads && !c.quiet)
		fprintf(stderr, "binfer: %d threads asked for, %d used: the machine has %d cores\n", rep.threads_asked,
			rep.threads, rep.threads);
	if (rc) {
		code = print_error(&err);
	} else {
		if (!c.quiet)
			report_summary(&rep, stderr);
		else
			report_lost(&rep, stderr);
		code = EXIT_OK;
		if (rep.rows_read && (double)rep.rows_rejected > spec.rejects.max_ratio * (double)rep.rows_read) {
			fprintf(stderr,
				"binfer: %llu of %llu rows rejected (%.2f%%), more than rejects.max_ratio %g; see %s\n",
				(unsigned long long)rep.rows_rejected, (unsigned long long)rep.rows_read,
				100.0 * (double)rep.rows_rejected / (double)rep.rows_read, spec.rejects.max_ratio,
				spec.rejects.path);
			code = EXIT_REJECTS;
		}
	}
	spec_free(&spec);
	return code;
}

/* Writes the plan of a job as `validate` shows it. */
static void print_plan(const job_spec *spec, const job_plan *p, FILE *f)
{
	const model *m = p->m;
	const record_format *in = record_format_get(spec->input.format);
	fprintf(f, "job: %s\n", spec->name);
	fprintf(f, "input: %s (%s%s)\n", spec->input.path, in->name, p->input_zstd ? ", zstd" : "");
	fprintf(f, "model: %s %s (%s, %zu inputs, %llu parameters, sha256 %.12s)\n", m->kind->name, spec->model.path,
		model_task_name[m->task], m->n_inputs, (unsigned long long)m->n_params, m->sha256);
	fprintf(f, "features:\n");
	for (size_t i = 0; i < m->n_inputs; i++) {
		/* column names come from the input: escaped */
		fprintf(f, "  %-24s <- %s ", m->inputs[i].name, in->field);
		put_escaped(f, p->source[i]);
		if (p->level[i]) {
			fputs(" = ", f);
			put_escaped(f, p->level[i]);
		}
		fprintf(f, " (%s%s)\n", m->inputs[i].type == MODEL_INPUT_CATEGORY ? "category" : "number",
			m->inputs[i].missing_ok ? ", missing imputed" : "");
	}
	fprintf(f, "id: %s\n", spec->input.id_field ? spec->input.id_field : "(row number)");
	fprintf(f, "batch: %zu rows%s, %d threads (BLAS 1 thread inside each)\n", p->batch_rows,
		p->batch_auto ? " (auto)" : "", p->threads);
	fprintf(f, "output: %s (%s%s)\n", spec->output.path, record_format_get(spec->output.format)->name,
		spec->output.zstd ? ", zstd" : "");
	fprintf(f, "rejects: %s (max_ratio %g)\n", spec->rejects.path, spec->rejects.max_ratio);
	fprintf(f, "report: %s\n", spec->report.path);
	fprintf(f, "sample: %zu rows read, %llu would be scored, %llu rejected\n", p->sample_rows,
		(unsigned long long)p->scored, (unsigned long long)p->rejected);
	for (size_t k = 0; k < p->n_shown; k++) {
		fprintf(f, "  %s:%lld: %s: ", spec->input.path, (long long)p->shown[k].line,
			rows_reason_name[p->shown[k].reason]);
		put_escaped(f, p->shown[k].why);
		fputc('\n', f);
	}
}

static int cmd_validate(int argc, char **argv)
{
	cli c;
	job_spec spec;
	bf_error err = {0};
	int rc = load_job(argc, argv, usage_validate, &c, &spec);
	if (rc >= 0)
		return rc == EXIT_OK ? EXIT_OK : EXIT_USAGE;
	job_plan plan;
	rc = run_validate(&spec, 100, &plan, &err);
	if (rc) {
		job_plan_free(&plan);
		spec_free(&spec);
		print_error(&err);
		return EXIT_USAGE;
	}
	print_plan(&spec, &plan, stdout);
	printf("ok\n");
	job_plan_free(&plan);
	spec_free(&spec);
	return EXIT_OK;
}

static int cmd_inspect(int argc, char **argv)
{
	const char *kind = NULL, *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_inspect, stdout);
			return EXIT_OK;
		}
		if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
			kind = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "binfer: unknown option '%s'\n%s", argv[i], usage_inspect);
			return EXIT_USAGE;
		} else if (!path)
			path = argv[i];
		else {
			fprintf(stderr, "binfer: too many arguments\n%s", usage_inspect);
			return EXIT_USAGE;
		}
	}
	if (!path) {
		fprintf(stderr, "binfer: missing MODEL\n%s", usage_inspect);
		return EXIT_USAGE;
	}
	bf_error err = {0};
	if (!kind) {
		const model_kind *k = model_kind_sniff(path, &err);
		if (!k && err.code == BF_EUSAGE) {
			char names[256];
			model_kinds_list(NULL, names, sizeof names);
			fprintf(stderr, "binfer: %s: cannot tell the model's kind from the file; give --kind (%s)\n", path,
				names);
			return EXIT_USAGE;
		}
		if (!k)
			return print_error(&err);
		kind = k->name;
	}
	model *m;
	int rc = model_load(kind, path, NULL, &m, &err);
	if (rc)
		return print_error(&err);
	printf("model: %s\nkind: %s\ntask: %s\n", path, m->kind->name, model_task_name[m->task]);
	int list = m->backend->lists_inputs;
	if (list)
		printf("inputs: %zu\n", m->n_inputs);
	for (size_t i = 0; list && i < m->n_inputs; i++) {
		const model_input *in = &m->inputs[i];
		printf("  %s (%s", in->name, in->type == MODEL_INPUT_CATEGORY ? "category" : "number");
		if (in->type == MODEL_INPUT_CATEGORY)
			printf(", %zu levels", in->categories.count);
		printf("%s)\n", in->missing_ok ? ", missing imputed" : "");
	}
	if (m->n_classes && !m->text_input) {
		printf("classes: %zu:", m->n_classes);
		for (size_t k = 0; k < m->n_classes; k++)
			printf(" %s", m->classes[k]);
		printf("\n");
	}
	printf("parameters: %llu\nsize: %llu bytes\nsha256: %s\n", (unsigned long long)m->n_params,
	       (unsigned long long)m->file_bytes, m->sha256);
	m->backend->describe(m, stdout);
	model_free(m);
	return EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("binfer %s\n", BF_VERSION);
	return EXIT_OK;
}

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{"run", cmd_run, usage_run},
	{"validate", cmd_validate, usage_validate},
	{"inspect", cmd_inspect, usage_inspect},
	{"version", cmd_version, "usage: binfer version\n"},
	{"help", cmd_help, "usage: binfer help [COMMAND]\n"},
};

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(commands[i].name, argv[1]) == 0) {
			fputs(commands[i].usage, stdout);
			return EXIT_OK;
		}
	fprintf(stderr, "binfer: no help for '%s'\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}

/* What every command ends with: what it printed must have reached
 * standard output (a full disk is an error, not a success). */
static int close_stdout(int code)
{
	if (fflush(stdout) == 0 && !ferror(stdout) && fclose(stdout) == 0)
		return code;
	if (errno == EPIPE)
		return code == EXIT_OK || code == EXIT_REJECTS ? EXIT_PIPE : code;
	fprintf(stderr, "binfer: cannot write standard output: %s\n", strerror(errno));
	return code == EXIT_OK || code == EXIT_REJECTS ? EXIT_RUN : code;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(1, argv);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version(1, argv);
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "binfer: unknown command '%s'\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	/* A fixed mmap threshold: glibc's adaptive one lets freed batch-sized
	 * buffers come back from the heap, which then never shrinks. */
	mallopt(M_MMAP_THRESHOLD, 512 * 1024);
	return close_stdout(dispatch(argc, argv));
}
