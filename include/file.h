/* file.h: whole files: models' JSON, vocabularies and configs read into
 * memory, weights mapped. */
#ifndef BF_FILE_H
#define BF_FILE_H

#include <stddef.h>

#include "error.h"

/* Reads the whole file at path into a malloc'd buffer with a NUL after its
 * len bytes. NULL on failure, errno set (ENOMEM, EIO or open's error). */
char *bf_read_file(const char *path, size_t *len);

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
