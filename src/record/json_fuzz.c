/* json_fuzz.c: libFuzzer target for json_parse: any input parses or fails
 * with an error inside the input; a parsed tree's spans lie inside it and
 * its strings are valid UTF-8 of their stated length.
 *
 * corpus: testdata/fuzz/json testdata/fixtures/json-test-suite/test_parsing
 * max_len: 65536 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const json_value *v, const char *text, size_t len, int depth)
{
	if (depth > JSON_MAX_DEPTH + 1 || v->raw < text || v->raw + v->raw_len > text + len)
		abort();
	if (v->type == JSON_STRING && (strlen(v->u.string) > v->len || utf8_check(v->u.string, v->len) != v->len))
		abort();
	if (v->type == JSON_ARRAY)
		for (uint32_t i = 0; i < v->len; i++)
			check(&v->u.items[i], text, len, depth + 1);
	if (v->type == JSON_OBJECT)
		for (uint32_t i = 0; i < v->len; i++) {
			const json_member *m = &v->u.members[i];
			if (utf8_check(m->key, m->key_len) != m->key_len)
				abort();
			check(&m->value, text, len, depth + 1);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena a;
	arena_init(&a, 1 << 12);
	json_value *v;
	json_error e;
	const char *text = (const char *)data;
	if (json_parse(text, size, &a, &v, &e) == 0)
		check(v, text, size, 0);
	else if (e.offset > size || !e.message[0])
		abort();
	arena_free(&a);
	return 0;
}
