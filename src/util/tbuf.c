/* tbuf.c: see tbuf.h. */
#include "tbuf.h"

#include <stdlib.h>

int tbuf_reserve(tbuf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap < b->len + more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

void tbuf_free(tbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
