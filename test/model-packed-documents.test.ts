// Packed rows: logits of each document inside a packed row equal the logits of that document run alone
// (no attention across documents), whether documents come from restarting position ids or explicit documentIds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBackend } from '../src/model/backend.ts';
import { forward } from '../src/model/llama.ts';
import { disposeModel, loadModel, type LlamaModel } from '../src/model/weights.ts';
import { modelDir } from './helpers/model-goldens.ts';

function run(model: LlamaModel, ids: number[], positions: number[], documentIds?: number[]): Float32Array {
  const out = forward(model, {
    inputIds: Int32Array.from(ids),
    positionIds: Int32Array.from(positions),
    documentIds: documentIds && Int32Array.from(documentIds),
    B: 1,
    T: ids.length,
  });
  const d = out.dataSync() as Float32Array;
  out.dispose();
  return d;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const v of ['llama', 'qwen3'] as const) {
  test(`${v}: each packed document equals the document alone`, async () => {
    await setBackend('wasm');
    const model = await loadModel(modelDir(v));
    try {
      const V = model.config.vocabSize;
      const docs = [[5, 9, 33, 2, 17], [40, 41], [7, 8, 9, 10, 11, 12]];
      const ids = docs.flat();
      const positions = docs.flatMap((d) => d.map((_, i) => i));
      const packed = run(model, ids, positions);
      let at = 0;
      for (const d of docs) {
        const alone = run(model, d, d.map((_, i) => i));
        const diff = maxDiff(packed.subarray(at * V, (at + d.length) * V), alone);
        assert.ok(diff < 1e-5, `document at ${at}: max |Δ| ${diff}`);
        at += d.length;
      }
      // Explicit document ids with positions that keep counting: document 2 then sees positions 7.. as if alone.
      const cont = ids.map((_, i) => i);
      const docIds = docs.flatMap((d, k) => d.map(() => k));
      const explicit = run(model, ids, cont, docIds);
      const third = run(model, docs[2], cont.slice(7));
      assert.ok(maxDiff(explicit.subarray(7 * V), third) < 1e-5);
      // Without document boundaries the later documents do change (the mask is doing the work).
      assert.ok(maxDiff(run(model, ids, cont).subarray(7 * V), third) > 1e-3);
    } finally {
      disposeModel(model);
    }
  });
}
