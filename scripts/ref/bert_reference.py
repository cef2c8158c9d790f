#!/usr/bin/python3
"""Reference outputs of the BERT encoder models in testdata/bert/, computed
with PyTorch (Debian's python3-torch) and no Hugging Face package:

  testdata/bert/expected/<model>.jsonl   one line per line of texts.jsonl, in order:
      embedding models   {"id": .., "input_ids": [..], "embedding": [..]}
      classifiers        {"id": .., "input_ids": [..], "logits": [..],
                          "probs": {label: p, ..}}
  Numbers are float32 results widened to double and written with repr()
  (exact).

How (each step mirrors transformers' modeling_bert.py, eval mode, so every
dropout is the identity):
  weights    model.safetensors read by read_safetensors() below; F16 and BF16
             tensors are widened to float32 exactly, as
             AutoModel.from_pretrained() does with its default torch_dtype
             (float32). A "bert." prefix is removed (transformers does the same
             when a BertModel loads a BertFor* checkpoint).
  tokens     scripts/ref/bert_tokenizer_ref.py when it is there (a pure-Python
             BertTokenizer), else the stand-in below (the same algorithm:
             transformers' BasicTokenizer + WordpieceTokenizer);
             do_lower_case / strip_accents / tokenize_chinese_chars from
             tokenizer_config.json; [CLS] tokens [SEP], truncated to max_length
             keeping [SEP] last (truncation=True). max_length:
               sentence-transformers folders: sentence_bert_config.json
                 "max_seq_length";
               other folders: tokenizer_config.json "model_max_length",
                 capped at config.json "max_position_embeddings".
  batches    BATCH texts at a time in file order, padded with [PAD] to the
             longest; attention_mask 1 for tokens, 0 for padding.
  forward    fp32, torch.inference_mode():
     BertEmbeddings     word[ids] + position[0..L) + token_type[0] -> LayerNorm
     BertSelfAttention  q,k,v = Linear(x); scores = q k^T / sqrt(head_dim)
                        + (1 - mask) * finfo(float32).min; softmax; probs v
     BertSelfOutput     LayerNorm(dense(ctx) + x)
     BertIntermediate   gelu(dense(x)), exact erf GELU ("gelu")
     BertOutput         LayerNorm(dense(h) + attn_out)
     BertPooler         tanh(dense(hidden[:, 0]))
  head       sentence-transformers (modules.json): 1_Pooling/config.json
             mean (sum of masked tokens / max(count, 1e-9)), cls (token 0),
             max (padding set to -1e9 first); Normalize: x / max(|x|, 1e-12).
             Classifiers: logits = classifier(pooled); probs softmax
             (single_label_classification) or sigmoid
             (multi_label_classification), as transformers'
             TextClassificationPipeline applies them.

Self-check: the same forward in float64 must agree with the float32 one to
well under the 1e-4 tolerance of the C tests (the maximum difference is
printed per model), so the fp32 references are not themselves off by more
than rounding.

usage: bert_reference.py [--dir testdata/bert] [model ...]
"""

import argparse
import importlib.util
import json
import math
import os
import struct
import sys
import unicodedata

import numpy as np
import torch

BATCH = 8
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# ---- safetensors -----------------------------------------------------------

ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
             "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
             "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """{name: (dtype string, numpy array)}; checks what safetensors checks."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    if 8 + n > len(buf):
        raise ValueError(f"{path}: header length {n} past the end of the file")
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data = buf[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = ST_DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if not (0 <= begin <= end <= len(data)) or end - begin != count * np.dtype(dt).itemsize:
            raise ValueError(f"{path}: tensor {name!r}: bad data_offsets")
        out[name] = (info["dtype"], np.frombuffer(data, dtype=dt, count=count, offset=begin)
                     .reshape(info["shape"]))
    return out


def to_f32(dtype, a):
    """A torch float32 tensor holding a exactly (F16 / BF16 widened)."""
    if dtype == "BF16":
        return torch.from_numpy((a.astype(np.uint32) << 16).view(np.float32).copy())
    return torch.from_numpy(a.astype(np.float32))


def load_weights(folder):
    """{name without "bert.": float32 tensor}, and the head tensors."""
    raw = read_safetensors(os.path.join(folder, "model.safetensors"))
    w = {}
    for name, (dtype, a) in raw.items():
        if dtype not in ("F32", "F16", "BF16"):
            continue  # e.g. embeddings.position_ids (I64), a buffer
        w[name[5:] if name.startswith("bert.") else name] = to_f32(dtype, a)
    return w

# ---- tokenizer ---------------------------------------------------------------


def _is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def _is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, lower=True, strip_accents=None, chinese=True):
    """transformers' BasicTokenizer.tokenize (no never_split tokens in text)."""
    text = "".join(" " if _is_whitespace(c) else c for c in text
                   if not (ord(c) == 0 or ord(c) == 0xFFFD or _is_control(c)))
    if chinese:
        text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
    text = unicodedata.normalize("NFC", text)
    out = []
    for tok in text.split():
        if lower:
            tok = tok.lower()
            if strip_accents is not False:
                tok = _strip_accents(tok)
        elif strip_accents:
            tok = _strip_accents(tok)
        word = []
        for c in tok:
            if _is_punctuation(c):
                if word:
                    out.append("".join(word))
                    word = []
                out.append(c)
            else:
                word.append(c)
        if word:
            out.append("".join(word))
    return " ".join(out).split()


def _strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def wordpiece(tokens, vocab, unk="[UNK]", max_chars=100):
    out = []
    for tok in tokens:
        if len(tok) > max_chars:
            out.append(unk)
            continue
        pieces, start = [], 0
        while start < len(tok):
            end = len(tok)
            cur = None
            while start < end:
                sub = tok[start:end] if start == 0 else "##" + tok[start:end]
                if sub in vocab:
                    cur = sub
                    break
                end -= 1
            if cur is None:
                pieces = None
                break
            pieces.append(cur)
            start = end
        out.extend(pieces if pieces is not None else [unk])
    return out


class StandInTokenizer:
    def __init__(self, vocab_path, lower, strip_accents, chinese):
        # transformers' load_vocab: one token a line, a repeated token keeps its last id
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(f.readlines())}
        self.lower, self.strip, self.chinese = lower, strip_accents, chinese

    def encode(self, text, max_length):
        toks = wordpiece(basic_tokenize(text, self.lower, self.strip, self.chinese), self.vocab)
        ids = [self.vocab.get(t, self.vocab["[UNK]"]) for t in toks][:max_length - 2]
        return [self.vocab["[CLS]"]] + ids + [self.vocab["[SEP]"]]


def load_ref_tokenizer_module():
    path = os.path.join(HERE, "bert_tokenizer_ref.py")
    if not os.path.exists(path):
        return None
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("bert_tokenizer_ref", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Tokenizer:
    """scripts/ref/bert_tokenizer_ref.py when present (checked against the
    stand-in on every text: a disagreement is reported), else the stand-in."""

    def __init__(self, folder, texts):
        cfg = read_json(os.path.join(folder, "tokenizer_config.json"), {})
        lower = cfg.get("do_lower_case", True)
        strip = cfg.get("strip_accents")
        chinese = cfg.get("tokenize_chinese_chars", True)
        vocab = os.path.join(folder, "vocab.txt")
        self.standin = StandInTokenizer(vocab, lower, strip, chinese)
        self.ref = None
        mod = load_ref_tokenizer_module()
        if mod is not None:
            self.ref = make_ref_tokenizer(mod, vocab, lower, strip, chinese)
        self.source = "scripts/ref/bert_tokenizer_ref.py" if self.ref else "the stand-in tokenizer"
        self.disagreements = []

    def encode(self, text, max_length):
        mine = self.standin.encode(text, max_length)
        if self.ref is None:
            return mine
        theirs = list(self.ref(text, max_length))
        if theirs != mine:
            self.disagreements.append((text, theirs, mine))
        return theirs


def make_ref_tokenizer(mod, vocab, lower, strip, chinese):
    """An encode(text, max_length) -> ids over bert_tokenizer_ref.py's API."""
    cls = getattr(mod, "BertTokenizer", None)
    if cls is None:
        return None
    kwargs = dict(do_lower_case=lower, strip_accents=strip, tokenize_chinese_chars=chinese)
    try:
        tok = cls(vocab, **kwargs)
    except TypeError:
        tok = cls(vocab_file=vocab, **kwargs)
    if hasattr(tok, "encode"):
        def enc(text, max_length):
            try:
                r = tok.encode(text, max_length=max_length, truncation=True)
            except TypeError:
                r = tok.encode(text, max_length)
            if isinstance(r, dict):
                return r["input_ids"]
            return r[0] if isinstance(r, tuple) else r  # (ids, truncated)
        return enc
    return None

# ---- folders -----------------------------------------------------------------


def read_json(path, default=None):
    if not os.path.exists(path):
        if default is None:
            raise FileNotFoundError(path)
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def describe(folder):
    """What the folder says about the model: architecture, head, max_length."""
    cfg = read_json(os.path.join(folder, "config.json"))
    d = {"config": cfg, "classifier": any(a.endswith("ForSequenceClassification")
                                          for a in cfg.get("architectures", []))}
    modules = read_json(os.path.join(folder, "modules.json"), [])
    if modules and not d["classifier"]:
        st = read_json(os.path.join(folder, "sentence_bert_config.json"))
        d["max_length"] = st["max_seq_length"]
        pool = None
        d["normalize"] = False
        for m in modules:
            if m["type"].endswith(".Pooling"):
                pool = read_json(os.path.join(folder, m["path"], "config.json"))
            if m["type"].endswith(".Normalize"):
                d["normalize"] = True
        modes = [k for k in ("cls_token", "mean_tokens", "max_tokens")
                 if pool.get("pooling_mode_" + k)]
        others = [k for k, v in pool.items() if k.startswith("pooling_mode_") and v
                  and k[13:] not in ("cls_token", "mean_tokens", "max_tokens")]
        if len(modes) != 1 or others:
            raise ValueError(f"{folder}: one of cls / mean / max pooling expected, found {modes + others}")
        d["pooling"] = modes[0].split("_")[0]
    else:
        tc = read_json(os.path.join(folder, "tokenizer_config.json"), {})
        d["max_length"] = min(tc.get("model_max_length", cfg["max_position_embeddings"]),
                              cfg["max_position_embeddings"])
    if d["classifier"]:
        d["labels"] = [cfg["id2label"][str(i)] for i in range(len(cfg["id2label"]))]
        d["problem_type"] = cfg.get("problem_type") or (
            "regression" if len(d["labels"]) == 1 else "single_label_classification")
    return d

# ---- the model -----------------------------------------------------------------


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def linear(x, w, prefix):
    return torch.nn.functional.linear(x, w[prefix + ".weight"], w[prefix + ".bias"])


def bert_forward(w, cfg, ids, mask):
    """modeling_bert.BertModel.forward: (last_hidden_state, pooled)."""
    B, L = ids.shape
    eps = cfg["layer_norm_eps"]
    H = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    hd = H // nh
    dtype = w["embeddings.word_embeddings.weight"].dtype
    # BertEmbeddings (absolute positions, token_type_ids all 0)
    pos = torch.arange(L).unsqueeze(0)
    tt = torch.zeros_like(ids)
    x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.token_type_embeddings.weight"][tt]
    x = x + w["embeddings.position_embeddings.weight"][pos]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    # get_extended_attention_mask: (B, 1, 1, L)
    ext = mask[:, None, None, :].to(dtype)
    ext = (1.0 - ext) * torch.finfo(dtype).min
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def heads(t):  # transpose_for_scores: (B, nh, L, hd)
            return t.view(B, L, nh, hd).permute(0, 2, 1, 3)
        q = heads(linear(x, w, p + "attention.self.query"))
        k = heads(linear(x, w, p + "attention.self.key"))
        v = heads(linear(x, w, p + "attention.self.value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores + ext
        probs = torch.nn.functional.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(B, L, H)
        a = layer_norm(linear(ctx, w, p + "attention.output.dense") + x,
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        h = torch.nn.functional.gelu(linear(a, w, p + "intermediate.dense"))
        x = layer_norm(linear(h, w, p + "output.dense") + a, w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    pooled = torch.tanh(linear(x[:, 0], w, "pooler.dense"))
    return x, pooled


def head(d, w, x, pooled, mask):
    """Embedding (B, H) or (logits, probs) per the folder's description."""
    if d["classifier"]:
        logits = linear(pooled, w, "classifier")
        if d["problem_type"] == "multi_label_classification":
            return logits, torch.sigmoid(logits)
        return logits, torch.softmax(logits, dim=-1)
    m = mask.unsqueeze(-1).expand(x.shape).to(x.dtype)
    if d["pooling"] == "mean":
        e = torch.sum(x * m, 1) / torch.clamp(m.sum(1), min=1e-9)
    elif d["pooling"] == "cls":
        e = x[:, 0]
    else:
        t = x.clone()
        t[m == 0] = -1e9
        e = torch.max(t, 1)[0]
    if d["normalize"]:
        e = torch.nn.functional.normalize(e, p=2, dim=1)
    return e


def run_model(folder, texts):
    d = describe(folder)
    cfg = d["config"]
    if cfg.get("hidden_act", "gelu") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{folder}: only gelu / absolute positions are implemented")
    w32 = load_weights(folder)
    w64 = {k: v.double() for k, v in w32.items()}
    tok = Tokenizer(folder, texts)
    pad = tok.standin.vocab["[PAD]"]
    rows, worst = [], 0.0
    with torch.inference_mode():
        for s in range(0, len(texts), BATCH):
            chunk = texts[s:s + BATCH]
            seqs = [tok.encode(t["text"], d["max_length"]) for t in chunk]
            L = max(len(q) for q in seqs)
            ids = torch.tensor([q + [pad] * (L - len(q)) for q in seqs], dtype=torch.long)
            mask = torch.tensor([[1] * len(q) + [0] * (L - len(q)) for q in seqs], dtype=torch.long)
            x, pooled = bert_forward(w32, cfg, ids, mask)
            x64, pooled64 = bert_forward(w64, cfg, ids, mask)
            out, out64 = head(d, w32, x, pooled, mask), head(d, w64, x64, pooled64, mask)
            if d["classifier"]:
                worst = max(worst, float((out[1].double() - out64[1]).abs().max()))
            else:
                worst = max(worst, float((out.double() - out64).abs().max()))
            for i, t in enumerate(chunk):
                row = {"id": t["id"], "input_ids": seqs[i]}
                if d["classifier"]:
                    row["logits"] = [float(v) for v in out[0][i]]
                    row["probs"] = {lab: float(p) for lab, p in zip(d["labels"], out[1][i])}
                else:
                    row["embedding"] = [float(v) for v in out[i]]
                rows.append(row)
    return rows, worst, tok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "testdata", "bert"))
    ap.add_argument("models", nargs="*", help="folders under --dir (default: every one with a config.json)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(os.path.join(args.dir, "texts.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    models = args.models or sorted(m for m in os.listdir(args.dir)
                                   if os.path.exists(os.path.join(args.dir, m, "config.json")))
    os.makedirs(os.path.join(args.dir, "expected"), exist_ok=True)
    bad = 0
    for m in models:
        rows, worst, tok = run_model(os.path.join(args.dir, m), texts)
        with open(os.path.join(args.dir, "expected", m + ".jsonl"), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{m}: {len(rows)} rows, tokens from {tok.source}, "
              f"max |fp32 - fp64| = {worst:.2e}")
        if worst > 1e-5:
            print(f"{m}: fp32 reference differs from fp64 by {worst:.2e}", file=sys.stderr)
            bad = 1
        for text, theirs, mine in tok.disagreements:
            print(f"{m}: tokenizers disagree on {text!r}:\n  ref      {theirs}\n  stand-in {mine}",
                  file=sys.stderr)
    return bad


if __name__ == "__main__":
    sys.exit(main())
