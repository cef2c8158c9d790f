/* inject_errors.c: an LD_PRELOAD shim that makes writes fail, to test how
 * binfer handles a full disk (as jq's tests/inject_errors.c does for I/O).
 *
 *   BINFER_FAIL_PATH=out.jsonl  fail writes to files whose path contains this
 *   BINFER_FAIL_AFTER=N         ... once N bytes have gone to them (default 0)
 *   BINFER_FAIL_ERRNO=28        the errno to fail with (default ENOSPC)
 *
 * Built by `make` as BUILD/inject_errors.so; used by testdata/e2e/disk_full. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static size_t written;

static int matches(int fd)
{
	const char *want = getenv("BINFER_FAIL_PATH");
	if (!want || fd < 0)
		return 0;
	char link[64], path[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strstr(path, want) != NULL;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	if (!real_write)
		real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (matches(fd)) {
		const char *after = getenv("BINFER_FAIL_AFTER");
		size_t limit = after ? strtoull(after, NULL, 10) : 0;
		if (written + len > limit) {
			const char *e = getenv("BINFER_FAIL_ERRNO");
			errno = e ? atoi(e) : ENOSPC;
			return -1;
		}
		written += len;
	}
	return real_write(fd, buf, len);
}
