/* strmap.c: see strmap.h. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

void strmap_init(strmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

static int grow(strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	strmap_slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		strmap_slot *s = &m->slots[i];
		if (!s->key)
			continue;
		size_t j = s->hash & (cap - 1);
		while (slots[j].key)
			j = (j + 1) & (cap - 1);
		slots[j] = *s;
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int strmap_put(strmap *m, const char *key, size_t len, int32_t value)
{
	if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
		return -1;
	uint32_t h = hash_bytes(key, len);
	size_t j = h & (m->cap - 1);
	for (;; j = (j + 1) & (m->cap - 1)) {
		strmap_slot *s = &m->slots[j];
		if (!s->key) {
			s->key = malloc(len + 1);
			if (!s->key)
				return -1;
			memcpy(s->key, key, len);
			s->key[len] = '\0';
			s->len = (uint32_t)len;
			s->hash = h;
			s->value = value;
			m->count++;
			return 0;
		}
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
			s->value = value;
			return 0;
		}
	}
}

int32_t strmap_get(const strmap *m, const char *key, size_t len)
{
	if (!m->cap)
		return -1;
	uint32_t h = hash_bytes(key, len);
	for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		const strmap_slot *s = &m->slots[j];
		if (!s->key)
			return -1;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return s->value;
	}
}

void strmap_free(strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	strmap_init(m);
}
