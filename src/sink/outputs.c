/* outputs.c: a run's outputs as one set: checks, locks, commit journal;
 * see outputs.h. */
#include "outputs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_MAGIC "binfer-commit 1\n"
#define JOURNAL_MAX (16 * PATH_MAX)
#define MODEL_FILES_MAX 4096 /* files of a model folder compared with the outputs */
#define LOCKS_MAX 8

static const char *const role_key[OUT_ROLES] = {"output.path", "rejects.path", "report.path"};

struct outputs {
	sink *s[OUT_ROLES];
	int lock_fd[OUT_ROLES];      /* -1: none */
	char lock_path[OUT_ROLES][PATH_MAX];
	char target[OUT_ROLES][PATH_MAX];
	sink_kind kind[OUT_ROLES];
	int slot[OUT_ROLES];         /* in open_locks, -1: none */
};

/* Lock files to remove if the process is interrupted. */
static char open_locks[LOCKS_MAX][PATH_MAX];
static volatile int locks_used[LOCKS_MAX];
/* A set was published: a signal held off during the commit comes after it. */
static volatile sig_atomic_t published;

static const char *role_path(const job_spec *spec, out_role r)
{
	const char *p = r == OUT_RESULTS ? spec->output.path : r == OUT_REJECTS ? spec->rejects.path : spec->report.path;
	return p && strcmp(p, "none") ? p : NULL;
}

static void split_path(const char *path, char *dir, size_t size, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* ".<base><suffix>" beside path, into out. */
static int beside(const char *path, const char *suffix, char *out, size_t size)
{
	char dir[PATH_MAX];
	const char *base;
	split_path(path, dir, sizeof dir, &base);
	return (size_t)snprintf(out, size, "%s/.%s%s", dir, base, suffix) < size ? 0 : -1;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc < 0 && errno != EINVAL ? -1 : 0;
}

/* ==== checks ============================================================== */

/* What a path names: a file that exists (device and inode), or the
 * absolute name a file to be created will have. */
typedef struct ident {
	const char *role;
	const char *path;
	int exists, chr;
	dev_t dev;
	ino_t ino;
	char name[PATH_MAX];
} ident;

static void identify(ident *id, const char *role, const char *path)
{
	memset(id, 0, sizeof *id);
	id->role = role;
	id->path = path;
	struct stat st;
	int fd = !strcmp(path, "-") ? -2 : -1;
	if ((fd == -2 && fstat(strcmp(role, "input.path") ? STDOUT_FILENO : STDIN_FILENO, &st) == 0) ||
	    (fd == -1 && stat(path, &st) == 0)) {
		id->exists = 1;
		id->chr = S_ISCHR(st.st_mode);
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		return;
	}
	sink_kind kind;
	bf_error ignore;
	if (sink_resolve(path, &kind, id->name, sizeof id->name, &ignore) == BF_OK) {
		char dir[PATH_MAX], real[PATH_MAX];
		const char *base;
		split_path(id->name, dir, sizeof dir, &base);
		char full[2 * PATH_MAX];
		if (realpath(dir, real) && (size_t)snprintf(full, sizeof full, "%s/%s", real, base) < sizeof id->name)
			memcpy(id->name, full, strlen(full) + 1);
	}
}

static int same_file(const ident *a, const ident *b)
{
	if (a->exists != b->exists)
		return 0;
	if (a->exists)
		return a->dev == b->dev && a->ino == b->ino && !(a->chr && b->chr); /* /dev/null twice is fine */
	return a->name[0] && !strcmp(a->name, b->name);
}

/* The regular files of a model folder (and of its sub-folders, one level). */
static size_t folder_files(const char *dir, int depth, ident *ids, size_t n, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && n < cap && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
			continue;
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			n = folder_files(path, depth - 1, ids, n, cap);
		} else if (S_ISREG(st.st_mode)) {
			char *keep = strdup(path); /* freed by outputs_check */
			if (!keep)
				break;
			identify(&ids[n++], "a file of model.path", keep);
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* The folder an output is written in must exist and take new files. */
static int check_folder(const char *role, const char *path, bf_error *err)
{
	sink_kind kind;
	char target[PATH_MAX];
	int rc = sink_resolve(path, &kind, target, sizeof target, err);
	if (rc) {
		char msg[sizeof err->message];
		memcpy(msg, err->message, sizeof msg);
		return bf_err_set(err, BF_ESPEC, "", 0, 0, "%s '%.300s' %.700s", role, path, msg);
	}
	if (kind == SINK_STREAM)
		return BF_OK;
	char dir[PATH_MAX];
	const char *base;
	split_path(target, dir, sizeof dir, &base);
	struct statvfs vfs;
	if (access(dir, W_OK | X_OK) < 0)
		return bf_err_set(err, BF_ESPEC, "", 0, 0, "%s '%s': cannot write in the folder '%s': %s", role, path, dir,
				  strerror(errno));
	if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return bf_err_set(err, BF_ESPEC, "", 0, 0, "%s '%s': cannot write in the folder '%s': read-only file system",
				  role, path, dir);
	return BF_OK;
}

int outputs_check(const job_spec *spec, bf_error *err)
{
	int rc = BF_OK;
	for (int r = 0; r < OUT_ROLES && !rc; r++)
		if (role_path(spec, (out_role)r))
			rc = check_folder(role_key[r], role_path(spec, (out_role)r), err);
	if (rc)
		return rc;
	ident *ids = calloc(MODEL_FILES_MAX + 8, sizeof *ids);
	if (!ids)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	size_t n = 0, first_model;
	for (int r = 0; r < OUT_ROLES; r++)
		if (role_path(spec, (out_role)r))
			identify(&ids[n++], role_key[r], role_path(spec, (out_role)r));
	size_t n_out = n;
	if (strcmp(spec->input.path, "-"))
		identify(&ids[n++], "input.path", spec->input.path);
	identify(&ids[n++], "the job spec", spec->spec_path);
	first_model = n;
	struct stat st;
	if (stat(spec->model.path, &st) == 0 && S_ISDIR(st.st_mode))
		n = folder_files(spec->model.path, 1, ids, n, MODEL_FILES_MAX + 8);
	else
		identify(&ids[n++], "model.path", spec->model.path);
	for (size_t i = 0; i < n_out && !rc; i++)
		for (size_t j = i + 1; j < n && !rc; j++) {
			if (!same_file(&ids[i], &ids[j]))
				continue;
			const char *what = j < n_out ? "the run would write both into one file"
					   : "the run would destroy it";
			rc = bf_err_set(err, BF_ESPEC, "", 0, 0,
					"'%s' (%s) is the same file as %s%s%s (%s): %s; choose another %s", ids[i].role,
					ids[i].path, j < n_out ? "'" : "", ids[j].role, j < n_out ? "'" : "",
					ids[j].path, what, ids[i].role);
		}
	for (size_t j = first_model; j < n; j++)
		if (ids[j].path != spec->model.path)
			free((char *)ids[j].path);
	free(ids);
	return rc;
}

/* ==== locks =============================================================== */

/* The holder recorded in a lock file, for the message. */
static void holder_of(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = *(p + 1) ? ',' : '\0';
		else if ((unsigned char)*p < 0x20)
			*p = '?';
	if (!buf[0])
		snprintf(buf, size, "a run that has not said who it is");
}

static int lock_output(outputs *o, int r, bf_error *err)
{
	const char *target = o->target[r];
	if (beside(target, ".binfer-lock", o->lock_path[r], sizeof o->lock_path[r]))
		return bf_err_set(err, BF_EOUTPUT, target, 0, 0, "the path is too long");
	for (int attempt = 0; attempt < 8; attempt++) {
		int fd = open(o->lock_path[r], O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return bf_err_set(err, BF_EOUTPUT, target, 0, 0, "cannot create the lock file %s: %s",
					  o->lock_path[r], strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;
			char who[256];
			holder_of(fd, who, sizeof who);
			close(fd);
			if (e == EWOULDBLOCK)
				return bf_err_set(err, BF_EBUSY, target, 0, 0,
						  "another binfer run is writing this %s (%s; lock %s); wait for it to "
						  "finish or write elsewhere",
						  role_key[r], who, o->lock_path[r]);
			return bf_err_set(err, BF_EOUTPUT, target, 0, 0, "cannot lock %s: %s", o->lock_path[r],
					  strerror(e));
		}
		/* the holder before us may have removed the file: lock the one there */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(o->lock_path[r], &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			char who[256], host[64] = "?", when[32];
			time_t now = time(NULL);
			struct tm tm;
			gethostname(host, sizeof host - 1);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
			int len = snprintf(who, sizeof who, "pid %d on %s, started %s\n", (int)getpid(), host, when);
			if (ftruncate(fd, 0) == 0 && pwrite(fd, who, (size_t)len, 0) < 0)
				(void)0; /* the record is for messages only */
			o->lock_fd[r] = fd;
			for (int i = 0; i < LOCKS_MAX; i++)
				if (!locks_used[i]) {
					memcpy(open_locks[i], o->lock_path[r], sizeof open_locks[i]);
					locks_used[i] = 1;
					o->slot[r] = i;
					break;
				}
			return BF_OK;
		}
		close(fd);
	}
	return bf_err_set(err, BF_EBUSY, target, 0, 0, "cannot lock %s: it keeps changing", o->lock_path[r]);
}

/* Removes the lock file while holding it, then lets go. */
static void unlock_output(outputs *o, int r)
{
	if (o->lock_fd[r] < 0)
		return;
	unlink(o->lock_path[r]);
	close(o->lock_fd[r]);
	o->lock_fd[r] = -1;
	if (o->slot[r] >= 0)
		locks_used[o->slot[r]] = 0;
	o->slot[r] = -1;
}

/* ==== the commit journal ================================================== */

/* The journal's place: beside the first regular output; -1 when the set
 * has fewer than two regular outputs (one rename is atomic by itself). */
static int journal_owner(const outputs *o)
{
	int first = -1, files = 0;
	for (int r = 0; r < OUT_ROLES; r++)
		if (o->target[r][0] && o->kind[r] == SINK_FILE) {
			if (first < 0)
				first = r;
			files++;
		}
	return files >= 2 ? first : -1;
}

/* Completes the renames a journal lists (those whose temporary file is
 * still there), then removes it. */
static int complete_journal(const char *journal, bf_error *err)
{
	int fd = open(journal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? BF_OK : bf_err_set(err, BF_EOUTPUT, journal, 0, 0, "cannot read: %s", strerror(errno));
	char *text = malloc(JOURNAL_MAX + 1);
	ssize_t n = text ? read(fd, text, JOURNAL_MAX) : -1;
	close(fd);
	if (n < 0 || strncmp(text, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) != 0) {
		free(text);
		return bf_err_set(err, BF_EOUTPUT, journal, 0, 0,
				  "an unfinished commit's journal that cannot be read; check the outputs beside it and "
				  "remove it");
	}
	text[n] = '\0';
	int rc = BF_OK;
	for (char *line = text + strlen(JOURNAL_MAGIC), *next; *line && !rc; line = next) {
		next = strchr(line, '\n');
		if (!next)
			break;
		*next++ = '\0';
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		if (rename(line, tab + 1) < 0 && errno != ENOENT)
			rc = bf_err_set(err, BF_EOUTPUT, tab + 1, 0, 0, "cannot complete an unfinished commit: %s",
					strerror(errno));
		char dir[PATH_MAX];
		const char *base;
		split_path(tab + 1, dir, sizeof dir, &base);
		fsync_dir(dir);
	}
	free(text);
	if (!rc && unlink(journal) < 0)
		rc = bf_err_set(err, BF_EOUTPUT, journal, 0, 0, "cannot remove: %s", strerror(errno));
	return rc;
}

/* Writes the journal of the renames about to be made, atomically. */
static int write_journal(const outputs *o, const char *journal, bf_error *err)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", journal);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return bf_err_set(err, BF_EOUTPUT, journal, 0, 0, "cannot write the commit journal: %s", strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return bf_err_set(err, BF_ENOMEM, journal, 0, 0, "out of memory");
	}
	fputs(JOURNAL_MAGIC, f);
	for (int r = 0; r < OUT_ROLES; r++)
		if (o->s[r] && o->kind[r] == SINK_FILE)
			fprintf(f, "%s\t%s\n", sink_temp(o->s[r]), o->target[r]);
	int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, journal) < 0) {
		unlink(tmp);
		return bf_err_set(err, BF_EOUTPUT, journal, 0, 0, "cannot write the commit journal: %s", strerror(errno));
	}
	char dir[PATH_MAX];
	const char *base;
	split_path(journal, dir, sizeof dir, &base);
	fsync_dir(dir);
	return BF_OK;
}

/* ==== opening ============================================================= */

/* Removes temporary files ".<base><suffix>XXXXXX" of the output at target
 * left by dead runs (the lock is held: no live run writes them). */
static void remove_stale(const char *target, const char *suffix)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 32];
	const char *base;
	split_path(target, dir, sizeof dir, &base);
	snprintf(prefix, sizeof prefix, ".%s%s", base, suffix);
	size_t plen = strlen(prefix);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, plen) != 0 || strlen(e->d_name) != plen + 6)
			continue;
		char path[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path &&
		    lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			unlink(path);
	}
	if (d)
		closedir(d);
}

int outputs_open(const job_spec *spec, mode_t mode, outputs **out, bf_error *err)
{
	*out = NULL;
	outputs *o = calloc(1, sizeof *o);
	if (!o)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	for (int r = 0; r < OUT_ROLES; r++)
		o->lock_fd[r] = o->slot[r] = -1;
	int rc = BF_OK;
	for (int r = 0; r < OUT_ROLES && !rc; r++) {
		const char *path = role_path(spec, (out_role)r);
		if (!path)
			continue;
		rc = sink_resolve(path, &o->kind[r], o->target[r], sizeof o->target[r], err);
		if (!rc && o->kind[r] == SINK_FILE)
			rc = lock_output(o, r, err);
	}
	int owner = rc ? -1 : journal_owner(o);
	char journal[PATH_MAX];
	if (owner >= 0 && beside(o->target[owner], ".binfer-commit", journal, sizeof journal) == 0)
		rc = complete_journal(journal, err);
	for (int r = 0; r < OUT_ROLES && !rc; r++)
		if (o->lock_fd[r] >= 0) {
			remove_stale(o->target[r], ".tmp-");
			remove_stale(o->target[r], ".binfer-commit.tmp-");
		}
	for (int r = 0; r < OUT_ROLES && !rc; r++)
		if (o->target[r][0])
			rc = sink_open(role_path(spec, (out_role)r), mode, &o->s[r], err);
	if (rc) {
		outputs_abort(o);
		return rc;
	}
	*out = o;
	return BF_OK;
}

sink *outputs_sink(outputs *o, out_role r)
{
	return o->s[r];
}

/* ==== publishing ========================================================== */

int outputs_commit(outputs *o, bf_error *err)
{
	int rc = BF_OK;
	for (int r = 0; r < OUT_ROLES && !rc; r++)
		if (o->s[r])
			rc = sink_finish(o->s[r], err);
	if (rc) {
		outputs_abort(o);
		return rc;
	}
	/* no signal handler may remove a temporary file the journal names */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int owner = journal_owner(o);
	char journal[PATH_MAX] = "";
	if (owner >= 0 && (beside(o->target[owner], ".binfer-commit", journal, sizeof journal) ||
			   (rc = write_journal(o, journal, err)))) {
		if (!rc)
			rc = bf_err_set(err, BF_EOUTPUT, o->target[owner], 0, 0, "the path is too long");
		journal[0] = '\0';
	}
	/* Without a journal written, nothing was published yet: give up
	 * cleanly. With it, the commit is decided: every rename is tried, and a
	 * temporary file that could not be renamed stays for the next run. */
	int undecided = rc;
	for (int r = 0; r < OUT_ROLES; r++) {
		if (!o->s[r])
			continue;
		if (undecided) {
			sink_abort(o->s[r]);
		} else {
			int e = sink_publish(o->s[r], err);
			if (e && !rc)
				rc = e;
		}
		o->s[r] = NULL;
	}
	for (int r = 0; r < OUT_ROLES; r++)
		if (o->target[r][0] && o->kind[r] == SINK_FILE) {
			char dir[PATH_MAX];
			const char *base;
			split_path(o->target[r], dir, sizeof dir, &base);
			fsync_dir(dir);
		}
	/* a failed rename keeps the journal: the next run completes the commit */
	if (!rc && journal[0] && unlink(journal) == 0) {
		char dir[PATH_MAX];
		const char *base;
		split_path(journal, dir, sizeof dir, &base);
		fsync_dir(dir);
	}
	for (int r = 0; r < OUT_ROLES; r++)
		unlock_output(o, r);
	published = !rc;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(o);
	return rc;
}

void outputs_abort(outputs *o)
{
	if (!o)
		return;
	for (int r = 0; r < OUT_ROLES; r++) {
		sink_abort(o->s[r]);
		unlock_output(o, r);
	}
	free(o);
}

int outputs_published(void)
{
	return published;
}

void outputs_cleanup_all(void)
{
	sink_cleanup_all();
	for (int i = 0; i < LOCKS_MAX; i++)
		if (locks_used[i])
			unlink(open_locks[i]);
}
