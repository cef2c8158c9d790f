/* arena.c: bump allocator; see arena.h. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
	arena_block *next;
	size_t size; /* usable bytes in data */
	size_t used;
	_Alignas(16) unsigned char data[];
};

void arena_init(arena *a, size_t block_size)
{
	a->head = NULL;
	a->free = NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
}

void *arena_alloc(arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (a->head && a->head->size - a->head->used >= size) {
		void *p = a->head->data + a->head->used;
		a->head->used += size;
		return p;
	}
	arena_block *b = NULL, **pp = &a->free;
	while (*pp) {
		if ((*pp)->size >= size) {
			b = *pp;
			*pp = b->next;
			break;
		}
		pp = &(*pp)->next;
	}
	if (!b) {
		size_t n = size > a->block_size ? size : a->block_size;
		b = malloc(sizeof *b + n);
		if (!b)
			return NULL;
		b->size = n;
	}
	b->used = size;
	b->next = a->head;
	a->head = b;
	return b->data;
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

void arena_unwind(arena *a, void *p)
{
	arena_block *b = a->head;
	unsigned char *q = p;
	if (b && q >= b->data && q <= b->data + b->used)
		b->used = (size_t)(q - b->data);
}

void arena_reset(arena *a)
{
	while (a->head) {
		arena_block *b = a->head;
		a->head = b->next;
		b->next = a->free;
		a->free = b;
	}
}

void arena_free(arena *a)
{
	arena_reset(a);
	while (a->free) {
		arena_block *b = a->free;
		a->free = b->next;
		free(b);
	}
}
