/* wordpiece_test.c: wp_encode against the ids of scripts/ref/bert_tokenizer_ref.py
 * (transformers' BertTokenizer re-implemented in Python) for every text of
 * testdata/bert/tokenizer/{texts,random}.txt, four option sets and two
 * max_lengths; then targeted cases, vocab loading and tokenizer_config.json.
 * Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "file.h"
#include "json.h"
#include "wordpiece.h"

#define DIR "testdata/bert/tokenizer/"

/* The JSON values of a JSON-lines file, parsed into a. */
static size_t read_jsonl(const char *path, arena *a, json_value ***out)
{
	size_t len;
	char *text = bf_read_file(path, &len);
	assert_non_null(text);
	size_t n = 0, cap = 16;
	json_value **v = malloc(cap * sizeof *v);
	for (char *line = text; *line;) {
		char *end = strchr(line, '\n');
		size_t ll = end ? (size_t)(end - line) : strlen(line);
		char *copy = arena_strndup(a, line, ll);
		json_error e;
		if (json_parse(copy, ll, a, &v[n], &e) != 0)
			fail_msg("%s:%zu: %s", path, n + 1, e.message);
		if (++n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		line += ll + (end != NULL);
	}
	free(text);
	*out = v;
	return n;
}

static void load(wp_tokenizer *t, int lowercase, int strip)
{
	wp_options o = {.lowercase = lowercase, .strip_accents = strip, .tokenize_chinese_chars = 1,
			.max_chars_per_word = 100};
	bf_error err;
	if (wp_load(t, DIR "vocab.txt", &o, &err) != BF_OK)
		fail_msg("wp_load: %s", err.message);
}

/* Encodes with a work buffer of exactly wp_work_size(len) bytes (ASan sees
 * any overrun) and an ids buffer of exactly max_len. */
static size_t encode(const wp_tokenizer *t, const char *s, size_t len, int32_t *ids, size_t max_len,
		     int *truncated)
{
	void *work = malloc(wp_work_size(len));
	int32_t *out = malloc((max_len ? max_len : 1) * sizeof *out);
	size_t n = wp_encode(t, s, len, out, max_len, truncated, work);
	memcpy(ids, out, n * sizeof *ids);
	free(out);
	free(work);
	return n;
}

static size_t encode_str(const wp_tokenizer *t, const char *s, int32_t *ids, size_t max_len,
			 int *truncated)
{
	return encode(t, s, strlen(s), ids, max_len, truncated);
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
	char buf[4096];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 16 < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, " %d", ids[i]);
	buf[o] = '\0';
	print_message("%s:%s\n", what, buf);
}

/* ------------------------------------------------ against the reference */

static const struct {
	const char *name;
	int lowercase, strip;
} option_sets[] = {
	{"uncased", 1, -1},
	{"cased", 0, -1},
	{"uncased_keep_accents", 1, 0},
	{"cased_strip_accents", 0, 1},
};

static void check_fixture(const char *texts_name)
{
	arena a;
	arena_init(&a, 0);
	char path[256];
	json_value **texts;
	snprintf(path, sizeof path, DIR "%s.txt", texts_name);
	size_t n_texts = read_jsonl(path, &a, &texts);
	assert_true(n_texts > 0);
	size_t checked = 0, failed = 0;
	for (size_t o = 0; o < sizeof option_sets / sizeof *option_sets; o++) {
		wp_tokenizer t;
		load(&t, option_sets[o].lowercase, option_sets[o].strip);
		static const size_t max_lens[] = {16, 512};
		for (size_t m = 0; m < 2; m++) {
			json_value **want;
			snprintf(path, sizeof path, DIR "expected/%s.%s.%zu.jsonl", texts_name,
				 option_sets[o].name, max_lens[m]);
			size_t n = read_jsonl(path, &a, &want);
			assert_int_equal(n, n_texts);
			for (size_t i = 0; i < n; i++) {
				const json_value *text = texts[i], *ids = json_get(want[i], "ids"),
						 *tr = json_get(want[i], "truncated");
				assert_int_equal(text->type, JSON_STRING);
				assert_non_null(ids);
				assert_non_null(tr);
				int32_t got[512];
				int truncated = -1;
				size_t k = encode(&t, text->u.string, text->len, got, max_lens[m], &truncated);
				int same = k == ids->len && truncated == (tr->type == JSON_TRUE);
				for (size_t j = 0; same && j < k; j++)
					same = got[j] == (int32_t)ids->u.items[j].u.number;
				if (!same) {
					print_message("%s line %zu, %s, max_length %zu: %s\n", texts_name, i + 1,
						      option_sets[o].name, max_lens[m], text->u.string);
					int32_t exp[512];
					for (size_t j = 0; j < ids->len && j < 512; j++)
						exp[j] = (int32_t)ids->u.items[j].u.number;
					print_ids("  expected", exp, ids->len);
					print_ids("  got     ", got, k);
					failed++;
				}
				checked++;
			}
			free(want);
		}
		wp_free(&t);
	}
	print_message("%s: %zu encodings compared, %zu differ\n", texts_name, checked, failed);
	free(texts);
	arena_free(&a);
	assert_int_equal(failed, 0);
}

static void test_reference_texts(void **state)
{
	check_fixture("texts");
}

static void test_reference_random(void **state)
{
	check_fixture("random");
}

/* ---------------------------------------------------------- targeted cases */

/* The tokens of s as "tok tok tok", without [CLS] and [SEP]. */
static const char *tokens_of(const wp_tokenizer *t, const char *s, size_t len)
{
	static char out[4096];
	int32_t ids[512];
	size_t n = encode(t, s, len, ids, 512, NULL), o = 0;
	out[0] = '\0';
	for (size_t i = 1; i + 1 < n; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i > 1 ? " " : "", t->tokens[ids[i]]);
	return out;
}

static void test_continuations(void **state)
{
	wp_tokenizer t;
	load(&t, 1, -1);
	assert_string_equal(tokens_of(&t, "unaffable", 9), "un ##aff ##able");
	assert_string_equal(tokens_of(&t, "UnAffable!", 10), "un ##aff ##able !");
	assert_string_equal(tokens_of(&t, "Café", strlen("Café")), "cafe");
	assert_string_equal(tokens_of(&t, "İstanbul", strlen("İstanbul")), "istanbul");
	assert_string_equal(tokens_of(&t, "[SEP]x[MASK]", 12), "[SEP] x [MASK]");
	wp_free(&t);
	load(&t, 0, -1);
	assert_string_equal(tokens_of(&t, "Café", strlen("Café")), "C ##a ##f ##é");
	assert_string_equal(tokens_of(&t, "café", strlen("café")), "café");
	assert_string_equal(tokens_of(&t, "cafe\xcc\x81", 6), "café"); /* NFC */
	assert_string_equal(tokens_of(&t, "İstanbul", strlen("İstanbul")), "İstanbul");
	/* never_split: a zero-width space hid the special token from the split */
	assert_string_equal(tokens_of(&t, "[SEP\xe2\x80\x8b]", 8), "[SEP]");
	assert_string_equal(tokens_of(&t, "\xcc\x81[SEP]", 7), "\xcc\x81 [SEP]");
	wp_free(&t);
	load(&t, 0, 1); /* cased, accents stripped: stripping can reveal one too */
	assert_string_equal(tokens_of(&t, "\xcc\x81[SEP]", 7), "[SEP]");
	assert_string_equal(tokens_of(&t, "[SEP]\xcc\x81", 7), "[SEP]");
	assert_string_equal(tokens_of(&t, "Café", strlen("Café")), "C ##a ##fe");
	wp_free(&t);
}

static void test_empty_and_limits(void **state)
{
	wp_tokenizer t;
	load(&t, 1, -1);
	int32_t ids[512];
	int tr = -1;
	assert_int_equal(encode(&t, "", 0, ids, 512, &tr), 2);
	assert_int_equal(ids[0], t.cls);
	assert_int_equal(ids[1], t.sep);
	assert_int_equal(tr, 0);
	assert_int_equal(encode_str(&t, " \t\r\n\x01", ids, 512, &tr), 2);
	assert_int_equal(encode_str(&t, "hello", ids, 1, &tr), 0);
	assert_int_equal(encode_str(&t, "hello", ids, 0, &tr), 0);
	assert_int_equal(encode_str(&t, "x", ids, 2, &tr), 2);
	assert_int_equal(tr, 1);
	assert_int_equal(ids[1], t.sep);
	assert_int_equal(encode_str(&t, "", ids, 2, &tr), 2);
	assert_int_equal(tr, 0);
	wp_free(&t);
}

static void test_truncation(void **state)
{
	wp_tokenizer t;
	load(&t, 1, -1);
	int32_t ids[512], full[512];
	int tr = -1;
	const char *s = "the library for the package . the library";
	size_t n = encode_str(&t, s, full, 512, &tr);
	assert_int_equal(tr, 0);
	assert_true(n > 6);
	assert_int_equal(encode_str(&t, s, ids, n, &tr), n); /* exactly fits */
	assert_int_equal(tr, 0);
	assert_int_equal(encode_str(&t, s, ids, n - 1, &tr), n - 1);
	assert_int_equal(tr, 1);
	assert_memory_equal(ids, full, (n - 2) * sizeof *ids);
	assert_int_equal(ids[n - 2], t.sep);
	/* a word cut in its middle keeps its first pieces */
	n = encode_str(&t, "unaffable", full, 512, &tr);
	assert_int_equal(n, 5);
	assert_int_equal(encode_str(&t, "unaffable", ids, 4, &tr), 4);
	assert_int_equal(tr, 1);
	assert_memory_equal(ids, full, 3 * sizeof *ids);
	/* a long text stops early and still says it was cut */
	size_t len = 1 << 20;
	char *big = malloc(len);
	for (size_t i = 0; i < len; i++)
		big[i] = "word "[i % 5];
	assert_int_equal(encode(&t, big, len, ids, 512, &tr), 512);
	assert_int_equal(tr, 1);
	free(big);
	wp_free(&t);
}

static void test_max_chars_per_word(void **state)
{
	wp_tokenizer t;
	load(&t, 1, -1);
	char s[300];
	int32_t ids[512];
	memset(s, 'a', 101);
	assert_int_equal(encode(&t, s, 101, ids, 512, NULL), 3);
	assert_int_equal(ids[1], t.unk);
	size_t n = encode(&t, s, 100, ids, 512, NULL);
	assert_true(n > 3);
	for (size_t i = 1; i + 1 < n; i++)
		assert_int_not_equal(ids[i], t.unk);
	/* characters, not bytes: 100 x U+00E9 is 200 bytes and still a word */
	for (size_t i = 0; i < 100; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	n = encode(&t, s, 200, ids, 512, NULL);
	assert_true(n > 3);
	assert_int_not_equal(ids[1], t.unk);
	memcpy(s + 200, "\xc3\xa9", 2);
	assert_int_equal(encode(&t, s, 202, ids, 512, NULL), 3);
	assert_int_equal(ids[1], t.unk);
	/* a word that cannot be covered: one [UNK] for all of it */
	assert_string_equal(tokens_of(&t, "ab\xe2\x98\x83" "cd", 7), "[UNK]");
	wp_free(&t);
}

static void test_invalid_utf8(void **state)
{
	wp_tokenizer t;
	load(&t, 1, -1);
	static const struct {
		const char *bad;
		size_t len;
		const char *clean;
	} cases[] = {
		{"ab\xff" "cd", 5, "abcd"},
		{"ab\xc0\xaf" "cd", 6, "abcd"},          /* overlong '/' */
		{"ab\xed\xa0\x80" "cd", 7, "abcd"},      /* surrogate */
		{"ab\xf4\x90\x80\x80" "cd", 8, "abcd"},  /* > U+10FFFF */
		{"ab\x80\xbf" "cd", 6, "abcd"},          /* stray continuations */
		{"ab\xe2\x82", 4, "ab"},                 /* cut at the end */
		{"\xe2\x82" "ab", 4, "ab"},
		{"caf\xc3" " x", 6, "caf x"},
		{"ab\0cd", 5, "abcd"},                    /* NUL */
		{"\xef\xbf\xbd", 3, ""},                  /* U+FFFD itself */
		{"\xe4\xb8\xad\xff\xe6\x96\x87", 7, "\xe4\xb8\xad\xe6\x96\x87"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int32_t a[512], b[512];
		size_t na = encode(&t, cases[i].bad, cases[i].len, a, 512, NULL);
		size_t nb = encode_str(&t, cases[i].clean, b, 512, NULL);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na * sizeof *a);
	}
	wp_free(&t);
}

/* -------------------------------------------------------------- loading */

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *content, size_t len)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_load_vocab(void **state)
{
	wp_tokenizer t;
	bf_error err;
	const char v[] = "[PAD]\r\n[UNK]\r[CLS]\n\n[SEP]\nhello\r\n##lo";
	assert_int_equal(wp_load(&t, write_tmp("vocab.txt", v, sizeof v - 1), NULL, &err), BF_OK);
	assert_int_equal(t.n_tokens, 7);
	assert_int_equal(t.pad, 0);
	assert_int_equal(t.unk, 1);
	assert_int_equal(t.cls, 2);
	assert_int_equal(t.sep, 4);
	assert_string_equal(t.tokens[3], "");
	assert_string_equal(t.tokens[5], "hello");
	assert_int_equal(strmap_get(&t.vocab, "##lo", 4), 6);
	assert_int_equal(t.opt.lowercase, 1);
	assert_int_equal(t.opt.max_chars_per_word, 100);
	wp_free(&t);

	const char nounk[] = "[PAD]\n[CLS]\n[SEP]\n";
	assert_int_equal(wp_load(&t, write_tmp("vocab.txt", nounk, sizeof nounk - 1), NULL, &err), BF_EMODEL);
	assert_string_equal(err.message, "vocab has no \"[UNK]\" line, expected one");
	const char nopad[] = "[UNK]\n[CLS]\n[SEP]\n";
	assert_int_equal(wp_load(&t, write_tmp("vocab.txt", nopad, sizeof nopad - 1), NULL, &err), BF_OK);
	assert_int_equal(t.pad, t.unk);
	wp_free(&t);
	const char bad[] = "[UNK]\n[CLS]\nab\xff\n[SEP]\n";
	assert_int_equal(wp_load(&t, write_tmp("vocab.txt", bad, sizeof bad - 1), NULL, &err), BF_EMODEL);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 3);
	assert_int_equal(wp_load(&t, "testdata/bert/tokenizer/absent.txt", NULL, &err), BF_EMODEL);
	assert_non_null(strstr(err.message, "cannot read vocab file"));
}

static void test_options_from_dir(void **state)
{
	wp_options o;
	bf_error err;
	assert_int_equal(wp_options_from_dir(&o, tmpdir, &err), BF_OK); /* no config: defaults */
	assert_int_equal(o.lowercase, 1);
	assert_int_equal(o.strip_accents, -1);
	assert_int_equal(o.tokenize_chinese_chars, 1);
	assert_int_equal(o.max_chars_per_word, 100);

	const char cased[] = "{\"do_lower_case\": false, \"strip_accents\": null,\n"
			     " \"tokenize_chinese_chars\": false, \"model_max_length\": 512,\n"
			     " \"unk_token\": \"[UNK]\", \"mask_token\": {\"content\": \"[MASK]\"},\n"
			     " \"never_split\": null, \"tokenizer_class\": \"BertTokenizer\"}";
	write_tmp("tokenizer_config.json", cased, sizeof cased - 1);
	assert_int_equal(wp_options_from_dir(&o, tmpdir, &err), BF_OK);
	assert_int_equal(o.lowercase, 0);
	assert_int_equal(o.strip_accents, -1);
	assert_int_equal(o.tokenize_chinese_chars, 0);

	const char strip[] = "{\"strip_accents\": true}";
	write_tmp("tokenizer_config.json", strip, sizeof strip - 1);
	assert_int_equal(wp_options_from_dir(&o, tmpdir, &err), BF_OK);
	assert_int_equal(o.lowercase, 1);
	assert_int_equal(o.strip_accents, 1);

	static const struct {
		const char *json, *message;
		int64_t line, column;
	} bad[] = {
		{"{\"do_lower_case\": \"yes\"}", "\"do_lower_case\" is a string, expected true or false", 1, 19},
		{"{\n \"strip_accents\": 1}", "\"strip_accents\" is a number, expected true or false or null", 2, 19},
		{"{\"do_basic_tokenize\": false}",
		 "\"do_basic_tokenize\" is false, expected true (the only setting supported)", 1, 23},
		{"{\"never_split\": [\"x\"]}",
		 "\"never_split\" is an array, expected null or [] (the only setting supported)", 1, 17},
		{"{\"unk_token\": \"<unk>\"}", "\"unk_token\" is not \"[UNK]\", the only one supported", 1, 15},
		{"[1]", "tokenizer config is an array, expected an object", 1, 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_tmp("tokenizer_config.json", bad[i].json, strlen(bad[i].json));
		assert_int_equal(wp_options_from_dir(&o, tmpdir, &err), BF_EMODEL);
		assert_string_equal(err.message, bad[i].message);
		assert_int_equal(err.line, bad[i].line);
		assert_int_equal(err.column, bad[i].column);
	}
	write_tmp("tokenizer_config.json", "{\"do_lower_case\": tru}", 22);
	assert_int_equal(wp_options_from_dir(&o, tmpdir, &err), BF_EMODEL);
	assert_int_equal(err.line, 1);
}

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/wordpiece_test.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char path[128];
	snprintf(path, sizeof path, "%s/vocab.txt", tmpdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/tokenizer_config.json", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_texts),
		cmocka_unit_test(test_reference_random),
		cmocka_unit_test(test_continuations),
		cmocka_unit_test(test_empty_and_limits),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_max_chars_per_word),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_load_vocab),
		cmocka_unit_test(test_options_from_dir),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
