/* source.c: file/stdin reader with transparent zstd decompression. */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define SOURCE_BUF (1 << 20)

struct source {
	int fd;
	int own_fd;
	char *path;
	int64_t size;
	uint64_t bytes_in, bytes_out;
	int eof;                 /* the file has no more bytes */
	/* raw bytes read from fd not yet consumed */
	char *raw;
	size_t raw_pos, raw_len;
	/* zstd */
	ZSTD_DCtx *dctx;
	int frame_open;          /* inside a frame: EOF now means truncated */
};

static int fill_raw(source *s, bf_error *err)
{
	if (s->raw_pos < s->raw_len || s->eof)
		return BF_OK;
	for (;;) {
		ssize_t n = read(s->fd, s->raw, SOURCE_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bf_err_set(err, BF_EINPUT, s->path, 0, 0, "cannot read input: %s", strerror(errno));
		s->raw_pos = 0;
		s->raw_len = (size_t)n;
		s->bytes_in += (uint64_t)n;
		if (n == 0)
			s->eof = 1;
		return BF_OK;
	}
}

int source_open(const char *path, source **out, bf_error *err)
{
	*out = NULL;
	source *s = calloc(1, sizeof *s);
	if (!s)
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	s->raw = malloc(SOURCE_BUF);
	s->path = strdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
	s->size = -1;
	if (!s->raw || !s->path) {
		source_close(s);
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	}
	if (strcmp(path, "-") == 0) {
		s->fd = STDIN_FILENO;
	} else {
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			int e = errno;
			source_close(s);
			return bf_err_set(err, BF_EINPUT, path, 0, 0, "cannot open input: %s", strerror(e));
		}
		s->own_fd = 1;
		struct stat st;
		if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			source_close(s);
			return bf_err_set(err, BF_EINPUT, path, 0, 0, "input is a directory, expected a file");
		}
		if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode))
			s->size = st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
		posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	}
	/* Sniff the zstd magic number from the first bytes, whatever the name. */
	int rc = BF_OK;
	while (rc == BF_OK && s->raw_len < 4 && !s->eof) {
		ssize_t n;
		do
			n = read(s->fd, s->raw + s->raw_len, SOURCE_BUF - s->raw_len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			rc = bf_err_set(err, BF_EINPUT, s->path, 0, 0, "cannot read input: %s", strerror(errno));
		else if (n == 0)
			s->eof = 1;
		else {
			s->raw_len += (size_t)n;
			s->bytes_in += (uint64_t)n;
		}
	}
	if (rc) {
		source_close(s);
		return rc;
	}
	/* a zstd frame, or a skippable frame (magic 0x184D2A5?, as zstd may
	 * write ahead of the data) */
	static const unsigned char magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
	const unsigned char *b = (const unsigned char *)s->raw;
	int skippable = s->raw_len >= 4 && (b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18;
	if (s->raw_len >= 4 && (memcmp(s->raw, magic, 4) == 0 || skippable)) {
		s->dctx = ZSTD_createDCtx();
		if (!s->dctx) {
			source_close(s);
			return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
		}
	}
	*out = s;
	return BF_OK;
}

int source_read(source *s, char *buf, size_t cap, size_t *got, bf_error *err)
{
	*got = 0;
	if (!s->dctx) {
		if (s->raw_pos == s->raw_len) {
			/* Plain input: read straight into the caller's buffer. */
			if (s->eof)
				return BF_OK;
			ssize_t n;
			do
				n = read(s->fd, buf, cap);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return bf_err_set(err, BF_EINPUT, s->path, 0, 0, "cannot read input: %s", strerror(errno));
			if (n == 0)
				s->eof = 1;
			s->bytes_in += (uint64_t)n;
			s->bytes_out += (uint64_t)n;
			*got = (size_t)n;
			return BF_OK;
		}
		size_t n = s->raw_len - s->raw_pos < cap ? s->raw_len - s->raw_pos : cap;
		memcpy(buf, s->raw + s->raw_pos, n);
		s->raw_pos += n;
		s->bytes_out += n;
		*got = n;
		return BF_OK;
	}
	ZSTD_outBuffer ob = {buf, cap, 0};
	while (ob.pos == 0) {
		if (s->raw_pos == s->raw_len) {
			int rc = fill_raw(s, err);
			if (rc)
				return rc;
			if (s->eof) {
				if (s->frame_open)
					return bf_err_set(err, BF_EINPUT, s->path, 0, 0,
							  "zstd input is truncated (the last frame is incomplete)");
				break;
			}
		}
		ZSTD_inBuffer ib = {s->raw, s->raw_len, s->raw_pos};
		size_t r = ZSTD_decompressStream(s->dctx, &ob, &ib);
		s->raw_pos = ib.pos;
		if (ZSTD_isError(r))
			return bf_err_set(err, BF_EINPUT, s->path, 0, 0, "zstd input is corrupt: %s",
					  ZSTD_getErrorName(r));
		s->frame_open = r != 0;
	}
	s->bytes_out += ob.pos;
	*got = ob.pos;
	return BF_OK;
}

uint64_t source_bytes_in(const source *s) { return s->bytes_in; }
uint64_t source_bytes_out(const source *s) { return s->bytes_out; }
int64_t source_size(const source *s) { return s->size; }
int source_is_zstd(const source *s) { return s->dctx != NULL; }

void source_close(source *s)
{
	if (!s)
		return;
	if (s->own_fd)
		close(s->fd);
	ZSTD_freeDCtx(s->dctx);
	free(s->raw);
	free(s->path);
	free(s);
}
