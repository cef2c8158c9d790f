/* sink.h: an output file written atomically, optionally zstd-compressed.
 *
 * Bytes go to a temporary file beside the final path ("<dir>/.<name>.tmp-XXXXXX")
 * that sink_commit() renames into place; sink_abort() (and a crash-time
 * cleanup through sink_cleanup_all()) removes it, so a failed run never
 * leaves a half-written file under the final name. "-" writes to stdout
 * (nothing to rename; a failure there is still reported). */
#ifndef BF_SINK_H
#define BF_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct sink sink;

/* zstd_level 0 = no compression. Returns BF_OK or BF_EOUTPUT. */
int sink_open(const char *path, int zstd_level, sink **out, bf_error *err);
int sink_write(sink *s, const void *data, size_t len, bf_error *err);
/* Flushes, fsyncs and renames into place; frees s. */
int sink_commit(sink *s, bf_error *err);
/* Removes the temporary file; frees s. NULL ok. */
void sink_abort(sink *s);
uint64_t sink_bytes_in(const sink *s);   /* bytes given to sink_write */
uint64_t sink_bytes_out(const sink *s);  /* bytes written to the file */
/* Async-signal-safe: unlinks every temporary file still open. */
void sink_cleanup_all(void);

#endif
