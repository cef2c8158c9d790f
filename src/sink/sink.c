/* sink.c: atomic output files and the zstd frames written to them; see sink.h. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define SINK_BUF (1 << 18)
#define SINK_MAX_OPEN 16

struct sink {
	int fd;
	int is_stdout;
	char *path;              /* final name */
	char tmp[PATH_MAX];      /* temporary name, "" for stdout */
	int slot;                /* index in open_tmp, -1 for stdout */
	char *buf;               /* bytes waiting for write() */
	size_t buf_len;
	uint64_t bytes_out;
};

/* Temporary names to remove if the process is interrupted. */
static char open_tmp[SINK_MAX_OPEN][PATH_MAX];
static volatile int open_used[SINK_MAX_OPEN];

static int write_all(sink *s, const char *p, size_t len, bf_error *err)
{
	while (len) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bf_err_set(err, BF_EOUTPUT, s->path, 0, 0, "cannot write output: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
		s->bytes_out += (uint64_t)n;
	}
	return BF_OK;
}

static int flush_buf(sink *s, bf_error *err)
{
	int rc = write_all(s, s->buf, s->buf_len, err);
	s->buf_len = 0;
	return rc;
}

int sink_open(const char *path, sink **out, bf_error *err)
{
	*out = NULL;
	sink *s = calloc(1, sizeof *s);
	if (!s || !(s->buf = malloc(SINK_BUF)) || !(s->path = strdup(strcmp(path, "-") ? path : "<stdout>"))) {
		if (s)
			free(s->buf);
		free(s);
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	}
	s->slot = -1;
	if (strcmp(path, "-") == 0) {
		s->is_stdout = 1;
		s->fd = STDOUT_FILENO;
	} else {
		const char *slash = strrchr(path, '/');
		int dirlen = slash ? (int)(slash - path + 1) : 0;
		snprintf(s->tmp, sizeof s->tmp, "%.*s.%s.tmp-XXXXXX", dirlen, path, slash ? slash + 1 : path);
		s->fd = mkstemp(s->tmp);
		if (s->fd < 0) {
			int e = errno;
			free(s->buf);
			free(s->path);
			free(s);
			return bf_err_set(err, BF_EOUTPUT, path, 0, 0, "cannot create output file: %s", strerror(e));
		}
		mode_t mask = umask(022);
		umask(mask);
		fchmod(s->fd, 0666 & ~mask);
		for (int i = 0; i < SINK_MAX_OPEN; i++)
			if (!open_used[i]) {
				memcpy(open_tmp[i], s->tmp, sizeof s->tmp);
				open_used[i] = 1;
				s->slot = i;
				break;
			}
	}
	*out = s;
	return BF_OK;
}

int sink_write(sink *s, const void *data, size_t len, bf_error *err)
{
	if (s->buf_len + len > SINK_BUF) {
		int rc = flush_buf(s, err);
		if (rc)
			return rc;
		if (len > SINK_BUF)
			return write_all(s, data, len, err);
	}
	memcpy(s->buf + s->buf_len, data, len);
	s->buf_len += len;
	return BF_OK;
}

static void release(sink *s)
{
	if (s->slot >= 0)
		open_used[s->slot] = 0;
	free(s->buf);
	free(s->path);
	free(s);
}

int sink_commit(sink *s, bf_error *err)
{
	int rc = flush_buf(s, err);
	if (s->is_stdout) {
		release(s);
		return rc;
	}
	if (!rc && fsync(s->fd) < 0 && errno != EINVAL)
		rc = bf_err_set(err, BF_EOUTPUT, s->path, 0, 0, "cannot write output: %s", strerror(errno));
	if (close(s->fd) < 0 && !rc)
		rc = bf_err_set(err, BF_EOUTPUT, s->path, 0, 0, "cannot write output: %s", strerror(errno));
	if (!rc && rename(s->tmp, s->path) < 0)
		rc = bf_err_set(err, BF_EOUTPUT, s->path, 0, 0, "cannot move output into place: %s", strerror(errno));
	if (rc)
		unlink(s->tmp);
	release(s);
	return rc;
}

void sink_abort(sink *s)
{
	if (!s)
		return;
	if (!s->is_stdout) {
		close(s->fd);
		unlink(s->tmp);
	}
	release(s);
}

uint64_t sink_bytes(const sink *s) { return s->bytes_out + s->buf_len; }

void sink_cleanup_all(void)
{
	for (int i = 0; i < SINK_MAX_OPEN; i++)
		if (open_used[i])
			unlink(open_tmp[i]);
}

/* ---- zstd frames ----------------------------------------------------------- */

ZSTD_CCtx *sink_frame_context(int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	if (c) {
		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	}
	return c;
}

int sink_frame(ZSTD_CCtx *cctx, const tbuf *parts, size_t n, tbuf *out)
{
	size_t total = 0;
	out->len = 0;
	for (size_t k = 0; k < n; k++)
		total += parts[k].len;
	if (!total)
		return 0;
	size_t bound = ZSTD_compressBound(total);
	if (tbuf_reserve(out, bound))
		return -1;
	ZSTD_outBuffer ob = {out->p, bound, 0};
	for (size_t k = 0; k < n; k++) {
		ZSTD_inBuffer ib = {parts[k].p, parts[k].len, 0};
		while (ib.pos < ib.size)
			if (ZSTD_isError(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_continue)))
				return -1;
	}
	ZSTD_inBuffer none = {NULL, 0, 0};
	for (;;) {
		size_t left = ZSTD_compressStream2(cctx, &ob, &none, ZSTD_e_end);
		if (ZSTD_isError(left))
			return -1;
		if (!left)
			break;
	}
	out->len = ob.pos;
	return 0;
}
