/* file.c: see file.h. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

char *bf_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *bigger = realloc(buf, cap * 2);
		if (!bigger) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	int failed = !buf ? ENOMEM : ferror(f) ? EIO : 0;
	fclose(f);
	if (failed) {
		free(buf);
		errno = failed;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *file_type(mode_t mode)
{
	return S_ISDIR(mode)	? "a folder"
	       : S_ISFIFO(mode) ? "a FIFO"
	       : S_ISCHR(mode)	? "a character device"
	       : S_ISBLK(mode)	? "a block device"
	       : S_ISSOCK(mode) ? "a socket"
				: "not a regular file";
}

int bf_read_whole(const char *path, const char *what, size_t max, int absent_ok, int code, char **out, size_t *len,
		  bf_error *err)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && absent_ok)
			return BF_OK;
		return bf_err_set(err, code, path, 0, 0, "cannot read %s: %s", what, strerror(errno));
	}
	struct stat st;
	int rc = BF_OK;
	if (fstat(fd, &st) < 0)
		rc = bf_err_set(err, code, path, 0, 0, "cannot read %s: %s", what, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = bf_err_set(err, code, path, 0, 0, "cannot read %s: it is %s, expected a regular file", what,
				file_type(st.st_mode));
	else if ((uint64_t)st.st_size > max)
		rc = bf_err_set(err, code, path, 0, 0, "cannot read %s: %lld bytes, more than the %zu a %s may have",
				what, (long long)st.st_size, max, what);
	/* room for one byte past the size: a file that grows while read is
	 * still held to max */
	char *buf = NULL;
	size_t n = 0, cap = rc ? 0 : (size_t)st.st_size + 2;
	if (!rc && !(buf = malloc(cap)))
		rc = bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory reading %s", what);
	while (!rc) {
		if (n + 1 == cap) {
			size_t more = cap * 2 < max + 2 ? cap * 2 : max + 2;
			char *p = n <= max ? realloc(buf, more) : NULL;
			if (!p) {
				rc = n > max ? bf_err_set(err, code, path, 0, 0, "cannot read %s: more than the %zu bytes a %s may have",
							  what, max, what)
					     : bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory reading %s", what);
				break;
			}
			buf = p;
			cap = more;
		}
		ssize_t got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = bf_err_set(err, code, path, 0, 0, "cannot read %s: %s", what, strerror(errno));
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (!rc && n > max)
		rc = bf_err_set(err, code, path, 0, 0, "cannot read %s: more than the %zu bytes a %s may have", what, max,
				what);
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return BF_OK;
}

int bf_map_file(const char *path, const char *what, int code, bf_map *m, bf_error *err)
{
	memset(m, 0, sizeof *m);
	/* O_NONBLOCK: opening a FIFO with no writer must not hang */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return bf_err_set(err, code, path, 0, 0, "cannot open %s: %s", what, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return bf_err_set(err, code, path, 0, 0, "cannot open %s: %s", what, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bf_err_set(err, code, path, 0, 0, "cannot open %s: it is %s, expected a regular file", what,
				  file_type(st.st_mode));
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		close(fd);
		return bf_err_set(err, code, path, 0, 0, "cannot open %s: %lld bytes is too large to map", what,
				  (long long)st.st_size);
	}
	m->size = (size_t)st.st_size;
	if (m->size) {
		void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			close(fd);
			m->size = 0;
			return e == ENOMEM ? bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory mapping %s", what)
					   : bf_err_set(err, code, path, 0, 0, "cannot map %s: %s", what, strerror(e));
		}
		m->data = p;
	}
	close(fd);
	return BF_OK;
}

void bf_unmap(bf_map *m)
{
	if (m->data)
		munmap(m->data, m->size);
	memset(m, 0, sizeof *m);
}
