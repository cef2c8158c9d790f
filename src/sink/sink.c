/* sink.c: one output file, written beside its final name or in place, and
 * the zstd frames written to it; see sink.h. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SINK_BUF (1 << 18)
#define SINK_MAX_OPEN 16
#define SINK_MAX_LINKS 40

struct sink {
	int fd;
	sink_kind kind;
	int own_fd;              /* close fd when done (not stdout's) */
	char *path;              /* the final file, for messages */
	char tmp[PATH_MAX];      /* temporary name, "" for a stream */
	int slot;                /* index in open_tmp, -1 for a stream */
	int finished;
	char *buf;               /* bytes waiting for write() */
	size_t buf_len;
	uint64_t bytes_out;
};

/* Temporary names to remove if the process is interrupted. */
static char open_tmp[SINK_MAX_OPEN][PATH_MAX];
static volatile int open_used[SINK_MAX_OPEN];

/* ---- where a path writes ------------------------------------------------ */

/* The folder part of path ("." when none), into dir. */
static void folder_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* Standard output by another name: its file descriptor, else -1. */
static int stdout_alias(const char *path)
{
	if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout") || !strcmp(path, "/proc/self/fd/1"))
		return STDOUT_FILENO;
	if (!strcmp(path, "/dev/stderr"))
		return STDERR_FILENO;
	const char *n = !strncmp(path, "/dev/fd/", 8) ? path + 8 : !strncmp(path, "/proc/self/fd/", 14) ? path + 14 : NULL;
	if (!n || !*n)
		return -1;
	char *end;
	long fd = strtol(n, &end, 10);
	return *end || fd < 0 || fd > INT_MAX ? -1 : (int)fd;
}

/* A symlink that names a file not yet there: the name it ends at. */
static int follow_dangling(const char *path, char *target, size_t size, bf_error *err)
{
	char cur[PATH_MAX];
	snprintf(cur, sizeof cur, "%s", path);
	for (int hop = 0; hop < SINK_MAX_LINKS; hop++) {
		char link[PATH_MAX];
		ssize_t n = readlink(cur, link, sizeof link - 1);
		if (n < 0) {
			snprintf(target, size, "%s", cur);
			return BF_OK;
		}
		link[n] = '\0';
		if (link[0] == '/') {
			snprintf(cur, sizeof cur, "%s", link);
		} else {
			char dir[PATH_MAX], next[PATH_MAX];
			folder_of(cur, dir, sizeof dir);
			if ((size_t)snprintf(next, sizeof next, "%s/%s", dir, link) >= sizeof next)
				break;
			memcpy(cur, next, sizeof cur);
		}
	}
	return bf_err_set(err, BF_EOUTPUT, path, 0, 0, "too many levels of symbolic links");
}

int sink_resolve(const char *path, sink_kind *kind, char *target, size_t size, bf_error *err)
{
	if (stdout_alias(path) >= 0) {
		*kind = SINK_STREAM;
		snprintf(target, size, "%s", strcmp(path, "-") ? path : "<stdout>");
		return BF_OK;
	}
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return bf_err_set(err, BF_EOUTPUT, path, 0, 0, "is a folder; name a file in it");
		*kind = S_ISREG(st.st_mode) ? SINK_FILE : SINK_STREAM;
		if (*kind == SINK_STREAM || !realpath(path, target))
			snprintf(target, size, "%s", path);
		return BF_OK;
	}
	if (errno != ENOENT)
		return bf_err_set(err, BF_EOUTPUT, path, 0, 0, "cannot write here: %s", strerror(errno));
	*kind = SINK_FILE;
	int rc = follow_dangling(path, target, size, err);
	if (rc)
		return rc;
	char dir[PATH_MAX];
	folder_of(target, dir, sizeof dir);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return bf_err_set(err, BF_EOUTPUT, path, 0, 0, "is in a folder that does not exist ('%s'); create it first",
				  dir);
	return BF_OK;
}

/* ---- writing ------------------------------------------------------------ */

static int write_all(sink *s, const char *p, size_t len, bf_error *err)
{
	while (len) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE)
			return bf_err_set(err, BF_EPIPE, s->path, 0, 0, "its reader closed it");
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

static void release(sink *s)
{
	if (s->slot >= 0)
		open_used[s->slot] = 0;
	free(s->buf);
	free(s->path);
	free(s);
}

/* The temporary file beside target, with mode. */
static int open_temp(sink *s, const char *target, mode_t mode, bf_error *err)
{
	char dir[PATH_MAX];
	folder_of(target, dir, sizeof dir);
	const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
	if ((size_t)snprintf(s->tmp, sizeof s->tmp, "%s/.%s.tmp-XXXXXX", dir, base) >= sizeof s->tmp)
		return bf_err_set(err, BF_EOUTPUT, target, 0, 0, "the path is too long");
	s->fd = mkostemp(s->tmp, O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;
		s->tmp[0] = '\0';
		return bf_err_set(err, BF_EOUTPUT, target, 0, 0, "cannot create output file: %s", strerror(e));
	}
	s->own_fd = 1;
	mode_t mask = umask(022);
	umask(mask);
	fchmod(s->fd, mode & 0666 & ~mask);
	for (int i = 0; i < SINK_MAX_OPEN; i++)
		if (!open_used[i]) {
			memcpy(open_tmp[i], s->tmp, sizeof s->tmp);
			open_used[i] = 1;
			s->slot = i;
			break;
		}
	return BF_OK;
}

/* A stream, in place. */
static int open_stream(sink *s, const char *path, bf_error *err)
{
	int fd = stdout_alias(path);
	if (fd == STDOUT_FILENO || fd == STDERR_FILENO) {
		s->fd = fd;
		return BF_OK;
	}
	s->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (s->fd < 0)
		return bf_err_set(err, BF_EOUTPUT, path, 0, 0, "cannot open output: %s", strerror(errno));
	s->own_fd = 1;
	return BF_OK;
}

int sink_open(const char *path, mode_t mode, sink **out, bf_error *err)
{
	*out = NULL;
	char target[PATH_MAX];
	sink_kind kind;
	int rc = sink_resolve(path, &kind, target, sizeof target, err);
	if (rc)
		return rc;
	sink *s = calloc(1, sizeof *s);
	if (!s || !(s->buf = malloc(SINK_BUF)) || !(s->path = strdup(target))) {
		if (s)
			free(s->buf);
		free(s);
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	}
	s->slot = -1;
	s->kind = kind;
	rc = kind == SINK_FILE ? open_temp(s, target, mode, err) : open_stream(s, path, err);
	if (rc) {
		release(s);
		return rc;
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

int sink_finish(sink *s, bf_error *err)
{
	int rc = flush_buf(s, err);
	if (s->kind == SINK_FILE) {
		if (!rc && fsync(s->fd) < 0 && errno != EINVAL)
			rc = bf_err_set(err, BF_EOUTPUT, s->path, 0, 0, "cannot write output: %s", strerror(errno));
		if (close(s->fd) < 0 && !rc)
			rc = bf_err_set(err, BF_EOUTPUT, s->path, 0, 0, "cannot write output: %s", strerror(errno));
		s->own_fd = 0;
	}
	s->finished = !rc;
	return rc;
}

int sink_publish(sink *s, bf_error *err)
{
	int rc = BF_OK;
	if (s->kind == SINK_FILE && rename(s->tmp, s->path) < 0)
		rc = bf_err_set(err, BF_EOUTPUT, s->path, 0, 0, "cannot move output into place: %s", strerror(errno));
	if (s->own_fd)
		close(s->fd);
	release(s);
	return rc;
}

void sink_abort(sink *s)
{
	if (!s)
		return;
	if (s->own_fd)
		close(s->fd);
	if (s->tmp[0])
		unlink(s->tmp);
	release(s);
}

uint64_t sink_bytes(const sink *s) { return s->bytes_out + s->buf_len; }
sink_kind sink_kind_of(const sink *s) { return s->kind; }
const char *sink_target(const sink *s) { return s->path; }
const char *sink_temp(const sink *s) { return s->tmp; }

void sink_cleanup_all(void)
{
	for (int i = 0; i < SINK_MAX_OPEN; i++)
		if (open_used[i])
			unlink(open_tmp[i]);
}

/* ---- zstd frames ---------------------------------------------------------- */

ZSTD_CCtx *sink_frame_context(int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	if (c) {
		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	}
	return c;
}

int sink_frame(ZSTD_CCtx *cctx, const tbuf *parts, size_t n, size_t from, size_t to, tbuf *out)
{
	out->len = 0;
	if (to <= from)
		return 0;
	size_t total = to - from, bound = ZSTD_compressBound(total);
	if (tbuf_reserve(out, bound))
		return -1;
	/* the frame's size, known up front: zstd sizes its tables (and so its
	 * memory) for it, not for the level's largest window */
	ZSTD_CCtx_setPledgedSrcSize(cctx, total);
	ZSTD_outBuffer ob = {out->p, bound, 0};
	size_t at = 0; /* offset of part k in the concatenation */
	for (size_t k = 0; k < n && at < to; at += parts[k].len, k++) {
		size_t lo = from > at ? from - at : 0, hi = to - at < parts[k].len ? to - at : parts[k].len;
		if (lo >= hi)
			continue;
		ZSTD_inBuffer ib = {parts[k].p + lo, hi - lo, 0};
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
