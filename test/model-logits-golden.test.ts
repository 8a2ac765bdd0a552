// Every fixture variant's logits equal the float64 PyTorch reference to 1e-4, on wasm and cpu: a plain batch,
// a packed batch (2-3 documents per row) and a row at large positions; plus the packed batch's HF loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { forward } from '../src/model/llama.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { crossEntropy, shiftLabels } from '../src/model/loss.ts';
import { goldenDiff, modelDir, readGolden, VARIANTS } from './helpers/model-goldens.ts';

for (const backend of ['wasm', 'cpu'] as const) {
  for (const v of VARIANTS) {
    test(`${v} logits match the reference on ${backend}`, async () => {
      await setBackend(backend);
      const g = readGolden(v);
      const model = await loadModel(modelDir(v));
      const before = tf.memory().numTensors;
      try {
        for (const c of g.cases) {
          const inputIds = Int32Array.from(c.input_ids);
          const logits = forward(model, { inputIds, positionIds: Int32Array.from(c.position_ids), B: c.B, T: c.T });
          const V = logits.shape[2];
          assert.deepEqual(logits.shape, [c.B, c.T, model.config.vocabSize]);
          const diff = goldenDiff(logits.dataSync() as Float32Array, V, c);
          assert.ok(diff <= 1e-4, `${c.name}: max |Δ| = ${diff}`);
          if (c.loss) {
            const targets = shiftLabels(Int32Array.from(c.labels!), c.B, c.T);
            const loss = tf.tidy(() => crossEntropy(logits.reshape([c.B * c.T, V]), targets));
            const got = loss.dataSync()[0];
            loss.dispose();
            assert.ok(Math.abs(got - c.loss.mean) <= 1e-5 * c.loss.mean, `packed loss ${got} vs ${c.loss.mean}`);
          }
          logits.dispose();
        }
        assert.equal(tf.memory().numTensors, before, 'forward leaves no tensors behind');
      } finally {
        disposeModel(model);
      }
    });
  }
}
