// Every fixture variant's logits equal the float64 PyTorch reference to 1e-4, on wasm and cpu: a plain batch,
// a packed batch (2-3 documents per row) and a row at large positions; plus the packed batch's HF loss, from the
// chunked head (src/model/head.ts) over the final hidden states, with a chunk small enough to need several.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { forward } from '../src/model/llama.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { headScores } from '../src/model/head.ts';
import { shiftLabels } from '../src/model/loss.ts';
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
            const hidden = forward(model, { inputIds, positionIds: Int32Array.from(c.position_ids), B: c.B, T: c.T, output: 'hidden' });
            const h = hidden.reshape([c.B * c.T, -1]) as tf.Tensor2D;
            const { nll } = headScores(h, targets, model.tokens.headColumns(), Math.ceil(V / 3));
            tf.dispose([hidden, h]);
            assert.equal(nll.length, c.loss.count);
            const got = nll.reduce((a, b) => a + b, 0) / nll.length;
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
