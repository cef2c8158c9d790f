/* sink.h: one output file, and the zstd frames the compute threads
 * compress for it.
 *
 * A regular file (or one to be created) is written to a temporary file
 * beside its final name (".<name>.tmp-XXXXXX"; symlinks are followed to the
 * file they name, which stays a link's target), finished (flushed, fsynced)
 * and then published by renaming it over the final name: a failed run never
 * leaves a half-written file there. Standard output ("-"), a character
 * device, a FIFO, a socket and /dev/fd/N or /dev/stdout are streams: written
 * in place as the bytes come, never replaced. outputs.h publishes a run's
 * sinks together.
 *
 * Compressed output is written as whole zstd frames that the compute
 * threads made (sink_frame), one after another: concatenated frames are
 * one valid zstd stream. The sink itself only writes bytes. */
#ifndef BF_SINK_H
#define BF_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zstd.h>

#include "error.h"
#include "tbuf.h"

typedef struct sink sink;

typedef enum sink_kind {
	SINK_FILE,    /* written beside the final file, renamed over it when published */
	SINK_STREAM,  /* written in place */
} sink_kind;

/* How path is written, and for a SINK_FILE the final file it names
 * (symlinks followed) into target (size bytes). BF_EOUTPUT when path is a
 * folder or names a file in a folder that does not exist. */
int sink_resolve(const char *path, sink_kind *kind, char *target, size_t size, bf_error *err);

/* Opens path for writing: a SINK_FILE's temporary file is created with
 * permission bits mode (before the umask). Returns BF_OK or BF_EOUTPUT. */
int sink_open(const char *path, mode_t mode, sink **out, bf_error *err);
/* Writes data. BF_EOUTPUT, or BF_EPIPE when a stream's reader went away. */
int sink_write(sink *s, const void *data, size_t len, bf_error *err);
/* Flushes and fsyncs; a SINK_FILE's temporary file is then complete and
 * closed, ready to be published. */
int sink_finish(sink *s, bf_error *err);
/* Renames a finished SINK_FILE's temporary file over its final file
 * (nothing to do for a stream); frees s. */
int sink_publish(sink *s, bf_error *err);
/* Removes the temporary file; frees s. NULL ok. */
void sink_abort(sink *s);
/* Bytes written so far (buffered ones included). */
uint64_t sink_bytes(const sink *s);
sink_kind sink_kind_of(const sink *s);
const char *sink_target(const sink *s);  /* the final file ("<stdout>" for "-") */
const char *sink_temp(const sink *s);    /* the temporary file; "" for a stream */
/* Async-signal-safe: unlinks every temporary file still open. */
void sink_cleanup_all(void);

/* A compression context for frames at level (1..19), with checksums; NULL
 * when out of memory. Free with ZSTD_freeCCtx. */
ZSTD_CCtx *sink_frame_context(int level);
/* Compresses bytes [from, to) of the concatenation of parts[0..n) into one
 * zstd frame in out (out->len set); nothing when the range is empty. The
 * context's memory follows the frame's size. Returns 0, or -1 on failure. */
int sink_frame(ZSTD_CCtx *cctx, const tbuf *parts, size_t n, size_t from, size_t to, tbuf *out);

#endif
