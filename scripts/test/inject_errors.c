/* inject_errors.c: an LD_PRELOAD shim that makes writes fail, to test how
 * binfer handles a full disk (as jq's tests/inject_errors.c does for I/O),
 * and that kills the process at a chosen rename, to test what a kill inside
 * the commit of a run's outputs leaves behind.
 *
 *   BINFER_FAIL_PATH=out.jsonl  fail writes to files whose path contains this
 *   BINFER_FAIL_AFTER=N         ... once N bytes have gone to them (default 0)
 *   BINFER_FAIL_ERRNO=28        the errno to fail with (default ENOSPC)
 *   BINFER_KILL_AT_RENAME=N     before the N-th rename (1 = the first), send
 *                               the process BINFER_KILL_SIGNAL (default 9)
 *   BINFER_FAIL_RENAME=N        make the N-th rename fail (EIO) instead
 *
 * Built by `make` as BUILD/inject_errors.so; used by testdata/e2e cases. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
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

static int (*real_rename)(const char *, const char *);
static int renames;

int rename(const char *from, const char *to)
{
	if (!real_rename)
		real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	renames++;
	const char *kill_at = getenv("BINFER_KILL_AT_RENAME"), *fail_at = getenv("BINFER_FAIL_RENAME");
	if (kill_at && atoi(kill_at) == renames) {
		const char *sig = getenv("BINFER_KILL_SIGNAL");
		raise(sig ? atoi(sig) : SIGKILL);
	}
	if (fail_at && atoi(fail_at) == renames) {
		errno = EIO;
		return -1;
	}
	return real_rename(from, to);
}
