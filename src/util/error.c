/* error.c: filling and formatting bf_error. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bf_err_set(bf_error *e, int code, const char *path, int64_t line,
	       int64_t column, const char *fmt, ...)
{
	if (!e)
		return code;
	e->code = code;
	snprintf(e->path, sizeof e->path, "%s", path ? path : "");
	e->line = line;
	e->column = column;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return code;
}

void bf_err_format(const bf_error *e, char *buf, size_t size)
{
	if (!e->path[0])
		snprintf(buf, size, "%s", e->message);
	else if (e->line > 0 && e->column > 0)
		snprintf(buf, size, "%s:%lld:%lld: %s", e->path, (long long)e->line,
			 (long long)e->column, e->message);
	else if (e->line > 0)
		snprintf(buf, size, "%s:%lld: %s", e->path, (long long)e->line, e->message);
	else
		snprintf(buf, size, "%s: %s", e->path, e->message);
}
