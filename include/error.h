/* error.h: the caller-owned error every library function fills.
 *
 * Library code (src/) never prints and never exits: it returns a status and
 * describes the failure here. cmd/ turns the status into an exit code and the
 * error into "path:line:col: message" on stderr. */
#ifndef BF_ERROR_H
#define BF_ERROR_H

#include <stddef.h>
#include <stdint.h>

typedef enum bf_status {
	BF_OK = 0,
	BF_EUSAGE,  /* bad command line */
	BF_ESPEC,   /* job spec is invalid */
	BF_EMODEL,  /* model file unreadable or invalid */
	BF_EINPUT,  /* input unreadable, or not usable for the model */
	BF_EOUTPUT, /* output could not be written */
	BF_ENOMEM,
	BF_EINTR,   /* interrupted by a signal */
	BF_EPIPE,   /* the reader of a stream output went away (a filter's `| head`) */
	BF_EBUSY,   /* another run holds an output */
} bf_status;

typedef struct bf_error {
	int code;          /* a bf_status */
	char path[1024];   /* "" when no file is involved */
	int64_t line;      /* 1-based; 0 = unknown */
	int64_t column;    /* 1-based; 0 = unknown */
	char message[1024];
} bf_error;

/* Fills e (NULL ok) and returns code, so callers can `return bf_err_set(...)`. */
int bf_err_set(bf_error *e, int code, const char *path, int64_t line,
	       int64_t column, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Writes "path:line:col: message" (parts that are unknown are left out). */
void bf_err_format(const bf_error *e, char *buf, size_t size);

#endif
