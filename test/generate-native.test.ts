// Greedy generation on the native engine without the cache (each step the whole forward as one ONNX Runtime graph over
// the padded sequence, src/model/generate-native.ts) gives the reference's tokens, as wasm does, on every fixture model
// (tied and untied heads, biases, q/k norms, RoPE scaling); one session per padded length, not per step. The same
// with the KV cache as graph inputs and outputs (the past length a named axis: one decoding session for every step).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBackend } from '../src/model/backend.ts';
import { generate } from '../src/model/generate.ts';
import { generateNative, paddedLength } from '../src/model/generate-native.ts';
import { sessionsBuilt } from '../src/model/native-run.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { modelDir, readGolden, VARIANTS } from './helpers/model-goldens.ts';

for (const v of VARIANTS) {
  test(`${v}: native greedy generation equals the reference and wasm`, async () => {
    await setBackend('native');
    const g = readGolden(v).greedy;
    const model = await loadModel(modelDir(v));
    try {
      const opts = { maxNewTokens: g.max_new_tokens, eosTokenIds: g.eos };
      const before = sessionsBuilt();
      const got = await generateNative(model, g.prompt_ids, { ...opts, useCache: false });
      assert.deepEqual(got, g.new_ids);
      assert.deepEqual(got, generate(model, g.prompt_ids, opts));
      const lengths = new Set(got.map((_, k) => paddedLength(g.prompt_ids.length + k)));
      assert.equal(sessionsBuilt() - before, lengths.size, 'one session per padded length');
      const mid = sessionsBuilt();
      assert.deepEqual(await generateNative(model, g.prompt_ids, opts), g.new_ids, 'with the KV cache');
      assert.equal(sessionsBuilt() - mid, got.length > 1 ? 2 : 1, 'the prompt graph, then one decoding graph for every step');
    } finally {
      disposeModel(model);
    }
  });
}
