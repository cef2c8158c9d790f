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
