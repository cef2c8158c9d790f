/* outputs.h: a run's outputs (results, rejects, report) as one set:
 * checked against the run's inputs before anything is read, locked against
 * another run, written beside their final names (sink.h) and published
 * together.
 *
 * Publishing: every temporary file is finished (fsynced); a commit journal
 * ".<results name>.binfer-commit" listing the renames is written beside the
 * first regular output (atomically, fsynced); the temporary files are
 * renamed over their final names (results, rejects, report) and the folders
 * fsynced; the journal is removed. Catchable signals are held off meanwhile.
 * A run killed inside that window leaves the journal: the next run on the
 * same outputs completes the renames (every file it names is complete)
 * before anything else. So where no journal stands, the files under the
 * final names are one run's set, old or new, never a mix.
 *
 * Locks: each regular output is locked (flock on ".<name>.binfer-lock"
 * beside it, which records the holder) from opening to publishing; a second
 * run writing the same output fails with BF_EBUSY naming the first, which
 * goes on untouched. Temporary files of dead runs (".<name>.tmp-*") are
 * removed once the lock is held. */
#ifndef BF_OUTPUTS_H
#define BF_OUTPUTS_H

#include <sys/types.h>

#include "error.h"
#include "sink.h"
#include "spec.h"

typedef enum out_role {
	OUT_RESULTS,
	OUT_REJECTS,
	OUT_REPORT,
	OUT_ROLES
} out_role;

typedef struct outputs outputs;

/* Checks the job's paths before anything is read or written (run and
 * validate do): no two of input, spec, model (a folder: its files),
 * results, rejects and report name the same file, or would once created;
 * each output's folder exists and is writable; no output is a folder.
 * BF_ESPEC (nothing was written: the spec or command line must change)
 * naming the roles and what to do. */
int outputs_check(const job_spec *spec, bf_error *err);

/* Locks the job's outputs, completes a commit an earlier run left
 * unfinished, removes dead runs' temporary files and opens every output
 * that is not off ("none"); new files get permission bits mode. */
int outputs_open(const job_spec *spec, mode_t mode, outputs **out, bf_error *err);
/* The role's sink; NULL when it is off. */
sink *outputs_sink(outputs *o, out_role r);
/* Publishes the set as described above and frees o. On failure nothing of
 * the new set is under the final names unless the journal says otherwise. */
int outputs_commit(outputs *o, bf_error *err);
/* Removes the temporary files, releases the locks, frees o. NULL ok. */
void outputs_abort(outputs *o);
/* Async-signal-safe: removes every temporary and lock file still open. */
void outputs_cleanup_all(void);
/* Async-signal-safe: 1 once a set was published (a signal that came during
 * the commit is handled after it). */
int outputs_published(void);

#endif
