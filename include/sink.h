/* sink.h: an output file written atomically, and the zstd frames the
 * compute threads compress for it.
 *
 * Bytes go to a temporary file beside the final path ("<dir>/.<name>.tmp-XXXXXX")
 * that sink_commit() renames into place; sink_abort() (and a crash-time
 * cleanup through sink_cleanup_all()) removes it, so a failed run never
 * leaves a half-written file under the final name. "-" writes to stdout
 * (nothing to rename; a failure there is still reported).
 *
 * Compressed output is written as whole zstd frames that the compute
 * threads made (sink_frame), one after another: concatenated frames are
 * one valid zstd stream. The sink itself only writes bytes. */
#ifndef BF_SINK_H
#define BF_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "error.h"
#include "tbuf.h"

typedef struct sink sink;

/* Returns BF_OK or BF_EOUTPUT. */
int sink_open(const char *path, sink **out, bf_error *err);
int sink_write(sink *s, const void *data, size_t len, bf_error *err);
/* Flushes, fsyncs and renames into place; frees s. */
int sink_commit(sink *s, bf_error *err);
/* Removes the temporary file; frees s. NULL ok. */
void sink_abort(sink *s);
/* Bytes written so far (buffered ones included). */
uint64_t sink_bytes(const sink *s);
/* Async-signal-safe: unlinks every temporary file still open. */
void sink_cleanup_all(void);

/* A compression context for frames at level (1..19), with checksums;
 * NULL when out of memory. Free with ZSTD_freeCCtx. */
ZSTD_CCtx *sink_frame_context(int level);
/* Compresses parts[0..n) (in order) into one zstd frame in out (out->len
 * set); nothing when they are all empty. Returns 0, or -1 on failure. */
int sink_frame(ZSTD_CCtx *cctx, const tbuf *parts, size_t n, tbuf *out);

#endif
