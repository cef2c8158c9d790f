#!/usr/bin/python3
"""Write binfer's BERT test models to testdata/bert/, each in exactly the
folder layout of a Hugging Face hub download, with random weights, tiny dims
(hidden 32, 2 layers, 4 heads, intermediate 64, 64 positions), then their
reference outputs (scripts/ref/bert_reference.py).

  texts.jsonl              {"id": .., "text": ..}: Debian package descriptions
                           (short and long, several past max_length) and hard
                           cases: accents (composed and decomposed), CJK,
                           kana, hangul, emoji, control characters, NUL,
                           tabs / CR LF, U+FFFD, zero-width and non-breaking
                           spaces, a word over 100 characters, empty text
  vocab.txt source         testdata/bert/tokenizer/vocab.txt when it exists,
                           else testdata/bert/vocab.txt, made here once from
                           the package descriptions (bert-base layout: [PAD] 0,
                           [unused0..98], [UNK] 100, [CLS] 101, [SEP] 102,
                           [MASK] 103, then characters, ##characters, words,
                           word pieces)
  <model>/                 config.json, model.safetensors, vocab.txt,
                           tokenizer_config.json, special_tokens_map.json and,
                           for sentence-transformers models, modules.json,
                           sentence_bert_config.json,
                           config_sentence_transformers.json,
                           1_Pooling/config.json
  expected/<model>.jsonl   reference outputs (see bert_reference.py)
  manifest.json            per model: what it is, for the tests

texts.jsonl and the generated vocab are kept when they exist (the package
descriptions on another machine differ): delete them to make new ones.
Weights come from numpy's RandomState (stable across versions), so a rerun
writes the same files.

model.safetensors is written the way the safetensors library writes it: 8-byte
little-endian header length, the JSON header without spaces, "__metadata__"
first, tensors sorted by dtype (wider first: I64, then F32 / F16 / BF16) then
by name, data in that order, the header padded with spaces to a multiple of 8.

usage: make_bert_testdata.py [--dir testdata/bert]
"""

import argparse
import collections
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__
import bert_reference  # noqa: E402

DIMS = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64)
MAX_SEQ_LENGTH = 48          # sentence_bert_config.json: below max_position_embeddings on purpose
TRANSFORMERS_VERSION = "4.41.2"

# ---- safetensors writer ------------------------------------------------------

# safetensors' Dtype enum order; prepare() sorts by it, descending.
ST_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32",
            "F32", "F64", "I64", "U64"]
TORCH_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.int64: "I64", torch.float64: "F64", torch.int32: "I32"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata={"format": "pt"}):
    """tensors: {name: torch tensor}."""
    items = sorted(tensors.items(), key=lambda kv: (-ST_ORDER.index(TORCH_ST[kv[1].dtype]), kv[0]))
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {"dtype": TORCH_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

# ---- texts and vocab -------------------------------------------------------------


def package_descriptions():
    """[(package, short description, long description)] from dpkg's status
    file, sorted by package name."""
    out = []
    with open("/var/lib/dpkg/status", encoding="utf-8") as f:
        for para in f.read().split("\n\n"):
            pkg, desc, lines, inside = None, None, [], False
            for line in para.split("\n"):
                if line.startswith("Package: "):
                    pkg = line[9:]
                elif line.startswith("Description: "):
                    desc, inside = line[13:], True
                elif inside and line.startswith(" "):
                    lines.append("" if line.strip() == "." else line.strip())
                else:
                    inside = False
            if pkg and desc:
                out.append((pkg, desc, " ".join(" ".join(lines).split())))
    return sorted(out)


HARD_TEXTS = [
    ("accents", "Café crème brûlée, naïve résumé — Ångström, Zürich, São Paulo, Kraków, Øresund."),
    ("accents-decomposed", "Cafe\u0301 cre\u0300me and nai\u0308ve, written with combining marks."),
    ("uppercase", "THE QUICK BROWN FOX installs Debian packages QUICKLY"),
    ("cjk", "自然语言处理是人工智能的一个分支。软件包管理器"),
    ("kana-hangul", "日本語のテキスト、カタカナとひらがな。한국어 문장입니다."),
    ("greek-cyrillic", "Ελληνικά κείμενα και русский текст в одном предложении"),
    ("emoji", "Great package 👍🏽🎉 would install again 🐧 ❤️"),
    ("control", "bell\u0007 escape\u001b[31m red\u001b[0m delete\u007f nbsp\u00a0here zero\u200bwidth"),
    ("nul", "nul\u0000byte inside a text"),
    ("tabs-newlines", "col1\tcol2\tcol3\r\nnext line\n\n  new paragraph\u2028line separator"),
    ("replacement", "bad \ufffd char and \ufffd\ufffd"),
    ("punctuation", "C++/C#... (really?!) #1 @home $5.00 50% a&b <tag> {x} [y] ~z`^| «quoted» ¿qué?"),
    ("numbers", "version 2.36-9+deb12u14 released 2023-11-26 at 03:31 UTC"),
    ("fullwidth", "ＡＢＣ ｆｕｌｌｗｉｄｔｈ letters and İstanbul"),
    ("long-word", "pneumonoultramicroscopicsilicovolcanoconiosis and " + "x" * 101 + " and "
     + "y" * 100 + " end"),
    ("url", "see https://www.debian.org/doc/manuals/debian-reference/ch02.en.html#_package_management"),
    ("empty", ""),
    ("whitespace", " \t \n "),
]


def make_texts(descs):
    texts = []
    # every 40th package: its short description, and every 80th its long one
    for i, (pkg, short, long_) in enumerate(descs):
        if i % 40 == 0:
            texts.append({"id": f"{pkg}-short", "text": short})
        if i % 80 == 20 and long_:
            texts.append({"id": f"{pkg}-long", "text": long_})
    texts += [{"id": k, "text": t} for k, t in HARD_TEXTS]
    return texts


def make_vocab(descs, texts, size_words=2200, size_pieces=500):
    """A bert-base style vocab.txt made from the descriptions."""
    corpus = [s + " " + l for _, s, l in descs] + [t["text"] for t in texts]
    lower = collections.Counter()
    cased = collections.Counter()
    chars = collections.Counter()
    for doc in corpus:
        for w in bert_reference.basic_tokenize(doc, lower=True):
            lower[w] += 1
        for w in bert_reference.basic_tokenize(doc, lower=False):
            cased[w] += 1
            chars.update(w)
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)

    def add(tok):
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)
    # characters seen at least twice (so some rare ones, e.g. a few CJK, stay [UNK])
    singles = sorted(c for c, n in chars.items() if n >= 2)
    for c in singles:
        add(c)
    for c in singles:
        add("##" + c)
    words = [w for w, _ in sorted(lower.items(), key=lambda kv: (-kv[1], kv[0]))][:size_words]
    words += [w for w, _ in sorted(cased.items(), key=lambda kv: (-kv[1], kv[0]))
              if w[:1].isupper()][:300]
    for w in words:
        add(w)
    # pieces: frequent suffixes (##) and prefixes of the words left out
    rest = collections.Counter()
    pre = collections.Counter()
    for w, n in lower.items():
        if w in seen or len(w) < 5:
            continue
        for k in range(2, 6):
            if len(w) > k + 1:
                rest["##" + w[-k:]] += n
                pre[w[:k + 1]] += n
    for p, _ in sorted(rest.items(), key=lambda kv: (-kv[1], kv[0]))[:size_pieces]:
        add(p)
    for p, _ in sorted(pre.items(), key=lambda kv: (-kv[1], kv[0]))[:size_pieces]:
        add(p)
    return vocab

# ---- models --------------------------------------------------------------------


def random_bert(rng, vocab_size, n_labels=0):
    """{transformers name without "bert.": float32 tensor}. Scales well above
    BERT's init (0.02) so attention is far from uniform and every layer
    matters."""
    H, I, P = DIMS["hidden_size"], DIMS["intermediate_size"], DIMS["max_position_embeddings"]

    def normal(shape, std, mean=0.0):
        return torch.from_numpy((rng.standard_normal(shape) * std + mean).astype(np.float32))

    w = {
        "embeddings.word_embeddings.weight": normal((vocab_size, H), 0.5),
        "embeddings.position_embeddings.weight": normal((P, H), 0.3),
        "embeddings.token_type_embeddings.weight": normal((2, H), 0.3),
        "embeddings.LayerNorm.weight": normal((H,), 0.2, 1.0),
        "embeddings.LayerNorm.bias": normal((H,), 0.1),
    }
    for i in range(DIMS["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name, out, inp, std in [("attention.self.query", H, H, 0.35), ("attention.self.key", H, H, 0.35),
                                    ("attention.self.value", H, H, 0.2),
                                    ("attention.output.dense", H, H, 0.2),
                                    ("intermediate.dense", I, H, 0.2), ("output.dense", H, I, 0.15)]:
            w[p + name + ".weight"] = normal((out, inp), std)   # nn.Linear: (out, in)
            w[p + name + ".bias"] = normal((out,), 0.1)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"] = normal((H,), 0.2, 1.0)
            w[p + ln + ".bias"] = normal((H,), 0.1)
    w["pooler.dense.weight"] = normal((H, H), 0.3)
    w["pooler.dense.bias"] = normal((H,), 0.1)
    if n_labels:
        w["classifier.weight"] = normal((n_labels, H), 0.8)
        w["classifier.bias"] = normal((n_labels,), 0.2)
    return w


def bert_config(arch, vocab_size, torch_dtype="float32", labels=None, problem_type=None):
    cfg = {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": DIMS["hidden_size"],
    }
    if labels:
        cfg["id2label"] = {str(i): lab for i, lab in enumerate(labels)}
    cfg.update({
        "initializer_range": 0.02,
        "intermediate_size": DIMS["intermediate_size"],
    })
    if labels:
        cfg["label2id"] = {lab: i for i, lab in enumerate(labels)}
    cfg.update({
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": DIMS["max_position_embeddings"],
        "model_type": "bert",
        "num_attention_heads": DIMS["num_attention_heads"],
        "num_hidden_layers": DIMS["num_hidden_layers"],
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    })
    if problem_type:
        cfg["problem_type"] = problem_type
    cfg.update({
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": vocab_size,
    })
    return cfg


SPECIAL = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}


def tokenizer_config(vocab, lower):
    added = {}
    for tok in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        added[str(vocab.index(tok))] = {"content": tok, "lstrip": False, "normalized": False,
                                        "rstrip": False, "single_word": False, "special": True}
    return {
        "added_tokens_decoder": dict(sorted(added.items(), key=lambda kv: int(kv[0]))),
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "do_basic_tokenize": True,
        "do_lower_case": lower,
        "mask_token": "[MASK]",
        "model_max_length": DIMS["max_position_embeddings"],
        "never_split": None,
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    }


SPECIAL_TOKENS_MAP = {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]",
                      "sep_token": "[SEP]", "unk_token": "[UNK]"}

POOLING_KEYS = ["cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
                "weightedmean_tokens", "lasttoken"]


def pooling_config(mode, short_form):
    """1_Pooling/config.json; short_form: the 5 keys of older
    sentence-transformers (all-MiniLM-L6-v2's file)."""
    keys = POOLING_KEYS[:4] if short_form else POOLING_KEYS
    cfg = {"word_embedding_dimension": DIMS["hidden_size"]}
    cfg.update({f"pooling_mode_{k}": k == mode + ("_token" if mode == "cls" else "_tokens")
                for k in keys})
    if not short_form:
        cfg["include_prompt"] = True
    return cfg


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


# name: (kind, options)
MODELS = {
    # (a) all-MiniLM-L6-v2's layout: mean pooling + Normalize; the old
    # position_ids buffer (I64) that transformers < 4.31 saved
    "mini-embed": dict(seed=1, pooling="mean", normalize=True, short_pooling=True, position_ids=True),
    # (b) CLS pooling, no Normalize
    "mini-embed-cls": dict(seed=2, pooling="cls", normalize=False),
    # (c) max pooling, no Normalize
    "mini-embed-max": dict(seed=3, pooling="max", normalize=False),
    # (f) the weights of mini-embed rounded to F16 / BF16
    "mini-embed-f16": dict(seed=1, pooling="mean", normalize=True, short_pooling=True, dtype=torch.float16),
    "mini-embed-bf16": dict(seed=1, pooling="mean", normalize=True, short_pooling=True,
                            dtype=torch.bfloat16),
    # the weights of mini-embed under "bert." names (a BertFor* checkpoint
    # used as an encoder: AutoModel strips the prefix): same outputs
    "mini-embed-prefixed": dict(seed=1, pooling="mean", normalize=True, short_pooling=True, prefix=True),
    # (d) BertForSequenceClassification, 3 labels, softmax
    "mini-cls": dict(seed=4, labels=["negative", "neutral", "positive"],
                     problem_type="single_label_classification", lower=True),
    # (e) multi-label (sigmoid), 4 labels, cased tokenizer (do_lower_case false)
    "mini-cls-multilabel": dict(seed=5, labels=["admin", "libs", "net", "utils"],
                                problem_type="multi_label_classification", lower=False),
}


def write_model(root, name, spec, vocab):
    d = os.path.join(root, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    rng = np.random.RandomState(spec["seed"])
    labels = spec.get("labels")
    w = random_bert(rng, len(vocab), len(labels) if labels else 0)
    dtype = spec.get("dtype", torch.float32)
    w = {k: v.to(dtype) for k, v in w.items()}
    if labels:
        arch = "BertForSequenceClassification"
        w = {(k if k.startswith("classifier.") else "bert." + k): v for k, v in w.items()}
    else:
        arch = "BertModel"
        if spec.get("prefix"):
            w = {"bert." + k: v for k, v in w.items()}
    if spec.get("position_ids"):
        w["embeddings.position_ids"] = torch.arange(DIMS["max_position_embeddings"]).unsqueeze(0)
    torch_dtype = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype]
    write_json(os.path.join(d, "config.json"),
               bert_config(arch, len(vocab), torch_dtype, labels, spec.get("problem_type")))
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    lower = spec.get("lower", True)
    write_json(os.path.join(d, "tokenizer_config.json"), tokenizer_config(vocab, lower))
    write_json(os.path.join(d, "special_tokens_map.json"), SPECIAL_TOKENS_MAP)
    info = {"architecture": arch, "dtype": TORCH_ST[dtype], "bert_prefix": arch != "BertModel" or
            bool(spec.get("prefix")), "do_lower_case": lower, "tensors": len(w)}
    if not labels:
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
        if spec["normalize"]:
            # the hub folder has no 2_Normalize/ (Normalize has no files)
            modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                            "type": "sentence_transformers.models.Normalize"})
        write_json(os.path.join(d, "modules.json"), modules)
        os.makedirs(os.path.join(d, "1_Pooling"))
        write_json(os.path.join(d, "1_Pooling", "config.json"),
                   pooling_config(spec["pooling"], spec.get("short_pooling", False)))
        write_json(os.path.join(d, "sentence_bert_config.json"),
                   {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
        write_json(os.path.join(d, "config_sentence_transformers.json"),
                   {"__version__": {"sentence_transformers": "2.7.0", "transformers": TRANSFORMERS_VERSION,
                                    "pytorch": "2.3.0"}, "prompts": {}, "default_prompt_name": None})
        info.update(kind="embedding", pooling=spec["pooling"], normalize=spec["normalize"],
                    max_length=MAX_SEQ_LENGTH, max_length_from="sentence_bert_config.json max_seq_length")
    else:
        info.update(kind="classifier", labels=labels, problem_type=spec["problem_type"],
                    max_length=DIMS["max_position_embeddings"],
                    max_length_from="tokenizer_config.json model_max_length")
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "testdata", "bert"))
    args = ap.parse_args()
    root = args.dir
    os.makedirs(root, exist_ok=True)
    texts_path = os.path.join(root, "texts.jsonl")
    descs = None
    if not os.path.exists(texts_path):
        descs = package_descriptions()
        with open(texts_path, "w", encoding="utf-8") as f:
            for t in make_texts(descs):
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
    with open(texts_path, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]

    shared = os.path.join(root, "tokenizer", "vocab.txt")
    own = os.path.join(root, "vocab.txt")
    if os.path.exists(shared):
        vocab_src = shared
    else:
        vocab_src = own
        if not os.path.exists(own):
            vocab = make_vocab(descs or package_descriptions(), texts)
            with open(own, "w", encoding="utf-8") as f:
                f.write("".join(t + "\n" for t in vocab))
    with open(vocab_src, encoding="utf-8") as f:
        vocab = f.read().split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    for tok in SPECIAL:
        if tok not in vocab:
            sys.exit(f"{vocab_src}: no {tok}")

    manifest = {"dims": DIMS, "vocab_source": os.path.relpath(vocab_src, root), "vocab_size": len(vocab),
                "special_ids": {t: vocab.index(t) for t in SPECIAL}, "models": {}}
    for name, spec in MODELS.items():
        manifest["models"][name] = write_model(root, name, spec, vocab)
    write_json(os.path.join(root, "manifest.json"), manifest)
    return bert_reference.main(["--dir", root] + list(MODELS))


if __name__ == "__main__":
    sys.exit(main())
