// The hand-written backward of the whole model (src/model/grad.ts: chunked head, layers, norms, attention with
// q/k norms and GQA) is right: a delta injected at the adapter entry point of a linear (LoRA with A = I, B = delta,
// so the linear's output gains x·delta) gets gradients that match central finite differences of the loss, on wasm
// and cpu, and on the native engine (the whole pass one ONNX Runtime graph), and the pass leaves no tensor behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { lossAndGrads } from '../src/model/grad.ts';
import { lossAndGradsNative } from '../src/model/grad-native.ts';
import { headScores } from '../src/model/head.ts';
import { loraGradName, type GradSink } from '../src/model/layer.ts';
import { forward } from '../src/model/llama.ts';
import { disposeModel, loadModel, type FrozenTokenTable, type LlamaModel } from '../src/model/weights.ts';
import { shiftLabels } from '../src/model/loss.ts';
import { modelDir } from './helpers/model-goldens.ts';

const ids = Int32Array.from([5, 9, 33, 2, 17, 40, 41, 7]);
const positions = Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]); // two packed documents
const documents = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
const targets = shiftLabels(Int32Array.from([-100, 9, 33, 2, -100, 41, 7, 8]), 1, 8);
const batch = { B: 1, T: 8, inputIds: ids, positionIds: positions, documentIds: documents, targets };

/** Routes x·delta into the output of module `name`: LoRA with A = I [in, in], B = delta [in, out], scaling 1. */
function inject(model: LlamaModel, name: string, delta: tf.Tensor2D): void {
  const eye = tf.eye(delta.shape[0]) as tf.Tensor2D;
  model.adapters = { get: (n) => (n === name ? { A: eye, B: delta, scaling: 1, dropout: 0, index: 0 } : undefined) };
}

/** Mean loss over the scored targets, forward only. */
function loss(model: LlamaModel): number {
  return tf.tidy(() => {
    const h = forward(model, { ...batch, output: 'hidden' }).reshape([8, -1]) as tf.Tensor2D;
    const { nll } = headScores(h, targets, model.tokens.headColumns());
    return nll.reduce((a, b) => a + b, 0) / nll.length;
  });
}

for (const backend of ['wasm', 'cpu', 'native'] as const) {
  test(`gradients through the model's backward match finite differences on ${backend}`, async () => {
    await setBackend(backend);
    const model = await loadModel(modelDir('qwen3')); // q/k norms, GQA, head_dim != hidden/heads
    try {
      for (const [name, inF, outF] of [['model.layers.0.self_attn.q_proj', 16, 32], ['model.layers.1.mlp.down_proj', 32, 16]] as const) {
        for (const recompute of [false, true]) {
          const delta = tf.zeros([inF, outF]) as tf.Tensor2D;
          inject(model, name, delta);
          const before = tf.memory().numTensors;
          const grads: GradSink = new Map();
          const o = { weight: 1 / 6, recompute };
          const r = backend === 'native'
            ? await lossAndGradsNative(model, model.tokens as FrozenTokenTable, batch, o, grads)
            : lossAndGrads(model, model.tokens as FrozenTokenTable, batch, o, grads);
          assert.equal(r.count, 6);
          assert.ok(Math.abs(r.loss - loss(model)) < 1e-5 * r.loss, `pass loss ${r.loss} vs forward ${loss(model)}`);
          const g = grads.get(loraGradName(name, 'B'))!.dataSync();
          tf.dispose([...grads.values()]);
          assert.equal(tf.memory().numTensors, before, 'the backward leaves no tensors behind');
          const h = 1e-2;
          for (const k of [0, 7, inF * outF - 1, (inF * outF) >> 1]) {
            const at = (v: number) => {
              const d = tf.buffer([inF, outF], 'float32');
              d.values[k] = v;
              inject(model, name, d.toTensor() as tf.Tensor2D);
              return loss(model);
            };
            const fd = (at(h) - at(-h)) / (2 * h);
            assert.ok(Math.abs(g[k] - fd) <= 2e-4 + 5e-3 * Math.abs(fd), `${name}[${k}] (recompute ${recompute}): grad ${g[k]} vs finite difference ${fd}`);
          }
          assert.ok(g.some((v) => Math.abs(v) > 1e-4), 'gradient is not trivially zero');
        }
      }
    } finally {
      model.adapters = undefined;
      disposeModel(model);
    }
  });
}
