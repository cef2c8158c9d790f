/* lightgbm.c: LightGBM's text model (Booster.save_model, LightGBM 2.x-4.x)
 * into a tree_ensemble, and the reference evaluator.
 *
 * The file: a first line "tree", header lines (key=value), one block per tree
 * ("Tree=N", key=value lines, an empty line), "end of trees", then sections
 * we skip (feature importances, parameters, pandas_categorical). Read after
 * GBDT::LoadModelFromString (src/boosting/gbdt_model_text.cpp) and
 * Tree::Tree(const char*) (src/io/tree.cpp). Unlike LightGBM, nothing is
 * taken on trust: array lengths, child indices, features, category spans,
 * tree_sizes and the tree structure are checked, each count before it sizes
 * an allocation, and the text is never read past len.
 *
 * A tree of L leaves becomes 2L-1 nodes: LightGBM's internal nodes 0..L-2 in
 * their own order (root = 0), then leaf j at L-1+j. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"
#include "trees.h"

/* ---- lines, tokens, errors ------------------------------------------- */

typedef struct lgb_span {
	const char *p;
	size_t n;
} lgb_span;

typedef struct lgb_line {
	lgb_span s;          /* without the line break */
	size_t offset;       /* of its first byte in the file */
	int64_t no;          /* 1-based */
} lgb_line;

typedef struct lgb_reader {
	const char *text;
	size_t len;
	size_t pos;          /* start of the next line */
	int64_t line;        /* lines read so far */
	const char *path;
	bf_error *err;
	char where[40];      /* "Tree=3: " while reading a tree, else "" */
	int64_t tree_line;   /* line of the "Tree=" line being read */
} lgb_reader;

/* A key=value line of the header or of a tree. */
typedef struct lgb_field {
	lgb_span v;
	int64_t line;        /* 0 = absent */
	int64_t col;         /* column of the value's first byte */
} lgb_field;

static int lgb_fail(lgb_reader *r, int64_t line, int64_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int lgb_fail(lgb_reader *r, int64_t line, int64_t col, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bf_err_set(r->err, BF_EMODEL, r->path, line, col, "%s%s", r->where, msg);
}

static int lgb_nomem(lgb_reader *r)
{
	return bf_err_set(r->err, BF_ENOMEM, r->path, 0, 0, "out of memory");
}

/* At most 40 bytes of s, for quoting file text in messages. */
#define LGB_QUOTE(s) (int)((s).n < 40 ? (s).n : 40), (s).p

/* Reads the next line. Line breaks are "\n", "\r\n" or a lone "\r", as
 * LightGBM's Common::GetLine / SkipNewLine take them. Returns 1, 0 at the
 * end of the text, -1 (err set) on a NUL byte. */
static int lgb_next_line(lgb_reader *r, lgb_line *ln)
{
	if (r->pos >= r->len)
		return 0;
	const char *p = r->text + r->pos, *end = r->text + r->len, *q = p;
	while (q < end && *q != '\n' && *q != '\r')
		q++;
	ln->s.p = p;
	ln->s.n = (size_t)(q - p);
	ln->offset = r->pos;
	ln->no = ++r->line;
	if (q < end && *q == '\r')
		q++;
	if (q < end && *q == '\n')
		q++;
	r->pos = (size_t)(q - r->text);
	const char *nul = memchr(ln->s.p, '\0', ln->s.n);
	if (nul)
		return lgb_fail(r, ln->no, nul - ln->s.p + 1, "NUL byte in a text model"), -1;
	return 1;
}

static int lgb_is(lgb_span s, const char *word)
{
	size_t n = strlen(word);
	return s.n == n && memcmp(s.p, word, n) == 0;
}

static int lgb_starts(lgb_span s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

/* Next space-separated token of *rest (runs of spaces are one separator, as
 * in LightGBM's Common::Split). Returns 0 when there is none. */
static int lgb_token(lgb_span *rest, lgb_span *tok)
{
	const char *p = rest->p, *end = rest->p + rest->n;
	while (p < end && *p == ' ')
		p++;
	const char *q = p;
	while (q < end && *q != ' ')
		q++;
	tok->p = p;
	tok->n = (size_t)(q - p);
	rest->p = q;
	rest->n = (size_t)(end - q);
	return tok->n > 0;
}

static size_t lgb_count(lgb_span s)
{
	size_t n = 0;
	lgb_span tok;
	while (lgb_token(&s, &tok))
		n++;
	return n;
}

/* A decimal integer: optional '-', 1 to 18 digits. */
static int lgb_parse_int(lgb_span t, int64_t *out)
{
	const char *p = t.p, *end = t.p + t.n;
	int neg = p < end && *p == '-';
	p += neg;
	if (p == end || end - p > 18)
		return -1;
	int64_t v = 0;
	for (; p < end; p++) {
		if ((unsigned)(*p - '0') > 9)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

/* Splits a key=value line at its first '='. */
static int lgb_key_value(lgb_line *ln, lgb_span *key, lgb_field *f)
{
	const char *eq = memchr(ln->s.p, '=', ln->s.n);
	if (!eq)
		return -1;
	key->p = ln->s.p;
	key->n = (size_t)(eq - ln->s.p);
	f->v.p = eq + 1;
	f->v.n = ln->s.n - key->n - 1;
	f->line = ln->no;
	f->col = (int64_t)key->n + 2;
	return 0;
}

/* Reads exactly n integers in [lo, hi] from field f (named key). */
static int lgb_ints(lgb_reader *r, const lgb_field *f, const char *key, int64_t lo, int64_t hi,
		    int64_t *out, size_t n)
{
	lgb_span rest = f->v, tok;
	for (size_t i = 0; i < n; i++) {
		if (!lgb_token(&rest, &tok))
			return lgb_fail(r, f->line, 0, "%s has %zu values, expected %zu", key, i, n);
		int64_t col = f->col + (tok.p - f->v.p);
		if (lgb_parse_int(tok, &out[i]) != 0)
			return lgb_fail(r, f->line, col, "%s[%zu] = '%.*s' is not an integer", key, i,
					LGB_QUOTE(tok));
		if (out[i] < lo || out[i] > hi)
			return lgb_fail(r, f->line, col, "%s[%zu] = %lld is out of range, expected %lld..%lld",
					key, i, (long long)out[i], (long long)lo, (long long)hi);
	}
	return 0;
}

/* Reads exactly n numbers from field f (named key), correctly rounded. */
static int lgb_doubles(lgb_reader *r, const lgb_field *f, const char *key, double *out, size_t n)
{
	lgb_span rest = f->v, tok;
	for (size_t i = 0; i < n; i++) {
		if (!lgb_token(&rest, &tok))
			return lgb_fail(r, f->line, 0, "%s has %zu values, expected %zu", key, i, n);
		if (num_parse(tok.p, tok.n, &out[i]) != 0)
			return lgb_fail(r, f->line, f->col + (tok.p - f->v.p), "%s[%zu] = '%.*s' is not a number",
					key, i, LGB_QUOTE(tok));
	}
	return 0;
}

/* A field holding one integer in [lo, hi]. */
static int lgb_int_field(lgb_reader *r, const lgb_field *f, const char *key, int64_t lo, int64_t hi,
			 int64_t *out)
{
	size_t n = lgb_count(f->v);
	if (n != 1)
		return lgb_fail(r, f->line, f->col, "%s has %zu values, expected one integer", key, n);
	lgb_span rest = f->v, tok;
	lgb_token(&rest, &tok);
	int64_t col = f->col + (tok.p - f->v.p);
	if (lgb_parse_int(tok, out) != 0)
		return lgb_fail(r, f->line, col, "%s = '%.*s' is not an integer", key, LGB_QUOTE(tok));
	if (*out < lo || *out > hi)
		return lgb_fail(r, f->line, col, "%s = %lld is out of range, expected %lld..%lld", key,
				(long long)*out, (long long)lo, (long long)hi);
	return 0;
}

/* Makes room for need elements of size in the array at *(T **)pp, of
 * capacity *cap, doubling. Returns 0, or -1 when out of memory. */
static int lgb_grow(void *pp, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t cap2 = *cap ? *cap : 16;
	while (cap2 < need)
		cap2 = cap2 > SIZE_MAX / 2 ? need : cap2 * 2;
	if (cap2 > SIZE_MAX / size)
		return -1;
	void *p;
	memcpy(&p, pp, sizeof p);
	p = realloc(p, cap2 * size);
	if (!p)
		return -1;
	memcpy(pp, &p, sizeof p);
	*cap = cap2;
	return 0;
}

/* ---- trees ----------------------------------------------------------- */

enum {
	LGB_NUM_LEAVES, LGB_NUM_CAT, LGB_SPLIT_FEATURE, LGB_SPLIT_GAIN, LGB_THRESHOLD,
	LGB_DECISION_TYPE, LGB_LEFT_CHILD, LGB_RIGHT_CHILD, LGB_LEAF_VALUE, LGB_LEAF_WEIGHT,
	LGB_LEAF_COUNT, LGB_INTERNAL_VALUE, LGB_INTERNAL_WEIGHT, LGB_INTERNAL_COUNT,
	LGB_CAT_BOUNDARIES, LGB_CAT_THRESHOLD, LGB_IS_LINEAR, LGB_SHRINKAGE, LGB_TREE_KEYS
};

static const char *const lgb_tree_keys[LGB_TREE_KEYS] = {
	"num_leaves", "num_cat", "split_feature", "split_gain", "threshold",
	"decision_type", "left_child", "right_child", "leaf_value", "leaf_weight",
	"leaf_count", "internal_value", "internal_weight", "internal_count",
	"cat_boundaries", "cat_threshold", "is_linear", "shrinkage",
};

/* Capacities of the arrays of e while it is being filled. */
typedef struct lgb_build {
	size_t cap_nodes, cap_cat, cap_begin, cap_group, cap_offset;
	size_t *tree_offset; /* (n_trees) byte offset of each "Tree=" line */
} lgb_build;

/* Per-tree scratch, sized by counts already checked against the text. */
typedef struct lgb_scratch {
	int64_t *feature, *decision, *left, *right, *bounds; /* (L-1) ... (num_cat+1) */
	double *threshold, *leaf;
	uint8_t *seen;       /* (2L-1) */
	int32_t *stack;      /* (2 * (2L-1)) node, depth pairs */
} lgb_scratch;

static void lgb_scratch_free(lgb_scratch *s)
{
	free(s->feature);
	free(s->decision);
	free(s->left);
	free(s->right);
	free(s->bounds);
	free(s->threshold);
	free(s->leaf);
	free(s->seen);
	free(s->stack);
}

/* Checks that field k of tree holds n values (absent: required or not). */
static int lgb_tree_count(lgb_reader *r, const lgb_field *fields, int k, int required, size_t n,
			  const char *expected)
{
	const lgb_field *f = &fields[k];
	if (!f->line)
		return required ? lgb_fail(r, r->tree_line, 0, "no %s line", lgb_tree_keys[k]) : 0;
	size_t got = lgb_count(f->v);
	if (got != n)
		return lgb_fail(r, f->line, 0, "%s has %zu values, expected %s = %zu", lgb_tree_keys[k], got,
				expected, n);
	return 0;
}

/* Walks the tree from its root: every node reached exactly once, so no
 * cycles and no shared nodes. Returns the depth of the deepest leaf, or -1
 * (err set). */
static int lgb_tree_walk(lgb_reader *r, const tree_node *nodes, size_t n, const lgb_field *fields,
			 lgb_scratch *s)
{
	size_t splits = n / 2, top = 0, reached = 1;
	int max_depth = 0;
	memset(s->seen, 0, n);
	s->seen[0] = 1;
	s->stack[top++] = 0;
	s->stack[top++] = 0;
	while (top) {
		int32_t depth = s->stack[--top], i = s->stack[--top];
		if (nodes[i].left < 0) {
			if (depth > max_depth)
				max_depth = depth;
			continue;
		}
		for (int side = 0; side < 2; side++) {
			int32_t c = side ? nodes[i].right : nodes[i].left;
			int k = side ? LGB_RIGHT_CHILD : LGB_LEFT_CHILD;
			if (s->seen[c])
				return lgb_fail(r, fields[k].line, 0, "%s[%d] = %lld leads to %s %lld a second time: "
						"the splits do not form a tree",
						lgb_tree_keys[k], i, (long long)((size_t)c < splits ? c : ~(int64_t)(c - splits)),
						(size_t)c < splits ? "split" : "leaf",
						(long long)((size_t)c < splits ? (size_t)c : c - splits)), -1;
			s->seen[c] = 1;
			reached++;
			s->stack[top++] = c;
			s->stack[top++] = depth + 1;
		}
	}
	if (reached != n) {
		size_t i = 0;
		while (s->seen[i])
			i++;
		return lgb_fail(r, fields[LGB_LEFT_CHILD].line, 0, "%s %zu is not reachable from the root",
				i < splits ? "split" : "leaf", i < splits ? i : i - splits), -1;
	}
	return max_depth;
}

/* Turns one tree's fields into nodes appended to e. */
static int lgb_tree_build(lgb_reader *r, tree_ensemble *e, lgb_build *b, const lgb_field *f, lgb_scratch *s)
{
	int64_t leaves, num_cat;
	if (!f[LGB_NUM_LEAVES].line)
		return lgb_fail(r, r->tree_line, 0, "no num_leaves line");
	if (!f[LGB_NUM_CAT].line)
		return lgb_fail(r, r->tree_line, 0, "no num_cat line");
	if (lgb_int_field(r, &f[LGB_NUM_LEAVES], "num_leaves", 1, INT32_MAX / 2, &leaves) ||
	    lgb_int_field(r, &f[LGB_NUM_CAT], "num_cat", 0, INT32_MAX, &num_cat))
		return BF_EMODEL;
	if (f[LGB_IS_LINEAR].line) {
		int64_t linear;
		if (lgb_int_field(r, &f[LGB_IS_LINEAR], "is_linear", INT32_MIN, INT32_MAX, &linear))
			return BF_EMODEL;
		if (linear)
			return lgb_fail(r, f[LGB_IS_LINEAR].line, 0, "linear trees are not supported");
	}
	if (f[LGB_SHRINKAGE].line) {
		/* Informational: Tree::Shrinkage already scaled leaf_value. */
		double shrinkage;
		size_t n = lgb_count(f[LGB_SHRINKAGE].v);
		if (n != 1)
			return lgb_fail(r, f[LGB_SHRINKAGE].line, 0, "shrinkage has %zu values, expected one", n);
		if (lgb_doubles(r, &f[LGB_SHRINKAGE], "shrinkage", &shrinkage, 1))
			return BF_EMODEL;
	}
	size_t L = (size_t)leaves, splits = L - 1, n = 2 * L - 1;
	if (lgb_tree_count(r, f, LGB_LEAF_VALUE, 1, L, "num_leaves"))
		return BF_EMODEL;
	if (splits == 0 && num_cat != 0)
		return lgb_fail(r, f[LGB_NUM_CAT].line, 0, "num_cat = %lld in a tree without splits",
				(long long)num_cat);
	if ((size_t)num_cat > splits)
		return lgb_fail(r, f[LGB_NUM_CAT].line, 0, "num_cat = %lld exceeds the number of splits, %zu",
				(long long)num_cat, splits);
	if (splits) {
		/* LightGBM requires these four; the others only when present. */
		static const int need[] = {LGB_SPLIT_FEATURE, LGB_THRESHOLD, LGB_LEFT_CHILD, LGB_RIGHT_CHILD};
		static const int opt[] = {LGB_DECISION_TYPE, LGB_SPLIT_GAIN, LGB_INTERNAL_VALUE,
					  LGB_INTERNAL_WEIGHT, LGB_INTERNAL_COUNT};
		for (size_t i = 0; i < sizeof need / sizeof *need; i++)
			if (lgb_tree_count(r, f, need[i], 1, splits, "num_leaves-1"))
				return BF_EMODEL;
		for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
			if (lgb_tree_count(r, f, opt[i], 0, splits, "num_leaves-1"))
				return BF_EMODEL;
		if (lgb_tree_count(r, f, LGB_LEAF_WEIGHT, 0, L, "num_leaves") ||
		    lgb_tree_count(r, f, LGB_LEAF_COUNT, 0, L, "num_leaves"))
			return BF_EMODEL;
	}
	if (num_cat && lgb_tree_count(r, f, LGB_CAT_BOUNDARIES, 1, (size_t)num_cat + 1, "num_cat+1"))
		return BF_EMODEL;

	/* Every count above matched the text, so these sizes are bounded by it. */
	size_t m = splits ? splits : 1;
	s->leaf = malloc(L * sizeof *s->leaf);
	s->feature = malloc(m * sizeof *s->feature);
	s->decision = calloc(m, sizeof *s->decision);
	s->left = malloc(m * sizeof *s->left);
	s->right = malloc(m * sizeof *s->right);
	s->threshold = malloc(m * sizeof *s->threshold);
	s->bounds = malloc(((size_t)num_cat + 1) * sizeof *s->bounds);
	s->seen = malloc(n);
	s->stack = malloc(2 * n * sizeof *s->stack);
	if (!s->leaf || !s->feature || !s->decision || !s->left || !s->right || !s->threshold ||
	    !s->bounds || !s->seen || !s->stack)
		return lgb_nomem(r);

	int64_t nf = (int64_t)e->n_features;
	if (lgb_doubles(r, &f[LGB_LEAF_VALUE], "leaf_value", s->leaf, L))
		return BF_EMODEL;
	if (splits) {
		if (lgb_ints(r, &f[LGB_SPLIT_FEATURE], "split_feature", 0, nf - 1, s->feature, splits) ||
		    lgb_doubles(r, &f[LGB_THRESHOLD], "threshold", s->threshold, splits) ||
		    lgb_ints(r, &f[LGB_LEFT_CHILD], "left_child", -(int64_t)L, (int64_t)splits - 1, s->left,
			     splits) ||
		    lgb_ints(r, &f[LGB_RIGHT_CHILD], "right_child", -(int64_t)L, (int64_t)splits - 1, s->right,
			     splits))
			return BF_EMODEL;
		if (f[LGB_DECISION_TYPE].line &&
		    lgb_ints(r, &f[LGB_DECISION_TYPE], "decision_type", 0, 15, s->decision, splits))
			return BF_EMODEL;
	}

	/* Categorical splits: threshold k selects words [bounds[k], bounds[k+1])
	 * of this tree's cat_threshold. */
	size_t cat_base = e->n_cat_words, words = 0;
	if (num_cat) {
		const lgb_field *fb = &f[LGB_CAT_BOUNDARIES], *ft = &f[LGB_CAT_THRESHOLD];
		if (lgb_ints(r, fb, "cat_boundaries", 0, INT32_MAX, s->bounds, (size_t)num_cat + 1))
			return BF_EMODEL;
		if (s->bounds[0] != 0)
			return lgb_fail(r, fb->line, 0, "cat_boundaries[0] = %lld, expected 0", (long long)s->bounds[0]);
		for (int64_t k = 0; k < num_cat; k++)
			if (s->bounds[k + 1] < s->bounds[k])
				return lgb_fail(r, fb->line, 0, "cat_boundaries[%lld] = %lld is below cat_boundaries[%lld] = %lld",
						(long long)k + 1, (long long)s->bounds[k + 1], (long long)k,
						(long long)s->bounds[k]);
		words = (size_t)s->bounds[num_cat];
		if (lgb_tree_count(r, f, LGB_CAT_THRESHOLD, 1, words, "cat_boundaries[num_cat]"))
			return BF_EMODEL;
		if (cat_base + words > UINT32_MAX)
			return lgb_fail(r, ft->line, 0, "too many category words in the model");
		if (lgb_grow(&e->cat_bits, &b->cap_cat, cat_base + words, sizeof *e->cat_bits))
			return lgb_nomem(r);
		int64_t *w = malloc((words ? words : 1) * sizeof *w);
		if (!w)
			return lgb_nomem(r);
		int rc = lgb_ints(r, ft, "cat_threshold", 0, UINT32_MAX, w, words);
		for (size_t i = 0; !rc && i < words; i++)
			e->cat_bits[cat_base + i] = (uint32_t)w[i];
		free(w);
		if (rc)
			return rc;
	}

	if (e->n_nodes + n > UINT32_MAX)
		return lgb_fail(r, f[LGB_NUM_LEAVES].line, 0, "too many nodes in the model");
	if (lgb_grow(&e->nodes, &b->cap_nodes, e->n_nodes + n, sizeof *e->nodes))
		return lgb_nomem(r);
	tree_node *nodes = e->nodes + e->n_nodes;
	memset(nodes, 0, n * sizeof *nodes);
	for (size_t j = 0; j < L; j++) {
		tree_node *t = &nodes[splits + j];
		t->left = t->right = -1;
		t->leaf = s->leaf[j];
	}
	const lgb_field *fd = &f[LGB_DECISION_TYPE], *fth = &f[LGB_THRESHOLD];
	for (size_t i = 0; i < splits; i++) {
		tree_node *t = &nodes[i];
		int64_t dt = s->decision[i];
		t->feature = (int32_t)s->feature[i];
		t->categorical = dt & 1;
		t->default_left = (dt >> 1) & 1;
		t->missing_type = (dt >> 2) & 3;
		t->threshold = s->threshold[i];
		t->left = (int32_t)(s->left[i] >= 0 ? s->left[i] : (int64_t)splits + ~s->left[i]);
		t->right = (int32_t)(s->right[i] >= 0 ? s->right[i] : (int64_t)splits + ~s->right[i]);
		if (t->missing_type == 3)
			return lgb_fail(r, fd->line, 0, "decision_type[%zu] = %lld has missing type 3, expected 0 (none), 1 (zero) or 2 (nan)",
					i, (long long)dt);
		if (!t->categorical)
			continue;
		/* LightGBM's GetLeaf takes every split as numerical when num_cat
		 * is 0; a categorical flag there means the file is inconsistent. */
		if (!num_cat)
			return lgb_fail(r, fd->line, 0, "decision_type[%zu] = %lld marks a categorical split, but num_cat = 0",
					i, (long long)dt);
		double k = t->threshold;
		if (!(k >= 0 && k < (double)num_cat && k == floor(k)))
			return lgb_fail(r, fth->line, 0, "threshold[%zu] = %.17g of a categorical split is not a category set index 0..%lld",
					i, k, (long long)num_cat - 1);
		t->cat_begin = (uint32_t)(cat_base + (size_t)s->bounds[(size_t)k]);
		t->cat_end = (uint32_t)(cat_base + (size_t)s->bounds[(size_t)k + 1]);
	}
	int depth = lgb_tree_walk(r, nodes, n, f, s);
	if (depth < 0)
		return BF_EMODEL;
	if (depth > e->max_depth)
		e->max_depth = depth;
	e->tree_begin[e->n_trees] = (uint32_t)e->n_nodes;
	e->n_nodes += n;
	e->n_cat_words += words;
	e->tree_begin[e->n_trees + 1] = (uint32_t)e->n_nodes;
	return BF_OK;
}

/* Reads the tree whose "Tree=" line is hd: its key=value lines up to an
 * empty line (Tree::Tree(const char*) stops there too). */
static int lgb_tree_read(lgb_reader *r, tree_ensemble *e, lgb_build *b, const lgb_line *hd)
{
	size_t t = e->n_trees;
	snprintf(r->where, sizeof r->where, "Tree=%zu: ", t);
	r->tree_line = hd->no;
	int64_t idx;
	lgb_span num = {hd->s.p + 5, hd->s.n - 5};
	if (lgb_parse_int(num, &idx) != 0 || idx < 0 || (uint64_t)idx != t)
		return lgb_fail(r, hd->no, 1, "found '%.*s', expected 'Tree=%zu'", LGB_QUOTE(hd->s), t);
	if (lgb_grow(&e->tree_begin, &b->cap_begin, t + 2, sizeof *e->tree_begin) ||
	    lgb_grow(&e->tree_group, &b->cap_group, t + 1, sizeof *e->tree_group) ||
	    lgb_grow(&b->tree_offset, &b->cap_offset, t + 1, sizeof *b->tree_offset))
		return lgb_nomem(r);
	b->tree_offset[t] = hd->offset;

	lgb_field f[LGB_TREE_KEYS] = {0};
	for (;;) {
		size_t pos = r->pos;
		int64_t line = r->line;
		lgb_line ln;
		int rc = lgb_next_line(r, &ln);
		if (rc < 0)
			return BF_EMODEL;
		if (rc == 0 || ln.s.n == 0)
			break;
		if (lgb_starts(ln.s, "Tree=") || lgb_is(ln.s, "end of trees")) {
			r->pos = pos; /* no empty line before it: leave it to the caller */
			r->line = line;
			break;
		}
		lgb_span key;
		lgb_field v;
		if (lgb_key_value(&ln, &key, &v) != 0)
			return lgb_fail(r, ln.no, 1, "found '%.*s', expected a key=value line", LGB_QUOTE(ln.s));
		for (int k = 0; k < LGB_TREE_KEYS; k++) {
			if (!lgb_is(key, lgb_tree_keys[k]))
				continue;
			if (f[k].line)
				return lgb_fail(r, ln.no, 1, "second %s line (the first is line %lld)", lgb_tree_keys[k],
						(long long)f[k].line);
			f[k] = v;
		}
	}
	lgb_scratch s = {0};
	int rc = lgb_tree_build(r, e, b, f, &s);
	lgb_scratch_free(&s);
	if (rc)
		return rc;
	e->tree_group[t] = 0; /* set once num_tree_per_iteration is known */
	e->n_trees++;
	r->where[0] = '\0';
	return BF_OK;
}

/* ---- header ---------------------------------------------------------- */

enum {
	LGB_VERSION, LGB_NUM_CLASS, LGB_NUM_TREE_PER_ITERATION, LGB_LABEL_INDEX, LGB_MAX_FEATURE_IDX,
	LGB_OBJECTIVE, LGB_AVERAGE_OUTPUT, LGB_FEATURE_NAMES, LGB_FEATURE_INFOS, LGB_TREE_SIZES,
	LGB_HEADER_KEYS
};

static const char *const lgb_header_keys[LGB_HEADER_KEYS] = {
	"version", "num_class", "num_tree_per_iteration", "label_index", "max_feature_idx",
	"objective", "average_output", "feature_names", "feature_infos", "tree_sizes",
};

/* How LightGBM's objectives (objective_function.cpp, their ConvertOutput)
 * turn the raw score into a prediction. */
enum {
	LGB_OBJ_SQRT = 1,    /* honours a "sqrt" token (reg_sqrt), which we refuse */
	LGB_OBJ_SIGMOID = 2, /* needs sigmoid:S */
	LGB_OBJ_CLASSES = 4, /* needs num_class:K */
};

typedef struct lgb_objective_kind {
	const char *name;
	tree_output output;
	tree_task task;
	int flags;
} lgb_objective_kind;

static const lgb_objective_kind lgb_objectives[] = {
	{"regression", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, LGB_OBJ_SQRT},
	{"regression_l1", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, LGB_OBJ_SQRT},
	{"quantile", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, LGB_OBJ_SQRT},
	{"mape", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, LGB_OBJ_SQRT},
	{"fair", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, LGB_OBJ_SQRT},
	{"huber", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 0},
	{"poisson", TREE_OUTPUT_EXP, TREE_TASK_REGRESSION, 0},
	{"gamma", TREE_OUTPUT_EXP, TREE_TASK_REGRESSION, 0},
	{"tweedie", TREE_OUTPUT_EXP, TREE_TASK_REGRESSION, 0},
	{"binary", TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY, LGB_OBJ_SIGMOID},
	{"multiclass", TREE_OUTPUT_SOFTMAX, TREE_TASK_MULTICLASS, LGB_OBJ_CLASSES},
	{"multiclassova", TREE_OUTPUT_OVA, TREE_TASK_MULTICLASS, LGB_OBJ_CLASSES | LGB_OBJ_SIGMOID},
	/* CrossEntropy::ConvertOutput: 1/(1+exp(-x)), a probability; labels
	 * are probabilities too, so the score is a value, not a class. */
	{"cross_entropy", TREE_OUTPUT_SIGMOID, TREE_TASK_REGRESSION, 0},
	{"lambdarank", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 0},
	{"rank_xendcg", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 0},
	/* objective=none/custom, or no objective line: no ConvertOutput */
	{"custom", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, 0},
};

/* LightGBM's ParseObjectiveAlias (include/LightGBM/config.h). */
static const char *lgb_objective_alias(lgb_span name)
{
	static const char *const alias[][2] = {
		{"regression_l2", "regression"}, {"mean_squared_error", "regression"},
		{"mse", "regression"}, {"l2", "regression"}, {"l2_root", "regression"},
		{"root_mean_squared_error", "regression"}, {"rmse", "regression"},
		{"mean_absolute_error", "regression_l1"}, {"l1", "regression_l1"},
		{"mae", "regression_l1"}, {"softmax", "multiclass"},
		{"multiclass_ova", "multiclassova"}, {"ova", "multiclassova"}, {"ovr", "multiclassova"},
		{"xentropy", "cross_entropy"}, {"xentlambda", "cross_entropy_lambda"},
		{"mean_absolute_percentage_error", "mape"}, {"xendcg", "rank_xendcg"},
		{"xe_ndcg", "rank_xendcg"}, {"xe_ndcg_mart", "rank_xendcg"},
		{"xendcg_mart", "rank_xendcg"}, {"none", "custom"}, {"null", "custom"}, {"na", "custom"},
	};
	for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
		if (lgb_is(name, alias[i][0]))
			return alias[i][1];
	return NULL;
}

/* objective=NAME [num_class:K] [sigmoid:S] [sqrt]; n_groups is
 * num_tree_per_iteration. An absent objective line (custom objective) means
 * no transform. */
static int lgb_objective(lgb_reader *r, tree_ensemble *e, const lgb_field *f, int64_t num_class)
{
	e->sigmoid = 1;
	const lgb_objective_kind *kind = &lgb_objectives[sizeof lgb_objectives / sizeof *lgb_objectives - 1];
	lgb_span rest = f->line ? f->v : (lgb_span){"", 0}, name, tok;
	int has_sigmoid = 0, has_sqrt = 0;
	int64_t obj_classes = -1;
	if (f->line) {
		snprintf(e->objective, sizeof e->objective, "%.*s", (int)(f->v.n < 63 ? f->v.n : 63), f->v.p);
		if (!lgb_token(&rest, &name))
			return lgb_fail(r, f->line, f->col, "empty objective");
		const char *canon = lgb_objective_alias(name);
		kind = NULL;
		for (size_t i = 0; i < sizeof lgb_objectives / sizeof *lgb_objectives; i++)
			if (canon ? strcmp(canon, lgb_objectives[i].name) == 0 : lgb_is(name, lgb_objectives[i].name))
				kind = &lgb_objectives[i];
		if (!kind && (canon ? strcmp(canon, "cross_entropy_lambda") == 0 : lgb_is(name, "cross_entropy_lambda")))
			return lgb_fail(r, f->line, f->col, "objective '%.*s' is not supported: its output log(1+exp(x)) has no transform here",
					LGB_QUOTE(name));
		if (!kind)
			return lgb_fail(r, f->line, f->col, "unknown objective '%.*s'; expected binary, multiclass, multiclassova, cross_entropy, "
					"regression, regression_l1, huber, fair, quantile, mape, poisson, gamma, tweedie, lambdarank or rank_xendcg",
					LGB_QUOTE(name));
		while (lgb_token(&rest, &tok)) {
			int64_t col = f->col + (tok.p - f->v.p);
			if (lgb_is(tok, "sqrt")) {
				has_sqrt = 1;
			} else if (lgb_starts(tok, "sigmoid:")) {
				has_sigmoid = 1;
				if (num_parse(tok.p + 8, tok.n - 8, &e->sigmoid) != 0 || !(e->sigmoid > 0) || isinf(e->sigmoid))
					return lgb_fail(r, f->line, col, "'%.*s': the sigmoid parameter must be a number > 0",
							LGB_QUOTE(tok));
			} else if (lgb_starts(tok, "num_class:")) {
				if (lgb_parse_int((lgb_span){tok.p + 10, tok.n - 10}, &obj_classes) != 0 || obj_classes < 1)
					return lgb_fail(r, f->line, col, "'%.*s': num_class must be an integer >= 1",
							LGB_QUOTE(tok));
			}
		}
	}
	size_t K = e->n_groups;
	const char *what = kind->name;
	if (has_sqrt && (kind->flags & LGB_OBJ_SQRT))
		return lgb_fail(r, f->line, f->col, "objective '%s sqrt' is not supported: its output transform sign(x)*x^2 (reg_sqrt) has no equivalent here",
				what);
	if ((kind->flags & LGB_OBJ_SIGMOID) && !has_sigmoid)
		return lgb_fail(r, f->line, f->col, "objective '%s' has no sigmoid:S parameter", what);
	if (kind->flags & LGB_OBJ_CLASSES) {
		if (obj_classes < 0)
			return lgb_fail(r, f->line, f->col, "objective '%s' has no num_class:K parameter", what);
		if ((size_t)obj_classes != K || obj_classes != num_class)
			return lgb_fail(r, f->line, f->col, "objective '%s' has num_class:%lld, but num_class = %lld and num_tree_per_iteration = %zu",
					what, (long long)obj_classes, (long long)num_class, K);
	} else if (K != 1) {
		return lgb_fail(r, f->line, f->col, "objective '%s' with num_tree_per_iteration = %zu: expected 1",
				f->line ? what : "(none)", K);
	}
	e->output = kind->output;
	e->task = kind->task;
	return BF_OK;
}

/* A list of categories "c1:c2:...", each an integer. */
static int lgb_categories(lgb_span t)
{
	const char *p = t.p, *end = t.p + t.n;
	for (;;) {
		const char *q = p;
		while (q < end && *q != ':')
			q++;
		int64_t c;
		if (lgb_parse_int((lgb_span){p, (size_t)(q - p)}, &c) != 0)
			return -1;
		if (q == end)
			return 0;
		p = q + 1;
	}
}

/* feature_names and feature_infos: n_features tokens each. An info is a
 * range "[min:max]" (numerical), "none" (unused) or the categories seen in
 * training, "c1:c2:...", which marks the feature categorical. */
static int lgb_features(lgb_reader *r, tree_ensemble *e, const lgb_field *names, const lgb_field *infos)
{
	size_t n = e->n_features;
	size_t got = lgb_count(names->v);
	if (got != n)
		return lgb_fail(r, names->line, 0, "feature_names has %zu names, expected max_feature_idx+1 = %zu", got, n);
	got = lgb_count(infos->v);
	if (got != n)
		return lgb_fail(r, infos->line, 0, "feature_infos has %zu entries, expected max_feature_idx+1 = %zu", got, n);
	e->feature_names = calloc(n, sizeof *e->feature_names);
	e->feature_is_cat = calloc(n, 1);
	if (!e->feature_names || !e->feature_is_cat)
		return lgb_nomem(r);
	lgb_span rest = names->v, tok;
	for (size_t i = 0; lgb_token(&rest, &tok); i++) {
		e->feature_names[i] = malloc(tok.n + 1);
		if (!e->feature_names[i])
			return lgb_nomem(r);
		memcpy(e->feature_names[i], tok.p, tok.n);
		e->feature_names[i][tok.n] = '\0';
	}
	rest = infos->v;
	for (size_t i = 0; lgb_token(&rest, &tok); i++) {
		if (tok.p[0] == '[' || lgb_is(tok, "none"))
			continue;
		if (lgb_categories(tok) != 0)
			return lgb_fail(r, infos->line, infos->col + (tok.p - infos->v.p),
					"feature_infos[%zu] = '%.*s', expected '[min:max]', 'none' or categories 'c1:c2:...'",
					i, LGB_QUOTE(tok));
		e->feature_is_cat[i] = 1;
	}
	return BF_OK;
}

/* tree_sizes: LightGBM finds tree i at the first tree's line plus the sizes
 * of trees 0..i-1 (GBDT::LoadModelFromString); it must find it there. The
 * last size is never used by LightGBM (files edited by hand get it wrong),
 * so it is only checked, to catch a truncated file, when there is no "end
 * of trees" line: the last tree must then fit in the file. */
static int lgb_tree_sizes(lgb_reader *r, tree_ensemble *e, const lgb_build *b, const lgb_field *f,
			  int ended)
{
	size_t n = lgb_count(f->v);
	if (n != e->n_trees)
		return lgb_fail(r, f->line, 0, "tree_sizes lists %zu trees, the file has %zu", n, e->n_trees);
	if (!n)
		return BF_OK;
	lgb_span rest = f->v, tok;
	size_t at = b->tree_offset[0];
	for (size_t i = 0; lgb_token(&rest, &tok); i++) {
		int64_t size;
		int64_t col = f->col + (tok.p - f->v.p);
		if (lgb_parse_int(tok, &size) != 0 || size < 0)
			return lgb_fail(r, f->line, col, "tree_sizes[%zu] = '%.*s' is not a size", i, LGB_QUOTE(tok));
		if (at != b->tree_offset[i])
			return lgb_fail(r, f->line, col, "tree_sizes puts Tree=%zu at byte %zu, it is at byte %zu",
					i, at, b->tree_offset[i]);
		if (!ended && (uint64_t)size > r->len - at)
			return lgb_fail(r, f->line, col, "tree_sizes[%zu] = %lld runs past the end of the file (truncated?)",
					i, (long long)size);
		at += (size_t)size;
	}
	return BF_OK;
}

/* ---- loading --------------------------------------------------------- */

static int lgb_load_text(lgb_reader *r, tree_ensemble *e, lgb_build *b)
{
	lgb_line ln;
	int rc;
	do
		rc = lgb_next_line(r, &ln);
	while (rc > 0 && ln.s.n == 0);
	if (rc < 0)
		return BF_EMODEL;
	if (rc == 0)
		return lgb_fail(r, 0, 0, "not a LightGBM text model: the file is empty");
	if (!lgb_is(ln.s, "tree"))
		return lgb_fail(r, ln.no, 1, "not a LightGBM text model: the first line is '%.*s', expected 'tree'",
				LGB_QUOTE(ln.s));

	lgb_field h[LGB_HEADER_KEYS] = {0};
	int in_trees = 0;
	while ((rc = lgb_next_line(r, &ln)) > 0) {
		if (ln.s.n == 0)
			continue;
		if (lgb_starts(ln.s, "Tree=") || lgb_is(ln.s, "end of trees")) {
			in_trees = 1;
			break;
		}
		lgb_span key;
		lgb_field v;
		if (lgb_key_value(&ln, &key, &v) != 0) {
			if (lgb_is(ln.s, "average_output")) {
				v = (lgb_field){{ln.s.p + ln.s.n, 0}, ln.no, (int64_t)ln.s.n + 1};
				key = ln.s;
			} else {
				continue; /* LightGBM keeps unknown lines as keys: ignored */
			}
		}
		for (int k = 0; k < LGB_HEADER_KEYS; k++) {
			if (!lgb_is(key, lgb_header_keys[k]))
				continue;
			if (h[k].line)
				return lgb_fail(r, ln.no, 1, "second %s line (the first is line %lld)", lgb_header_keys[k],
						(long long)h[k].line);
			h[k] = v;
		}
	}
	if (rc < 0)
		return BF_EMODEL;

	/* The header, checked before any tree sizes anything. */
	static const int need[] = {LGB_NUM_CLASS, LGB_LABEL_INDEX, LGB_MAX_FEATURE_IDX, LGB_FEATURE_NAMES,
				   LGB_FEATURE_INFOS};
	for (size_t i = 0; i < sizeof need / sizeof *need; i++)
		if (!h[need[i]].line)
			return lgb_fail(r, in_trees ? ln.no : r->line, 0, "the header has no %s line",
					lgb_header_keys[need[i]]);
	if (h[LGB_VERSION].line && !lgb_is(h[LGB_VERSION].v, "v2") && !lgb_is(h[LGB_VERSION].v, "v3") &&
	    !lgb_is(h[LGB_VERSION].v, "v4"))
		return lgb_fail(r, h[LGB_VERSION].line, h[LGB_VERSION].col, "version '%.*s' is not supported; expected v2, v3 or v4",
				LGB_QUOTE(h[LGB_VERSION].v));
	int64_t num_class, per_iter, label, max_feature;
	if (lgb_int_field(r, &h[LGB_NUM_CLASS], "num_class", 1, INT32_MAX, &num_class) ||
	    lgb_int_field(r, &h[LGB_LABEL_INDEX], "label_index", -1, INT32_MAX, &label) ||
	    lgb_int_field(r, &h[LGB_MAX_FEATURE_IDX], "max_feature_idx", 0, INT32_MAX - 1, &max_feature))
		return BF_EMODEL;
	per_iter = num_class;
	if (h[LGB_NUM_TREE_PER_ITERATION].line &&
	    lgb_int_field(r, &h[LGB_NUM_TREE_PER_ITERATION], "num_tree_per_iteration", 1, INT32_MAX, &per_iter))
		return BF_EMODEL;
	if ((uint64_t)per_iter > r->len)
		return lgb_fail(r, h[LGB_NUM_TREE_PER_ITERATION].line ? h[LGB_NUM_TREE_PER_ITERATION].line
								      : h[LGB_NUM_CLASS].line,
				0, "%lld trees per iteration cannot fit in a %zu-byte file", (long long)per_iter, r->len);
	e->lib = TREE_LIB_LIGHTGBM;
	e->n_groups = (size_t)per_iter;
	e->n_features = (size_t)max_feature + 1;
	e->average_output = h[LGB_AVERAGE_OUTPUT].line != 0;
	if (lgb_objective(r, e, &h[LGB_OBJECTIVE], num_class) ||
	    lgb_features(r, e, &h[LGB_FEATURE_NAMES], &h[LGB_FEATURE_INFOS]))
		return BF_EMODEL;

	/* The trees, until "end of trees" or the first line that is not a tree. */
	e->tree_begin = calloc(1, sizeof *e->tree_begin);
	if (!e->tree_begin)
		return lgb_nomem(r);
	b->cap_begin = 1;
	int ended = 0;
	while (in_trees) {
		if (lgb_is(ln.s, "end of trees")) {
			ended = 1;
			break;
		}
		if (!lgb_starts(ln.s, "Tree="))
			break;
		if (lgb_tree_read(r, e, b, &ln))
			return BF_EMODEL;
		do
			rc = lgb_next_line(r, &ln);
		while (rc > 0 && ln.s.n == 0);
		if (rc < 0)
			return BF_EMODEL;
		in_trees = rc > 0;
	}
	/* Without "end of trees" (LightGBM 2.x may omit it), only tree_sizes
	 * can show the last tree is whole. */
	if (!ended && (!h[LGB_TREE_SIZES].line || !e->n_trees))
		return lgb_fail(r, r->line, 0, "no 'end of trees' line after %zu trees, and no tree_sizes to check them: truncated file?",
				e->n_trees);
	if (h[LGB_TREE_SIZES].line && lgb_tree_sizes(r, e, b, &h[LGB_TREE_SIZES], ended))
		return BF_EMODEL;
	if (e->n_trees % e->n_groups)
		return lgb_fail(r, r->line, 0, "%zu trees is not a whole number of iterations of num_tree_per_iteration = %zu",
				e->n_trees, e->n_groups);
	for (size_t t = 0; t < e->n_trees; t++)
		e->tree_group[t] = (int32_t)(t % e->n_groups);
	e->base_score = calloc(e->n_groups, sizeof *e->base_score);
	if (!e->base_score)
		return lgb_nomem(r);
	return BF_OK;
}

int lgb_load(tree_ensemble *e, const char *text, size_t len, const char *path, bf_error *err)
{
	lgb_reader r = {.text = text, .len = len, .path = path, .err = err};
	lgb_build b = {0};
	int rc = lgb_load_text(&r, e, &b);
	free(b.tree_offset);
	if (rc == BF_OK)
		rc = tree_check(e, path, err);
	if (rc != BF_OK) {
		tree_ensemble_free(e);
		memset(e, 0, sizeof *e);
	}
	return rc;
}

/* ---- reference evaluator --------------------------------------------- */

/* Tree::NumericalDecision (include/LightGBM/tree.h): NaN is 0 unless the
 * missing type is NaN; a missing value (type Zero: |x| <= kZeroThreshold,
 * NaN included once it is 0; type NaN: NaN) goes the default way; the rest
 * go left when x <= threshold. */
static int lgb_numerical_left(const tree_node *n, double x)
{
	if (isnan(x) && n->missing_type != TREE_MISSING_NAN)
		x = 0.0;
	if ((n->missing_type == TREE_MISSING_ZERO && x >= -LGB_ZERO_THRESHOLD && x <= LGB_ZERO_THRESHOLD) ||
	    (n->missing_type == TREE_MISSING_NAN && isnan(x)))
		return n->default_left;
	return x <= n->threshold;
}

/* Tree::CategoricalDecision: NaN goes right; otherwise the category is
 * static_cast<int>(x), truncated toward zero (-0.5 is category 0); a negative
 * one goes right, as does anything the int cast cannot hold (x86 gives
 * INT_MIN, negative; aarch64 saturates to INT_MAX, beyond every bitset).
 * The category goes left when its bit is set (Common::FindInBitset), and
 * right when it lies beyond the split's words. The missing type is not used. */
static int lgb_categorical_left(const tree_ensemble *e, const tree_node *n, double x)
{
	if (isnan(x) || x <= -1.0 || x >= 2147483648.0)
		return 0;
	uint32_t c = (uint32_t)(int32_t)x;
	if (c / 32 >= n->cat_end - n->cat_begin)
		return 0;
	return (e->cat_bits[n->cat_begin + c / 32] >> (c % 32)) & 1;
}

/* GBDT::PredictRaw (src/boosting/gbdt_prediction.cpp): tree i adds its leaf
 * to output[i % num_tree_per_iteration], in tree order, in double. (The raw
 * score is that sum; GBDT::Predict then divides by the number of iterations
 * when average_output, before the output transform.) */
void lgb_margin_ref(const tree_ensemble *e, const double *row, size_t n_trees, double *margin)
{
	if (n_trees > e->n_trees)
		n_trees = e->n_trees;
	for (size_t g = 0; g < e->n_groups; g++)
		margin[g] = 0;
	for (size_t t = 0; t < n_trees; t++) {
		const tree_node *nodes = e->nodes + e->tree_begin[t];
		const tree_node *n = nodes;
		while (n->left >= 0) {
			double x = row[n->feature];
			int left = n->categorical ? lgb_categorical_left(e, n, x) : lgb_numerical_left(n, x);
			n = nodes + (left ? n->left : n->right);
		}
		margin[e->tree_group[t]] += e->tree_weight ? n->leaf * e->tree_weight[t] : n->leaf;
	}
	if (e->base_score)
		for (size_t g = 0; g < e->n_groups; g++)
			margin[g] += e->base_score[g];
}
