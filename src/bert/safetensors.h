/* safetensors.h: read-only access to a .safetensors file, mmapped.
 *
 * Format: 8 bytes little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {...}}, then the data. st_open() checks every tensor's
 * dtype, shape and offsets against the file before anything is read: a
 * header that does not match the file is an error, never an out-of-bounds
 * read. */
#ifndef BF_SAFETENSORS_H
#define BF_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum st_dtype {
	ST_F32,
	ST_F16,
	ST_BF16,
	ST_F64,
	ST_I64,
	ST_I32,
	ST_I16,
	ST_I8,
	ST_U8,
	ST_BOOL,
} st_dtype;

#define ST_MAX_DIMS 8

typedef struct st_tensor {
	char *name;
	st_dtype dtype;
	int n_dims;
	int64_t shape[ST_MAX_DIMS];
	uint64_t n_elems;
	const void *data;      /* into the mapping; valid until st_close */
	size_t bytes;
} st_tensor;

typedef struct st_file {
	void *map;
	size_t size;
	st_tensor *tensors;    /* (n) in file order */
	size_t n;
	char *path;
} st_file;

/* Maps path and validates its header. Returns BF_OK or BF_EMODEL. */
int st_open(st_file *f, const char *path, bf_error *err);
/* The tensor named name, or NULL. */
const st_tensor *st_find(const st_file *f, const char *name);
/* Converts t (F32, F16 or BF16) to n_elems floats in out. Returns 0, or -1
 * for another dtype. */
int st_to_f32(const st_tensor *t, float *out);
const char *st_dtype_name(st_dtype d);
void st_close(st_file *f);

#endif
