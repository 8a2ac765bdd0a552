// Every matrix product of a training step takes the wasm backend's fast path: no BatchMatMul with a transpose
// flag (those fall back to a ~1 GFLOP/s loop; the head's transposed backward once took 80% of a real step), no
// batched product of attention's size (the same loop at ~2 GFLOP/s: a quarter of a reference-shape step at T=128,
// where 2-D products per batch element run 5-6x faster), and no persistent weight as the right operand (XNNPACK
// would keep a packed second copy of it for the whole run).
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
  batch: number;
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
        calls.push({ batch: inputs.a.shape.slice(0, -2).reduce((x, y) => x * y, 1), a: inputs.a.shape, b: inputs.b.shape, transposeA: Boolean(attrs.transposeA), transposeB: Boolean(attrs.transposeB), bPersistent: persistent.has(inputs.b.dataId as unknown as number) });
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
    // Attention here: [2, 2, 128, 16]·[2, 2, 16, 64] (B=2, 2 kv heads, 2 query heads each, T=64, head dim 16).
    const [M, K, N] = [(c: Call) => c.a.at(-2)!, (c: Call) => c.a.at(-1)!, (c: Call) => c.b.at(-1)!];
    assert.ok(calls.some((c) => c.a.length === 2 && M(c) === 128 && K(c) === 16 && N(c) === 64), 'the attention scores were seen, one batch element at a time');
    assert.deepEqual(calls.filter((c) => c.batch > 1 && M(c) >= 16 && M(c) * K(c) * N(c) >= 2 ** 16), [], 'batched products of attention size');
    disposeTrainer(t);
  });
}
