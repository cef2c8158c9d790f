/* tbuf.h: a growable byte buffer, reused across batches (result text,
 * reject text, compressed frames). */
#ifndef BF_TBUF_H
#define BF_TBUF_H

#include <stddef.h>

typedef struct tbuf {
	char *p;
	size_t len, cap;
} tbuf;

/* Makes room for `more` bytes past len; returns 0 or -1 when out of memory. */
int tbuf_reserve(tbuf *b, size_t more);
void tbuf_free(tbuf *b);

#endif
