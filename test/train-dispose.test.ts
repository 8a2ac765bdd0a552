// A trainer that is released gives back every tensor it made (model, LoRA, token rows, AdamW
// moments), in each embedding mode: a long-lived process (ablation, benchmarks) can build
// trainers one after another without growing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { loadModel } from '../src/model/weights.ts';
import { TrainConfig } from '../src/train/config.ts';
import { trainStep } from '../src/train/step.ts';
import { createTrainer, disposeTrainer } from '../src/train/trainer.ts';

const MODEL = path.join(import.meta.dirname, '..', 'fixtures', 'models', 'llama');

for (const embedding of ['trainable-tokens', 'full', 'frozen'] as const) {
  test(`disposeTrainer frees every tensor (${embedding})`, async () => {
    await setBackend('cpu');
    const before = tf.memory().numTensors;
    const model = await loadModel(MODEL);
    const V0 = model.tokens.vocabSize;
    const H = model.config.hiddenSize;
    const t = createTrainer(model, TrainConfig.parse({ embedding, steps: 2 }), { newTokenIds: [V0, V0 + 1], newTokens: ['<a>', '<b>'], embedRows: new Float32Array(2 * H).fill(0.01), headRows: new Float32Array(2 * H).fill(0.02) }, 1);
    const T = 8;
    const inputIds = Int32Array.from({ length: T }, (_, i) => (i * 5) % (V0 + 2));
    const targets = Int32Array.from({ length: T }, (_, i) => (i + 1 < T ? inputIds[i + 1] : -100));
    trainStep(t, [{ B: 1, T, inputIds, targets, positionIds: Int32Array.from({ length: T }, (_, i) => i), documentIds: new Int32Array(T) }]);
    assert.ok(tf.memory().numTensors > before);
    disposeTrainer(t);
    assert.equal(tf.memory().numTensors, before);
  });
}
