/* arena.h: bump allocator for per-batch and per-document scratch.
 *
 * Memory comes in blocks that are kept across arena_reset(), so a batch loop
 * reaches a steady state with no malloc on the hot path. */
#ifndef BF_ARENA_H
#define BF_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
	arena_block *head;   /* block being filled */
	arena_block *free;   /* blocks released by arena_reset, reused first */
	size_t block_size;   /* minimum size of a new block */
} arena;

void arena_init(arena *a, size_t block_size);
/* Returns 16-byte aligned memory, or NULL when out of memory. */
void *arena_alloc(arena *a, size_t size);
/* Copies s[0..len) and appends a NUL; NULL when out of memory. */
char *arena_strndup(arena *a, const char *s, size_t len);
/* Gives back p and everything allocated after it, when p is in the block
 * being filled (else nothing happens): per-row scratch that no result
 * points into is reused by the next row. */
void arena_unwind(arena *a, void *p);
/* Releases every allocation; keeps the blocks for reuse. */
void arena_reset(arena *a);
void arena_free(arena *a);

#endif
