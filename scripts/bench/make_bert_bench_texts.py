#!/usr/bin/python3
"""Write a workload for the BERT benchmark as JSON lines {"id": .., "text": ..},
from the Debian package descriptions on this machine, tokenized with the
bench model's tokenizer (scripts/ref/bert_tokenizer_ref.py, transformers'
BertTokenizer in plain Python) to pick and check lengths.

  --fixed   ROWS texts (default 2048) that tokenize to exactly LENGTH tokens
            (default 128, [CLS] and [SEP] included): whole words of the
            descriptions, in a shuffled order, laid end to end; a word that
            would overshoot is put off for the next text. Every text is
            checked with the full encode (no truncation, exactly LENGTH ids).
  --mix     ROWS texts (default 4096): titles, i.e. package short
            descriptions of every available package (apt-cache dumpavail)
            that tokenize to 5..15 tokens, and long descriptions of the
            installed packages (/var/lib/dpkg/status) that tokenize to
            50..256 tokens (256 = the model's max_seq_length, so none is
            truncated); a LONG_SHARE (default 0.25) of long ones, each text
            used once, shuffled.

Both are seeded (--seed, default 1): a rerun on the same machine writes the
same file. A summary (rows, tokens, length percentiles) goes to stderr.

usage: make_bert_bench_texts.py MODELDIR OUT.jsonl (--fixed | --mix)
           [--rows N] [--length 128] [--long-share 0.25] [--seed 1]
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "ref"))

import bert_tokenizer_ref  # noqa: E402
import make_bert_testdata as mbt  # noqa: E402  (package_descriptions; imports torch)

MAX_SEQ_LENGTH = 256
SPECIAL = ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")


def tokenizer(model_dir):
    with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    return bert_tokenizer_ref.BertTokenizer(os.path.join(model_dir, "vocab.txt"),
                                            do_lower_case=cfg.get("do_lower_case", True))


def short_descriptions():
    """Short descriptions of every available package, sorted, unique."""
    out = subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True, text=True,
                         encoding="utf-8", errors="replace").stdout
    return sorted(set(m.strip() for m in re.findall(r"^Description: (.*)$", out, flags=re.M)))


def clean(text):
    return not any(s in text for s in SPECIAL)


def fixed(tok, rows, length, rng):
    descs = mbt.package_descriptions()
    docs = [d for _, s, l in descs for d in (s, l) if d and clean(d)]
    docs += [s for s in short_descriptions() if clean(s)]
    rng.shuffle(docs)
    words = (w for d in docs for w in d.split())
    cost = {}

    def n_tokens(w):
        if w not in cost:
            cost[w] = len(tok.tokenize(w))
        return cost[w]

    want = length - 2
    out, put_off = [], []
    while len(out) < rows:
        text, left = [], want
        pending, put_off = put_off, []
        for w in pending:  # words put off by the last text come first
            n = n_tokens(w)
            if n <= left:
                text.append(w)
                left -= n
            else:
                put_off.append(w)
        while left > 0:
            w = next(words, None)
            if w is None:
                sys.exit(f"corpus exhausted after {len(out)} texts")
            n = n_tokens(w)
            if n == 0:
                continue
            if n <= left:
                text.append(w)
                left -= n
            else:
                put_off.append(w)
        s = " ".join(text)
        ids, truncated = tok.encode(s, MAX_SEQ_LENGTH)
        if len(ids) != length or truncated:
            continue  # tokenization not additive over the words (should not happen)
        out.append({"id": f"fixed-{len(out):05d}", "text": s})
    return out


def mix(tok, rows, long_share, rng):
    n_long = round(rows * long_share)
    longs, seen = [], set()
    for pkg, _, l in mbt.package_descriptions():
        if l and clean(l) and l not in seen:
            seen.add(l)
            n = len(tok.encode(l, 100000)[0])
            if 50 <= n <= MAX_SEQ_LENGTH:
                longs.append((pkg, l))
    if len(longs) < n_long:
        sys.exit(f"only {len(longs)} long descriptions of 50..{MAX_SEQ_LENGTH} tokens, {n_long} wanted: "
                 f"lower --long-share or --rows")
    titles = short_descriptions()
    rng.shuffle(titles)
    picked_t = []
    for t in titles:
        if len(picked_t) == rows - n_long:
            break
        if clean(t) and 5 <= len(tok.encode(t, 1000)[0]) <= 15:
            picked_t.append(t)
    if len(picked_t) < rows - n_long:
        sys.exit(f"only {len(picked_t)} titles of 5..15 tokens")
    out = [{"id": f"title-{i:05d}", "text": t} for i, t in enumerate(picked_t)]
    out += [{"id": f"long-{pkg}", "text": l} for pkg, l in rng.sample(longs, n_long)]
    rng.shuffle(out)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--fixed", action="store_true")
    g.add_argument("--mix", action="store_true")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--long-share", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tok = tokenizer(args.model_dir)
    rng = random.Random(args.seed)
    if args.fixed:
        if not 3 <= args.length <= MAX_SEQ_LENGTH:
            sys.exit(f"--length: 3..{MAX_SEQ_LENGTH}")
        texts = fixed(tok, args.rows or 2048, args.length, rng)
    else:
        texts = mix(tok, args.rows or 4096, args.long_share, rng)
    lens = sorted(len(tok.encode(t["text"], MAX_SEQ_LENGTH)[0]) for t in texts)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    os.replace(tmp, args.out)

    def pct(p):
        return lens[min(len(lens) - 1, int(p / 100 * len(lens)))]
    print(f"{args.out}: {len(texts)} rows, {sum(lens)} tokens (mean {sum(lens) / len(lens):.1f}; "
          f"min {lens[0]}, p50 {pct(50)}, p90 {pct(90)}, max {lens[-1]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
