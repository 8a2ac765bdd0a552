// Accumulating micro-batch gradients equals the gradient of the token-weighted mean loss over the whole batch
// (two micro-batches of 2 rows = one batch of the same 4 rows), and leaks no tensors; clipping works like torch's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { GradSink } from '../src/model/layer.ts';
import { clipGradNorm } from '../src/train/grads.ts';
import { updateGrads, type StepBatch } from '../src/train/step.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer, useBackend } from './fixtures/train/setup.ts';

/** Rows of several batches as one batch (documents stay per row, so nothing changes for any row). */
function joined(bs: StepBatch[]): StepBatch {
  const cat = (k: 'inputIds' | 'targets' | 'positionIds' | 'documentIds') => Int32Array.from(bs.flatMap((b) => Array.from(b[k])));
  return { B: bs.reduce((n, b) => n + b.B, 0), T: bs[0].T, inputIds: cat('inputIds'), targets: cat('targets'), positionIds: cat('positionIds'), documentIds: cat('documentIds') };
}

test('micro-batch accumulation = gradient of the mean over all tokens', async () => {
  await useBackend('cpu');
  const t = await fixtureTrainer('untied', { lora: { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: ['q_proj', 'down_proj'] } });
  const w = t.lora.toPeft();
  for (const v of w.values()) v.B = Float32Array.from(v.B, (_, i) => 0.2 * Math.cos(i + v.inF));
  t.lora.load(w);
  const micro = [fixtureBatch(t, 8, 0), fixtureBatch(t, 8, 5)];
  const before = tf.memory().numTensors;
  const acc: GradSink = new Map();
  const one: GradSink = new Map();
  const a = updateGrads(t, micro, acc);
  const b = updateGrads(t, [joined(micro)], one);
  assert.equal(a.tokens, b.tokens);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * b.loss, `${a.loss} vs ${b.loss}`);
  for (const [name, g] of one) {
    const got = acc.get(name)!.dataSync(), want = g.dataSync();
    const scale = Math.max(1e-6, ...Array.from(want, Math.abs));
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5 * scale, `${name}[${i}]: ${got[i]} vs ${want[i]}`);
  }
  tf.dispose([...acc.values(), ...one.values()]);
  assert.equal(tf.memory().numTensors, before);
  disposeTrainer(t);
});

test('clipping scales to max norm only when above it', async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    const grads = new Map([['a', tf.tensor([3, 0])], ['b', tf.tensor([0, 4])]]); // global norm 5
    const big = clipGradNorm(grads, 1);
    assert.ok(Math.abs(big.norm - 5) < 1e-6);
    assert.ok(Math.abs(big.coef - 1 / (5 + 1e-6)) < 1e-6);
    assert.equal(clipGradNorm(grads, 10).coef, 1);
    assert.deepEqual(clipGradNorm(grads, 0), { norm: big.norm, coef: 1 });
  });
});
