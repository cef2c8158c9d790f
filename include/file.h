/* file.h: whole files: models' JSON, vocabularies and configs read into
 * memory, weights mapped. */
#ifndef BF_FILE_H
#define BF_FILE_H

#include <stddef.h>

#include "error.h"

/* Reads the whole file at path into a malloc'd buffer with a NUL after its
 * len bytes. NULL on failure, errno set (ENOMEM, EIO or open's error). For
 * tests and tools; what binfer reads from users goes through bf_read_whole. */
char *bf_read_file(const char *path, size_t *len);

/* Reads the regular file at path, at most max bytes, into a malloc'd buffer
 * (*out) with a NUL after its *len bytes. A folder, FIFO, device, or a file
 * over max bytes is refused without reading from it. On failure returns
 * code with err saying "cannot read <what>: ..." (BF_ENOMEM when out of
 * memory); an absent file is such a failure too, unless absent_ok: then
 * BF_OK with *out NULL. */
int bf_read_whole(const char *path, const char *what, size_t max, int absent_ok, int code, char **out, size_t *len,
		  bf_error *err);

/* A regular file mapped read-only. */
typedef struct bf_map {
	void *data;            /* NULL for an empty file */
	size_t size;
} bf_map;

/* Maps the regular file at path. Anything else (a folder, a FIFO, a
 * device) is refused without reading from it. On failure returns code with
 * err saying "cannot open <what>: ..." (or BF_ENOMEM); *m is zeroed. */
int bf_map_file(const char *path, const char *what, int code, bf_map *m, bf_error *err);
void bf_unmap(bf_map *m);

#endif
