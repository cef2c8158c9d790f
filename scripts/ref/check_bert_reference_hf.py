#!/usr/bin/python3
"""Check testdata/bert/expected/*.jsonl (written by bert_reference.py without
any Hugging Face package) against the real library: transformers'
AutoTokenizer (fast and slow) and AutoModel / AutoModelForSequenceClassification
loading each folder as a user would, and sentence-transformers when installed.

Only runs where transformers (and safetensors, which it needs for
model.safetensors) are installed, e.g.
    python3 -m venv /tmp/hf && /tmp/hf/bin/pip install torch transformers \
        sentence-transformers
    /tmp/hf/bin/python scripts/ref/check_bert_reference_hf.py
Elsewhere it prints "skipped: transformers not installed" and exits 0.

Checks per model: input_ids equal to the expected ones (fast and slow
tokenizer, truncation=True, max_length as bert_reference.py documents it),
then every embedding / probability within --tol (default 1e-5) of the
expected value. Exit status 1 when anything differs.

usage: check_bert_reference_hf.py [--dir testdata/bert] [--tol 1e-5]
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "testdata", "bert"))
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    try:
        import torch
        import transformers
    except ImportError:
        print("skipped: transformers not installed")
        return 0
    try:
        import sentence_transformers
    except ImportError:
        sentence_transformers = None
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True
    import bert_reference

    with open(os.path.join(args.dir, "texts.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(args.dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    strs = [t["text"] for t in texts]
    bad = 0
    for name in manifest["models"]:
        folder = os.path.join(args.dir, name)
        d = bert_reference.describe(folder)
        with open(os.path.join(args.dir, "expected", name + ".jsonl"), encoding="utf-8") as f:
            want = [json.loads(line) for line in f]
        problems = []

        for use_fast in (True, False):
            tok = transformers.AutoTokenizer.from_pretrained(folder, use_fast=use_fast)
            for t, w in zip(strs, want):
                ids = tok(t, truncation=True, max_length=d["max_length"])["input_ids"]
                if ids != w["input_ids"]:
                    problems.append(f"{'fast' if use_fast else 'slow'} tokenizer, {w['id']}: "
                                    f"{ids} != {w['input_ids']}")
        tok = transformers.AutoTokenizer.from_pretrained(folder)

        got = []
        with torch.inference_mode():
            if d["classifier"]:
                model = transformers.AutoModelForSequenceClassification.from_pretrained(
                    folder, torch_dtype=torch.float32, attn_implementation="eager").eval()
                for s in range(0, len(strs), 8):
                    enc = tok(strs[s:s + 8], padding=True, truncation=True, max_length=d["max_length"],
                              return_tensors="pt")
                    logits = model(**enc).logits
                    probs = torch.sigmoid(logits) if d["problem_type"] == "multi_label_classification" \
                        else torch.softmax(logits, -1)
                    labels = [model.config.id2label[i] for i in range(logits.shape[1])]
                    got += [{lab: float(p) for lab, p in zip(labels, row)} for row in probs]
                key = "probs"
            elif sentence_transformers is not None:
                model = sentence_transformers.SentenceTransformer(folder, device="cpu")
                got = [list(map(float, e)) for e in model.encode(strs, batch_size=8, convert_to_numpy=True)]
                if model.max_seq_length != d["max_length"]:
                    problems.append(f"max_seq_length {model.max_seq_length} != {d['max_length']}")
                key = "embedding"
            else:
                model = transformers.AutoModel.from_pretrained(
                    folder, torch_dtype=torch.float32, attn_implementation="eager").eval()
                for s in range(0, len(strs), 8):
                    enc = tok(strs[s:s + 8], padding=True, truncation=True, max_length=d["max_length"],
                              return_tensors="pt")
                    x = model(**enc).last_hidden_state
                    e = bert_reference.head(d, None, x, None, enc["attention_mask"])
                    got += [list(map(float, row)) for row in e]
                key = "embedding"

        worst = 0.0
        for g, w in zip(got, want):
            if key == "probs":
                diffs = [abs(g[k] - w["probs"][k]) for k in w["probs"]]
            else:
                diffs = [abs(a - b) for a, b in zip(g, w["embedding"])]
            worst = max(worst, max(diffs))
            if max(diffs) > args.tol:
                problems.append(f"{w['id']}: {key} differs by {max(diffs):.2e}")
        print(f"{name}: max difference {worst:.2e}, {len(problems)} problem(s)")
        for p in problems[:20]:
            print("  " + p)
        bad |= bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
