#!/usr/bin/python3
"""make_bert_zero_shot.py: reference zero-shot tags for testdata/bert.

Zero-shot scoring, as binfer's model.task zero_shot defines it: each label's
description and each text are embedded by the folder's own pooling, both
L2-normalised; a label's score is their cosine similarity, or with
model.temperature T the softmax over labels of cosine / T. The embeddings
come from bert_reference.py (PyTorch, following transformers' BertModel).
Writes testdata/bert/expected/<model>.zero_shot.jsonl:
  {"id": ..., "cosine": {label: c, ...}, "softmax_t0.05": {label: p, ...}}
and testdata/bert/zero_shot_labels.json (the labels used)."""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bert_reference as br  # noqa: E402

LABELS = {
    "admin": "system administration tools, users, services and daemons",
    "libs": "shared libraries and development files for programs",
    "fonts": "fonts, typefaces and glyphs for text display",
    "net": "networking, internet, web servers and network protocols",
}
TEMPERATURE = 0.05


def main():
    root = os.path.join(ROOT, "testdata", "bert")
    with open(os.path.join(root, "texts.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(root, "zero_shot_labels.json"), "w") as f:
        json.dump({"labels": LABELS, "temperature": TEMPERATURE}, f, indent=1)
        f.write("\n")
    torch.set_num_threads(1)
    for m in ("mini-embed", "mini-embed-cls"):
        folder = os.path.join(root, m)
        label_rows, _, _ = br.run_model(folder, [{"id": k, "text": v} for k, v in LABELS.items()])
        rows, _, _ = br.run_model(folder, texts)
        lab = torch.nn.functional.normalize(torch.tensor([r["embedding"] for r in label_rows]), dim=1)
        emb = torch.nn.functional.normalize(torch.tensor([r["embedding"] for r in rows]), dim=1)
        cos = emb @ lab.T
        soft = torch.softmax(cos / TEMPERATURE, dim=1)
        names = list(LABELS)
        out = os.path.join(root, "expected", m + ".zero_shot.jsonl")
        with open(out, "w", encoding="utf-8") as f:
            for i, r in enumerate(rows):
                f.write(json.dumps({"id": r["id"],
                                    "cosine": {n: float(cos[i, k]) for k, n in enumerate(names)},
                                    f"softmax_t{TEMPERATURE}": {n: float(soft[i, k]) for k, n in enumerate(names)}},
                                   ensure_ascii=False) + "\n")
        print(f"{m}: {len(rows)} rows -> {out}")


if __name__ == "__main__":
    main()
