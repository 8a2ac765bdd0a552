// The forward pass is differentiable on wasm and cpu (no op without a gradient kernel): a delta injected through
// model.linearHook (the LoRA entry point) gets gradients that match central finite differences of the loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { forward } from '../src/model/llama.ts';
import { disposeModel, loadModel, type LlamaModel } from '../src/model/weights.ts';
import { crossEntropy, shiftLabels } from '../src/model/loss.ts';
import { modelDir } from './helpers/model-goldens.ts';

const ids = Int32Array.from([5, 9, 33, 2, 17, 40, 41, 7]);
const positions = Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]); // two packed documents
const targets = shiftLabels(Int32Array.from([-100, 9, 33, 2, -100, 41, 7, 8]), 1, 8);

/** Loss with `delta` [in, out] added to the output of module `name` as x·delta. */
function loss(model: LlamaModel, name: string, delta: tf.Tensor2D): tf.Scalar {
  model.linearHook = (n, x, y) => (n === name ? tf.add(y, tf.matMul(x, delta)) : y);
  const logits = forward(model, { inputIds: ids, positionIds: positions, B: 1, T: 8 });
  return crossEntropy(logits.reshape([8, logits.shape[2]]), targets);
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`gradients through the forward match finite differences on ${backend}`, async () => {
    await setBackend(backend);
    const model = await loadModel(modelDir('qwen3')); // q/k norms, GQA, head_dim != hidden/heads
    try {
      for (const [name, inF, outF] of [['model.layers.0.self_attn.q_proj', 16, 32], ['model.layers.1.mlp.down_proj', 32, 16]] as const) {
        const delta = tf.variable(tf.zeros([inF, outF]), true) as tf.Variable<tf.Rank.R2>;
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(() => loss(model, name, delta), [delta]);
        const g = grads[delta.name].dataSync();
        tf.dispose([value, ...Object.values(grads)]);
        assert.equal(tf.memory().numTensors, before, 'backward leaves no tensors behind');
        const h = 1e-2;
        for (const k of [0, 7, inF * outF - 1, (inF * outF) >> 1]) {
          const at = (v: number) => tf.tidy(() => {
            const d = tf.buffer([inF, outF], 'float32');
            d.values[k] = v;
            return loss(model, name, d.toTensor() as tf.Tensor2D).dataSync()[0];
          });
          const fd = (at(h) - at(-h)) / (2 * h);
          assert.ok(Math.abs(g[k] - fd) <= 2e-4 + 5e-3 * Math.abs(fd), `${name}[${k}]: grad ${g[k]} vs finite difference ${fd}`);
        }
        assert.ok(g.some((v) => Math.abs(v) > 1e-4), 'gradient is not trivially zero');
        delta.dispose();
      }
    } finally {
      model.linearHook = undefined;
      disposeModel(model);
    }
  });
}
