#!/usr/bin/python3
"""bert_tokenizer_ref.py: Hugging Face's BertTokenizer in plain Python, for
the expected ids of src/bert/wordpiece.c's tests.

A re-implementation, step by step, of what transformers (>= 4.29) runs for
`BertTokenizer(vocab_file, ...)(text, truncation=True, max_length=N)`:
PreTrainedTokenizer.tokenize (per-character lower() when do_lower_case, split
on the special tokens), BertTokenizer._tokenize, BasicTokenizer (with the NFC
step added in 4.29), WordpieceTokenizer, then [CLS] ... [SEP] and truncation.
It needs only the standard library (unicodedata), so it runs where
transformers is not installed.

Unicode versions: unicodedata is Python's (3.11: Unicode 14.0, 3.12: 15.0),
libutf8proc 2.8 is Unicode 15.0. Characters assigned between the two (e.g.
CJK Extension H, U+31350..U+323AF) are Cn, so dropped, here under Python 3.11
and letters in C; the test texts avoid them.

Usage:
  bert_tokenizer_ref.py encode --vocab V --texts T [--max-length N]
      [--cased] [--strip-accents none|true|false] [--no-chinese] > out.jsonl
  bert_tokenizer_ref.py fixtures DIR     expected ids of DIR/{texts,random}.txt
  bert_tokenizer_ref.py random [--seed S] [--count N] > random.txt
  bert_tokenizer_ref.py vocab CORPUS > vocab.txt

Texts are one JSON string a line; the ids are one JSON object a line,
{"ids":[...],"truncated":false}. `fixtures` writes
DIR/expected/{texts,random}.{OPTIONS}.{16,512}.jsonl for the option sets of
FIXTURE_OPTIONS. `random` writes random hard texts, `vocab` a small vocab from
an English corpus (testdata/bert/tokenizer/vocab.txt came from the package
descriptions of `apt-cache dumpavail`) plus the characters the tests need.

Remaking the fixtures:
  scripts/ref/bert_tokenizer_ref.py random --seed 1 --count 600 > testdata/bert/tokenizer/random.txt
  scripts/ref/bert_tokenizer_ref.py fixtures testdata/bert/tokenizer
"""
import argparse
import collections
import json
import os
import random
import re
import sys
import unicodedata


# ---- tokenization_utils.py


def _is_whitespace(char):
    if char == " " or char == "\t" or char == "\n" or char == "\r":
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char):
    if char == "\t" or char == "\n" or char == "\r":
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char):
    cp = ord(char)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(char).startswith("P")


# ---- tokenization_bert.py


def load_vocab(vocab_file):
    vocab = collections.OrderedDict()
    with open(vocab_file, "r", encoding="utf-8") as reader:
        tokens = reader.readlines()
    for index, token in enumerate(tokens):
        vocab[token.rstrip("\n")] = index
    return vocab


def whitespace_tokenize(text):
    text = text.strip()
    if not text:
        return []
    return text.split()


class BasicTokenizer:
    def __init__(self, do_lower_case=True, never_split=None, tokenize_chinese_chars=True,
                 strip_accents=None):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split or [])
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents

    def tokenize(self, text, never_split=None):
        never_split = self.never_split.union(set(never_split)) if never_split else self.never_split
        text = self._clean_text(text)
        if self.tokenize_chinese_chars:
            text = self._tokenize_chinese_chars(text)
        # transformers >= 4.29 (pull request 22280)
        unicode_normalized_text = unicodedata.normalize("NFC", text)
        orig_tokens = whitespace_tokenize(unicode_normalized_text)
        split_tokens = []
        for token in orig_tokens:
            if token not in never_split:
                if self.do_lower_case:
                    token = token.lower()
                    if self.strip_accents is not False:
                        token = self._run_strip_accents(token)
                elif self.strip_accents:
                    token = self._run_strip_accents(token)
            split_tokens.extend(self._run_split_on_punc(token, never_split))
        return whitespace_tokenize(" ".join(split_tokens))

    def _run_strip_accents(self, text):
        text = unicodedata.normalize("NFD", text)
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    def _run_split_on_punc(self, text, never_split=None):
        if never_split is not None and text in never_split:
            return [text]
        output = []
        start_new_word = True
        for char in text:
            if _is_punctuation(char):
                output.append([char])
                start_new_word = True
            else:
                if start_new_word:
                    output.append([])
                start_new_word = False
                output[-1].append(char)
        return ["".join(x) for x in output]

    def _tokenize_chinese_chars(self, text):
        output = []
        for char in text:
            if self._is_chinese_char(ord(char)):
                output.extend((" ", char, " "))
            else:
                output.append(char)
        return "".join(output)

    def _is_chinese_char(self, cp):
        return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
                or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F)
                or (0x2B820 <= cp <= 0x2CEAF) or (0xF900 <= cp <= 0xFAFF)
                or (0x2F800 <= cp <= 0x2FA1F))

    def _clean_text(self, text):
        output = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD or _is_control(char):
                continue
            output.append(" " if _is_whitespace(char) else char)
        return "".join(output)


class WordpieceTokenizer:
    def __init__(self, vocab, unk_token, max_input_chars_per_word=100):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize(self, text):
        output_tokens = []
        for token in whitespace_tokenize(text):
            chars = list(token)
            if len(chars) > self.max_input_chars_per_word:
                output_tokens.append(self.unk_token)
                continue
            is_bad = False
            start = 0
            sub_tokens = []
            while start < len(chars):
                end = len(chars)
                cur_substr = None
                while start < end:
                    substr = "".join(chars[start:end])
                    if start > 0:
                        substr = "##" + substr
                    if substr in self.vocab:
                        cur_substr = substr
                        break
                    end -= 1
                if cur_substr is None:
                    is_bad = True
                    break
                sub_tokens.append(cur_substr)
                start = end
            if is_bad:
                output_tokens.append(self.unk_token)
            else:
                output_tokens.extend(sub_tokens)
        return output_tokens


class BertTokenizer:
    """BertTokenizer with PreTrainedTokenizer's tokenize() and encoding."""

    all_special_tokens = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]

    def __init__(self, vocab_file, do_lower_case=True, tokenize_chinese_chars=True,
                 strip_accents=None):
        self.vocab = load_vocab(vocab_file)
        self.do_lower_case = do_lower_case
        self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case,
                                              tokenize_chinese_chars=tokenize_chinese_chars,
                                              strip_accents=strip_accents)
        self.wordpiece_tokenizer = WordpieceTokenizer(self.vocab, "[UNK]")

    def tokenize(self, text):
        # PreTrainedTokenizer.tokenize: lower-case all but the special tokens,
        # one character at a time (the pattern's "(.+?)" matches one).
        if self.do_lower_case:
            escaped = [re.escape(t) for t in self.all_special_tokens]
            pattern = r"(" + r"|".join(escaped) + r")|" + r"(.+?)"
            text = re.sub(pattern, lambda m: m.groups()[0] or m.groups()[1].lower(), text)
        # The tokens trie splits the special tokens off (none is a prefix of
        # another, so a regular expression finds the same matches); the
        # whitespace it strips around them changes nothing here.
        parts = re.split("(" + "|".join(re.escape(t) for t in self.all_special_tokens) + ")", text)
        tokens = []
        for part in parts:
            if not part:
                continue
            if part in self.all_special_tokens:
                tokens.append(part)
            else:
                tokens.extend(self._tokenize(part))
        return tokens

    def _tokenize(self, text):
        split_tokens = []
        for token in self.basic_tokenizer.tokenize(text, never_split=self.all_special_tokens):
            if token in self.basic_tokenizer.never_split:
                split_tokens.append(token)
            else:
                split_tokens += self.wordpiece_tokenizer.tokenize(token)
        return split_tokens

    def convert_tokens_to_ids(self, tokens):
        return [self.vocab.get(t, self.vocab.get("[UNK]")) for t in tokens]

    def encode(self, text, max_length):
        """input_ids of tokenizer(text, truncation=True, max_length=...)."""
        ids = self.convert_tokens_to_ids(self.tokenize(text))
        truncated = len(ids) > max_length - 2
        ids = ids[:max_length - 2]
        return [self.vocab["[CLS]"]] + ids + [self.vocab["[SEP]"]], truncated


# ---- random hard texts

POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" .,;:!?'\"()[]{}<>-_/\\@#$%^&*+=`~|")
    + [" ", " ", " ", "\t", "\n", "\r", "\x01", "\x1f", "\x7f", "\x85", "\x0b", "\x0c"]
    + list("éèêëàâäçñöüßÉÀÖÜİıŞşĞğæøåœŒÆØÅ")
    + ["e\u0301", "A\u030a", "o\u0308", "I\u0307", "\u0301", "\u0300\u0316", "\u0316\u0300",
       "a\u0323\u0302", "a\u0302\u0323", "\u0345", "\u1f82", "\u1f8a", "\u01d5", "\u0390"]
    + list("αβγδεζηθΑΒΓΔΣσςΩΆάΐΰ") + ["\u2126", "\u212a", "\u212b", "\u1fef", "\u037e", "\u0387"]
    + list("абвгдеёжзАБВГДЕЁЖЗ") + list("שלוםעולם") + list("مرحبابالعالم") + ["\u064b", "\u05b0"]
    + list("中文日本語漢字国") + ["\uf900", "\ufa10", "\U00020000", "\U0002f800"]
    + list("ひらがなカタカナ한국어") + ["\u1100\u1161\u11a8"]
    + ["\u00a0", "\u3000", "\u2028", "\u2029", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
       "\u00ad", "\ufffd", "\ue000", "\U0010fffd", "\u0378", "\u1680", "\u180e", "\u2003"]
    + ["😀", "👍🏽", "👨\u200d👩\u200d👧", "❤\ufe0f", "🇫🇷", "\U0001f9d1"]
    + list("«»“”‘’—–…‰§¶†‡•·¿¡、。，！？「」")
    + ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[cls]", "[SEP", "SEP]", "[S\u200bEP]"]
    + ["the", "The", "tokenizer", "running", "unaffable", "##", "#", "ing", "ed", "package",
       "library", "Library", "LIBRARY", "ﬁ", "①", "½", "²", "ǅ", "ǈ", "ẞ", "ᾈ", "ﬀ"]
)


def random_text(rng):
    n = rng.choice([0, 1, 2, 3, 5, 8, 13, 21, 40, 80])
    parts = [rng.choice(POOL) for _ in range(n)]
    if rng.random() < 0.05:
        parts.append(rng.choice("abé") * rng.choice([99, 100, 101, 150]))
    return "".join(parts)


# ---- a small vocab

# Characters (and words) the test texts need beyond an English corpus.
EXTRA_CHARS = ("éèêëàâäçñöüßáíóúãõøåæœÉÀÖÜÇÑİıŞşĞğ"
               "αβγδεζηθικλμνξοπρστυφχψωςάέήίόύώΑΒΓΔΣΩ"
               "абвгдежзийклмнопрстуфхцчшщыьэюяАБВГДМП"
               "שלוםעברית" "مرحباالعربية" "中文日本語漢字国人大学"
               "ひらがなカタカナ한국어" "«»“”‘’—–…§¶•·¿¡、。，！？「」€£¥©®°±×÷²³½")
EXTRA_WORDS = ("café cafe naïve naive résumé über straße strasse größe grosse groß fußball français "
               "garçon déjà élève müller münchen istanbul İstanbul i̇stanbul ı "
               "ελληνικά γλώσσα καλημέρα σοφία οδος οδός привет мир москва "
               "שלום مرحبا 中文 日本 "
               "un ##aff ##able ##ing ##ed ##er ##est ##ly ##s ##es ##tion ##ness").split()


def build_vocab(corpus_path, n_words=2400, n_pieces=700):
    cased = BasicTokenizer(do_lower_case=False)
    words = collections.Counter()
    with open(corpus_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            words.update(cased.tokenize(line))
    chars = collections.Counter()
    for w, n in words.items():
        for ch in w:
            chars[ch] += n
    lower = collections.Counter()
    for w, n in words.items():
        lower[w.lower()] += n
    pieces = collections.Counter()
    for w, n in lower.items():
        for k in range(2, min(6, len(w))):
            pieces["##" + w[-k:]] += n
    vocab = ["[PAD]"] + ["[unused%d]" % i for i in range(10)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)

    def add(t):
        if t and t not in seen and not any(c.isspace() for c in t):
            seen.add(t)
            vocab.append(t)

    singles = [c for c, n in chars.most_common() if n >= 3 and unicodedata.category(c)[0] != "C"]
    singles += list(EXTRA_CHARS) + ["\u0301", "\u0308"]
    for c in singles:
        add(c)
    for c in singles:
        add("##" + c)
    for w in EXTRA_WORDS:
        add(w)
    for w, _ in lower.most_common(n_words):
        add(w)
    for w, _ in words.most_common(n_words // 2):
        add(w)
    for p, _ in pieces.most_common(n_pieces):
        add(p)
    return vocab


# The option sets of the fixtures: name, do_lower_case, strip_accents.
FIXTURE_OPTIONS = [("uncased", True, None), ("cased", False, None),
                   ("uncased_keep_accents", True, False), ("cased_strip_accents", False, True)]


def write_fixtures(folder):
    vocab = os.path.join(folder, "vocab.txt")
    os.makedirs(os.path.join(folder, "expected"), exist_ok=True)
    for name, lower, strip in FIXTURE_OPTIONS:
        tok = BertTokenizer(vocab, do_lower_case=lower, strip_accents=strip)
        for texts in ("texts", "random"):
            with open(os.path.join(folder, texts + ".txt"), encoding="utf-8") as f:
                lines = [json.loads(line) for line in f]
            for max_length in (16, 512):
                out = os.path.join(folder, "expected", "%s.%s.%d.jsonl" % (texts, name, max_length))
                with open(out, "w", encoding="utf-8") as f:
                    for text in lines:
                        ids, truncated = tok.encode(text, max_length)
                        f.write(json.dumps({"ids": ids, "truncated": truncated}, separators=(",", ":")) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    enc = sub.add_parser("encode")
    enc.add_argument("--vocab", required=True)
    enc.add_argument("--texts", required=True)
    enc.add_argument("--max-length", type=int, default=512)
    enc.add_argument("--cased", action="store_true")
    enc.add_argument("--strip-accents", choices=["none", "true", "false"], default="none")
    enc.add_argument("--no-chinese", action="store_true")
    rnd = sub.add_parser("random")
    rnd.add_argument("--seed", type=int, default=1)
    rnd.add_argument("--count", type=int, default=600)
    sub.add_parser("fixtures").add_argument("folder")
    sub.add_parser("vocab").add_argument("corpus")
    args = ap.parse_args()

    if args.cmd == "vocab":
        for t in build_vocab(args.corpus):
            sys.stdout.write(t + "\n")
        return
    if args.cmd == "fixtures":
        write_fixtures(args.folder)
        return

    if args.cmd == "random":
        rng = random.Random(args.seed)
        for _ in range(args.count):
            sys.stdout.write(json.dumps(random_text(rng)) + "\n")
        return

    strip = {"none": None, "true": True, "false": False}[args.strip_accents]
    tok = BertTokenizer(args.vocab, do_lower_case=not args.cased,
                        tokenize_chinese_chars=not args.no_chinese, strip_accents=strip)
    with open(args.texts, encoding="utf-8") as f:
        for line in f:
            ids, truncated = tok.encode(json.loads(line), args.max_length)
            sys.stdout.write(json.dumps({"ids": ids, "truncated": truncated}, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
