/* wordpiece.h: Hugging Face's BertTokenizer for vocab.txt models.
 *
 * Exactly BasicTokenizer + WordpieceTokenizer as transformers (>= 4.29)
 * runs them: clean text (drop NUL, U+FFFD and control characters, whitespace
 * to ' '), split CJK ideographs into their own tokens, NFC, optional
 * lower-casing (Python's full mapping: U+0130 becomes "i" U+0307) and accent
 * stripping (NFD, drop Mn), punctuation split (ASCII symbol ranges and
 * Unicode P* categories), then greedy longest-match WordPiece with "##"
 * continuations, [UNK] for a word that cannot be covered or is longer than
 * max_input_chars_per_word (100) characters; [CLS] ... [SEP] around it and
 * truncation to max_length. Unicode properties come from libutf8proc.
 * BertTokenizerFast gives the same ids except on text that is not in NFC
 * (it does not compose), e.g. a cased model fed "e" U+0301. */
#ifndef BF_WORDPIECE_H
#define BF_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "strmap.h"

typedef struct wp_options {
	int lowercase;               /* do_lower_case (default 1 for uncased models) */
	int strip_accents;           /* -1: follow lowercase (transformers' default), 0 no, 1 yes */
	int tokenize_chinese_chars;  /* default 1 */
	size_t max_chars_per_word;   /* default 100 */
} wp_options;

typedef struct wp_tokenizer {
	wp_options opt;
	strmap vocab;                /* token -> id */
	char **tokens;               /* (n_tokens) id -> token, pointing into text */
	char *text;                  /* the vocab file, its line ends made NULs */
	size_t n_tokens;
	int32_t unk, cls, sep, pad;  /* ids of [UNK] [CLS] [SEP] [PAD] ([UNK]'s when no [PAD]) */
	size_t max_token_bytes;      /* longest vocab entry: bounds the WordPiece probes */
} wp_tokenizer;

/* Reads vocab.txt (one token a line, id = line number - 1; lines end as
 * Python's universal newlines say: \n, \r\n or \r). Fails when [UNK], [CLS] or
 * [SEP] is missing or a line is not UTF-8. opt NULL: wp_options_from_dir's
 * defaults. On failure t needs no wp_free. */
int wp_load(wp_tokenizer *t, const char *vocab_path, const wp_options *opt, bf_error *err);
/* Reads the options of a model folder's tokenizer_config.json (absent file
 * or keys: defaults; model_max_length is not read). Settings that change the
 * tokens and that this tokenizer does not follow (do_basic_tokenize false,
 * never_split, other special tokens) are errors. */
int wp_options_from_dir(wp_options *opt, const char *dir, bf_error *err);
/* Bytes of scratch wp_encode needs for a text of len bytes: 8 * len + 64. */
size_t wp_work_size(size_t len);
/* Tokenizes text[0..len) (UTF-8; invalid bytes count as U+FFFD and are
 * dropped as transformers does for that character) into
 * [CLS] tokens [SEP], at most max_len ids in all (truncating the tokens;
 * max_len < 2 gives 0 ids). [UNK] [CLS] [SEP] [PAD] [MASK] written in the
 * text are those tokens, as in transformers. Returns the number of ids;
 * *truncated (NULL ok) is set when tokens were cut. Needs no allocation
 * beyond `work` (a caller buffer of at least wp_work_size(len) bytes, aligned
 * as malloc's); t is only read, so threads may share it. */
size_t wp_encode(const wp_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t max_len,
		 int *truncated, void *work);
void wp_free(wp_tokenizer *t);

#endif
