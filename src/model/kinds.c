/* kinds.c: the registry of model kinds; see model.h.
 *
 * To add a kind: write its backend in a folder of its own under src/
 * (a `const model_backend`, declared below), add its row to model_kinds[]
 * with the spec keys it reads and a sniffer that knows its files, and
 * document it in man/binfer.1. Spec checks, usage text, `inspect` and
 * `validate` pick it up from here. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The backends, each defined in its folder. */
extern const model_backend linear_backend;    /* src/tabular */
extern const model_backend mlp_backend;       /* src/tabular */
extern const model_backend xgboost_backend;   /* src/trees */
extern const model_backend lightgbm_backend;  /* src/trees */
extern const model_backend fasttext_backend;  /* src/fasttext */
extern const model_backend bert_backend;      /* src/bert */

/* ---- recognising files: a folder, or a file's first bytes ---------------- */

#define SNIFF_BYTES 4096

/* f's first bytes hold s (they are not NUL-terminated). */
static int head_has(const model_file *f, const char *s)
{
	return !f->is_dir && memmem(f->data, f->size, s, strlen(s)) != NULL;
}

static int sniff_tabular(const model_file *f, int mlp, int regression)
{
	if (!head_has(f, "\"binfer-tabular\""))
		return 0;
	int is_mlp = head_has(f, "\"kind\": \"mlp\"") || head_has(f, "\"kind\":\"mlp\"");
	int is_reg = head_has(f, "\"task\": \"regression\"") || head_has(f, "\"task\":\"regression\"");
	return is_mlp == mlp && (mlp || is_reg == regression);
}

static int sniff_logistic(const model_file *f) { return sniff_tabular(f, 0, 0); }
static int sniff_linear(const model_file *f) { return sniff_tabular(f, 0, 1); }
static int sniff_mlp(const model_file *f) { return sniff_tabular(f, 1, 0); }

/* Booster.save_model JSON ("learner"), UBJSON ('{' then a typed key
 * length), or the legacy binary format ("binf"). */
static int sniff_xgboost(const model_file *f)
{
	const unsigned char *b = (const unsigned char *)f->data;
	if (f->is_dir || f->size < 2)
		return 0;
	if (b[0] == '{' && (b[1] == 'L' || b[1] == 'i' || b[1] == 'U' || b[1] == 'l'))
		return 1;
	return head_has(f, "\"learner\"") || (f->size >= 4 && memcmp(b, "binf", 4) == 0);
}

/* A LightGBM text model starts with the line "tree". */
static int sniff_lightgbm(const model_file *f)
{
	return !f->is_dir && f->size >= 5 && memcmp(f->data, "tree", 4) == 0 &&
	       (f->data[4] == '\n' || f->data[4] == '\r');
}

/* fastText's magic number 793712314, little-endian. */
static int sniff_fasttext(const model_file *f)
{
	return !f->is_dir && f->size >= 4 && memcmp(f->data, "\xba\x16\x4f\x2f", 4) == 0;
}

static int sniff_bert(const model_file *f)
{
	return f->is_dir;
}

/* ---- the registry -------------------------------------------------------- */

static const char *const tabular_keys[] = {"features", NULL};
static const char *const tree_keys[] = {"features", "model.trees", "model.classes", "output.raw", NULL};
static const char *const fasttext_keys[] = {"input.text_fields", "model.top_k", "model.threshold", NULL};
static const char *const bert_keys[] = {
	"input.text_fields", "model.top_k", "model.threshold", "model.task", "model.max_length",
	"model.labels",	     "model.normalize", "model.temperature", "batch.max_tokens", NULL,
};
static const char *const bert_tasks[] = {"embed", "classify", "zero_shot", NULL};

const model_kind model_kinds[] = {
	{.name = "logistic", .backend = &linear_backend, .sniff = sniff_logistic, .keys = tabular_keys,
	 .files = "a binfer-tabular JSON file of a scikit-learn classifier (tools/binfer-export-sklearn)",
	 .batch_rows = 8192},
	{.name = "linear", .backend = &linear_backend, .sniff = sniff_linear, .keys = tabular_keys,
	 .files = "a binfer-tabular JSON file of a scikit-learn regressor (tools/binfer-export-sklearn)",
	 .batch_rows = 8192},
	{.name = "mlp", .backend = &mlp_backend, .sniff = sniff_mlp, .keys = tabular_keys,
	 .files = "a binfer-tabular JSON file of a scikit-learn MLP (tools/binfer-export-sklearn)",
	 .batch_rows = 4096},
	{.name = "xgboost", .backend = &xgboost_backend, .sniff = sniff_xgboost, .keys = tree_keys,
	 .files = "an XGBoost model file (Booster.save_model: .json, .ubj or the legacy binary format)",
	 .batch_rows = 8192},
	{.name = "lightgbm", .backend = &lightgbm_backend, .sniff = sniff_lightgbm, .keys = tree_keys,
	 .files = "a LightGBM text model file (Booster.save_model, model.txt)", .batch_rows = 8192},
	{.name = "fasttext", .backend = &fasttext_backend, .sniff = sniff_fasttext, .keys = fasttext_keys,
	 .files = "a fastText supervised model file (.bin or quantized .ftz)", .batch_rows = 8192},
	{.name = "bert", .backend = &bert_backend, .folder = 1, .sniff = sniff_bert, .keys = bert_keys,
	 .tasks = bert_tasks,
	 .files = "a Hugging Face model folder (config.json, model.safetensors, vocab.txt)", .batch_rows = 256},
};

const size_t model_n_kinds = sizeof model_kinds / sizeof *model_kinds;

const model_kind *model_kind_find(const char *name)
{
	for (size_t i = 0; name && i < model_n_kinds; i++)
		if (strcmp(model_kinds[i].name, name) == 0)
			return &model_kinds[i];
	return NULL;
}

const model_kind *model_kind_sniff(const char *path, bf_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model file: %s", strerror(errno));
		return NULL;
	}
	char head[SNIFF_BYTES];
	model_file f = {path, S_ISDIR(st.st_mode), head, 0};
	if (!f.is_dir) {
		if (!S_ISREG(st.st_mode)) {
			bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model file: not a regular file");
			return NULL;
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, head, sizeof head);
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (n < 0) {
			bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open model file: %s", strerror(e));
			return NULL;
		}
		f.size = (size_t)n;
	}
	for (size_t i = 0; i < model_n_kinds; i++)
		if (model_kinds[i].sniff(&f))
			return &model_kinds[i];
	char names[256];
	model_kinds_list(NULL, names, sizeof names);
	bf_err_set(err, BF_EUSAGE, path, 0, 0, "cannot tell the model's kind from the file; give it (%s)", names);
	return NULL;
}

/* key is listed entry, or inside the section entry names. */
static int key_matches(const char *entry, const char *key)
{
	size_t n = strlen(entry);
	return strncmp(entry, key, n) == 0 && (key[n] == '\0' || key[n] == '.');
}

int model_kind_reads(const model_kind *k, const char *key)
{
	for (const char *const *e = k->keys; e && *e; e++)
		if (key_matches(*e, key))
			return 1;
	return 0;
}

int model_key_is_kind_specific(const char *key)
{
	for (size_t i = 0; i < model_n_kinds; i++)
		if (model_kind_reads(&model_kinds[i], key))
			return 1;
	return 0;
}

void model_kinds_list(const char *key, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < model_n_kinds && o < size; i++)
		if (!key || model_kind_reads(&model_kinds[i], key))
			o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", model_kinds[i].name);
}
