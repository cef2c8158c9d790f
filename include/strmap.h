/* strmap.h: open-addressing map from byte strings to non-negative ints.
 *
 * Built once (model categories, wanted JSON keys), then read concurrently by
 * every thread without locks. Keys are copied. */
#ifndef BF_STRMAP_H
#define BF_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap_slot {
	char *key;     /* NULL = empty */
	uint32_t len;
	uint32_t hash;
	int32_t value;
} strmap_slot;

typedef struct strmap {
	strmap_slot *slots;
	size_t cap;    /* power of two */
	size_t count;
} strmap;

void strmap_init(strmap *m);
/* Sets key -> value (value >= 0), replacing an existing value. Returns 0, or
 * -1 when out of memory. */
int strmap_put(strmap *m, const char *key, size_t len, int32_t value);
/* The value for key, or -1 when absent. */
int32_t strmap_get(const strmap *m, const char *key, size_t len);
void strmap_free(strmap *m);

#endif
