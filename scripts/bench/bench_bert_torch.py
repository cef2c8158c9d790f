#!/usr/bin/python3
"""The PyTorch CPU anchor of binfer's BERT benchmark, the way a user runs a
sentence-transformers embedding model: tokenize, pad each batch of BATCH
texts (input order) to its longest text, BertModel forward under
torch.inference_mode(), mean pooling over the attention mask, L2 normalize.

  tokens   scripts/ref/bert_tokenizer_ref.py (transformers' BertTokenizer in plain
           Python; do_lower_case from tokenizer_config.json, max_length =
           sentence_bert_config.json max_seq_length, truncation), then
           padding and the tensors, timed apart from the model
  model    scripts/bench/make_bert_bench_model.py's BertModule (transformers'
           BertModel re-implemented with the same parameter names, eager
           attention; no pooler, which mean pooling does not use) loaded
           from MODELDIR/model.safetensors; fp32
  threads  torch.set_num_threads(N) and, since Debian's torch runs its GEMMs
           in OpenBLAS (openblas-pthread, its own threads), OPENBLAS_NUM_THREADS
           = N; OMP_WAIT_POLICY=PASSIVE unless set (spinning OpenMP workers
           otherwise fight OpenBLAS's threads for the cores). All three must
           be in the environment before torch loads: this script sets them.
  timing   model loading is not timed; the first batch is run once untimed
           (warm-up), then every batch is timed: forward + pooling +
           normalize.

Prints rows/s and tokens/s (real tokens: [CLS] and [SEP] included, padding
not) with and without tokenization, the padding efficiency (real tokens /
padded tokens computed), and a last line "RESULT {json}" for
scripts/bench/bench_bert.sh.

  --emb-out FILE     also write the embeddings of the first 8 rows as JSON
                     lines {"id": .., "embedding": [..]} (for checking binfer)
  --dump-ids FILE    write the padded batches' token ids as JSON (for
                     scripts/bench/bench_bert_ort/bench.js) and exit, no model run
  --sort             batch the texts sorted by length, longest first, as
                     sentence-transformers' encode() does (less padding);
                     results stay in input order

usage: bench_bert_torch.py MODELDIR TEXTS.jsonl [--threads N] [--batch 32]
           [--sort] [--emb-out FILE] [--dump-ids FILE]
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts", "ref"))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("texts")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--emb-out")
    ap.add_argument("--dump-ids")
    ap.add_argument("--sort", action="store_true")
    return ap.parse_args(argv)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def tokenize(model_dir, texts, batch, sort):
    """[(ids rows, lengths, input rows)] per batch of `batch` texts, in input
    order or (sort) longest first; the rows padded with [PAD] to the batch's
    longest."""
    import bert_tokenizer_ref
    cfg = read_json(os.path.join(model_dir, "tokenizer_config.json"))
    max_length = read_json(os.path.join(model_dir, "sentence_bert_config.json"))["max_seq_length"]
    tok = bert_tokenizer_ref.BertTokenizer(os.path.join(model_dir, "vocab.txt"),
                                           do_lower_case=cfg.get("do_lower_case", True))
    pad = tok.vocab["[PAD]"]
    all_seqs = [tok.encode(t["text"], max_length)[0] for t in texts]
    order = list(range(len(texts)))
    if sort:
        order.sort(key=lambda i: -len(all_seqs[i]))
    out = []
    for s in range(0, len(order), batch):
        rows = order[s:s + batch]
        seqs = [all_seqs[i] for i in rows]
        L = max(len(q) for q in seqs)
        out.append(([q + [pad] * (L - len(q)) for q in seqs], [len(q) for q in seqs], rows))
    return out


def main():
    args = parse_args()
    n = max(1, args.threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ["OPENBLAS_NUM_THREADS"] = str(n)
    import torch
    import make_bert_bench_model
    torch.set_num_threads(n)
    torch.set_num_interop_threads(1)

    with open(args.texts, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    rows = len(texts)

    t0 = time.perf_counter()
    batches = tokenize(args.model_dir, texts, args.batch, args.sort)
    tensors = []
    for ids, lens, _ in batches:
        ids_t = torch.tensor(ids, dtype=torch.long)
        mask = torch.zeros_like(ids_t)
        for i, k in enumerate(lens):
            mask[i, :k] = 1
        tensors.append((ids_t, mask, torch.zeros_like(ids_t)))
    t_tok = time.perf_counter() - t0
    real = sum(sum(lens) for _, lens, _ in batches)
    padded = sum(len(ids) * len(ids[0]) for ids, _, _ in batches)

    if args.dump_ids:
        dump = {"model_dir": os.path.abspath(args.model_dir), "texts": os.path.abspath(args.texts),
                "batch": args.batch, "sorted": args.sort, "rows": rows, "real_tokens": real,
                "padded_tokens": padded, "tokenize_s": t_tok,
                "batches": [{"B": len(ids), "L": len(ids[0]), "ids": [v for r in ids for v in r],
                             "lens": lens, "rows": order} for ids, lens, order in batches]}
        with open(args.dump_ids, "w") as f:
            json.dump(dump, f, separators=(",", ":"))
        print(f"{args.dump_ids}: {len(batches)} batches of {args.batch}, {rows} rows, {real} tokens "
              f"({padded} padded)")
        return 0

    model, _ = make_bert_bench_model.load_module(args.model_dir)
    first = {}  # input row -> embedding, for the first 8 rows
    with torch.inference_mode():
        ids, mask, tt = tensors[0]
        make_bert_bench_model.mean_pool_normalize(model(ids, mask, tt), mask)  # warm-up
        t0 = time.perf_counter()
        for (ids, mask, tt), (_, _, order) in zip(tensors, batches):
            emb = make_bert_bench_model.mean_pool_normalize(model(ids, mask, tt), mask)
            for k, row in enumerate(order):
                if row < 8:
                    first[row] = emb[k].tolist()
        t_model = time.perf_counter() - t0

    if args.emb_out:
        with open(args.emb_out, "w") as f:
            for row in sorted(first):
                f.write(json.dumps({"id": texts[row]["id"], "embedding": first[row]}) + "\n")

    res = {"engine": "torch", "sorted": args.sort, "torch": torch.__version__, "threads": n, "batch": args.batch, "rows": rows,
           "real_tokens": real, "padded_tokens": padded, "padding_efficiency": real / padded,
           "tokenize_s": t_tok, "model_s": t_model,
           "rows_per_s": rows / t_model, "tokens_per_s": real / t_model,
           "rows_per_s_with_tok": rows / (t_model + t_tok), "tokens_per_s_with_tok": real / (t_model + t_tok)}
    print(f"torch {torch.__version__}, {n} thread(s), batches of {args.batch}"
          f"{' sorted by length' if args.sort else ''}: {rows} rows, {real} tokens, "
          f"padding efficiency {real / padded:.3f}")
    print(f"  model only      {t_model:8.2f} s  {res['rows_per_s']:9.1f} rows/s  {res['tokens_per_s']:9.0f} tokens/s")
    print(f"  + tokenization  {t_model + t_tok:8.2f} s  {res['rows_per_s_with_tok']:9.1f} rows/s  "
          f"{res['tokens_per_s_with_tok']:9.0f} tokens/s  (tokenization {t_tok:.2f} s, pure Python)")
    print("RESULT " + json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
