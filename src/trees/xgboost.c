/* xgboost.c: XGBoost tree ensembles: the three formats Booster.save_model
 * writes, read into trees.h's form, and the reference evaluator.
 *
 * Formats, told apart by their first bytes as Learner::LoadModel does:
 *   JSON     XGBoost >= 1.0 ("m.json"); NaN and +-Infinity as bare words
 *   UBJSON   XGBoost >= 1.6 ("m.ubj"); big-endian binary JSON, typed arrays
 *   legacy   XGBoost < 1.0, and 1.x "m.model": packed little-endian structs,
 *            optionally after a "binf" header
 * JSON and UBJSON become the same json_value tree and share one reader; the
 * legacy reader walks the structs. Both hand raw trees (XGBoost's own node
 * layout) to add_tree(), which drops nodes the pruner deleted and renumbers.
 *
 * Written after reading XGBoost 1.7.4, the version Debian ships, and checked
 * against 2.x / 3.x where they differ; names in comments (RegTree::LoadModel,
 * GetNextNode, ...) point into that source. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json.h"
#include "trees.h"
#include "utf8.h"

/* common/categorical.h OutOfRangeCat(): a category must be below 2^24 to
 * survive float32; larger inputs are invalid and go left. */
#define XGB_MAX_CAT 16777216u
/* Limits on what a file may ask us to allocate beyond its own size. */
#define XGB_MAX_CAT_WORDS ((size_t)1 << 26)  /* 256 MiB of category bits */
#define XGB_MAX_FEATURES ((size_t)1 << 28)
#define XGB_MAX_GROUPS ((size_t)1 << 20)
#define XGB_DELETED 0xffffffffu              /* RegTree::kDeletedNodeMarker */

/* ---- loader state and errors ------------------------------------------ */

/* One node as XGBoost keeps it (RegTree::Node), before renumbering. */
typedef struct xgb_raw_node {
	int32_t left, right;   /* left == -1: leaf */
	uint32_t sindex;       /* split feature; top bit = default left; XGB_DELETED */
	float value;           /* split condition, or leaf value (a union in XGBoost) */
	uint8_t categorical;
	uint32_t cat_begin, cat_end;
} xgb_raw_node;

typedef enum xgb_link {
	XGB_LINK_IDENTITY,
	XGB_LINK_LOGIT,        /* ProbToMargin = logit, PredTransform = sigmoid */
	XGB_LINK_LOG,          /* ProbToMargin = log, PredTransform = exp */
} xgb_link;

typedef struct xgb_objective {
	const char *name;
	tree_output output;
	tree_task task;
	xgb_link link;
} xgb_objective;

typedef struct xgb_loader {
	tree_ensemble *e;
	const char *path;
	bf_error *err;
	const char *text;        /* the file */
	size_t len;
	const char *parsed;      /* JSON: what json_parse read (text, or a patched copy) */
	int ubjson;
	int version[3];          /* JSON "version"; legacy: major.minor of LearnerModelParam */
	const xgb_objective *obj;
	xgb_raw_node *raw;       /* (raw_cap) one tree being read */
	int32_t *renum;          /* (raw_cap) */
	size_t raw_cap;
	size_t cap_nodes, cap_words;
} xgb_loader;

__attribute__((format(printf, 2, 3)))
static int fail(xgb_loader *L, const char *fmt, ...)
{
	char msg[sizeof L->err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bf_err_set(L->err, BF_EMODEL, L->path, 0, 0, "%s", msg);
}

static int fail_nomem(xgb_loader *L)
{
	return bf_err_set(L->err, BF_ENOMEM, L->path, 0, 0, "out of memory loading the model");
}

/* Copies s[0..n) for a message: at most 48 bytes, unprintable bytes as '?'. */
static const char *quote(char *buf, size_t size, const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < size && i < 48; i++)
		buf[k++] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (n > 48 && k + 4 < size) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}

/* ---- objectives and base_score ----------------------------------------- */

static const xgb_objective xgb_objectives[] = {
	{"binary:logistic", TREE_OUTPUT_SIGMOID, TREE_TASK_BINARY, XGB_LINK_LOGIT},
	{"binary:logitraw", TREE_OUTPUT_IDENTITY, TREE_TASK_BINARY, XGB_LINK_IDENTITY},
	{"reg:logistic", TREE_OUTPUT_SIGMOID, TREE_TASK_REGRESSION, XGB_LINK_LOGIT},
	{"reg:squarederror", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, XGB_LINK_IDENTITY},
	{"reg:linear", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, XGB_LINK_IDENTITY},
	{"reg:pseudohubererror", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, XGB_LINK_IDENTITY},
	{"reg:absoluteerror", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, XGB_LINK_IDENTITY},
	{"count:poisson", TREE_OUTPUT_EXP, TREE_TASK_REGRESSION, XGB_LINK_LOG},
	{"multi:softprob", TREE_OUTPUT_SOFTMAX, TREE_TASK_MULTICLASS, XGB_LINK_IDENTITY},
	{"multi:softmax", TREE_OUTPUT_SOFTMAX, TREE_TASK_MULTICLASS, XGB_LINK_IDENTITY},
	{"rank:pairwise", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, XGB_LINK_IDENTITY},
	{"rank:ndcg", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, XGB_LINK_IDENTITY},
	{"rank:map", TREE_OUTPUT_IDENTITY, TREE_TASK_REGRESSION, XGB_LINK_IDENTITY},
};

static int set_objective(xgb_loader *L, const char *name, size_t n)
{
	size_t k = sizeof xgb_objectives / sizeof *xgb_objectives;
	for (size_t i = 0; i < k; i++)
		if (strlen(xgb_objectives[i].name) == n && !memcmp(xgb_objectives[i].name, name, n)) {
			L->obj = &xgb_objectives[i];
			L->e->output = L->obj->output;
			L->e->task = L->obj->task;
			memcpy(L->e->objective, name, n);
			L->e->objective[n] = '\0';
			return BF_OK;
		}
	char q[64], list[512] = "";
	for (size_t i = 0; i < k; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", xgb_objectives[i].name);
	}
	return fail(L, "objective '%s' is not supported; expected one of %s", quote(q, sizeof q, name, n),
		    list);
}

/* learner.cc: n_groups margins per row; checks num_class against the objective. */
static int set_groups(xgb_loader *L, int64_t num_class, int64_t num_target)
{
	if (num_target > 1)
		return fail(L, "num_target is %lld: multi-target models are not supported",
			    (long long)num_target);
	if (num_class < 0 || (size_t)num_class > XGB_MAX_GROUPS)
		return fail(L, "num_class %lld is out of range [0, %zu]", (long long)num_class, XGB_MAX_GROUPS);
	if (L->obj->task == TREE_TASK_MULTICLASS && num_class < 1)
		return fail(L, "objective '%s' needs num_class >= 1, the file says %lld", L->obj->name,
			    (long long)num_class);
	if (L->obj->task != TREE_TASK_MULTICLASS && num_class > 1)
		return fail(L, "num_class is %lld, but objective '%s' has one output", (long long)num_class,
			    L->obj->name);
	L->e->n_groups = num_class > 1 ? (size_t)num_class : 1;
	L->e->base_score = calloc(L->e->n_groups, sizeof *L->e->base_score);
	return L->e->base_score ? BF_OK : fail_nomem(L);
}

/* ObjFunction::ProbToMargin, in float like XGBoost: logit for the logistic
 * objectives (LogisticRegression; binary:logitraw keeps the value), log for
 * count:poisson, identity otherwise. 1.x-3.1 refuse a logistic base_score
 * outside (0, 1); 3.2 and later clamp it to [1e-6, 1 - 1e-6]. */
static int base_to_margin(xgb_loader *L, float p, float *out)
{
	if (!isfinite(p))
		return fail(L, "base_score %g is not a finite number", (double)p);
	int clamp = L->version[0] > 3 || (L->version[0] == 3 && L->version[1] >= 2);
	switch (L->obj->link) {
	case XGB_LINK_LOGIT:
		if (clamp && p >= 0.0f && p <= 1.0f)
			p = fminf(fmaxf(p, 1e-6f), 1.0f - 1e-6f);
		if (!(p > 0.0f && p < 1.0f))
			return fail(L, "base_score %g is outside (0, 1), which objective '%s' requires",
				    (double)p, L->obj->name);
		*out = -logf(1.0f / p - 1.0f);
		return BF_OK;
	case XGB_LINK_LOG:
		if (!(p > 0.0f))
			return fail(L, "base_score %g is not positive, which objective '%s' requires",
				    (double)p, L->obj->name);
		*out = logf(p);
		return BF_OK;
	default:
		*out = p;
		return BF_OK;
	}
}

/* Before 1.0 the legacy file held base_score already in margin space; 1.x
 * loads it as ProbToMargin(PredTransform(stored)) (Learner::LoadModel, for
 * objectives not starting with "multi:"), so do the same float round trip.
 * PredTransform is common::Sigmoid (math.h) for the logistic objectives. */
static float legacy_pred_transform(const xgb_objective *obj, float m)
{
	switch (obj->link) {
	case XGB_LINK_LOGIT: {
		float x = -m < 88.7f ? -m : 88.7f;
		float denom = expf(x) + 1.0f + 1e-16f;
		return 1.0f / denom;
	}
	case XGB_LINK_LOG:
		return expf(m);
	default:
		return m;
	}
}

/* ---- building the ensemble --------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elem)
		return -1;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Scratch for one tree of n nodes, zeroed. */
static int raw_reserve(xgb_loader *L, size_t n)
{
	size_t cap = L->raw_cap;
	if (grow((void **)&L->raw, &cap, n, sizeof *L->raw))
		return fail_nomem(L);
	cap = L->raw_cap;
	if (grow((void **)&L->renum, &cap, n, sizeof *L->renum))
		return fail_nomem(L);
	L->raw_cap = cap;
	memset(L->raw, 0, n * sizeof *L->raw);
	return BF_OK;
}

/* Appends tree t (L->raw[0..n)) to the ensemble. Nodes the pruner deleted
 * (RegTree::DeleteNode: marked, unreachable, kept in the array) are dropped
 * and the rest renumbered, so that every kept node is reachable. */
static int add_tree(xgb_loader *L, size_t t, size_t n, int64_t num_deleted)
{
	tree_ensemble *e = L->e;
	xgb_raw_node *raw = L->raw;
	size_t kept = 0, deleted = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && raw[i].sindex == XGB_DELETED) {
			L->renum[i] = -1;
			deleted++;
		} else {
			L->renum[i] = (int32_t)kept++;
		}
	}
	if ((int64_t)deleted != num_deleted)
		return fail(L, "tree %zu: %zu nodes are marked deleted, but num_deleted is %lld", t, deleted,
			    (long long)num_deleted);
	if (e->n_nodes + kept > UINT32_MAX)
		return fail(L, "tree %zu: more than %u nodes in all", t, UINT32_MAX);
	if (grow((void **)&e->nodes, &L->cap_nodes, e->n_nodes + kept, sizeof *e->nodes))
		return fail_nomem(L);
	tree_node *out = e->nodes + e->n_nodes;
	for (size_t i = 0; i < n; i++) {
		const xgb_raw_node *r = &raw[i];
		if (L->renum[i] < 0)
			continue;
		tree_node *nd = out++;
		memset(nd, 0, sizeof *nd);
		nd->missing_type = TREE_MISSING_NAN;
		if (r->left == -1) {           /* RegTree::Node::IsLeaf */
			nd->left = nd->right = -1;
			nd->leaf = r->value;
			continue;
		}
		int32_t kids[2] = {r->left, r->right};
		for (int k = 0; k < 2; k++) {
			if (kids[k] < 0 || (size_t)kids[k] >= n)
				return fail(L, "tree %zu: node %zu has %s child %d, outside the tree's %zu nodes",
					    t, i, k ? "right" : "left", (int)kids[k], n);
			if (L->renum[kids[k]] < 0)
				return fail(L, "tree %zu: node %zu has deleted node %d as its %s child", t, i,
					    (int)kids[k], k ? "right" : "left");
		}
		nd->left = L->renum[r->left];
		nd->right = L->renum[r->right];
		nd->feature = (int32_t)(r->sindex & 0x7fffffffu);
		nd->default_left = (uint8_t)(r->sindex >> 31);
		nd->threshold = r->value;
		nd->categorical = r->categorical;
		nd->cat_begin = r->cat_begin;
		nd->cat_end = r->cat_end;
	}
	e->n_nodes += kept;
	e->tree_begin[t + 1] = (uint32_t)e->n_nodes;
	return BF_OK;
}

/* Room for `words` more words of category bits, zeroed; returns the first. */
static int cat_reserve(xgb_loader *L, size_t words, uint32_t *begin)
{
	tree_ensemble *e = L->e;
	if (words > XGB_MAX_CAT_WORDS - e->n_cat_words)
		return fail(L, "categorical splits need more than %zu words of category bits",
			    XGB_MAX_CAT_WORDS);
	if (grow((void **)&e->cat_bits, &L->cap_words, e->n_cat_words + words, sizeof *e->cat_bits))
		return fail_nomem(L);
	memset(e->cat_bits + e->n_cat_words, 0, words * sizeof *e->cat_bits);
	*begin = (uint32_t)e->n_cat_words;
	e->n_cat_words += words;
	return BF_OK;
}

/* Reserves the per-tree arrays for n_trees trees. */
static int trees_reserve(xgb_loader *L, size_t n_trees)
{
	tree_ensemble *e = L->e;
	e->n_trees = n_trees;
	e->tree_begin = calloc(n_trees + 1, sizeof *e->tree_begin);
	e->tree_group = calloc(n_trees ? n_trees : 1, sizeof *e->tree_group);
	if (!e->tree_begin || !e->tree_group)
		return fail_nomem(L);
	return BF_OK;
}

static int features_reserve(xgb_loader *L, int64_t n)
{
	if (n < 0 || (size_t)n > XGB_MAX_FEATURES)
		return fail(L, "num_feature %lld is out of range [0, %zu]", (long long)n, XGB_MAX_FEATURES);
	L->e->n_features = (size_t)n;
	L->e->feature_is_cat = calloc(n ? (size_t)n : 1, 1);
	return L->e->feature_is_cat ? BF_OK : fail_nomem(L);
}

/* ---- UBJSON ------------------------------------------------------------ */
/* json_io.h UBJReader/UBJWriter: markers {}[] Z T F i U I l L d D S C, all
 * numbers big-endian, strings and keys length-prefixed by an integer value,
 * containers optionally "$type" (one marker for all items, which then carry
 * none) and "#count" (no closing bracket). XGBoost writes "[$d#L<n>" float32
 * arrays, "[$l#L<n>" int32 arrays, "[#L<n>" for others, keys as 'L' lengths.
 * The parser builds the json.h tree, so one reader serves JSON and UBJSON. */

typedef struct ubj_parser {
	const uint8_t *base, *p, *end;
	arena *a;
	size_t err_at;
	char msg[200];
} ubj_parser;

__attribute__((format(printf, 3, 4)))
static int ubj_fail(ubj_parser *P, const uint8_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(P->msg, sizeof P->msg, fmt, ap);
	va_end(ap);
	P->err_at = (size_t)(at - P->base);
	return -1;
}

static int ubj_need(ubj_parser *P, size_t n, const char *what)
{
	if ((size_t)(P->end - P->p) < n)
		return ubj_fail(P, P->p, "truncated: %s needs %zu bytes, %zu left", what, n,
				(size_t)(P->end - P->p));
	return 0;
}

static uint64_t ubj_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Size of the payload after a scalar marker; 0 = none; -1 = not a scalar. */
static int ubj_scalar_size(int m)
{
	switch (m) {
	case 'Z': case 'T': case 'F': return 0;
	case 'i': case 'U': case 'C': return 1;
	case 'I': return 2;
	case 'l': case 'd': return 4;
	case 'L': case 'D': return 8;
	default: return -1;
	}
}

/* Reads an integer value (marker included) used as a length or count. */
static int ubj_length(ubj_parser *P, const char *what, uint64_t *out)
{
	const uint8_t *at = P->p;
	if (ubj_need(P, 1, what))
		return -1;
	int m = *P->p++;
	int64_t v;
	switch (m) {
	case 'i':
		if (ubj_need(P, 1, what)) return -1;
		v = (int8_t)P->p[0];
		P->p += 1;
		break;
	case 'U':
		if (ubj_need(P, 1, what)) return -1;
		v = P->p[0];
		P->p += 1;
		break;
	case 'I':
		if (ubj_need(P, 2, what)) return -1;
		v = (int16_t)ubj_be(P->p, 2);
		P->p += 2;
		break;
	case 'l':
		if (ubj_need(P, 4, what)) return -1;
		v = (int32_t)ubj_be(P->p, 4);
		P->p += 4;
		break;
	case 'L':
		if (ubj_need(P, 8, what)) return -1;
		v = (int64_t)ubj_be(P->p, 8);
		P->p += 8;
		break;
	default:
		return ubj_fail(P, at, "%s must be an integer, found marker 0x%02x", what, m);
	}
	if (v < 0)
		return ubj_fail(P, at, "%s is negative (%lld)", what, (long long)v);
	*out = (uint64_t)v;
	return 0;
}

static int ubj_string(ubj_parser *P, const char **s, uint32_t *n)
{
	const uint8_t *at = P->p;
	uint64_t len = 0;
	if (ubj_length(P, "string length", &len))
		return -1;
	if (len > (uint64_t)(P->end - P->p))
		return ubj_fail(P, at, "string of %llu bytes runs past the end (%zu bytes left)",
				(unsigned long long)len, (size_t)(P->end - P->p));
	if (len > UINT32_MAX - 1)
		return ubj_fail(P, at, "string of %llu bytes is too long", (unsigned long long)len);
	if (utf8_check((const char *)P->p, (size_t)len) != len)
		return ubj_fail(P, at, "string is not valid UTF-8");
	char *c = arena_strndup(P->a, (const char *)P->p, (size_t)len);
	if (!c)
		return ubj_fail(P, at, "out of memory");
	P->p += len;
	*s = c;
	*n = (uint32_t)len;
	return 0;
}

static int ubj_value(ubj_parser *P, json_value *v, int m, const uint8_t *start, int depth);

/* A scalar's payload after its marker m; start = where the value began. */
static int ubj_scalar(ubj_parser *P, json_value *v, int m, const uint8_t *start)
{
	int size = ubj_scalar_size(m);
	if (ubj_need(P, (size_t)size, "a number"))
		return -1;
	const uint8_t *p = P->p;
	P->p += size;
	v->raw = (const char *)start;
	v->raw_len = (uint32_t)(P->p - start);
	switch (m) {
	case 'Z': v->type = JSON_NULL; return 0;
	case 'T': v->type = JSON_TRUE; return 0;
	case 'F': v->type = JSON_FALSE; return 0;
	default: break;
	}
	v->type = JSON_NUMBER;
	uint64_t u = ubj_be(p, (size_t)size);
	switch (m) {
	case 'i': v->u.number = (int8_t)u; break;
	case 'U': case 'C': v->u.number = (double)u; break;
	case 'I': v->u.number = (int16_t)u; break;
	case 'l': v->u.number = (int32_t)u; break;
	case 'L': v->u.number = (double)(int64_t)u; break;
	case 'd': {
		uint32_t w = (uint32_t)u;
		float f;
		memcpy(&f, &w, sizeof f);
		v->u.number = f;
		break;
	}
	default: {
		double d;
		memcpy(&d, &u, sizeof d);
		v->u.number = d;
		break;
	}
	}
	return 0;
}

/* After '[' or '{': the optional "$type" (a scalar with a payload, or 'S')
 * and "#count" (checked against the bytes left: each item takes at least
 * its payload or marker, each member also a key length). */
static int ubj_container_header(ubj_parser *P, int *type, int64_t *count, int object)
{
	*type = 0;
	*count = -1;
	if (P->p < P->end && *P->p == '$') {
		const uint8_t *at = P->p++;
		if (ubj_need(P, 1, "a container type"))
			return -1;
		*type = *P->p++;
		if (*type != 'S' && ubj_scalar_size(*type) <= 0)
			return ubj_fail(P, at, "containers of type 0x%02x are not supported", *type);
		if (P->p >= P->end || *P->p != '#')
			return ubj_fail(P, P->p, "a typed container must give its count ('#')");
	}
	if (P->p < P->end && *P->p == '#') {
		const uint8_t *at = P->p++;
		uint64_t n = 0;
		if (ubj_length(P, "container count", &n))
			return -1;
		size_t min = !*type ? 1 : *type == 'S' ? 2 : (size_t)ubj_scalar_size(*type);
		if (object)
			min += 2;
		if (n > (uint64_t)(P->end - P->p) / min || n > UINT32_MAX)
			return ubj_fail(P, at, "container count %llu needs more bytes than the %zu left",
					(unsigned long long)n, (size_t)(P->end - P->p));
		*count = (int64_t)n;
	}
	return 0;
}

/* Items or members collected before the count is known. */
typedef struct ubj_list {
	json_member *items;
	size_t n, cap;
} ubj_list;

static json_member *ubj_push(ubj_parser *P, ubj_list *l)
{
	if (grow((void **)&l->items, &l->cap, l->n + 1, sizeof *l->items)) {
		ubj_fail(P, P->p, "out of memory");
		return NULL;
	}
	memset(&l->items[l->n], 0, sizeof *l->items);
	return &l->items[l->n++];
}

static int ubj_items(ubj_parser *P, ubj_list *l, int object, int type, int64_t count, int depth)
{
	for (int64_t i = 0; count < 0 || i < count; i++) {
		if (count < 0) {
			if (ubj_need(P, 1, object ? "'}'" : "']'"))
				return -1;
			if (*P->p == (object ? '}' : ']')) {
				P->p++;
				return 0;
			}
		}
		json_member *m = ubj_push(P, l);
		if (!m || (object && ubj_string(P, &m->key, &m->key_len)))
			return -1;
		const uint8_t *start = P->p;
		int marker = type;
		if (!marker) {
			if (ubj_need(P, 1, "a value"))
				return -1;
			marker = *P->p++;
		}
		if (ubj_value(P, &m->value, marker, start, depth + 1))
			return -1;
	}
	return 0;
}

static int ubj_container(ubj_parser *P, json_value *v, int object, const uint8_t *start, int depth)
{
	if (depth >= JSON_MAX_DEPTH)
		return ubj_fail(P, start, "nesting deeper than %d", JSON_MAX_DEPTH);
	int type;
	int64_t count;
	if (ubj_container_header(P, &type, &count, object))
		return -1;
	ubj_list l = {0};
	int rc = ubj_items(P, &l, object, type, count, depth);
	if (rc == 0 && l.n > UINT32_MAX)
		rc = ubj_fail(P, start, "container has more than %u items", UINT32_MAX);
	if (rc == 0) {
		v->type = object ? JSON_OBJECT : JSON_ARRAY;
		v->len = (uint32_t)l.n;
		void *mem = arena_alloc(P->a, (l.n ? l.n : 1) * (object ? sizeof(json_member) : sizeof(json_value)));
		if (!mem) {
			rc = ubj_fail(P, start, "out of memory");
		} else if (object) {
			v->u.members = mem;
			if (l.n)
				memcpy(v->u.members, l.items, l.n * sizeof *l.items);
		} else {
			v->u.items = mem;
			for (size_t i = 0; i < l.n; i++)
				v->u.items[i] = l.items[i].value;
		}
		v->raw = (const char *)start;
		v->raw_len = (size_t)(P->p - start) > UINT32_MAX ? UINT32_MAX : (uint32_t)(P->p - start);
	}
	free(l.items);
	return rc;
}

/* A value with marker m (just read, or its container's type). */
static int ubj_value(ubj_parser *P, json_value *v, int m, const uint8_t *start, int depth)
{
	memset(v, 0, sizeof *v);
	if (m == '[' || m == '{')
		return ubj_container(P, v, m == '{', start, depth);
	if (m == 'S') {
		v->type = JSON_STRING;
		if (ubj_string(P, &v->u.string, &v->len))
			return -1;
		v->raw = (const char *)start;
		v->raw_len = (uint32_t)(P->p - start);
		return 0;
	}
	if (ubj_scalar_size(m) < 0) {
		if (m == 'H')
			return ubj_fail(P, start, "high-precision numbers ('H') are not supported");
		return ubj_fail(P, start, "unknown marker 0x%02x", m);
	}
	return ubj_scalar(P, v, m, start);
}

static int ubj_parse(const char *text, size_t len, arena *a, json_value **out, size_t *err_at,
		     char *msg, size_t msg_size)
{
	ubj_parser P = {(const uint8_t *)text, (const uint8_t *)text, (const uint8_t *)text + len, a, 0, ""};
	json_value *root = arena_alloc(a, sizeof *root);
	int rc = -1;
	if (!root)
		ubj_fail(&P, P.p, "out of memory");
	else if (ubj_need(&P, 1, "a value") == 0) {
		int m = *P.p++;
		rc = ubj_value(&P, root, m, P.base, 0);
		if (rc == 0 && P.p != P.end)
			rc = ubj_fail(&P, P.p, "unexpected data after the top-level value");
	}
	if (rc) {
		*err_at = P.err_at;
		snprintf(msg, msg_size, "%s", P.msg);
		return -1;
	}
	*out = root;
	return 0;
}

/* ---- JSON text --------------------------------------------------------- */

/* XGBoost writes NaN and +-Infinity as bare words (charconv.cc), which
 * json_parse (RFC 8259) rejects. If the text has any outside strings, they
 * are replaced, in a copy, by numbers of the same length ("0e0", "1e000000"),
 * so offsets and line:column stay the file's; their own text is read back
 * from the file by number(). Returns the text to parse, or NULL (no memory). */
static const char *json_patch(const char *text, size_t len, char **copy)
{
	*copy = NULL;
	for (int pass = 0; pass < 2; pass++) {
		char *out = *copy;
		int in_str = 0, found = 0;
		for (size_t i = 0; i < len; i++) {
			char c = text[i];
			if (in_str) {
				if (c == '\\')
					i++;
				else if (c == '"')
					in_str = 0;
			} else if (c == '"') {
				in_str = 1;
			} else if (c == 'N' && len - i >= 3 && !memcmp(text + i, "NaN", 3)) {
				found = 1;
				if (out)
					memcpy(out + i, "0e0", 3);
				i += 2;
			} else if (c == 'I' && len - i >= 8 && !memcmp(text + i, "Infinity", 8)) {
				found = 1;
				if (out)
					memcpy(out + i, "1e000000", 8);
				i += 7;
			}
		}
		if (!found || out)
			return out ? out : text;
		if (!(*copy = malloc(len ? len : 1)))
			return NULL;
		memcpy(*copy, text, len);
	}
	return *copy;
}

/* ---- reading the JSON tree ---------------------------------------------- */

static const char *type_name(json_type t)
{
	static const char *names[] = {"null", "false", "true", "a number", "a string", "an array",
				      "an object"};
	return names[t];
}

/* Member key of obj, of the given type (JSON_TRUE: a boolean); where names
 * obj in messages. NULL with the error set when missing or mistyped. */
static const json_value *get(xgb_loader *L, const json_value *obj, const char *key, json_type type,
			     const char *where)
{
	const json_value *v = json_get(obj, key);
	if (!v) {
		fail(L, "missing key '%s%s%s'", where, *where ? "." : "", key);
		return NULL;
	}
	if (v->type != type && !(type == JSON_TRUE && v->type == JSON_FALSE)) {
		fail(L, "'%s%s%s' is %s, expected %s", where, *where ? "." : "", key, type_name(v->type),
		     type_name(type));
		return NULL;
	}
	return v;
}

static int str_is(const json_value *v, const char *s)
{
	return v->type == JSON_STRING && v->len == strlen(s) && !memcmp(v->u.string, s, v->len);
}

/* The text of number v in the file (JSON only). */
static const char *number_text(const xgb_loader *L, const json_value *v)
{
	return L->text + (v->raw - L->parsed);
}

/* Number v as a double; NaN / Infinity words come back as such. */
static double number(const xgb_loader *L, const json_value *v)
{
	if (!L->ubjson && v->raw && v->raw_len) {
		const char *s = number_text(L, v);
		if (s[0] == 'N')
			return NAN;
		if (s[0] == 'I')
			return INFINITY;
		if (s[0] == '-' && v->raw_len > 1 && s[1] == 'I')
			return -INFINITY;
	}
	return v->u.number;
}

/* Number v as XGBoost reads it into a float: from its text, correctly
 * rounded to float (JsonReader::ParseNumber uses from_chars<float>), not
 * through double; UBJSON 'd' values are float32 already. */
static float number_f32(const xgb_loader *L, const json_value *v)
{
	if (L->ubjson || !v->raw || !v->raw_len)
		return (float)v->u.number;
	const char *s = number_text(L, v);
	char buf[64], *heap = NULL, *b = buf;
	if (v->raw_len >= sizeof buf && !(b = heap = malloc(v->raw_len + 1)))
		return (float)number(L, v);
	memcpy(b, s, v->raw_len);
	b[v->raw_len] = '\0';
	float f = strtof(b, NULL);
	free(heap);
	return f;
}

/* An integer: a JSON number, or a string holding one (XGBoost keeps
 * parameters as strings: "num_trees": "5"), within [lo, hi]. */
static int integer(xgb_loader *L, const json_value *v, int64_t lo, int64_t hi, const char *what,
		   int64_t *out)
{
	double d;
	char q[64];
	if (v->type == JSON_NUMBER) {
		d = number(L, v);
	} else if (v->type == JSON_STRING) {
		const char *s = v->u.string;
		size_t i = s[0] == '-' || s[0] == '+';
		if (v->len == i || v->len > 20)
			return fail(L, "%s is \"%s\", expected an integer", what,
				    quote(q, sizeof q, s, v->len));
		for (size_t k = i; k < v->len; k++)
			if (s[k] < '0' || s[k] > '9')
				return fail(L, "%s is \"%s\", expected an integer", what,
					    quote(q, sizeof q, s, v->len));
		d = strtod(s, NULL);
	} else {
		return fail(L, "%s is %s, expected an integer", what, type_name(v->type));
	}
	if (!(d == floor(d)) || d < (double)lo || d > (double)hi)
		return fail(L, "%s is %.17g, expected an integer in [%lld, %lld]", what, d, (long long)lo,
			    (long long)hi);
	*out = (int64_t)d;
	return BF_OK;
}

/* A float: a number, or a string holding one (base_score: "5E-1"). */
static int decimal_string(xgb_loader *L, const char *s, size_t n, const char *what, float *out)
{
	double d;
	char q[64];
	if (n == 0 || n > 64 || json_number(s, n, &d) != 0)
		return fail(L, "%s is \"%s\", expected a number", what, quote(q, sizeof q, s, n));
	char buf[80];
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtof(buf, NULL);
	return BF_OK;
}

/* Integer parameter key of obj (a string or a number); dflt when absent and
 * dflt >= lo, else required. */
static int param(xgb_loader *L, const json_value *obj, const char *key, const char *where, int64_t lo,
		 int64_t hi, int64_t dflt, int64_t *out)
{
	const json_value *v = json_get(obj, key);
	char what[96];
	snprintf(what, sizeof what, "'%s.%s'", where, key);
	if (!v) {
		if (dflt >= lo) {
			*out = dflt;
			return BF_OK;
		}
		return fail(L, "missing key '%s.%s'", where, key);
	}
	return integer(L, v, lo, hi, what, out);
}

/* Array key of tree t with exactly n items. */
static const json_value *tree_array(xgb_loader *L, const json_value *tree, const char *key, size_t t,
				    size_t n, int required)
{
	const json_value *v = json_get(tree, key);
	if (!v) {
		if (required)
			fail(L, "tree %zu: missing key '%s'", t, key);
		return NULL;
	}
	if (v->type != JSON_ARRAY) {
		fail(L, "tree %zu: '%s' is %s, expected an array", t, key, type_name(v->type));
		return NULL;
	}
	if (v->len != n) {
		fail(L, "tree %zu: %s has %u values, expected num_nodes %zu", t, key, v->len, n);
		return NULL;
	}
	return v;
}

static int item_int(xgb_loader *L, const json_value *arr, size_t i, int64_t lo, int64_t hi, size_t t,
		    const char *key, int64_t *out)
{
	const json_value *v = &arr->u.items[i];
	if (v->type == JSON_NUMBER) { /* the common case, without building a message */
		double d = number(L, v);
		if (d == floor(d) && d >= (double)lo && d <= (double)hi) {
			*out = (int64_t)d;
			return BF_OK;
		}
	}
	char what[96];
	snprintf(what, sizeof what, "tree %zu: %s[%zu]", t, key, i);
	return integer(L, v, lo, hi, what, out);
}

static int item_f32(xgb_loader *L, const json_value *arr, size_t i, size_t t, const char *key, float *out)
{
	const json_value *v = &arr->u.items[i];
	if (v->type != JSON_NUMBER)
		return fail(L, "tree %zu: %s[%zu] is %s, expected a number", t, key, i, type_name(v->type));
	*out = number_f32(L, v);
	return BF_OK;
}

/* RegTree::LoadCategoricalSplit: categories_nodes (increasing node ids),
 * categories_segments / categories_sizes (a span of `categories` per node)
 * become one bitset per node, as many words as its largest category needs. */
static int json_categories(xgb_loader *L, const json_value *tree, size_t t, size_t n)
{
	const char *keys[4] = {"categories_nodes", "categories_segments", "categories_sizes", "categories"};
	const json_value *a[4];
	for (int k = 0; k < 4; k++) {
		a[k] = json_get(tree, keys[k]);
		if (!a[k])
			return fail(L, "tree %zu: has categorical splits but no '%s'", t, keys[k]);
		if (a[k]->type != JSON_ARRAY)
			return fail(L, "tree %zu: '%s' is %s, expected an array", t, keys[k],
				    type_name(a[k]->type));
	}
	size_t k_nodes = a[0]->len, n_cats = a[3]->len;
	if (a[1]->len != k_nodes || a[2]->len != k_nodes)
		return fail(L, "tree %zu: categories_nodes, categories_segments and categories_sizes have "
			    "%u, %u and %u values; expected the same count", t, a[0]->len, a[1]->len, a[2]->len);
	int64_t prev = -1;
	for (size_t c = 0; c < k_nodes; c++) {
		int64_t node, seg, size;
		if (item_int(L, a[0], c, 0, (int64_t)n - 1, t, keys[0], &node) ||
		    item_int(L, a[1], c, 0, (int64_t)n_cats, t, keys[1], &seg) ||
		    item_int(L, a[2], c, 1, (int64_t)n_cats - seg, t, keys[2], &size))
			return L->err->code;
		if (node <= prev)
			return fail(L, "tree %zu: categories_nodes must increase, found %lld after %lld", t,
				    (long long)node, (long long)prev);
		prev = node;
		int64_t max = 0;
		for (int64_t j = seg; j < seg + size; j++) {
			int64_t cat;
			if (item_int(L, a[3], (size_t)j, 0, XGB_MAX_CAT - 1, t, keys[3], &cat))
				return L->err->code;
			if (cat > max)
				max = cat;
		}
		uint32_t begin = 0;
		size_t words = (size_t)max / 32 + 1;
		if (cat_reserve(L, words, &begin))
			return L->err->code;
		uint32_t *bits = L->e->cat_bits + begin;
		for (int64_t j = seg; j < seg + size; j++) {
			size_t cat = (size_t)number(L, &a[3]->u.items[j]);
			bits[cat / 32] |= 1u << (cat % 32);
		}
		L->raw[node].cat_begin = begin;
		L->raw[node].cat_end = begin + (uint32_t)words;
	}
	return BF_OK;
}

/* RegTree::LoadModel (LoadModelImpl): one tree object. The node arrays must
 * all have tree_param.num_nodes values; the statistics (loss_changes,
 * sum_hessian, base_weights) and parents are checked for length only. A
 * leaf's value is its split_conditions entry (Node::info_ is a union). */
static int json_tree(xgb_loader *L, const json_value *tree, size_t t)
{
	if (tree->type != JSON_OBJECT)
		return fail(L, "tree %zu is %s, expected an object", t, type_name(tree->type));
	char where[48];
	snprintf(where, sizeof where, "trees[%zu].tree_param", t);
	const json_value *tp = json_get(tree, "tree_param");
	if (!tp || tp->type != JSON_OBJECT)
		return fail(L, "tree %zu: %s", t, tp ? "'tree_param' is not an object" : "missing key 'tree_param'");
	int64_t n, num_deleted, leaf_vec;
	if (param(L, tp, "num_nodes", where, 1, INT32_MAX, 0, &n) ||
	    param(L, tp, "num_deleted", where, 0, INT32_MAX, 0, &num_deleted) ||
	    param(L, tp, "size_leaf_vector", where, 0, INT32_MAX, 0, &leaf_vec))
		return L->err->code;
	if (leaf_vec > 1)
		return fail(L, "tree %zu: size_leaf_vector is %lld: vector-leaf (multi-target) trees are "
			    "not supported", t, (long long)leaf_vec);
	size_t nn = (size_t)n;
	const json_value *left = tree_array(L, tree, "left_children", t, nn, 1);
	const json_value *right = left ? tree_array(L, tree, "right_children", t, nn, 1) : NULL;
	const json_value *index = right ? tree_array(L, tree, "split_indices", t, nn, 1) : NULL;
	const json_value *cond = index ? tree_array(L, tree, "split_conditions", t, nn, 1) : NULL;
	const json_value *dleft = cond ? tree_array(L, tree, "default_left", t, nn, 1) : NULL;
	if (!dleft)
		return L->err->code;
	const char *optional[] = {"split_type", "parents", "loss_changes", "sum_hessian", "base_weights"};
	const json_value *stype = NULL;
	for (size_t k = 0; k < sizeof optional / sizeof *optional; k++) {
		const json_value *v = tree_array(L, tree, optional[k], t, nn, 0);
		if (!v && json_get(tree, optional[k]))
			return L->err->code;
		if (k == 0)
			stype = v;
	}
	if (raw_reserve(L, nn))
		return L->err->code;
	int any_cat = 0;
	for (size_t i = 0; i < nn; i++) {
		xgb_raw_node *r = &L->raw[i];
		int64_t l, rr, f, st = 0;
		if (item_int(L, left, i, INT32_MIN, INT32_MAX, t, "left_children", &l) ||
		    item_int(L, right, i, INT32_MIN, INT32_MAX, t, "right_children", &rr) ||
		    item_int(L, index, i, 0, INT32_MAX, t, "split_indices", &f) ||
		    item_f32(L, cond, i, t, "split_conditions", &r->value) ||
		    (stype && item_int(L, stype, i, 0, 1, t, "split_type", &st)))
			return L->err->code;
		const json_value *d = &dleft->u.items[i];
		int dl;
		if (d->type == JSON_TRUE || d->type == JSON_FALSE) {
			dl = d->type == JSON_TRUE;
		} else {
			int64_t x;
			if (item_int(L, dleft, i, 0, 1, t, "default_left", &x))
				return L->err->code;
			dl = (int)x;
		}
		r->left = (int32_t)l;
		r->right = (int32_t)rr;
		r->sindex = (uint32_t)f | (uint32_t)dl << 31;
		r->categorical = (uint8_t)st;
		any_cat |= (int)st;
	}
	if (any_cat && json_categories(L, tree, t, nn))
		return L->err->code;
	return add_tree(L, t, nn, num_deleted);
}

/* base_score: "5E-1"; from 3.1 a list "[5E-1]" or one value per class
 * (common/param_array.cc, which also takes "(...)"). */
static int json_base_score(xgb_loader *L, const json_value *v)
{
	tree_ensemble *e = L->e;
	float vals[1] = {0};
	char q[64];
	if (v->type == JSON_NUMBER) {
		vals[0] = number_f32(L, v);
	} else if (v->type != JSON_STRING) {
		return fail(L, "'learner.learner_model_param.base_score' is %s, expected a string",
			    type_name(v->type));
	} else {
		const char *s = v->u.string;
		size_t n = v->len;
		while (n && (s[0] == ' ' || s[0] == '\t'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n && (s[0] == '[' || s[0] == '(')) {
			if (s[n - 1] != (s[0] == '[' ? ']' : ')'))
				return fail(L, "base_score \"%s\" is not a list of numbers",
					    quote(q, sizeof q, v->u.string, v->len));
			s++, n -= 2;
			size_t count = 0, g = 0;
			for (size_t i = 0; i <= n; i++)
				count += i == n || s[i] == ',';
			if (count != 1 && count != e->n_groups)
				return fail(L, "base_score has %zu values, expected 1 or %zu", count, e->n_groups);
			for (size_t i = 0; g < count; g++) {
				size_t j = i;
				while (j < n && s[j] != ',')
					j++;
				size_t a = i, b = j;
				while (a < b && (s[a] == ' ' || s[a] == '\t'))
					a++;
				while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
					b--;
				float p = 0, m = 0;
				if (decimal_string(L, s + a, b - a, "base_score item", &p) ||
				    base_to_margin(L, p, &m))
					return L->err->code;
				for (size_t k = count == 1 ? 0 : g; k < (count == 1 ? e->n_groups : g + 1); k++)
					e->base_score[k] = m;
				i = j + 1;
			}
			return BF_OK;
		}
		if (decimal_string(L, s, n, "base_score", &vals[0]))
			return L->err->code;
	}
	float m;
	if (base_to_margin(L, vals[0], &m))
		return L->err->code;
	for (size_t g = 0; g < e->n_groups; g++)
		e->base_score[g] = m;
	return BF_OK;
}

static int json_features(xgb_loader *L, const json_value *learner)
{
	tree_ensemble *e = L->e;
	const json_value *names = json_get(learner, "feature_names");
	const json_value *types = json_get(learner, "feature_types");
	if (names && names->type == JSON_ARRAY && names->len > 0) {
		if (names->len != e->n_features)
			return fail(L, "feature_names has %u names, but num_feature is %zu", names->len,
				    e->n_features);
		if (!(e->feature_names = calloc(e->n_features, sizeof *e->feature_names)))
			return fail_nomem(L);
		for (size_t i = 0; i < e->n_features; i++) {
			const json_value *s = &names->u.items[i];
			if (s->type != JSON_STRING)
				return fail(L, "feature_names[%zu] is %s, expected a string", i, type_name(s->type));
			if (!(e->feature_names[i] = malloc(s->len + 1)))
				return fail_nomem(L);
			memcpy(e->feature_names[i], s->u.string, s->len + 1);
		}
	} else if (names && names->type != JSON_ARRAY) {
		return fail(L, "'learner.feature_names' is %s, expected an array", type_name(names->type));
	}
	if (types && types->type == JSON_ARRAY && types->len > 0) {
		if (types->len != e->n_features)
			return fail(L, "feature_types has %u types, but num_feature is %zu", types->len,
				    e->n_features);
		for (size_t i = 0; i < e->n_features; i++) {
			const json_value *s = &types->u.items[i];
			char q[64];
			if (s->type != JSON_STRING)
				return fail(L, "feature_types[%zu] is %s, expected a string", i, type_name(s->type));
			/* data.cc LoadFeatureType */
			if (str_is(s, "c"))
				e->feature_is_cat[i] = 1;
			else if (!str_is(s, "q") && !str_is(s, "float") && !str_is(s, "int") && !str_is(s, "i"))
				return fail(L, "feature_types[%zu] is \"%s\"; expected one of int, float, i, q, c",
					    i, quote(q, sizeof q, s->u.string, s->len));
		}
	} else if (types && types->type != JSON_ARRAY) {
		return fail(L, "'learner.feature_types' is %s, expected an array", type_name(types->type));
	}
	return BF_OK;
}

/* Tree weights of a DART booster: n values <= n_trees (master keeps them
 * beside the trees and may have fewer: the rest weigh 1). */
static int json_weights(xgb_loader *L, const json_value *w, int exact)
{
	tree_ensemble *e = L->e;
	if (w->type != JSON_ARRAY)
		return fail(L, "'weight_drop' is %s, expected an array", type_name(w->type));
	if (w->len > e->n_trees || (exact && w->len != e->n_trees))
		return fail(L, "weight_drop has %u values, expected %s%zu (one per tree)", w->len,
			    exact ? "" : "at most ", e->n_trees);
	if (!(e->tree_weight = malloc((e->n_trees ? e->n_trees : 1) * sizeof *e->tree_weight)))
		return fail_nomem(L);
	for (size_t i = 0; i < e->n_trees; i++) {
		e->tree_weight[i] = 1.0;
		if (i < w->len) {
			const json_value *v = &w->u.items[i];
			if (v->type != JSON_NUMBER)
				return fail(L, "weight_drop[%zu] is %s, expected a number", i, type_name(v->type));
			e->tree_weight[i] = number_f32(L, v);
		}
	}
	return BF_OK;
}

/* LearnerIO::LoadModel(Json) and GBTreeModel::LoadModel. */
static int json_model(xgb_loader *L, const json_value *root)
{
	tree_ensemble *e = L->e;
	if (root->type != JSON_OBJECT)
		return fail(L, "not an XGBoost model: the top-level value is %s, expected an object",
			    type_name(root->type));
	L->version[0] = 1;
	const json_value *ver = json_get(root, "version");
	if (ver && ver->type == JSON_ARRAY)
		for (uint32_t i = 0; i < ver->len && i < 3; i++)
			if (ver->u.items[i].type == JSON_NUMBER)
				L->version[i] = (int)fmax(fmin(number(L, &ver->u.items[i]), 1e6), -1e6);
	const json_value *learner = get(L, root, "learner", JSON_OBJECT, "");
	if (!learner)
		return fail(L, "not an XGBoost model: %s", L->err->message);
	const json_value *obj = get(L, learner, "objective", JSON_OBJECT, "learner");
	const json_value *oname = obj ? get(L, obj, "name", JSON_STRING, "learner.objective") : NULL;
	const json_value *gb = oname ? get(L, learner, "gradient_booster", JSON_OBJECT, "learner") : NULL;
	const json_value *gname = gb ? get(L, gb, "name", JSON_STRING, "learner.gradient_booster") : NULL;
	const json_value *mp = gname ? get(L, learner, "learner_model_param", JSON_OBJECT, "learner") : NULL;
	if (!mp)
		return L->err->code;
	char q[64];
	const json_value *booster = NULL, *weights = NULL;
	int exact_weights = 1;
	if (str_is(gname, "gbtree")) {
		booster = gb;
	} else if (str_is(gname, "dart")) {
		booster = get(L, gb, "gbtree", JSON_OBJECT, "learner.gradient_booster");
		weights = booster ? get(L, gb, "weight_drop", JSON_ARRAY, "learner.gradient_booster") : NULL;
		if (!weights)
			return L->err->code;
	} else if (str_is(gname, "gblinear")) {
		return fail(L, "booster 'gblinear' is not supported");
	} else {
		return fail(L, "booster '%s' is not supported; expected 'gbtree' or 'dart'",
			    quote(q, sizeof q, gname->u.string, gname->len));
	}
	const json_value *model = get(L, booster, "model", JSON_OBJECT,
				      booster == gb ? "learner.gradient_booster" : "learner.gradient_booster.gbtree");
	if (!model)
		return L->err->code;
	if (!weights && (weights = json_get(model, "weight_drop")) != NULL)
		exact_weights = 0;
	if (oname->len >= sizeof e->objective)
		return fail(L, "objective '%s' is not supported", quote(q, sizeof q, oname->u.string, oname->len));
	if (set_objective(L, oname->u.string, oname->len))
		return L->err->code;

	const char *w = "learner.learner_model_param";
	int64_t num_feature, num_class, num_target;
	if (param(L, mp, "num_feature", w, 0, UINT32_MAX, -1, &num_feature) ||
	    param(L, mp, "num_class", w, 0, INT32_MAX, 0, &num_class) ||
	    param(L, mp, "num_target", w, 0, INT32_MAX, 1, &num_target) ||
	    features_reserve(L, num_feature) || set_groups(L, num_class, num_target))
		return L->err->code;
	const json_value *bs = json_get(mp, "base_score");
	if (!bs)
		return fail(L, "missing key '%s.base_score'", w);
	if (json_base_score(L, bs) || json_features(L, learner))
		return L->err->code;

	const char *mw = "learner.gradient_booster.model.gbtree_model_param";
	const json_value *gp = get(L, model, "gbtree_model_param", JSON_OBJECT, "learner.gradient_booster.model");
	const json_value *trees = gp ? get(L, model, "trees", JSON_ARRAY, "learner.gradient_booster.model") : NULL;
	const json_value *info = trees ? get(L, model, "tree_info", JSON_ARRAY, "learner.gradient_booster.model") : NULL;
	int64_t num_trees, leaf_vec;
	if (!info || param(L, gp, "num_trees", mw, 0, INT32_MAX, -1, &num_trees) ||
	    param(L, gp, "size_leaf_vector", mw, 0, INT32_MAX, 0, &leaf_vec))
		return L->err->code;
	if (leaf_vec > 1)
		return fail(L, "size_leaf_vector is %lld: vector-leaf (multi-target) trees are not supported",
			    (long long)leaf_vec);
	if (trees->len != (uint64_t)num_trees)
		return fail(L, "num_trees is %lld, but 'trees' has %u entries", (long long)num_trees, trees->len);
	if (info->len != (uint64_t)num_trees)
		return fail(L, "num_trees is %lld, but 'tree_info' has %u entries", (long long)num_trees,
			    info->len);
	if (trees_reserve(L, (size_t)num_trees))
		return L->err->code;
	/* trees sit at their "id" (GBTreeModel::LoadModel) */
	uint32_t *order = malloc((num_trees ? (size_t)num_trees : 1) * sizeof *order);
	if (!order)
		return fail_nomem(L);
	for (size_t t = 0; t < (size_t)num_trees; t++)
		order[t] = UINT32_MAX;
	int rc = BF_OK;
	for (size_t t = 0; rc == BF_OK && t < (size_t)num_trees; t++) {
		const json_value *tr = &trees->u.items[t];
		const json_value *id = tr->type == JSON_OBJECT ? json_get(tr, "id") : NULL;
		int64_t k = (int64_t)t;
		char what[48];
		snprintf(what, sizeof what, "trees[%zu].id", t);
		if (id && integer(L, id, 0, num_trees - 1, what, &k))
			rc = L->err->code;
		else if (order[k] != UINT32_MAX)
			rc = fail(L, "trees[%zu] and trees[%u] have the same id %lld", t, order[k], (long long)k);
		else
			order[k] = (uint32_t)t;
	}
	for (size_t t = 0; rc == BF_OK && t < (size_t)num_trees; t++) {
		int64_t g;
		char what[48];
		snprintf(what, sizeof what, "tree_info[%zu]", t);
		if (integer(L, &info->u.items[t], INT32_MIN, INT32_MAX, what, &g))
			rc = L->err->code;
		else {
			e->tree_group[t] = (int32_t)g;
			rc = json_tree(L, &trees->u.items[order[t]], t);
		}
	}
	free(order);
	if (rc == BF_OK && weights)
		rc = json_weights(L, weights, exact_weights);
	return rc;
}

/* ---- legacy binary ------------------------------------------------------ */
/* Layouts (include/xgboost/tree_model.h, learner.cc, gbtree_model.h), all
 * little-endian, no padding:
 *   ["binf"] LearnerModelParam (136 bytes: f32 base_score, u32 num_feature,
 *   i32 num_class, i32 contain_extra_attrs, i32 contain_eval_metrics,
 *   u32 major_version, u32 minor_version, u32 num_target, ...)
 *   objective, booster: u64 length + bytes
 *   GBTreeModelParam (160 bytes: i32 num_trees, i32 num_parallel_tree,
 *   i32 num_feature, i32 pad, i64 num_pbuffer, i32 num_output_group,
 *   i32 size_leaf_vector, i32 reserved[32])
 *   per tree: TreeParam (148 bytes: i32 num_roots, i32 num_nodes,
 *     i32 num_deleted, i32 max_depth, i32 num_feature, i32 size_leaf_vector,
 *     i32 reserved[31]), Node[num_nodes] (20 bytes: i32 parent, i32 cleft,
 *     i32 cright, u32 sindex (top bit: default left), f32 leaf value or split
 *     condition), RTreeNodeStat[num_nodes] (16 bytes, unused here)
 *   i32 tree_info[num_trees]
 *   dart: u64 n + f32 weight_drop[n]
 *   if contain_extra_attrs: u64 n + n (key, value) strings
 *   before 1.0, if contain_eval_metrics: u64 n + n strings */

typedef struct xgb_reader {
	const uint8_t *base, *p, *end;
} xgb_reader;

static int rd_need(xgb_loader *L, xgb_reader *R, uint64_t n, const char *what)
{
	size_t left = (size_t)(R->end - R->p);
	if (n > left)
		return fail(L, "truncated at byte %zu: %s needs %llu bytes, %zu left", (size_t)(R->p - R->base),
			    what, (unsigned long long)n, left);
	return BF_OK;
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int32_t le_i32(const uint8_t *p) { return (int32_t)(uint32_t)le(p, 4); }

static float le_f32(const uint8_t *p)
{
	uint32_t u = (uint32_t)le(p, 4);
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* dmlc::Stream::Read(std::string*): u64 length, bytes. */
static int rd_string(xgb_loader *L, xgb_reader *R, const char *what, const uint8_t **s, uint64_t *n)
{
	if (rd_need(L, R, 8, what))
		return L->err->code;
	*n = le(R->p, 8);
	R->p += 8;
	if (rd_need(L, R, *n, what))
		return L->err->code;
	*s = R->p;
	R->p += *n;
	return BF_OK;
}

static int legacy_model(xgb_loader *L)
{
	tree_ensemble *e = L->e;
	xgb_reader R = {(const uint8_t *)L->text, (const uint8_t *)L->text, (const uint8_t *)L->text + L->len};
	char q[64];
	if (L->len >= 4 && !memcmp(R.p, "bs64", 4))
		return fail(L, "base64 models (\"bs64\") are not supported");
	if (L->len >= 4 && !memcmp(R.p, "binf", 4))
		R.p += 4;
	if (rd_need(L, &R, 136, "LearnerModelParam"))
		return L->err->code;
	const uint8_t *mp = R.p;
	R.p += 136;
	float base = le_f32(mp);
	uint32_t num_feature = (uint32_t)le(mp + 4, 4);
	int32_t num_class = le_i32(mp + 8);
	int32_t extra_attrs = le_i32(mp + 12);
	int32_t eval_metrics = le_i32(mp + 16);
	L->version[0] = le(mp + 20, 4) > 1000 ? 1000 : (int)le(mp + 20, 4);
	L->version[1] = le(mp + 24, 4) > 1000 ? 1000 : (int)le(mp + 24, 4);
	uint32_t num_target = (uint32_t)le(mp + 28, 4);

	/* the objective's length: before 1.0, a value >= 2^32 - 1 came with a
	 * 4-byte gap and the length in its upper half (0.90 LearnerImpl::Load) */
	if (rd_need(L, &R, 8, "objective name"))
		return L->err->code;
	uint64_t olen = le(R.p, 8);
	R.p += 8;
	if (olen >= 0xffffffffu) {
		if (rd_need(L, &R, 4, "objective name"))
			return L->err->code;
		R.p += 4;
		olen >>= 32;
	}
	if (rd_need(L, &R, olen, "objective name"))
		return L->err->code;
	const uint8_t *oname = R.p;
	R.p += olen;
	const uint8_t *bname;
	uint64_t blen;
	if (rd_string(L, &R, "booster name", &bname, &blen))
		return L->err->code;
	int dart = 0;
	if (blen == 6 && !memcmp(bname, "gbtree", 6)) {
		dart = 0;
	} else if (blen == 4 && !memcmp(bname, "dart", 4)) {
		dart = 1;
	} else if (blen == 8 && !memcmp(bname, "gblinear", 8)) {
		return fail(L, "booster 'gblinear' is not supported");
	} else {
		return fail(L, "booster '%s' is not supported; expected 'gbtree' or 'dart'",
			    quote(q, sizeof q, (const char *)bname, (size_t)blen));
	}
	if (olen >= sizeof e->objective)
		return fail(L, "objective '%s' is not supported", quote(q, sizeof q, (const char *)oname, olen));
	if (set_objective(L, (const char *)oname, (size_t)olen) || features_reserve(L, num_feature) ||
	    set_groups(L, num_class, num_target ? num_target : 1))
		return L->err->code;
	/* base_score: margin space before 1.0, the user's value since */
	float m = base;
	if (L->version[0] < 1 && !isfinite(base))
		return fail(L, "base_score %g is not a finite number", (double)base);
	if (L->version[0] < 1 && strncmp(e->objective, "multi:", 6))
		base = legacy_pred_transform(L->obj, base);
	if (base_to_margin(L, base, &m))
		return L->err->code;
	for (size_t g = 0; g < e->n_groups; g++)
		e->base_score[g] = m;

	if (rd_need(L, &R, 160, "GBTreeModelParam"))
		return L->err->code;
	int32_t num_trees = le_i32(R.p);
	int32_t leaf_vec = le_i32(R.p + 28);
	R.p += 160;
	if (num_trees < 0)
		return fail(L, "num_trees is %d", (int)num_trees);
	if (leaf_vec != 0)
		return fail(L, "size_leaf_vector is %d: vector-leaf trees are not supported", (int)leaf_vec);
	/* each tree takes at least a TreeParam, one node with its stats and its
	 * tree_info entry */
	if (rd_need(L, &R, (uint64_t)num_trees * (148 + 36 + 4), "num_trees trees"))
		return L->err->code;
	if (trees_reserve(L, (size_t)num_trees))
		return L->err->code;
	for (size_t t = 0; t < (size_t)num_trees; t++) {
		char what[64];
		snprintf(what, sizeof what, "tree %zu's TreeParam", t);
		if (rd_need(L, &R, 148, what))
			return L->err->code;
		int32_t n = le_i32(R.p + 4), num_deleted = le_i32(R.p + 8), tree_leaf_vec = le_i32(R.p + 20);
		R.p += 148;
		if (n < 1)
			return fail(L, "tree %zu: num_nodes is %d", t, (int)n);
		if (tree_leaf_vec != 0)
			return fail(L, "tree %zu: size_leaf_vector is %d: vector-leaf trees are not supported", t,
				    (int)tree_leaf_vec);
		snprintf(what, sizeof what, "tree %zu's %d nodes", t, (int)n);
		if (rd_need(L, &R, (uint64_t)n * 36, what) || raw_reserve(L, (size_t)n))
			return L->err->code;
		for (size_t i = 0; i < (size_t)n; i++, R.p += 20) {
			xgb_raw_node *r = &L->raw[i];
			r->left = le_i32(R.p + 4);
			r->right = le_i32(R.p + 8);
			r->sindex = (uint32_t)le(R.p + 12, 4);
			r->value = le_f32(R.p + 16);
		}
		R.p += (size_t)n * 16;
		if (add_tree(L, t, (size_t)n, num_deleted))
			return L->err->code;
	}
	if (rd_need(L, &R, (uint64_t)num_trees * 4, "tree_info"))
		return L->err->code;
	for (size_t t = 0; t < (size_t)num_trees; t++, R.p += 4)
		e->tree_group[t] = le_i32(R.p);
	if (dart && num_trees > 0) {
		if (rd_need(L, &R, 8, "weight_drop"))
			return L->err->code;
		uint64_t n = le(R.p, 8);
		R.p += 8;
		if (n != (uint64_t)num_trees)
			return fail(L, "weight_drop has %llu values, expected %d (one per tree)",
				    (unsigned long long)n, (int)num_trees);
		if (rd_need(L, &R, n * 4, "weight_drop"))
			return L->err->code;
		if (!(e->tree_weight = malloc((size_t)n * sizeof *e->tree_weight)))
			return fail_nomem(L);
		for (size_t t = 0; t < (size_t)n; t++, R.p += 4)
			e->tree_weight[t] = le_f32(R.p);
	}
	if (extra_attrs) {
		if (rd_need(L, &R, 8, "attributes"))
			return L->err->code;
		uint64_t n = le(R.p, 8);
		R.p += 8;
		if (rd_need(L, &R, n > UINT64_MAX / 16 ? UINT64_MAX : n * 16, "attributes"))
			return L->err->code;
		for (uint64_t i = 0; i < n; i++) {
			const uint8_t *s;
			uint64_t sn;
			if (rd_string(L, &R, "attribute name", &s, &sn) ||
			    rd_string(L, &R, "attribute value", &s, &sn))
				return L->err->code;
		}
	}
	/* before 1.0 the metric names followed (0.90 LearnerImpl::Save), after
	 * a max_delta_step string for count:poisson that only some versions
	 * wrote: those files end unread here, as 1.x reads them */
	if (L->version[0] < 1 && eval_metrics && strcmp(e->objective, "count:poisson")) {
		if (rd_need(L, &R, 8, "metric names"))
			return L->err->code;
		uint64_t n = le(R.p, 8);
		R.p += 8;
		if (rd_need(L, &R, n > UINT64_MAX / 8 ? UINT64_MAX : n * 8, "metric names"))
			return L->err->code;
		for (uint64_t i = 0; i < n; i++) {
			const uint8_t *s;
			uint64_t sn;
			if (rd_string(L, &R, "metric name", &s, &sn))
				return L->err->code;
		}
	}
	return BF_OK;
}

/* ---- entry point -------------------------------------------------------- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int xgb_load(tree_ensemble *e, const char *text, size_t len, const char *path, bf_error *err)
{
	xgb_loader L = {.e = e, .path = path, .err = err, .text = text, .len = len};
	bf_error scratch;
	if (!err)
		L.err = &scratch;
	memset(e, 0, sizeof *e);
	e->lib = TREE_LIB_XGBOOST;
	e->sigmoid = 1.0;
	if (len == 0)
		return fail(&L, "file is empty");

	/* Learner::LoadModel: '{' then a key's '"' is JSON, '{' then a length
	 * marker UBJSON, anything else the legacy format. Unlike 1.x, a legacy
	 * file whose base_score happens to start with '{' stays legacy. */
	size_t i = 0;
	while (i < len && is_space(text[i]))
		i++;
	int fmt = 0; /* 0 legacy, 1 JSON, 2 UBJSON */
	if (i < len && text[i] == '{') {
		size_t j = i + 1;
		if (i == 0 && j < len && memchr("iUIlL$#", text[j], 7))
			fmt = 2;
		else if (j == len || is_space(text[j]) || text[j] == '"' || text[j] == '}' || i > 0 ||
			 len < 136 + 16)
			fmt = 1;
	}
	int rc;
	if (fmt == 0) {
		rc = legacy_model(&L);
	} else {
		arena a;
		arena_init(&a, 1 << 20);
		json_value *root = NULL;
		char *copy = NULL;
		if (fmt == 1) {
			json_error jerr;
			L.parsed = json_patch(text, len, &copy);
			if (!L.parsed)
				rc = fail_nomem(&L);
			else if (json_parse(L.parsed, len, &a, &root, &jerr))
				rc = bf_err_set(L.err, BF_EMODEL, path, jerr.line, jerr.column, "%s", jerr.message);
			else
				rc = BF_OK;
		} else {
			size_t at = 0;
			char msg[256];
			L.ubjson = 1;
			if (ubj_parse(text, len, &a, &root, &at, msg, sizeof msg))
				rc = fail(&L, "ubjson: byte %zu: %s", at, msg);
			else
				rc = BF_OK;
		}
		if (rc == BF_OK)
			rc = json_model(&L, root);
		arena_free(&a);
		free(copy);
	}
	if (rc == BF_OK)
		rc = tree_check(e, path, L.err);
	free(L.raw);
	free(L.renum);
	if (rc != BF_OK)
		tree_ensemble_free(e);
	return rc;
}

/* ---- reference evaluator ------------------------------------------------ */
/* cpu_predictor.cc + predict_fn.h GetNextNode + categorical.h Decision:
 *   - the row's values become float32 (the DMatrix holds floats); NaN is
 *     missing and takes the node's default child;
 *   - numerical split: left iff fvalue < split_cond, compared in float;
 *   - categorical split (Decision): a negative value or one >= 2^24 goes
 *     left; otherwise the value, truncated to an integer, goes right iff its
 *     bit is set (categories listed in the split go right), left when unset
 *     or past the node's bitset;
 *   - margins start at base_score (Predictor::InitOutPredictions) and each
 *     tree's leaf is added in tree order in float; DART adds leaf * weight,
 *     both float (Dart::PredictBatchImpl). Before 1.3 the trees were summed
 *     first and base_score added last, which can differ in the last bit.
 * GetNextNode takes LeftChild() + 1 for the right branch and RightChild()
 * for a missing value's default; XGBoost allocates children in pairs
 * (RegTree::ExpandNode), so the two agree in every tree it writes; here the
 * file's right child is used for both. */
static int xgb_go_left(const tree_ensemble *e, const tree_node *nd, float f)
{
	if (!nd->categorical)
		return f < (float)nd->threshold;
	if (f < 0.0f || f >= (float)XGB_MAX_CAT)
		return 1;
	uint32_t c = (uint32_t)f;
	if (c / 32 >= nd->cat_end - nd->cat_begin)
		return 1;
	return !(e->cat_bits[nd->cat_begin + c / 32] >> (c % 32) & 1u);
}

void xgb_margin_ref(const tree_ensemble *e, const double *row, size_t n_trees, double *margin)
{
	if (n_trees > e->n_trees)
		n_trees = e->n_trees;
	for (size_t g = 0; g < e->n_groups; g++)
		margin[g] = (float)e->base_score[g];
	for (size_t t = 0; t < n_trees; t++) {
		const tree_node *nodes = e->nodes + e->tree_begin[t];
		const tree_node *nd = nodes;
		while (nd->left >= 0) {
			double x = row[nd->feature];
			int left = isnan(x) ? nd->default_left : xgb_go_left(e, nd, (float)x);
			nd = &nodes[left ? nd->left : nd->right];
		}
		float w = e->tree_weight ? (float)e->tree_weight[t] : 1.0f;
		float contrib = (float)nd->leaf * w;
		float acc = (float)margin[e->tree_group[t]];
		acc += contrib;
		margin[e->tree_group[t]] = acc;
	}
}
