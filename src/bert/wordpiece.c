/* wordpiece.c: Hugging Face's BertTokenizer for vocab.txt models. See wordpiece.h.
 *
 * transformers runs, per text: per-character str.lower() (lower-casing
 * models), split on special tokens, _clean_text, _tokenize_chinese_chars, NFC,
 * whitespace split, then per whitespace token lower() again, accent stripping
 * (NFD, drop Mn), punctuation split and WordPiece. Here the text is read once,
 * left to right, one whitespace token at a time:
 *
 *   - an all-ASCII token is lower-cased and split with tables: NFC, NFD and
 *     the second lower() change nothing in ASCII;
 *   - any other token goes through utf8proc: each code point is cleaned,
 *     lower-cased and decomposed, the marks put in canonical order (that is
 *     NFD of the token), then composed (NFC) or stripped of Mn. Stripping
 *     needs no NFC first since NFD(NFC(x)) = NFD(x), and the second lower()
 *     is the identity on lower-cased, normalized text (checked for every
 *     code point: lower() is idempotent, keeps decompositions lower-cased,
 *     and no composite of lower-cased parts has a lower-case mapping).
 *
 * The token's UTF-8 bytes are then split at punctuation and looked up in
 * the vocab, all inside the caller's work buffer. */
#include "wordpiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "arena.h"
#include "file.h"
#include "json.h"
#include "utf8.h"

/* Sane limits on what a model folder may hold: BERT vocabularies have tens
 * of thousands of tokens (multilingual ones a quarter of a million). */
#define WP_VOCAB_FILE_MAX (64u << 20)
#define WP_VOCAB_MAX_TOKENS (1 << 21)
#define WP_CONFIG_FILE_MAX (16u << 20)

/* ---------------------------------------------------------------- characters */

enum { CH_WORD, CH_SPACE, CH_DROP, CH_PUNCT, CH_CJK };

#define W CH_WORD
#define S CH_SPACE
#define D CH_DROP
#define P CH_PUNCT
/* _is_whitespace, _is_control and _is_punctuation of the ASCII characters. */
static const uint8_t ascii_class[128] = {
	D, D, D, D, D, D, D, D, D, S, S, D, D, S, D, D, /* \t \n \r: whitespace */
	D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,
	S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* space ! " # ... / */
	W, W, W, W, W, W, W, W, W, W, P, P, P, P, P, P, /* 0-9 : ; < = > ? */
	P, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W, /* @ A-O */
	W, W, W, W, W, W, W, W, W, W, W, P, P, P, P, P, /* P-Z [ \ ] ^ _ */
	P, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W, /* ` a-o */
	W, W, W, W, W, W, W, W, W, W, W, P, P, P, P, D, /* p-z { | } ~ DEL */
};
#undef W
#undef S
#undef D
#undef P

/* BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks. */
static int is_cjk(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
	       (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Class of any code point; c < 0 is a byte that is not UTF-8 (U+FFFD). */
static int char_class(int32_t c)
{
	if (c < 0x80)
		return c < 0 ? CH_DROP : ascii_class[c];
	if (c == 0xFFFD)
		return CH_DROP;
	/* Zl and Zp are not _is_whitespace, but str.split() splits there. */
	if (c == 0x2028 || c == 0x2029)
		return CH_SPACE;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_CN:
	case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_CF:
	case UTF8PROC_CATEGORY_CO:
	case UTF8PROC_CATEGORY_CS:
		return CH_DROP;
	case UTF8PROC_CATEGORY_ZS:
		return CH_SPACE;
	case UTF8PROC_CATEGORY_PC:
	case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI:
	case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
		return CH_PUNCT;
	default:
		return is_cjk(c) ? CH_CJK : CH_WORD;
	}
}

/* Decodes the code point s[0..n) (n >= 1) starts with into *c, -1 when the
 * bytes are not UTF-8 (RFC 3629). Returns the bytes used: 1 for a bad byte. */
static size_t utf8_next(const uint8_t *s, size_t n, int32_t *c)
{
	uint32_t b = s[0];
	*c = -1;
	if (b < 0x80) {
		*c = (int32_t)b;
		return 1;
	}
	size_t k;
	uint32_t lo = 0x80, hi = 0xBF;
	if (b >= 0xC2 && b <= 0xDF)
		k = 2;
	else if (b >= 0xE0 && b <= 0xEF) {
		k = 3;
		lo = b == 0xE0 ? 0xA0 : 0x80;
		hi = b == 0xED ? 0x9F : 0xBF;
	} else if (b >= 0xF0 && b <= 0xF4) {
		k = 4;
		lo = b == 0xF0 ? 0x90 : 0x80;
		hi = b == 0xF4 ? 0x8F : 0xBF;
	} else
		return 1;
	if (n < k || s[1] < lo || s[1] > hi)
		return 1;
	uint32_t v = b & (0x7F >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 1;
		v = (v << 6) | (s[i] & 0x3F);
	}
	*c = (int32_t)v;
	return k;
}

static size_t utf8_put(uint8_t *d, int32_t c)
{
	uint32_t v = (uint32_t)c;
	if (v < 0x80) {
		d[0] = (uint8_t)v;
		return 1;
	}
	if (v < 0x800) {
		d[0] = (uint8_t)(0xC0 | (v >> 6));
		d[1] = (uint8_t)(0x80 | (v & 0x3F));
		return 2;
	}
	if (v < 0x10000) {
		d[0] = (uint8_t)(0xE0 | (v >> 12));
		d[1] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
		d[2] = (uint8_t)(0x80 | (v & 0x3F));
		return 3;
	}
	d[0] = (uint8_t)(0xF0 | (v >> 18));
	d[1] = (uint8_t)(0x80 | ((v >> 12) & 0x3F));
	d[2] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
	d[3] = (uint8_t)(0x80 | (v & 0x3F));
	return 4;
}

/* Python's str.lower() of one code point: the simple mapping, except the one
 * unconditional multi-character entry of SpecialCasing.txt. */
static size_t lower_full(int32_t c, int32_t out[2])
{
	if (c == 0x130) {
		out[0] = 'i';
		out[1] = 0x307;
		return 2;
	}
	out[0] = utf8proc_tolower(c);
	return 1;
}

static int ccc(int32_t c)
{
	return utf8proc_get_property(c)->combining_class;
}

/* The Canonical Ordering Algorithm: a stable sort of each run of marks by
 * combining class (quadratic in a run's length, as utf8proc's and Python's). */
static void canonical_order(int32_t *cp, size_t m)
{
	for (size_t i = 1; i < m; i++) {
		int32_t c = cp[i];
		if (c < 0x300)
			continue;
		int cc = ccc(c);
		if (!cc)
			continue;
		size_t j = i;
		while (j > 0 && ccc(cp[j - 1]) > cc) {
			cp[j] = cp[j - 1];
			j--;
		}
		cp[j] = c;
	}
}

/* ------------------------------------------------------------ special tokens */

/* transformers' all_special_tokens for BERT: split off before anything else,
 * matched case-sensitively in the raw text. */
static const char *const specials[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

/* Length of the special token s[0..n) starts with, or 0. */
static size_t special_len(const uint8_t *s, size_t n)
{
	if (n < 5 || s[0] != '[')
		return 0;
	for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
		size_t k = strlen(specials[i]);
		if (k <= n && memcmp(s, specials[i], k) == 0)
			return k;
	}
	return 0;
}

/* A special token missing from the vocab converts to [UNK], as
 * convert_tokens_to_ids does. */
static int32_t special_id(const wp_tokenizer *t, const uint8_t *s, size_t k)
{
	int32_t id = strmap_get(&t->vocab, (const char *)s, k);
	return id >= 0 ? id : t->unk;
}

/* ------------------------------------------------------------------- encoding */

typedef struct wp_run {
	const wp_tokenizer *t;
	int32_t *ids;   /* (cap) the tokens between [CLS] and [SEP] */
	size_t cap;
	size_t n;       /* tokens found so far; > cap once some are cut */
	int strip;      /* strip accents */
} wp_run;

static void push(wp_run *r, int32_t id)
{
	if (r->n < r->cap)
		r->ids[r->n] = id;
	r->n++;
}

static int is_cont(uint8_t b)
{
	return (b & 0xC0) == 0x80;
}

/* WordpieceTokenizer on one piece w[0..n) of nchars characters: greedy
 * longest match, "##" before continuations, one [UNK] for the whole piece
 * when some part matches nothing. A continuation is looked up by writing
 * "##" over the two bytes in front of it (w[-2] must be writable) and putting
 * them back. */
static void wordpiece(wp_run *r, uint8_t *w, size_t n, size_t nchars)
{
	const wp_tokenizer *t = r->t;
	if (nchars > t->opt.max_chars_per_word) {
		push(r, t->unk);
		return;
	}
	size_t first = r->n, start = 0;
	while (start < n) {
		size_t pre = start ? 2 : 0, end = n;
		if (end - start + pre > t->max_token_bytes) {
			end = t->max_token_bytes > pre ? start + t->max_token_bytes - pre : start;
			while (end > start && is_cont(w[end]))
				end--;
		}
		uint8_t *key = w + start - pre, save[2] = {0, 0};
		if (pre) {
			memcpy(save, key, 2);
			key[0] = key[1] = '#';
		}
		int32_t id = -1;
		while (end > start) {
			id = strmap_get(&t->vocab, (const char *)key, end - start + pre);
			if (id >= 0)
				break;
			do
				end--;
			while (end > start && is_cont(w[end]));
		}
		if (pre)
			memcpy(key, save, 2);
		if (id < 0) {
			r->n = first;
			push(r, t->unk);
			return;
		}
		push(r, id);
		start = end;
	}
}

/* _run_split_on_punc on the token w[0..n), then WordPiece on each piece. */
static void split_punct(wp_run *r, uint8_t *w, size_t n)
{
	size_t start = 0, nchars = 0, i = 0;
	while (i < n && r->n <= r->cap) {
		size_t k = 1;
		int punct;
		if (w[i] < 0x80)
			punct = ascii_class[w[i]] == CH_PUNCT;
		else {
			int32_t c;
			k = utf8_next(w + i, n - i, &c);
			punct = char_class(c) == CH_PUNCT;
		}
		if (punct) {
			if (i > start)
				wordpiece(r, w + start, i - start, nchars);
			wordpiece(r, w + i, k, 1);
			start = i + k;
			nchars = 0;
		} else
			nchars++;
		i += k;
	}
	if (i > start && r->n <= r->cap)
		wordpiece(r, w + start, i - start, nchars);
}

/* Splits the finished whitespace token b[0..n) at punctuation, unless it is
 * exactly a special token: BasicTokenizer's never_split keeps it whole (and
 * WordPiece finds it). Only a cased model gets there, when dropped
 * characters or stripped accents hid the token from the special-token
 * split, as in "[SEP\u200b]" or "\u0301[SEP]". */
static void token_done(wp_run *r, uint8_t *b, size_t n)
{
	if (!r->t->opt.lowercase && n && special_len(b, n) == n)
		wordpiece(r, b, n, n);
	else
		split_punct(r, b, n);
}

/* A whitespace token with non-ASCII characters, s[0..n) of the text. buf
 * holds (n + n / 2 + 8) code points: NFD(lower(c)) of a character of u
 * bytes is at most 1.5 u code points (U+01D5: 2 bytes, 3 code points). */
static void token_unicode(wp_run *r, const uint8_t *s, size_t n, uint8_t *buf)
{
	const wp_tokenizer *t = r->t;
	int32_t *cp = (int32_t *)(void *)buf;
	size_t cap = n + n / 2 + 8, m = 0;
	for (size_t i = 0; i < n;) {
		int32_t c, low[2];
		i += utf8_next(s + i, n - i, &c);
		if (char_class(c) == CH_DROP)
			continue;
		size_t nl = 1;
		low[0] = c;
		if (t->opt.lowercase)
			nl = lower_full(c, low);
		for (size_t j = 0; j < nl; j++) {
			int boundclass = 0;
			utf8proc_ssize_t k = utf8proc_decompose_char(low[j], cp + m, (utf8proc_ssize_t)(cap - m),
								     UTF8PROC_DECOMPOSE, &boundclass);
			if (k < 0 || (size_t)k > cap - m)
				k = 0; /* cannot happen: see the bound above */
			m += (size_t)k;
		}
	}
	canonical_order(cp, m);

	if (r->strip) {
		size_t k = 0;
		for (size_t i = 0; i < m; i++)
			if (cp[i] < 0x300 || utf8proc_category(cp[i]) != UTF8PROC_CATEGORY_MN)
				cp[k++] = cp[i];
		m = k;
	} else if (m)
		m = (size_t)utf8proc_normalize_utf32(cp, (utf8proc_ssize_t)m,
						     UTF8PROC_COMPOSE | UTF8PROC_STABLE);

	/* To UTF-8 in place: code point i is read before bytes up to 4 i + 4
	 * are written. */
	size_t nb = 0;
	for (size_t i = 0; i < m; i++) {
		int32_t c = cp[i];
		nb += utf8_put(buf + nb, c);
	}
	token_done(r, buf, nb);
}

size_t wp_work_size(size_t len)
{
	return 8 * len + 64;
}

size_t wp_encode(const wp_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t max_len,
		 int *truncated, void *work)
{
	if (truncated)
		*truncated = 0;
	if (max_len < 2)
		return 0;
	wp_run r = {
		.t = t,
		.ids = ids + 1,
		.cap = max_len - 2,
		.n = 0,
		.strip = t->opt.strip_accents < 0 ? t->opt.lowercase : t->opt.strip_accents,
	};
	/* 8 bytes in front for the "##" of a continuation at the token's start. */
	uint8_t *buf = (uint8_t *)work + 8;
	const uint8_t *s = (const uint8_t *)text;
	const int lower = t->opt.lowercase, cjk = t->opt.tokenize_chinese_chars;
	size_t i = 0;
	while (i < len && r.n <= r.cap) {
		int32_t c = s[i];
		size_t k = 1;
		if (c >= 0x80)
			k = utf8_next(s + i, len - i, &c);
		int cls = char_class(c);
		if (cls == CH_SPACE || cls == CH_DROP) {
			i += k;
			continue;
		}
		size_t sk = special_len(s + i, len - i);
		if (sk) {
			push(&r, special_id(t, s + i, sk));
			i += sk;
			continue;
		}
		if (cls == CH_CJK && cjk) {
			token_unicode(&r, s + i, k, buf);
			i += k;
			continue;
		}
		/* A whitespace token: up to whitespace, a CJK ideograph or a special
		 * token. ASCII is copied (lower-cased, controls dropped) on the way. */
		size_t start = i, nb = 0;
		int ascii = 1;
		while (i < len) {
			uint8_t b = s[i];
			if (b < 0x80) {
				uint8_t a = ascii_class[b];
				if (a == CH_SPACE || (b == '[' && i > start && special_len(s + i, len - i)))
					break;
				if (a != CH_DROP)
					buf[nb++] = lower && (unsigned)(b - 'A') < 26 ? b + 32 : b;
				i++;
			} else {
				k = utf8_next(s + i, len - i, &c);
				cls = char_class(c);
				if (cls == CH_SPACE || (cls == CH_CJK && cjk))
					break;
				ascii = 0;
				i += k;
			}
		}
		if (ascii)
			token_done(&r, buf, nb);
		else
			token_unicode(&r, s + start, i - start, buf);
	}
	size_t n = r.n < r.cap ? r.n : r.cap;
	ids[0] = t->cls;
	ids[n + 1] = t->sep;
	if (truncated)
		*truncated = r.n > r.cap;
	return n + 2;
}

/* -------------------------------------------------------------------- loading */

static void wp_defaults(wp_options *o)
{
	o->lowercase = 1;
	o->strip_accents = -1;
	o->tokenize_chinese_chars = 1;
	o->max_chars_per_word = 100;
}


int wp_load(wp_tokenizer *t, const char *path, const wp_options *opt, bf_error *err)
{
	memset(t, 0, sizeof *t);
	strmap_init(&t->vocab);
	if (opt)
		t->opt = *opt;
	else
		wp_defaults(&t->opt);
	size_t len;
	char *text;
	int rc = bf_read_whole(path, "vocab file", WP_VOCAB_FILE_MAX, 0, BF_EMODEL, &text, &len, err);
	if (rc)
		return rc;

	/* Lines as Python's readlines() in text mode: \n, \r\n and \r end them. */
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n')))
			lines++;
	if (len && text[len - 1] != '\n' && text[len - 1] != '\r')
		lines++;
	if (lines > WP_VOCAB_MAX_TOKENS) {
		free(text);
		return bf_err_set(err, BF_EMODEL, path, 0, 0, "vocab has %zu lines, expected at most %d", lines,
				  WP_VOCAB_MAX_TOKENS);
	}
	t->text = text;
	t->tokens = malloc((lines ? lines : 1) * sizeof *t->tokens);
	if (!t->tokens) {
		wp_free(t);
		return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory reading the vocab");
	}
	size_t i = 0;
	while (i < len) {
		size_t s = i;
		while (i < len && text[i] != '\n' && text[i] != '\r')
			i++;
		size_t n = i - s, bad = utf8_check(text + s, n);
		if (bad < n) {
			size_t line = t->n_tokens + 1;
			wp_free(t);
			return bf_err_set(err, BF_EMODEL, path, (int64_t)line, (int64_t)bad + 1,
					  "invalid UTF-8 in vocab line, expected one UTF-8 token a line");
		}
		if (i < len && text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
			text[i++] = '\0';
		if (i < len)
			text[i++] = '\0';
		t->tokens[t->n_tokens] = text + s;
		if (strmap_put(&t->vocab, text + s, n, (int32_t)t->n_tokens) < 0) {
			wp_free(t);
			return bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory reading the vocab");
		}
		if (n > t->max_token_bytes)
			t->max_token_bytes = n;
		t->n_tokens++;
	}

	static const char *const need[] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]"};
	int32_t *want[] = {&t->unk, &t->cls, &t->sep, &t->pad};
	for (size_t k = 0; k < 4; k++) {
		*want[k] = strmap_get(&t->vocab, need[k], 5);
		if (*want[k] < 0 && k < 3) {
			wp_free(t);
			return bf_err_set(err, BF_EMODEL, path, 0, 0, "vocab has no \"%s\" line, expected one",
					  need[k]);
		}
	}
	if (t->pad < 0)
		t->pad = t->unk;
	return BF_OK;
}

void wp_free(wp_tokenizer *t)
{
	strmap_free(&t->vocab);
	free(t->tokens);
	free(t->text);
	t->tokens = NULL;
	t->text = NULL;
	t->n_tokens = 0;
}

/* ----------------------------------------------------- tokenizer_config.json */

static void json_pos(const char *text, const json_value *v, int64_t *line, int64_t *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < v->raw; p++) {
		if (*p == '\n') {
			++*line;
			*col = 1;
		} else
			++*col;
	}
}

static const char *json_type_name(json_type type)
{
	switch (type) {
	case JSON_NULL: return "null";
	case JSON_FALSE:
	case JSON_TRUE: return "a boolean";
	case JSON_NUMBER: return "a number";
	case JSON_STRING: return "a string";
	case JSON_ARRAY: return "an array";
	default: return "an object";
	}
}

int wp_options_from_dir(wp_options *opt, const char *dir, bf_error *err)
{
	wp_defaults(opt);
	char path[1024];
	if ((size_t)snprintf(path, sizeof path, "%s/tokenizer_config.json", dir) >= sizeof path)
		return bf_err_set(err, BF_EMODEL, dir, 0, 0, "model folder path is too long");
	size_t len;
	char *text;
	int rc = bf_read_whole(path, "tokenizer config", WP_CONFIG_FILE_MAX, 1, BF_EMODEL, &text, &len, err);
	if (rc || !text)
		return rc;
	arena a;
	arena_init(&a, 0);
	json_value *root;
	json_error jerr;
	if (json_parse(text, len, &a, &root, &jerr) < 0) {
		rc = bf_err_set(err, BF_EMODEL, path, jerr.line, jerr.column, "%s", jerr.message);
		goto done;
	}
	if (root->type != JSON_OBJECT) {
		rc = bf_err_set(err, BF_EMODEL, path, 1, 1, "tokenizer config is %s, expected an object",
				json_type_name(root->type));
		goto done;
	}

	static const struct {
		const char *key;
		int null_ok;
	} flags[] = {{"do_lower_case", 0}, {"tokenize_chinese_chars", 0}, {"strip_accents", 1},
		     {"do_basic_tokenize", 0}, {"do_split_on_punc", 0}};
	int *dest[] = {&opt->lowercase, &opt->tokenize_chinese_chars, &opt->strip_accents, NULL, NULL};
	int64_t line, col;
	for (size_t k = 0; k < sizeof flags / sizeof *flags; k++) {
		const json_value *v = json_get(root, flags[k].key);
		if (!v || (v->type == JSON_NULL && flags[k].null_ok))
			continue;
		json_pos(text, v, &line, &col);
		if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
			rc = bf_err_set(err, BF_EMODEL, path, line, col, "\"%s\" is %s, expected true or false%s",
					flags[k].key, json_type_name(v->type), flags[k].null_ok ? " or null" : "");
			goto done;
		}
		if (dest[k])
			*dest[k] = v->type == JSON_TRUE;
		else if (v->type == JSON_FALSE) {
			rc = bf_err_set(err, BF_EMODEL, path, line, col,
					"\"%s\" is false, expected true (the only setting supported)", flags[k].key);
			goto done;
		}
	}

	const json_value *ns = json_get(root, "never_split");
	if (ns && !(ns->type == JSON_NULL || (ns->type == JSON_ARRAY && ns->len == 0))) {
		json_pos(text, ns, &line, &col);
		rc = bf_err_set(err, BF_EMODEL, path, line, col,
				"\"never_split\" is %s, expected null or [] (the only setting supported)",
				json_type_name(ns->type));
		goto done;
	}

	static const char *const names[][2] = {{"unk_token", "[UNK]"}, {"sep_token", "[SEP]"},
					       {"pad_token", "[PAD]"}, {"cls_token", "[CLS]"},
					       {"mask_token", "[MASK]"}};
	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		const json_value *v = json_get(root, names[k][0]);
		if (!v || v->type == JSON_NULL)
			continue;
		if (v->type == JSON_OBJECT) /* a serialized AddedToken */
			v = json_get(v, "content");
		if (v && v->type == JSON_STRING && strcmp(v->u.string, names[k][1]) == 0)
			continue;
		v = json_get(root, names[k][0]);
		json_pos(text, v, &line, &col);
		rc = bf_err_set(err, BF_EMODEL, path, line, col, "\"%s\" is not \"%s\", the only one supported",
				names[k][0], names[k][1]);
		goto done;
	}
done:
	arena_free(&a);
	free(text);
	return rc;
}
