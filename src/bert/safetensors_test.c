/* safetensors_test.c: st_open accepts what the safetensors library writes and
 * refuses, with a precise message, every header that does not match its file
 * (never reading outside the mapping); st_to_f32 widens F16 and BF16 exactly.
 *
 * Files are written by the tests themselves, plus the BERT models in
 * testdata/bert/ (scripts/ref/make_bert_testdata.py; run from the repository
 * root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors.h"

#define BERT "testdata/bert/"

static char tmp_path[64];

static int setup(void **state)
{
	snprintf(tmp_path, sizeof tmp_path, "/tmp/binfer_st_test_XXXXXX");
	int fd = mkstemp(tmp_path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(tmp_path);
	return 0;
}

/* Unlinks first: rewriting a truncated file makes ext4 flush it on close
 * (auto_da_alloc), which slows thousands of rewrites to a crawl. */
static void write_bytes(const char *path, const void *b, size_t n)
{
	unlink(path);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	unsigned char *b = malloc((size_t)size + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*n = (size_t)size;
	return b;
}

/* A safetensors file: header (' for ") after its 8-byte length, then data.
 * Returns malloc'd bytes, *n their count. */
static unsigned char *build(const char *header, const void *data, size_t data_len, size_t *n)
{
	size_t hlen = strlen(header);
	unsigned char *b = malloc(8 + hlen + data_len + 1);
	assert_non_null(b);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	for (size_t i = 0; i < hlen; i++)
		b[8 + i] = header[i] == '\'' ? '"' : (unsigned char)header[i];
	if (data_len)
		memcpy(b + 8 + hlen, data, data_len);
	*n = 8 + hlen + data_len;
	return b;
}

/* Every tensor of an opened file lies inside the data section, holds
 * n_elems * dtype size bytes, and shares no byte with another. */
static void check_bounds(const st_file *f)
{
	const unsigned char *map = f->map;
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | map[i];
	const unsigned char *data = map + 8 + hlen, *end = map + f->size;
	static const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
	for (size_t i = 0; i < f->n; i++) {
		const st_tensor *t = &f->tensors[i];
		const unsigned char *p = t->data;
		assert_true(p >= data && p <= end && t->bytes <= (size_t)(end - p));
		assert_true(t->bytes == t->n_elems * sizes[t->dtype]);
		for (size_t j = 0; j < i; j++) {
			const st_tensor *u = &f->tensors[j];
			const unsigned char *q = u->data;
			if (t->bytes && u->bytes)
				assert_true(p + t->bytes <= q || q + u->bytes <= p);
		}
	}
}

/* Writes the file, opens it and expects rc; returns the message. */
static const char *open_bytes(const unsigned char *b, size_t n, int want_rc, st_file *f, bf_error *err)
{
	write_bytes(tmp_path, b, n);
	memset(err, 0, sizeof *err);
	int rc = st_open(f, tmp_path, err);
	if (rc != want_rc)
		fail_msg("st_open returned %d, expected %d: %s", rc, want_rc, err->message);
	if (rc == BF_OK) {
		check_bounds(f);
	} else {
		assert_string_equal(err->path, tmp_path);
		assert_null(f->map);
		assert_null(f->tensors);
	}
	return err->message;
}

/* ---- a file with every dtype ----------------------------------------------- */

static void test_every_dtype(void **state)
{
	unsigned char data[256];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	float f32[3] = {1.5f, -2.25f, 3e-8f};
	memcpy(data, f32, sizeof f32);
	const char *h = "{'__metadata__':{'format':'pt'},"
			"'f32':{'dtype':'F32','shape':[3],'data_offsets':[0,12]},"
			"'f16':{'dtype':'F16','shape':[2,1],'data_offsets':[12,16]},"
			"'bf16':{'dtype':'BF16','shape':[1,2,1],'data_offsets':[16,20]},"
			"'f64':{'dtype':'F64','shape':[],'data_offsets':[24,32]},"
			"'i64':{'dtype':'I64','shape':[1,2],'data_offsets':[32,48]},"
			"'i32':{'dtype':'I32','shape':[2],'data_offsets':[48,56]},"
			"'i16':{'dtype':'I16','shape':[3],'data_offsets':[56,62]},"
			"'i8':{'dtype':'I8','shape':[2],'data_offsets':[62,64]},"
			"'u8':{'dtype':'U8','shape':[1,1,1,1,1,1,1,4],'data_offsets':[64,68]},"
			"'bool':{'dtype':'BOOL','shape':[2],'data_offsets':[68,70]},"
			"'empty':{'dtype':'F32','shape':[0,3],'data_offsets':[70,70]},"
			"'empty2':{'dtype':'F16','shape':[4,0],'data_offsets':[0,0]},"
			"'':{'dtype':'U8','shape':[1],'data_offsets':[255,256],'extra':'ignored'}}";
	size_t n;
	unsigned char *b = build(h, data, sizeof data, &n);
	st_file f;
	bf_error err;
	open_bytes(b, n, BF_OK, &f, &err);
	assert_int_equal(f.n, 13);
	assert_string_equal(f.path, tmp_path);
	assert_int_equal(f.size, n);
	static const char *names[] = {"f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8",
				      "u8", "bool", "empty", "empty2", ""};
	static const st_dtype types[] = {ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16,
					 ST_I8, ST_U8, ST_BOOL, ST_F32, ST_F16, ST_U8};
	static const uint64_t elems[] = {3, 2, 2, 1, 2, 2, 3, 2, 4, 2, 0, 0, 1};
	static const size_t begins[] = {0, 12, 16, 24, 32, 48, 56, 62, 64, 68, 70, 0, 255};
	const unsigned char *base = b + n - sizeof data;
	for (size_t i = 0; i < 13; i++) {
		const st_tensor *t = &f.tensors[i];
		assert_string_equal(t->name, names[i]); /* file order */
		assert_ptr_equal(st_find(&f, names[i]), t);
		assert_int_equal(t->dtype, types[i]);
		assert_int_equal(t->n_elems, elems[i]);
		if (elems[i])
			assert_memory_equal(t->data, base + begins[i], t->bytes);
	}
	assert_int_equal(f.tensors[3].n_dims, 0);
	assert_int_equal(f.tensors[8].n_dims, 8);
	assert_int_equal(f.tensors[8].shape[7], 4);
	assert_int_equal(f.tensors[10].shape[0], 0);
	assert_int_equal(f.tensors[10].shape[1], 3);
	assert_null(st_find(&f, "__metadata__"));
	assert_null(st_find(&f, "f3"));
	assert_null(st_find(&f, "f32 "));

	float out[3];
	assert_int_equal(st_to_f32(st_find(&f, "f32"), out), 0);
	assert_memory_equal(out, f32, sizeof f32);
	assert_int_equal(st_to_f32(st_find(&f, "empty"), out), 0);
	assert_int_equal(st_to_f32(st_find(&f, "i64"), out), -1);
	assert_int_equal(st_to_f32(st_find(&f, "f64"), out), -1);
	assert_int_equal(st_to_f32(st_find(&f, "u8"), out), -1);
	st_close(&f);
	assert_null(f.map);
	st_close(&f); /* twice is harmless */
	free(b);
}

static void test_dtype_names(void **state)
{
	static const char *want[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
	for (int d = ST_F32; d <= ST_BOOL; d++)
		assert_string_equal(st_dtype_name((st_dtype)d), want[d]);
}

static void test_only_metadata(void **state)
{
	size_t n;
	unsigned char *b = build("{'__metadata__':{'format':'pt','x':'y'}}  ", NULL, 0, &n);
	st_file f;
	bf_error err;
	open_bytes(b, n, BF_OK, &f, &err);
	assert_int_equal(f.n, 0);
	assert_null(st_find(&f, "a"));
	st_close(&f);
	free(b);
	b = build("{}", NULL, 0, &n);
	open_bytes(b, n, BF_OK, &f, &err);
	assert_int_equal(f.n, 0);
	st_close(&f);
	free(b);
}

/* Tensors listed out of data order, with a gap; data need not be aligned. */
static void test_unaligned_and_unordered(void **state)
{
	unsigned char data[21] = {9};
	float v[3] = {0.25f, -1e30f, 7.0f};
	memcpy(data + 1, v, sizeof v);
	data[20] = 42;
	size_t n;
	unsigned char *b = build("{'b':{'dtype':'F32','shape':[3],'data_offsets':[1,13]},"
				 "'c':{'dtype':'U8','shape':[1],'data_offsets':[20,21]},"
				 "'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}",
				 data, sizeof data, &n);
	st_file f;
	bf_error err;
	open_bytes(b, n, BF_OK, &f, &err);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.tensors[0].name, "b");
	float out[3];
	assert_int_equal(st_to_f32(st_find(&f, "b"), out), 0);
	assert_memory_equal(out, v, sizeof v);
	assert_int_equal(*(const unsigned char *)st_find(&f, "c")->data, 42);
	st_close(&f);
	free(b);
}

/* ---- malformed headers ------------------------------------------------------- */

static const struct {
	const char *header;   /* ' for " */
	size_t data;          /* bytes of data after the header */
	const char *message;
} bad_headers[] = {
	{"[]", 0, "header does not start with '{' (not a safetensors file)"},
	{" {}", 0, "header does not start with '{' (not a safetensors file)"},
	{"{'a':", 0, "header is not valid JSON: byte 13 of the file: unexpected end of input, expected a value"},
	{"{} x", 0, "header is not valid JSON: byte 11 of the file: expected end of input after value, found 'x'"},
	{"{'a':1}", 0, "tensor 'a': expected an object with dtype, shape and data_offsets, found a number"},
	{"{'a':[]}", 0, "tensor 'a': expected an object with dtype, shape and data_offsets, found an array"},
	{"{'a':{'shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'a': missing 'dtype'"},
	{"{'a':{'dtype':4,'shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'a': 'dtype' must be a string, found a number"},
	{"{'a':{'dtype':'F8_E4M3','shape':[1],'data_offsets':[0,1]}}", 1,
	 "tensor 'a': unsupported dtype 'F8_E4M3' (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)"},
	{"{'a':{'dtype':'f32','shape':[1],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': unsupported dtype 'f32' (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)"},
	{"{'a':{'dtype':'U64','shape':[1],'data_offsets':[0,8]}}", 8,
	 "tensor 'a': unsupported dtype 'U64' (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)"},
	{"{'a':{'dtype':'F32','data_offsets':[0,4]}}", 4, "tensor 'a': missing 'shape'"},
	{"{'a':{'dtype':'F32','shape':'1','data_offsets':[0,4]}}", 4,
	 "tensor 'a': 'shape' must be an array of non-negative integers, found a string"},
	{"{'a':{'dtype':'F32','shape':[-1],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape[0] is '-1', expected a non-negative integer"},
	{"{'a':{'dtype':'F32','shape':[1,1.0],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape[1] is '1.0', expected a non-negative integer"},
	{"{'a':{'dtype':'F32','shape':[1e0],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape[0] is '1e0', expected a non-negative integer"},
	{"{'a':{'dtype':'F32','shape':[-0],'data_offsets':[0,0]}}", 0,
	 "tensor 'a': shape[0] is '-0', expected a non-negative integer"},
	{"{'a':{'dtype':'F32','shape':['1'],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape[0] is '\"1\"', expected a non-negative integer"},
	{"{'a':{'dtype':'F32','shape':[null],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape[0] is 'null', expected a non-negative integer"},
	{"{'a':{'dtype':'F32','shape':[9223372036854775808],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape[0] is '9223372036854775808', expected a non-negative integer"},
	{"{'a':{'dtype':'F32','shape':[18446744073709551616],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape[0] is '18446744073709551616', expected a non-negative integer"},
	{"{'a':{'dtype':'U8','shape':[1,1,1,1,1,1,1,1,1],'data_offsets':[0,1]}}", 1,
	 "tensor 'a': shape has 9 dimensions, at most 8 are supported"},
	{"{'a':{'dtype':'U8','shape':[4294967296,4294967296],'data_offsets':[0,1]}}", 1,
	 "tensor 'a': shape [4294967296, 4294967296] has too many elements"},
	{"{'a':{'dtype':'F32','shape':[4611686018427387904],'data_offsets':[0,4]}}", 4,
	 "tensor 'a': shape [4611686018427387904] has too many elements"},
	{"{'a':{'dtype':'F32','shape':[9223372036854775807,0],'data_offsets':[0,0]}}", 0, NULL},
	{"{'a':{'dtype':'F32','shape':[1]}}", 4, "tensor 'a': missing 'data_offsets'"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0]}}", 4,
	 "tensor 'a': 'data_offsets' is '[0]', expected [begin, end] with non-negative integers"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}}", 8,
	 "tensor 'a': 'data_offsets' is '[0,4,8]', expected [begin, end] with non-negative integers"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':{'begin':0}}}", 4,
	 "tensor 'a': 'data_offsets' is '{\"begin\":0}', expected [begin, end] with non-negative integers"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[-4,0]}}", 4,
	 "tensor 'a': 'data_offsets' is '[-4,0]', expected [begin, end] with non-negative integers"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4.0]}}", 4,
	 "tensor 'a': 'data_offsets' is '[0,4.0]', expected [begin, end] with non-negative integers"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,18446744073709551616]}}", 4,
	 "tensor 'a': 'data_offsets' is '[0,18446744073709551616]', expected [begin, end] with non-negative "
	 "integers"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[8,4]}}", 8,
	 "tensor 'a': data_offsets [8, 4] end before begin"},
	{"{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 4,
	 "tensor 'a': data_offsets [0, 8] end past the 4 bytes of data"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[1234,1238]}}", 1234,
	 "tensor 'a': data_offsets [1234, 1238] end past the 1234 bytes of data"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[18446744073709551611,18446744073709551615]}}", 4,
	 "tensor 'a': data_offsets [18446744073709551611, 18446744073709551615] end past the 4 bytes of data"},
	{"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,2]}}", 4,
	 "tensor 'a': data_offsets [0, 2] hold 2 bytes, shape [1] of F32 needs 4"},
	{"{'a':{'dtype':'BF16','shape':[2,3],'data_offsets':[0,16]}}", 16,
	 "tensor 'a': data_offsets [0, 16] hold 16 bytes, shape [2, 3] of BF16 needs 12"},
	{"{'a':{'dtype':'F64','shape':[],'data_offsets':[0,0]}}", 8,
	 "tensor 'a': data_offsets [0, 0] hold 0 bytes, shape [] of F64 needs 8"},
	{"{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
	 12, "tensors 'a' and 'b' overlap: data_offsets [0, 8] and [4, 12]"},
	{"{'b':{'dtype':'U8','shape':[2],'data_offsets':[2,4]},'a':{'dtype':'U8','shape':[16],'data_offsets':[0,16]}}",
	 16, "tensors 'a' and 'b' overlap: data_offsets [0, 16] and [2, 4]"},
	{"{'a':{'dtype':'U8','shape':[16],'data_offsets':[0,16]},'b':{'dtype':'U8','shape':[2],'data_offsets':[2,4]},"
	 "'c':{'dtype':'U8','shape':[2],'data_offsets':[8,10]}}",
	 16, "tensors 'a' and 'b' overlap: data_offsets [0, 16] and [2, 4]"},
	{"{'a':{'dtype':'U8','shape':[16],'data_offsets':[0,16]},'b':{'dtype':'U8','shape':[16],'data_offsets':[0,16]}}",
	 16, "tensors 'a' and 'b' overlap: data_offsets [0, 16] and [0, 16]"},
	{"{'a':{'dtype':'U8','shape':[4],'data_offsets':[0,4]},'b':{'dtype':'U8','shape':[0],'data_offsets':[2,2]},"
	 "'c':{'dtype':'U8','shape':[4],'data_offsets':[4,8]}}", 8, NULL},
	{"{'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]},'a':{'dtype':'U8','shape':[1],'data_offsets':[1,2]}}",
	 2, "tensor 'a' is listed twice"},
	{"{'a\\u0000b':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}", 1, "a tensor name holds a NUL character"},
	{"{'__metadata__':{'format':'pt'},'x':{'dtype':'I64','shape':[1],'data_offsets':[0,8]},'y':{}}", 8,
	 "tensor 'y': missing 'dtype'"},
};

static void test_bad_headers(void **state)
{
	for (size_t i = 0; i < sizeof bad_headers / sizeof *bad_headers; i++) {
		unsigned char *data = calloc(bad_headers[i].data + 1, 1);
		size_t n;
		unsigned char *b = build(bad_headers[i].header, data, bad_headers[i].data, &n);
		st_file f;
		bf_error err;
		const char *want = bad_headers[i].message;
		const char *msg = open_bytes(b, n, want ? BF_EMODEL : BF_OK, &f, &err);
		if (want && strcmp(msg, want))
			fail_msg("header %s:\n  got  %s\n  want %s", bad_headers[i].header, msg, want);
		if (!want)
			st_close(&f);
		free(b);
		free(data);
	}
}

/* The whole message as a user reads it: "path: tensor ...". */
static void test_message_format(void **state)
{
	unsigned char data[1234] = {0};
	size_t n;
	unsigned char *b = build("{'x':{'dtype':'F32','shape':[2],'data_offsets':[1230,1238]}}", data, sizeof data, &n);
	write_bytes(tmp_path, b, n);
	st_file f;
	bf_error err;
	assert_int_equal(st_open(&f, tmp_path, &err), BF_EMODEL);
	assert_int_equal(err.code, BF_EMODEL);
	char buf[2048], want[2048];
	bf_err_format(&err, buf, sizeof buf);
	snprintf(want, sizeof want, "%s: tensor 'x': data_offsets [1230, 1238] end past the 1234 bytes of data",
		 tmp_path);
	assert_string_equal(buf, want);
	free(b);
}

/* ---- the 8-byte header length, the file itself ------------------------------ */

static void test_header_length(void **state)
{
	st_file f;
	bf_error err;
	unsigned char b[64] = {0};
	const char *msg = open_bytes(b, 0, BF_EMODEL, &f, &err);
	assert_string_equal(msg, "file is 0 bytes, too short for a safetensors file (8-byte header length first)");
	msg = open_bytes(b, 7, BF_EMODEL, &f, &err);
	assert_string_equal(msg, "file is 7 bytes, too short for a safetensors file (8-byte header length first)");
	msg = open_bytes(b, 8, BF_EMODEL, &f, &err); /* length 0 */
	assert_string_equal(msg, "header does not start with '{' (not a safetensors file)");
	b[0] = 2;
	msg = open_bytes(b, 9, BF_EMODEL, &f, &err);
	assert_string_equal(msg, "header length 2 is past the end of the 9-byte file (not a safetensors file, or "
			    "truncated)");
	memset(b, 0xff, 8);
	msg = open_bytes(b, 20, BF_EMODEL, &f, &err);
	assert_string_equal(msg, "header length 18446744073709551615 is past the end of the 20-byte file (not a "
			    "safetensors file, or truncated)");
	/* text that is not a safetensors file: "{\"a\": 1}\n" read as a length */
	msg = open_bytes((const unsigned char *)"{\"a\": 1}\n", 9, BF_EMODEL, &f, &err);
	assert_string_equal(msg, "header length 9021026962656797307 is past the end of the 9-byte file (not a "
			    "safetensors file, or truncated)");
	/* a header length of 64 in a file of 8 + 64 bytes: ok when the header is */
	memset(b, ' ', sizeof b);
	memset(b, 0, 8);
	b[0] = 56;
	b[8] = '{';
	b[9] = '}';
	open_bytes(b, 64, BF_OK, &f, &err);
	assert_int_equal(f.n, 0);
	st_close(&f);
}

/* A header above the library's 100 MB limit, in a sparse file. */
static void test_header_too_large(void **state)
{
	uint64_t hlen = 100000001;
	unsigned char b[16] = {0};
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(hlen >> (8 * i));
	b[8] = '{';
	write_bytes(tmp_path, b, 9);
	assert_int_equal(truncate(tmp_path, (off_t)(8 + hlen)), 0);
	st_file f;
	bf_error err;
	assert_int_equal(st_open(&f, tmp_path, &err), BF_EMODEL);
	assert_string_equal(err.message, "header length 100000001 is above the limit of 100000000 bytes");
	assert_int_equal(truncate(tmp_path, 0), 0);
}

static void test_not_a_file(void **state)
{
	st_file f;
	bf_error err;
	assert_int_equal(st_open(&f, "/tmp/binfer_st_test_no_such_file", &err), BF_EMODEL);
	assert_string_equal(err.message, "cannot open safetensors file: No such file or directory");
	assert_string_equal(err.path, "/tmp/binfer_st_test_no_such_file");
	assert_int_equal(st_open(&f, "/tmp", &err), BF_EMODEL);
	assert_string_equal(err.message, "cannot open safetensors file: it is a folder, expected a regular file");
	assert_null(f.path);
	/* a FIFO is refused at once, not read (opening it would wait for a writer) */
	char fifo[] = "/tmp/binfer_st_test_fifo_XXXXXX";
	int fd = mkstemp(fifo);
	assert_true(fd >= 0);
	close(fd);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(st_open(&f, fifo, &err), BF_EMODEL);
	assert_string_equal(err.message, "cannot open safetensors file: it is a FIFO, expected a regular file");
	unlink(fifo);
}

/* ---- truncation and corruption ----------------------------------------------- */

static unsigned char *small_valid(size_t *n)
{
	unsigned char data[40];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i + 1);
	return build("{'__metadata__':{'format':'pt'},'w':{'dtype':'F32','shape':[2,3],'data_offsets':[0,24]},"
		     "'h':{'dtype':'F16','shape':[4],'data_offsets':[24,32]},"
		     "'i':{'dtype':'I64','shape':[1],'data_offsets':[32,40]}}    ",
		     data, sizeof data, n);
}

/* Every prefix of a valid file is refused. */
static void test_truncated_everywhere(void **state)
{
	size_t n;
	unsigned char *b = small_valid(&n);
	st_file f;
	bf_error err;
	open_bytes(b, n, BF_OK, &f, &err);
	st_close(&f);
	for (size_t cut = 0; cut < n; cut++)
		open_bytes(b, cut, BF_EMODEL, &f, &err);
	free(b);
}

/* Random byte changes in the header: refused or accepted, never a tensor
 * outside the data (check_bounds). */
static void test_corrupted_headers(void **state)
{
	size_t n;
	unsigned char *b = small_valid(&n);
	unsigned char *c = malloc(n);
	assert_non_null(c);
	uint64_t hlen = b[0];
	static const char alphabet[] = "0123456789[]{},:\"-.e \\aF1";
	srand(11);
	size_t ok = 0;
	for (int iter = 0; iter < 4000; iter++) {
		memcpy(c, b, n);
		int k = 1 + rand() % 4;
		for (int j = 0; j < k; j++) {
			size_t at = 8 + (size_t)rand() % hlen;
			c[at] = rand() % 4 ? (unsigned char)alphabet[rand() % (sizeof alphabet - 1)]
					   : (unsigned char)rand();
		}
		write_bytes(tmp_path, c, n);
		st_file f;
		bf_error err;
		int rc = st_open(&f, tmp_path, &err);
		assert_true(rc == BF_OK || rc == BF_EMODEL);
		if (rc == BF_OK) {
			check_bounds(&f);
			ok++;
			st_close(&f);
		}
	}
	assert_true(ok > 0); /* some changes only touch digits of the data */
	free(c);
	free(b);
}

/* ---- F16 / BF16 ----------------------------------------------------------------- */

static double f16_value(uint16_t h)
{
	int e = (h >> 10) & 31, m = h & 1023;
	double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
	return h >> 15 ? -v : v;
}

static double bf16_value(uint16_t h)
{
	int e = (h >> 7) & 255, m = h & 127;
	double v = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134);
	return h >> 15 ? -v : v;
}

static void check_exhaustive(st_dtype dtype, double (*value)(uint16_t))
{
	uint16_t *in = malloc(65536 * sizeof *in);
	float *out = malloc(65536 * sizeof *out);
	assert_true(in && out);
	for (uint32_t i = 0; i < 65536; i++)
		in[i] = (uint16_t)i;
	st_tensor t = {.name = "t", .dtype = dtype, .n_dims = 1, .shape = {65536}, .n_elems = 65536,
		       .data = in, .bytes = 65536 * 2};
	assert_int_equal(st_to_f32(&t, out), 0);
	for (uint32_t i = 0; i < 65536; i++) {
		double want = value((uint16_t)i);
		if (isnan(want)) {
			if (!isnan(out[i]) || !signbit(out[i]) != !(i >> 15))
				fail_msg("%s 0x%04x: %g, expected a NaN", st_dtype_name(dtype), i, out[i]);
		} else if ((double)out[i] != want || !signbit(out[i]) != !signbit(want)) {
			fail_msg("%s 0x%04x: %.9g, expected %.9g", st_dtype_name(dtype), i, out[i], want);
		}
	}
	free(in);
	free(out);
}

static void test_f16_exhaustive(void **state) { check_exhaustive(ST_F16, f16_value); }
static void test_bf16_exhaustive(void **state) { check_exhaustive(ST_BF16, bf16_value); }

static void test_special_values(void **state)
{
	static const uint16_t h[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xc000,
				     0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7c01, 0x3555};
	static const float want16[] = {0.0f, -0.0f, 0x1p-24f, -0x1p-24f, 0x3ffp-24f, 0x1p-14f, 1.0f, -2.0f,
				       65504.0f, -65504.0f, INFINITY, -INFINITY, NAN, -NAN, NAN, 0x1.554p-2f};
	static const uint16_t hb[] = {0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x3f80, 0xc000, 0x7f7f,
				      0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x4049, 0x3eaa};
	static const float wantb[] = {0.0f, -0.0f, 0x1p-133f, 0x7fp-133f, 0x1p-126f, 1.0f, -2.0f,
				      0x1.fep127f, INFINITY, -INFINITY, NAN, -NAN, 3.140625f, 0.33203125f};
	float out[16];
	st_tensor t = {.dtype = ST_F16, .n_dims = 1, .shape = {16}, .n_elems = 16, .data = h, .bytes = 32};
	assert_int_equal(st_to_f32(&t, out), 0);
	for (int i = 0; i < 16; i++) {
		if (isnan(want16[i]))
			assert_true(isnan(out[i]) && !signbit(out[i]) == !signbit(want16[i]));
		else
			assert_true(out[i] == want16[i] && !signbit(out[i]) == !signbit(want16[i]));
	}
	uint32_t bits;
	memcpy(&bits, &out[14], 4);
	assert_int_equal(bits, 0x7f802000); /* the NaN payload is kept */
	t = (st_tensor){.dtype = ST_BF16, .n_dims = 1, .shape = {14}, .n_elems = 14, .data = hb, .bytes = 28};
	assert_int_equal(st_to_f32(&t, out), 0);
	for (int i = 0; i < 14; i++) {
		if (isnan(wantb[i]))
			assert_true(isnan(out[i]) && !signbit(out[i]) == !signbit(wantb[i]));
		else
			assert_true(out[i] == wantb[i] && !signbit(out[i]) == !signbit(wantb[i]));
	}
	memcpy(&bits, &out[11], 4);
	assert_int_equal(bits, 0xffc10000);
}

/* ---- the BERT test models (testdata/bert) ---------------------------------------- */

static size_t count_lines(const char *path)
{
	size_t n, lines = 0;
	unsigned char *b = read_bytes(path, &n);
	for (size_t i = 0; i < n; i++)
		lines += b[i] == '\n';
	free(b);
	return lines;
}

static const struct {
	const char *dir;
	st_dtype dtype;
	const char *prefix;
	int labels;
	int position_ids;
} bert_models[] = {
	{"mini-embed", ST_F32, "", 0, 1},
	{"mini-embed-cls", ST_F32, "", 0, 0},
	{"mini-embed-max", ST_F32, "", 0, 0},
	{"mini-embed-f16", ST_F16, "", 0, 0},
	{"mini-embed-bf16", ST_BF16, "", 0, 0},
	{"mini-embed-prefixed", ST_F32, "bert.", 0, 0},
	{"mini-cls", ST_F32, "bert.", 3, 0},
	{"mini-cls-multilabel", ST_F32, "bert.", 4, 0},
};

/* Every tensor transformers' BertModel saves, with its shape (hidden 32,
 * 2 layers, intermediate 64, 64 positions). */
static void check_bert_tensors(const st_file *f, const char *prefix, st_dtype dtype, int64_t vocab)
{
	static const struct {
		const char *name;
		int64_t d0, d1; /* d1 0: one dimension */
	} base[] = {
		{"embeddings.word_embeddings.weight", -1, 32}, {"embeddings.position_embeddings.weight", 64, 32},
		{"embeddings.token_type_embeddings.weight", 2, 32}, {"embeddings.LayerNorm.weight", 32, 0},
		{"embeddings.LayerNorm.bias", 32, 0}, {"pooler.dense.weight", 32, 32}, {"pooler.dense.bias", 32, 0},
	}, layer[] = {
		{"attention.self.query.weight", 32, 32}, {"attention.self.query.bias", 32, 0},
		{"attention.self.key.weight", 32, 32}, {"attention.self.key.bias", 32, 0},
		{"attention.self.value.weight", 32, 32}, {"attention.self.value.bias", 32, 0},
		{"attention.output.dense.weight", 32, 32}, {"attention.output.dense.bias", 32, 0},
		{"attention.output.LayerNorm.weight", 32, 0}, {"attention.output.LayerNorm.bias", 32, 0},
		{"intermediate.dense.weight", 64, 32}, {"intermediate.dense.bias", 64, 0},
		{"output.dense.weight", 32, 64}, {"output.dense.bias", 32, 0},
		{"output.LayerNorm.weight", 32, 0}, {"output.LayerNorm.bias", 32, 0},
	};
	char name[128];
	for (int l = -1; l < 2; l++) {
		size_t n = l < 0 ? sizeof base / sizeof *base : sizeof layer / sizeof *layer;
		for (size_t i = 0; i < n; i++) {
			const char *s = l < 0 ? base[i].name : layer[i].name;
			int64_t d0 = l < 0 ? base[i].d0 : layer[i].d0, d1 = l < 0 ? base[i].d1 : layer[i].d1;
			if (l < 0)
				snprintf(name, sizeof name, "%s%s", prefix, s);
			else
				snprintf(name, sizeof name, "%sencoder.layer.%d.%s", prefix, l, s);
			const st_tensor *t = st_find(f, name);
			if (!t)
				fail_msg("%s: no tensor '%s'", f->path, name);
			assert_int_equal(t->dtype, dtype);
			assert_int_equal(t->n_dims, d1 ? 2 : 1);
			assert_int_equal(t->shape[0], d0 < 0 ? vocab : d0);
			if (d1)
				assert_int_equal(t->shape[1], d1);
		}
	}
	snprintf(name, sizeof name, "%sencoder.layer.2.output.dense.weight", prefix);
	assert_null(st_find(f, name));
}

static void test_bert_models(void **state)
{
	int64_t vocab = (int64_t)count_lines(BERT "mini-embed/vocab.txt");
	char path[256];
	for (size_t m = 0; m < sizeof bert_models / sizeof *bert_models; m++) {
		snprintf(path, sizeof path, BERT "%s/model.safetensors", bert_models[m].dir);
		st_file f;
		bf_error err;
		if (st_open(&f, path, &err))
			fail_msg("%s: %s", path, err.message);
		check_bounds(&f);
		check_bert_tensors(&f, bert_models[m].prefix, bert_models[m].dtype, vocab);
		size_t want = 7 + 2 * 16 + (bert_models[m].labels ? 2 : 0) + (size_t)bert_models[m].position_ids;
		assert_int_equal(f.n, want);
		if (bert_models[m].labels) {
			const st_tensor *w = st_find(&f, "classifier.weight"), *b = st_find(&f, "classifier.bias");
			assert_true(w && b);
			assert_int_equal(w->shape[0], bert_models[m].labels); /* (out, in) */
			assert_int_equal(w->shape[1], 32);
			assert_int_equal(b->shape[0], bert_models[m].labels);
		}
		if (bert_models[m].position_ids) {
			const st_tensor *p = st_find(&f, "embeddings.position_ids");
			assert_non_null(p);
			assert_int_equal(p->dtype, ST_I64);
			int64_t last;
			memcpy(&last, (const char *)p->data + p->bytes - 8, 8);
			assert_int_equal(last, 63);
		}
		/* the file is exactly header + tensors, as the safetensors library writes it */
		size_t total = 0;
		for (size_t i = 0; i < f.n; i++)
			total += f.tensors[i].bytes;
		const unsigned char *map = f.map;
		uint64_t hlen = 0;
		for (int i = 7; i >= 0; i--)
			hlen = hlen << 8 | map[i];
		assert_int_equal(hlen % 8, 0);
		assert_int_equal(8 + hlen + total, f.size);
		st_close(&f);
	}
}

/* The F16 / BF16 variants hold mini-embed's weights rounded to nearest
 * (BF16 checked bit for bit, F16 to half an ulp); the prefixed one the
 * same bytes under "bert." names. */
static void test_bert_variants(void **state)
{
	st_file a, h, b, p;
	bf_error err;
	assert_int_equal(st_open(&a, BERT "mini-embed/model.safetensors", &err), BF_OK);
	assert_int_equal(st_open(&h, BERT "mini-embed-f16/model.safetensors", &err), BF_OK);
	assert_int_equal(st_open(&b, BERT "mini-embed-bf16/model.safetensors", &err), BF_OK);
	assert_int_equal(st_open(&p, BERT "mini-embed-prefixed/model.safetensors", &err), BF_OK);
	size_t checked = 0;
	for (size_t i = 0; i < a.n; i++) {
		const st_tensor *t = &a.tensors[i];
		if (t->dtype != ST_F32)
			continue;
		const st_tensor *th = st_find(&h, t->name), *tb = st_find(&b, t->name);
		char name[160];
		snprintf(name, sizeof name, "bert.%s", t->name);
		const st_tensor *tp = st_find(&p, name);
		assert_true(th && tb && tp);
		assert_int_equal(th->n_elems, t->n_elems);
		assert_int_equal(tb->n_elems, t->n_elems);
		assert_int_equal(tp->bytes, t->bytes);
		assert_memory_equal(tp->data, t->data, t->bytes);
		float *x = malloc(t->n_elems * sizeof *x), *y = malloc(t->n_elems * sizeof *y),
		      *z = malloc(t->n_elems * sizeof *z);
		assert_true(x && y && z);
		assert_int_equal(st_to_f32(t, x), 0);
		assert_int_equal(st_to_f32(th, y), 0);
		assert_int_equal(st_to_f32(tb, z), 0);
		for (uint64_t k = 0; k < t->n_elems; k++) {
			uint32_t u;
			memcpy(&u, &x[k], 4);
			uint32_t r = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
			float want;
			memcpy(&want, &r, 4);
			if (z[k] != want)
				fail_msg("%s[%llu]: bf16 %.9g, expected %.9g", t->name, (unsigned long long)k, z[k], want);
			double tol = fabs(x[k]) < 0x1p-14 ? 0x1p-25 : fabs(x[k]) * 0x1p-11;
			if (fabs((double)y[k] - x[k]) > tol)
				fail_msg("%s[%llu]: f16 %.9g for %.9g", t->name, (unsigned long long)k, y[k], x[k]);
		}
		free(x);
		free(y);
		free(z);
		checked++;
	}
	assert_int_equal(checked, 39);
	st_close(&a);
	st_close(&h);
	st_close(&b);
	st_close(&p);
}

/* Cuts of a real model: every byte of the header and its length, and
 * cut points spread over the data. */
static void test_bert_truncated(void **state)
{
	size_t n;
	unsigned char *b = read_bytes(BERT "mini-cls/model.safetensors", &n);
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | b[i];
	assert_true(8 + hlen < n);
	st_file f;
	bf_error err;
	size_t cuts = 0;
	for (size_t cut = 0; cut < n; cut += cut < 8 + hlen + 64 ? 1 : 997) {
		open_bytes(b, cut, BF_EMODEL, &f, &err);
		cuts++;
	}
	open_bytes(b, n - 1, BF_EMODEL, &f, &err);
	assert_non_null(strstr(err.message, "end past the"));
	assert_true(cuts > 1000);
	open_bytes(b, n, BF_OK, &f, &err);
	st_close(&f);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_dtype),
		cmocka_unit_test(test_dtype_names),
		cmocka_unit_test(test_only_metadata),
		cmocka_unit_test(test_unaligned_and_unordered),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_message_format),
		cmocka_unit_test(test_header_length),
		cmocka_unit_test(test_header_too_large),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_corrupted_headers),
		cmocka_unit_test(test_f16_exhaustive),
		cmocka_unit_test(test_bf16_exhaustive),
		cmocka_unit_test(test_special_values),
		cmocka_unit_test(test_bert_models),
		cmocka_unit_test(test_bert_variants),
		cmocka_unit_test(test_bert_truncated),
	};
	return cmocka_run_group_tests_name("safetensors", tests, setup, teardown);
}
