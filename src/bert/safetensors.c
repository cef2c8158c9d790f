/* safetensors.c: mmapped .safetensors files; see safetensors.h.
 *
 * st_open() maps the file and checks the whole header before it hands out a
 * single pointer: the header length against the file, then per tensor the
 * dtype, shape (element count without overflow), data_offsets against the
 * data section and against the shape, and finally, sorted by offset, that no
 * two tensors share a byte. After that every st_tensor.data[0..bytes) lies
 * inside the mapping. Gaps between tensors are allowed (the safetensors
 * library itself writes none). The data section holds little-endian values;
 * tensor data need not be aligned to its dtype, so it is read with memcpy. */
#include "safetensors.h"

#include "file.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "file.h"
#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c reads little-endian data in place"
#endif

/* The safetensors library refuses headers above 100 MB; so do we. */
#define ST_MAX_HEADER 100000000u

static const struct {
	const char *name;
	size_t size;
} st_dtypes[] = {
	[ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
	[ST_F64] = {"F64", 8}, [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4},
	[ST_I16] = {"I16", 2}, [ST_I8] = {"I8", 1},   [ST_U8] = {"U8", 1},
	[ST_BOOL] = {"BOOL", 1},
};
#define ST_N_DTYPES (sizeof st_dtypes / sizeof *st_dtypes)

const char *st_dtype_name(st_dtype d)
{
	return (size_t)d < ST_N_DTYPES ? st_dtypes[d].name : "?";
}

/* ---- header checks ---------------------------------------------------- */

typedef struct st_loader {
	st_file *f;
	bf_error *err;
	const char *name;      /* tensor being checked, for messages */
} st_loader;

static int st_fail(st_loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills the error with "tensor 'name': " + the message when a tensor is
 * being checked. Returns BF_EMODEL. */
static int st_fail(st_loader *L, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (L->name)
		return bf_err_set(L->err, BF_EMODEL, L->f->path, 0, 0, "tensor '%.200s': %s", L->name, msg);
	return bf_err_set(L->err, BF_EMODEL, L->f->path, 0, 0, "%s", msg);
}

/* A JSON number that is a plain non-negative integer ("12", not "12.0",
 * "1e3" or "-0") fitting in 64 bits. Returns 0 and sets *out, or -1. */
static int st_uint(const json_value *v, uint64_t *out)
{
	if (!v || v->type != JSON_NUMBER || v->raw_len == 0 || v->raw_len > 20)
		return -1;
	uint64_t x = 0;
	for (uint32_t i = 0; i < v->raw_len; i++) {
		unsigned d = (unsigned char)v->raw[i] - '0';
		if (d > 9 || __builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, d, &x))
			return -1;
	}
	*out = x;
	return 0;
}

/* "[2, 3]" into buf, for messages. */
static const char *st_shape_str(char *buf, size_t size, const int64_t *shape, int n)
{
	size_t k = (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < n && k < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%" PRId64, i ? ", " : "", shape[i]);
	if (k < size)
		snprintf(buf + k, size - k, "]");
	return buf;
}

/* Checks one header entry and fills t (all but name). */
static int st_check_tensor(st_loader *L, const json_value *v, const unsigned char *data, uint64_t data_size,
			   st_tensor *t)
{
	static const char *types[] = {"null", "false", "true", "a number", "a string", "an array", "an object"};
	if (v->type != JSON_OBJECT)
		return st_fail(L, "expected an object with dtype, shape and data_offsets, found %s", types[v->type]);

	const json_value *dt = json_get(v, "dtype");
	if (!dt)
		return st_fail(L, "missing 'dtype'");
	if (dt->type != JSON_STRING)
		return st_fail(L, "'dtype' must be a string, found %s", types[dt->type]);
	size_t d = 0;
	while (d < ST_N_DTYPES && strcmp(st_dtypes[d].name, dt->u.string))
		d++;
	if (d == ST_N_DTYPES)
		return st_fail(L, "unsupported dtype '%.64s' (supported: F32, F16, BF16, F64, I64, I32, "
			       "I16, I8, U8, BOOL)", dt->u.string);
	t->dtype = (st_dtype)d;

	const json_value *sh = json_get(v, "shape");
	if (!sh)
		return st_fail(L, "missing 'shape'");
	if (sh->type != JSON_ARRAY)
		return st_fail(L, "'shape' must be an array of non-negative integers, found %s", types[sh->type]);
	if (sh->len > ST_MAX_DIMS)
		return st_fail(L, "shape has %u dimensions, at most %d are supported", sh->len, ST_MAX_DIMS);
	t->n_dims = (int)sh->len;
	uint64_t n = 1;
	int overflow = 0;
	for (int i = 0; i < t->n_dims; i++) {
		uint64_t dim;
		if (st_uint(&sh->u.items[i], &dim) || dim > INT64_MAX)
			return st_fail(L, "shape[%d] is '%.*s', expected a non-negative integer", i,
				       (int)(sh->u.items[i].raw_len > 40 ? 40 : sh->u.items[i].raw_len),
				       sh->u.items[i].raw);
		t->shape[i] = (int64_t)dim;
		overflow |= __builtin_mul_overflow(n, dim, &n);
	}
	char shape[256];
	uint64_t bytes;
	if (overflow || __builtin_mul_overflow(n, (uint64_t)st_dtypes[d].size, &bytes))
		return st_fail(L, "shape %s has too many elements",
			       st_shape_str(shape, sizeof shape, t->shape, t->n_dims));
	t->n_elems = n;

	const json_value *off = json_get(v, "data_offsets");
	uint64_t begin, end;
	if (!off)
		return st_fail(L, "missing 'data_offsets'");
	if (off->type != JSON_ARRAY || off->len != 2 || st_uint(&off->u.items[0], &begin) ||
	    st_uint(&off->u.items[1], &end))
		return st_fail(L, "'data_offsets' is '%.*s', expected [begin, end] with non-negative integers",
			       (int)(off->raw_len > 60 ? 60 : off->raw_len), off->raw);
	if (end < begin)
		return st_fail(L, "data_offsets [%" PRIu64 ", %" PRIu64 "] end before begin", begin, end);
	if (end > data_size)
		return st_fail(L, "data_offsets [%" PRIu64 ", %" PRIu64 "] end past the %" PRIu64 " bytes of data",
			       begin, end, data_size);
	if (end - begin != bytes)
		return st_fail(L, "data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64 " bytes, shape %s of %s "
			       "needs %" PRIu64, begin, end, end - begin,
			       st_shape_str(shape, sizeof shape, t->shape, t->n_dims), st_dtypes[d].name, bytes);
	t->data = data + begin;
	t->bytes = (size_t)bytes;
	return BF_OK;
}

static int st_by_offset(const void *a, const void *b)
{
	const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
	if (x->data != y->data)
		return (uintptr_t)x->data < (uintptr_t)y->data ? -1 : 1;
	return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

static int st_by_name(const void *a, const void *b)
{
	return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

/* No byte belongs to two tensors, and no name is used twice. */
static int st_check_layout(st_loader *L, const unsigned char *data)
{
	st_file *f = L->f;
	if (f->n < 2)
		return BF_OK;
	const st_tensor **order = malloc(f->n * sizeof *order);
	if (!order)
		return bf_err_set(L->err, BF_ENOMEM, f->path, 0, 0, "out of memory");
	for (size_t i = 0; i < f->n; i++)
		order[i] = &f->tensors[i];
	int rc = BF_OK;
	qsort(order, f->n, sizeof *order, st_by_name);
	for (size_t i = 1; i < f->n && !rc; i++)
		if (!strcmp(order[i - 1]->name, order[i]->name))
			rc = st_fail(L, "tensor '%.200s' is listed twice", order[i]->name);
	qsort(order, f->n, sizeof *order, st_by_offset);
	const st_tensor *prev = NULL; /* the non-empty tensor reaching furthest so far */
	for (size_t i = 0; i < f->n && !rc; i++) {
		const st_tensor *t = order[i];
		if (!t->bytes)
			continue;
		if (prev && (const unsigned char *)t->data < (const unsigned char *)prev->data + prev->bytes) {
			size_t pb = (size_t)((const unsigned char *)prev->data - data);
			size_t tb = (size_t)((const unsigned char *)t->data - data);
			rc = st_fail(L, "tensors '%.200s' and '%.200s' overlap: data_offsets [%zu, %zu] and [%zu, %zu]",
				     prev->name, t->name, pb, pb + prev->bytes, tb, tb + t->bytes);
		}
		if (!prev || (const unsigned char *)t->data + t->bytes >
				     (const unsigned char *)prev->data + prev->bytes)
			prev = t;
	}
	free(order);
	return rc;
}

/* Parses and checks the header text[0..len) of a file whose data section is
 * data[0..data_size). Fills f->tensors and f->n. */
static int st_parse_header(st_loader *L, const char *text, size_t len, const unsigned char *data,
			   uint64_t data_size)
{
	st_file *f = L->f;
	arena a;
	arena_init(&a, len + 4096);
	json_value *root;
	json_error jerr;
	int rc = BF_OK;
	if (json_parse(text, len, &a, &root, &jerr) < 0) {
		rc = st_fail(L, "header is not valid JSON: byte %zu of the file: %s", jerr.offset + 8, jerr.message);
		goto out;
	}
	if (root->type != JSON_OBJECT) {
		rc = st_fail(L, "header is not a JSON object");
		goto out;
	}
	size_t n = 0, name_bytes = 0;
	for (uint32_t i = 0; i < root->len; i++) {
		const json_member *m = &root->u.members[i];
		if (!strcmp(m->key, "__metadata__"))
			continue;
		if (strlen(m->key) != m->key_len) {
			rc = st_fail(L, "a tensor name holds a NUL character");
			goto out;
		}
		n++;
		name_bytes += m->key_len + 1;
	}
	/* One block: the tensors, then their names. */
	f->tensors = calloc(1, n * sizeof *f->tensors + name_bytes + 1);
	if (!f->tensors) {
		rc = bf_err_set(L->err, BF_ENOMEM, f->path, 0, 0, "out of memory");
		goto out;
	}
	char *p = (char *)(f->tensors + n);
	for (uint32_t i = 0; i < root->len; i++) {
		const json_member *m = &root->u.members[i];
		if (!strcmp(m->key, "__metadata__"))
			continue;
		st_tensor *t = &f->tensors[f->n];
		memcpy(p, m->key, m->key_len + 1);
		t->name = p;
		p += m->key_len + 1;
		L->name = t->name;
		if ((rc = st_check_tensor(L, &m->value, data, data_size, t)))
			goto out;
		f->n++;
	}
	L->name = NULL;
	rc = st_check_layout(L, data);
out:
	L->name = NULL;
	arena_free(&a);
	return rc;
}

/* ---- open / close ------------------------------------------------------- */

int st_open(st_file *f, const char *path, bf_error *err)
{
	memset(f, 0, sizeof *f);
	f->path = strdup(path);
	if (!f->path)
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	st_loader L = {.f = f, .err = err};
	bf_map map;
	int rc = bf_map_file(path, "safetensors file", BF_EMODEL, &map, err);
	if (rc)
		goto fail;
	f->map = map.data;
	f->size = map.size;
	if (f->size < 8) {
		rc = st_fail(&L, "file is %zu bytes, too short for a safetensors file (8-byte header length "
			     "first)", f->size);
		goto fail;
	}

	const unsigned char *b = f->map;
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | b[i];
	if (hlen > f->size - 8) {
		rc = st_fail(&L, "header length %" PRIu64 " is past the end of the %zu-byte file (not a safetensors "
			     "file, or truncated)", hlen, f->size);
		goto fail;
	}
	if (hlen > ST_MAX_HEADER) {
		rc = st_fail(&L, "header length %" PRIu64 " is above the limit of %u bytes", hlen, ST_MAX_HEADER);
		goto fail;
	}
	if (hlen < 2 || b[8] != '{') {
		rc = st_fail(&L, "header does not start with '{' (not a safetensors file)");
		goto fail;
	}
	rc = st_parse_header(&L, (const char *)b + 8, (size_t)hlen, b + 8 + hlen, f->size - 8 - hlen);
	if (rc)
		goto fail;
	return BF_OK;
fail:
	st_close(f);
	return rc;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->tensors[i].name, name))
			return &f->tensors[i];
	return NULL;
}

void st_close(st_file *f)
{
	bf_map map = {f->map, f->size};
	bf_unmap(&map);
	free(f->tensors); /* and the names after them */
	free(f->path);
	memset(f, 0, sizeof *f);
}

/* ---- conversion --------------------------------------------------------- */

/* IEEE 754 binary16 to binary32, exact: subnormals become normal floats,
 * infinities stay infinite, NaNs keep sign and payload. */
static float st_f16(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | mant << 13;
	} else if (exp == 0) {
		float v = (float)mant * 0x1p-24f; /* exact: mant < 2^10 */
		memcpy(&bits, &v, 4);
		bits |= sign;
	} else {
		bits = sign | (exp + 112) << 23 | mant << 13;
	}
	float out;
	memcpy(&out, &bits, 4);
	return out;
}

int st_to_f32(const st_tensor *t, float *out)
{
	const unsigned char *p = t->data;
	switch (t->dtype) {
	case ST_F32:
		if (t->n_elems)
			memcpy(out, p, t->n_elems * 4);
		return 0;
	case ST_F16:
		for (uint64_t i = 0; i < t->n_elems; i++) {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			out[i] = st_f16(h);
		}
		return 0;
	case ST_BF16:
		for (uint64_t i = 0; i < t->n_elems; i++) {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			uint32_t bits = (uint32_t)h << 16;
			memcpy(&out[i], &bits, 4);
		}
		return 0;
	default:
		return -1;
	}
}
