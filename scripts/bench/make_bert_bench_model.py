#!/usr/bin/python3
"""Write the BERT benchmark model: all-MiniLM-L6-v2's shape (vocab 30522,
hidden 384, 6 layers, 12 heads, intermediate 1536, 512 positions) with random
weights, in exactly the Hugging Face folder layout binfer reads, plus the same
model exported to ONNX for the ONNX Runtime anchor.

  OUTDIR/config.json                 BertModel config (MiniLM-L6 dims)
  OUTDIR/model.safetensors           F32; BERT's init: every weight matrix and
                                     embedding N(0, 0.02), biases 0, LayerNorm
                                     weight 1 / bias 0; numpy RandomState(seed);
                                     the I64 embeddings.position_ids buffer and
                                     the pooler, as all-MiniLM-L6-v2 ships them
  OUTDIR/vocab.txt                   30522 entries: testdata/bert/tokenizer/vocab.txt
                                     (bert-base layout: [PAD] 0, [UNK] 100, [CLS] 101,
                                     [SEP] 102, [MASK] 103), then the most frequent
                                     words of the Debian package descriptions, then
                                     frequent ##suffix pieces, then generated ##pieces
  OUTDIR/tokenizer_config.json       do_lower_case true, model_max_length 512
  OUTDIR/special_tokens_map.json
  OUTDIR/modules.json                sentence-transformers: Transformer, Pooling, Normalize
  OUTDIR/1_Pooling/config.json       mean pooling
  OUTDIR/sentence_bert_config.json   max_seq_length 256
  OUTDIR/config_sentence_transformers.json
  OUTDIR/onnx/model.onnx             torch.onnx.export, opset 14: inputs input_ids,
                                     attention_mask, token_type_ids (int64, dynamic
                                     batch and sequence axes), output last_hidden_state
  OUTDIR/onnx/check.json             a padded sample batch and the torch module's
                                     last_hidden_state for it, for
                                     scripts/bench/bench_bert_ort/check.js

The torch module (BertModule below) re-implements transformers' BertModel
(eager attention, as optimum exports it) layer by layer with the same
parameter names; it is checked against scripts/ref/bert_reference.py's
bert_forward (1e-5) before the export. When
scripts/bench/bench_bert_ort/node_modules exists, the ONNX file is checked against
the torch output (1e-4) with onnxruntime-node; otherwise run
  node scripts/bench/bench_bert_ort/check.js OUTDIR/onnx/model.onnx OUTDIR/onnx/check.json

The safetensors file comes from scripts/ref/make_bert_testdata.py's writer.

usage: make_bert_bench_model.py OUTDIR [--seed 1] [--no-onnx]
"""

import argparse
import collections
import json
import math
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no scripts/__pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "ref"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import bert_reference  # noqa: E402
import make_bert_testdata as mbt  # noqa: E402

DIMS = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
            max_position_embeddings=512)
VOCAB_SIZE = 30522
MAX_SEQ_LENGTH = 256
INIT_STD = 0.02
BASE_VOCAB = os.path.join(ROOT, "testdata", "bert", "tokenizer", "vocab.txt")
N_WORDS = 21000  # whole words from the corpus (bert-base-uncased has about 21k)

# make_bert_testdata's config writers read its module-level DIMS: point them at ours.
mbt.DIMS = DIMS

# ---- vocab -----------------------------------------------------------------------


def corpus_lines():
    """Debian package descriptions: the short ones of every available package
    (apt-cache dumpavail) and short + long ones of the installed packages."""
    lines = []
    try:
        out = subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True,
                             text=True, encoding="utf-8", errors="replace").stdout
        lines += [m[13:] for m in re.findall(r"^Description: .*$", out, flags=re.M)]
    except (OSError, subprocess.CalledProcessError):
        pass
    for _, short, long_ in mbt.package_descriptions():
        lines.append(short)
        if long_:
            lines.append(long_)
    return lines


def make_vocab(base_path):
    with open(base_path, encoding="utf-8") as f:
        vocab = f.read().split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    for tok in mbt.SPECIAL:
        if tok not in vocab:
            sys.exit(f"{base_path}: no {tok}")
    if len(vocab) > VOCAB_SIZE:
        sys.exit(f"{base_path}: {len(vocab)} entries, more than {VOCAB_SIZE}")
    seen = set(vocab)

    def add(tok):
        if len(vocab) < VOCAB_SIZE and tok and tok not in seen and not any(c.isspace() for c in tok):
            seen.add(tok)
            vocab.append(tok)

    words = collections.Counter()
    for line in corpus_lines():
        words.update(bert_reference.basic_tokenize(line, lower=True))
    # whole words, most frequent first (ties by the word, so it is deterministic)
    ranked = [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))]
    for w in ranked[:N_WORDS]:
        add(w)
    # ##suffixes of the words left out, most frequent first
    pieces = collections.Counter()
    for w, n in words.items():
        if w in seen:
            continue
        for k in range(1, min(8, len(w))):
            pieces["##" + w[-k:]] += n
    for p, _ in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        add(p)
    # generated ##pieces of lower-case letters, should the corpus run short
    letters = "abcdefghijklmnopqrstuvwxyz"
    n = 0
    while len(vocab) < VOCAB_SIZE:
        s, k = "", n
        while True:
            s = letters[k % 26] + s
            k = k // 26 - 1
            if k < 0:
                break
        add("##" + s)
        n += 1
    return vocab

# ---- weights -------------------------------------------------------------------


def random_weights(seed, vocab_size):
    """{transformers BertModel name: tensor}: BERT's _init_weights."""
    rng = np.random.RandomState(seed)
    H, I, P = DIMS["hidden_size"], DIMS["intermediate_size"], DIMS["max_position_embeddings"]

    def normal(*shape):
        return torch.from_numpy((rng.standard_normal(shape) * INIT_STD).astype(np.float32))

    def zeros(*shape):
        return torch.zeros(shape, dtype=torch.float32)

    def ones(*shape):
        return torch.ones(shape, dtype=torch.float32)

    w = {
        "embeddings.word_embeddings.weight": normal(vocab_size, H),
        "embeddings.position_embeddings.weight": normal(P, H),
        "embeddings.token_type_embeddings.weight": normal(2, H),
        "embeddings.LayerNorm.weight": ones(H),
        "embeddings.LayerNorm.bias": zeros(H),
    }
    w["embeddings.word_embeddings.weight"][0] = 0  # padding_idx row, as nn.Embedding(padding_idx=0)
    for i in range(DIMS["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name, out, inp in [("attention.self.query", H, H), ("attention.self.key", H, H),
                               ("attention.self.value", H, H), ("attention.output.dense", H, H),
                               ("intermediate.dense", I, H), ("output.dense", H, I)]:
            w[p + name + ".weight"] = normal(out, inp)
            w[p + name + ".bias"] = zeros(out)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"] = ones(H)
            w[p + ln + ".bias"] = zeros(H)
    w["pooler.dense.weight"] = normal(H, H)
    w["pooler.dense.bias"] = zeros(H)
    return w

# ---- the torch module ------------------------------------------------------------


class BertModule(torch.nn.Module):
    """transformers' BertModel (eval mode, absolute positions, exact GELU,
    eager attention) with its parameter names; forward returns
    last_hidden_state. The pooler is left out: mean pooling does not use it
    (optimum's feature-extraction export drops it too)."""

    def __init__(self, cfg):
        super().__init__()
        nn = torch.nn
        H, I = cfg["hidden_size"], cfg["intermediate_size"]
        self.nh = cfg["num_attention_heads"]
        self.hd = H // self.nh
        eps = cfg["layer_norm_eps"]
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(cfg["vocab_size"], H, padding_idx=cfg.get("pad_token_id", 0))
        self.embeddings.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], H)
        self.embeddings.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], H)
        self.embeddings.LayerNorm = nn.LayerNorm(H, eps=eps)
        self.embeddings.register_buffer("position_ids", torch.arange(cfg["max_position_embeddings"]).unsqueeze(0),
                                        persistent=False)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList()
        for _ in range(cfg["num_hidden_layers"]):
            lay = nn.Module()
            lay.attention = nn.Module()
            lay.attention.self = nn.Module()
            lay.attention.self.query = nn.Linear(H, H)
            lay.attention.self.key = nn.Linear(H, H)
            lay.attention.self.value = nn.Linear(H, H)
            lay.attention.output = nn.Module()
            lay.attention.output.dense = nn.Linear(H, H)
            lay.attention.output.LayerNorm = nn.LayerNorm(H, eps=eps)
            lay.intermediate = nn.Module()
            lay.intermediate.dense = nn.Linear(H, I)
            lay.output = nn.Module()
            lay.output.dense = nn.Linear(I, H)
            lay.output.LayerNorm = nn.LayerNorm(H, eps=eps)
            self.encoder.layer.append(lay)
        self.eval()

    def load(self, w):
        """w: {name: tensor}, names as in model.safetensors (no "bert.")."""
        own = {k: v for k, v in w.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
        self.load_state_dict(own, strict=True)
        return self

    def _heads(self, t):  # transpose_for_scores
        B, L, _ = t.shape
        return t.view(B, L, self.nh, self.hd).permute(0, 2, 1, 3)

    def forward(self, input_ids, attention_mask, token_type_ids):
        e = self.embeddings
        L = input_ids.shape[1]
        pos = e.position_ids[:, :L]
        x = e.word_embeddings(input_ids) + e.token_type_embeddings(token_type_ids)
        x = x + e.position_embeddings(pos)
        x = e.LayerNorm(x)
        # get_extended_attention_mask
        ext = attention_mask[:, None, None, :].to(x.dtype)
        ext = (1.0 - ext) * torch.finfo(x.dtype).min
        for lay in self.encoder.layer:
            s = lay.attention.self
            q = self._heads(s.query(x))
            k = self._heads(s.key(x))
            v = self._heads(s.value(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd)
            scores = scores + ext
            probs = torch.nn.functional.softmax(scores, dim=-1)
            ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
            ctx = ctx.view(ctx.shape[0], ctx.shape[1], self.nh * self.hd)
            a = lay.attention.output.LayerNorm(lay.attention.output.dense(ctx) + x)
            h = torch.nn.functional.gelu(lay.intermediate.dense(a))
            x = lay.output.LayerNorm(lay.output.dense(h) + a)
        return x


def load_module(folder):
    """(BertModule with the folder's weights, config)."""
    cfg = bert_reference.read_json(os.path.join(folder, "config.json"))
    return BertModule(cfg).load(bert_reference.load_weights(folder)), cfg


def mean_pool_normalize(x, mask):
    """sentence-transformers' Pooling(mean) + Normalize."""
    m = mask.unsqueeze(-1).to(x.dtype)
    e = torch.sum(x * m, 1) / torch.clamp(m.sum(1), min=1e-9)
    return torch.nn.functional.normalize(e, p=2, dim=1)

# ---- writing ---------------------------------------------------------------------


def write_folder(d, seed):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "1_Pooling"))
    vocab = make_vocab(BASE_VOCAB)
    assert len(vocab) == VOCAB_SIZE and len(set(vocab)) == VOCAB_SIZE
    w = random_weights(seed, len(vocab))
    w["embeddings.position_ids"] = torch.arange(DIMS["max_position_embeddings"]).unsqueeze(0)
    mbt.write_json(os.path.join(d, "config.json"), mbt.bert_config("BertModel", len(vocab)))
    mbt.write_safetensors(os.path.join(d, "model.safetensors"), w)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    mbt.write_json(os.path.join(d, "tokenizer_config.json"), mbt.tokenizer_config(vocab, True))
    mbt.write_json(os.path.join(d, "special_tokens_map.json"), mbt.SPECIAL_TOKENS_MAP)
    mbt.write_json(os.path.join(d, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    mbt.write_json(os.path.join(d, "1_Pooling", "config.json"), mbt.pooling_config("mean", True))
    mbt.write_json(os.path.join(d, "sentence_bert_config.json"),
                   {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    mbt.write_json(os.path.join(d, "config_sentence_transformers.json"),
                   {"__version__": {"sentence_transformers": "2.7.0", "transformers": mbt.TRANSFORMERS_VERSION,
                                    "pytorch": "2.3.0"}, "prompts": {}, "default_prompt_name": None})
    n_params = sum(v.numel() for k, v in w.items() if v.dtype == torch.float32)
    print(f"{d}: {len(vocab)} vocab entries, {n_params / 1e6:.1f} M parameters, "
          f"model.safetensors {os.path.getsize(os.path.join(d, 'model.safetensors')) / 1e6:.1f} MB")


def sample_batch(cfg, seed=7):
    """A padded (3, 21) batch: lengths 21, 9 and 2, random ids, [CLS]/[SEP]."""
    g = torch.Generator().manual_seed(seed)
    lens = [21, 9, 2]
    L = max(lens)
    ids = torch.zeros(len(lens), L, dtype=torch.long)
    mask = torch.zeros(len(lens), L, dtype=torch.long)
    for i, n in enumerate(lens):
        ids[i, :n] = torch.randint(999, cfg["vocab_size"], (n,), generator=g)
        ids[i, 0], ids[i, n - 1] = 101, 102
        mask[i, :n] = 1
    return ids, mask, torch.zeros_like(ids)


def check_module(folder, mod, cfg):
    """BertModule against bert_reference.bert_forward (transformers' math step by step)."""
    ids, mask, tt = sample_batch(cfg)
    w = bert_reference.load_weights(folder)
    with torch.inference_mode():
        want, _ = bert_reference.bert_forward(w, cfg, ids, mask)
        got = mod(ids, mask, tt)
    m = mask.unsqueeze(-1).bool()
    diff = float(((got - want).abs() * m).max())
    print(f"torch module vs bert_reference.bert_forward: max |diff| {diff:.2e} (real tokens)")
    if diff > 1e-5:
        sys.exit("BertModule differs from bert_reference.bert_forward")


def export_onnx(folder, mod, cfg):
    out = os.path.join(folder, "onnx")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    ids, mask, tt = sample_batch(cfg)
    with torch.no_grad():
        torch.onnx.export(
            mod, (ids, mask, tt), path, opset_version=14, do_constant_folding=True,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                          "attention_mask": {0: "batch_size", 1: "sequence_length"},
                          "token_type_ids": {0: "batch_size", 1: "sequence_length"},
                          "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})
        want = mod(ids, mask, tt)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB, opset {m.opset_import[0].version}, "
          f"{len(m.graph.node)} nodes: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    check = {"shape": list(want.shape), "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
             "token_type_ids": tt.tolist(), "last_hidden_state": [float(v) for v in want.flatten()]}
    with open(os.path.join(out, "check.json"), "w") as f:
        json.dump(check, f)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-onnx", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    write_folder(args.outdir, args.seed)
    mod, cfg = load_module(args.outdir)
    check_module(args.outdir, mod, cfg)
    if args.no_onnx:
        return 0
    path = export_onnx(args.outdir, mod, cfg)
    ort = os.path.join(HERE, "bench_bert_ort")
    if os.path.isdir(os.path.join(ort, "node_modules", "onnxruntime-node")):
        r = subprocess.run(["node", os.path.join(ort, "check.js"), path,
                            os.path.join(args.outdir, "onnx", "check.json")])
        return r.returncode
    print(f"onnxruntime-node not installed: check later with\n"
          f"  node {os.path.join(ort, 'check.js')} {path} {os.path.join(args.outdir, 'onnx', 'check.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
