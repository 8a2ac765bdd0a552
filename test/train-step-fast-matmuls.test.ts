// Every matrix product of a training step takes the wasm backend's fast path: no BatchMatMul with a transpose
// flag (those fall back to a ~1 GFLOP/s loop; the head's transposed backward once took 80% of a real step), and no
// persistent weight as the right operand (XNNPACK would keep a packed second copy of it for the whole run).
// Checked on a model big enough that the head is chunked and every operand is thousands of elements.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { TrainConfig } from '../src/train/config.ts';
import { trainStep } from '../src/train/step.ts';
import { createTrainer, disposeTrainer } from '../src/train/trainer.ts';
import { randomBatch, randomModel } from './helpers/random-model.ts';

interface Call {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  bPersistent: boolean;
}

for (const embedding of ['trainable-tokens', 'full'] as const) {
  test(`a ${embedding} step uses only plain products with fresh right operands`, async () => {
    await setBackend('wasm');
    const model = randomModel({ V: 6000, D: 64, L: 2, heads: 4, kvHeads: 2, F: 96, tied: embedding === 'full' });
    const persistent = new Set<number>();
    for (const l of model.layers) for (const lin of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) persistent.add(lin.w.dataId as unknown as number);
    const t = createTrainer(model, TrainConfig.parse({ steps: 5, embedding, lora: { targetModules: 'all-linear' } }), {
      newTokenIds: [6000, 6001], newTokens: ['<a>', '<b>'], embedRows: new Float32Array(2 * 64).fill(0.01),
      headRows: embedding === 'full' ? undefined : new Float32Array(2 * 64).fill(0.02),
    }, 0);
    const head = model.tokens.headColumns().head;
    persistent.add(head.dataId as unknown as number);
    const engine = tf.engine() as unknown as { runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): unknown };
    const calls: Call[] = [];
    const run = engine.runKernel.bind(engine);
    engine.runKernel = (name, inputs, attrs) => {
      if (name === 'BatchMatMul') {
        calls.push({ a: inputs.a.shape, b: inputs.b.shape, transposeA: Boolean(attrs.transposeA), transposeB: Boolean(attrs.transposeB), bPersistent: persistent.has(inputs.b.dataId as unknown as number) });
      }
      return run(name, inputs, attrs);
    };
    try {
      trainStep(t, [randomBatch(6000, 2, 64, 1)]);
    } finally {
      engine.runKernel = run;
    }
    const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
    assert.ok(calls.some((c) => size(c.b) >= 6000), 'the head products were seen');
    const transposed = calls.filter((c) => c.transposeA || c.transposeB);
    assert.deepEqual(transposed, [], 'products with a transpose flag');
    assert.deepEqual(calls.filter((c) => c.bPersistent), [], 'a persistent weight as the right operand');
    disposeTrainer(t);
  });
}
