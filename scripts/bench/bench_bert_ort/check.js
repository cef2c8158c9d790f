#!/usr/bin/env node
// check.js MODEL.onnx CHECK.json: runs the sample batch written by
// scripts/bench/make_bert_bench_model.py through ONNX Runtime (CPU) and compares
// last_hidden_state with the torch module's, on the real (unpadded) tokens.
// Exit status 1 when the largest difference exceeds 1e-4.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, checkPath] = process.argv.slice(2);
  if (!checkPath) {
    console.error('usage: check.js MODEL.onnx CHECK.json');
    process.exit(2);
  }
  const c = JSON.parse(fs.readFileSync(checkPath, 'utf8'));
  const [B, L, H] = c.shape;
  const t = (rows) => new ort.Tensor('int64', BigInt64Array.from(rows.flat(), (v) => BigInt(v)), [B, L]);
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const out = await session.run({
    input_ids: t(c.input_ids), attention_mask: t(c.attention_mask), token_type_ids: t(c.token_type_ids),
  });
  const got = out.last_hidden_state;
  if (got.dims.join() !== [B, L, H].join()) {
    console.error(`check: shape ${got.dims} instead of ${[B, L, H]}`);
    process.exit(1);
  }
  let worst = 0;
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++) {
      if (!c.attention_mask[b][l]) continue;
      for (let h = 0; h < H; h++) {
        const i = (b * L + l) * H + h;
        worst = Math.max(worst, Math.abs(got.data[i] - c.last_hidden_state[i]));
      }
    }
  const ok = worst <= 1e-4;
  console.log(`onnxruntime-node ${ort.env.versions.node} vs torch: max |diff| ${worst.toExponential(2)} ` +
              `on the real tokens of a (${B}, ${L}) batch: ${ok ? 'ok' : 'FAIL'} (1e-4)`);
  process.exit(ok ? 0 : 1);
}
main().catch((e) => { console.error(e); process.exit(1); });
