/* source.h: the input byte stream: a file or stdin, zstd-decompressed on
 * the fly when the data starts with a zstd frame (whatever the name says). */
#ifndef BF_SOURCE_H
#define BF_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct source source;

/* Opens path ("-" = stdin). Returns BF_OK or BF_EINPUT with err filled. */
int source_open(const char *path, source **out, bf_error *err);
/* Reads up to cap decompressed bytes into buf; *got = 0 means end of input.
 * Returns BF_OK or BF_EINPUT (read error, corrupt or truncated zstd). */
int source_read(source *s, char *buf, size_t cap, size_t *got, bf_error *err);
/* Bytes taken from the file so far (compressed bytes for zstd). */
uint64_t source_bytes_in(const source *s);
/* Decompressed bytes handed out so far. */
uint64_t source_bytes_out(const source *s);
/* Size of the file in bytes, or -1 when unknown (a pipe). */
int64_t source_size(const source *s);
int source_is_zstd(const source *s);
void source_close(source *s);

#endif
