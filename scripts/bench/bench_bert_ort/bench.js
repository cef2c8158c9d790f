#!/usr/bin/env node
// bench.js MODEL.onnx IDS.json [--threads N] [--emb-out FILE]
//
// The ONNX Runtime (CPU) anchor of binfer's BERT benchmark
// (scripts/bench/bench_bert.sh), through onnxruntime-node: the model exported by
// scripts/bench/make_bert_bench_model.py, fed the padded batches that
// `scripts/bench/bench_bert_torch.py MODELDIR TEXTS --dump-ids IDS.json` wrote (the
// same batches of 32, in input order or sorted by length, as the PyTorch anchor; tokenization is
// done by that Python step and is not timed here), then mean pooling over the
// attention mask and L2 normalization in JavaScript, as sentence-transformers
// does after the Transformer module.
//
// Session: CPU execution provider, graphOptimizationLevel 'all',
// intraOpNumThreads N, interOpNumThreads 1, sequential execution. Loading the
// model and building the input tensors are not timed; the first batch runs
// once untimed (warm-up), then every batch is timed: run + pooling.
//
// Prints rows/s and tokens/s (real tokens, padding not counted), the padding
// efficiency, and a last line "RESULT {json}".
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { threads: 1, embOut: null, pos: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') a.threads = parseInt(argv[++i], 10);
    else if (argv[i] === '--emb-out') a.embOut = argv[++i];
    else a.pos.push(argv[i]);
  }
  if (a.pos.length !== 2 || !(a.threads >= 1)) {
    console.error('usage: bench.js MODEL.onnx IDS.json [--threads N] [--emb-out FILE]');
    process.exit(2);
  }
  return a;
}

// Mean pooling over the real tokens of each row, then L2 normalization.
function poolNormalize(hidden, B, L, H, lens) {
  const out = [];
  for (let b = 0; b < B; b++) {
    const e = new Float32Array(H);
    for (let l = 0; l < lens[b]; l++) {
      const off = (b * L + l) * H;
      for (let h = 0; h < H; h++) e[h] += hidden[off + h];
    }
    let ss = 0;
    for (let h = 0; h < H; h++) {
      e[h] /= Math.max(lens[b], 1e-9);
      ss += e[h] * e[h];
    }
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let h = 0; h < H; h++) e[h] *= inv;
    out.push(e);
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const [modelPath, idsPath] = args.pos;
  const d = JSON.parse(fs.readFileSync(idsPath, 'utf8'));
  const feeds = d.batches.map((bt) => {
    const n = bt.B * bt.L;
    const ids = new BigInt64Array(n), mask = new BigInt64Array(n), tt = new BigInt64Array(n);
    for (let b = 0; b < bt.B; b++)
      for (let l = 0; l < bt.L; l++) {
        ids[b * bt.L + l] = BigInt(bt.ids[b * bt.L + l]);
        mask[b * bt.L + l] = l < bt.lens[b] ? 1n : 0n;
      }
    const dims = [bt.B, bt.L];
    return {
      B: bt.B, L: bt.L, lens: bt.lens, rows: bt.rows,
      feed: { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims),
              token_type_ids: new ort.Tensor('int64', tt, dims) },
    };
  });
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
    intraOpNumThreads: args.threads, interOpNumThreads: 1,
  });
  const H = (await session.run(feeds[0].feed)).last_hidden_state.dims[2]; // warm-up
  const first = new Map(); // input row -> embedding, for the first 8 rows
  let seen = 0;
  const t0 = process.hrtime.bigint();
  for (const f of feeds) {
    const out = await session.run(f.feed);
    const emb = poolNormalize(out.last_hidden_state.data, f.B, f.L, H, f.lens);
    for (let i = 0; i < emb.length; i++) {
      const row = f.rows ? f.rows[i] : seen + i;
      if (row < 8) first.set(row, emb[i]);
    }
    seen += emb.length;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (args.embOut) {
    const texts = fs.readFileSync(d.texts, 'utf8').split('\n').filter((x) => x.trim()).slice(0, 8);
    const rows = [...first.keys()].sort((a, b) => a - b);
    fs.writeFileSync(args.embOut, rows.map((r) =>
      JSON.stringify({ id: JSON.parse(texts[r]).id, embedding: Array.from(first.get(r)) }) + '\n').join(''));
  }
  const res = {
    engine: 'onnxruntime', sorted: !!d.sorted, onnxruntime: ort.env.versions.node, threads: args.threads, batch: d.batch,
    rows: d.rows, real_tokens: d.real_tokens, padded_tokens: d.padded_tokens,
    padding_efficiency: d.real_tokens / d.padded_tokens, model_s: s,
    rows_per_s: d.rows / s, tokens_per_s: d.real_tokens / s,
  };
  console.log(`onnxruntime-node ${res.onnxruntime} (CPU), ${args.threads} intra-op thread(s), batches of ${d.batch}` +
              `${d.sorted ? ' sorted by length' : ''}: ` +
              `${d.rows} rows, ${d.real_tokens} tokens, padding efficiency ${res.padding_efficiency.toFixed(3)}`);
  console.log(`  model only (tokenization not included)  ${s.toFixed(2)} s  ${res.rows_per_s.toFixed(1)} rows/s  ` +
              `${res.tokens_per_s.toFixed(0)} tokens/s`);
  console.log('RESULT ' + JSON.stringify(res));
}
main().catch((e) => { console.error(e); process.exit(1); });
