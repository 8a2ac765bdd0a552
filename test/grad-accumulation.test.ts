// Accumulating weighted micro-batch gradients equals the gradient of the token-weighted mean
// loss over the whole batch, and leaks no tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradAccumulator, clipGradNorm, paramGrads } from '../src/train/grads.ts';

test('weighted accumulation = gradient of the mean over all tokens', async () => {
  await tf.setBackend('cpu');
  const w = { name: 'w', variable: tf.variable(tf.tensor([0.5, -1.5])) };
  // Two micro-batches of 3 and 1 "tokens": loss_i = mean over tokens of (w . x_t)^2.
  const micro = [
    [[1, 2], [0, 1], [3, -1]],
    [[2, 2]],
  ];
  const lossOf = (xs: number[][]) => () =>
    tf.tidy(() => tf.matMul(tf.tensor(xs), w.variable.reshape([2, 1])).square().mean() as tf.Scalar);
  const acc = new GradAccumulator();
  const before = tf.memory().numTensors;
  for (const xs of micro) {
    tf.tidy(() => acc.add(paramGrads(lossOf(xs), [w]).grads, xs.length));
  }
  const got = acc.take();
  const want = tf.tidy(() => paramGrads(lossOf(micro.flat()), [w]).grads.get('w')!.dataSync());
  const g = got.get('w')!.dataSync();
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(g[i] - want[i]) < 1e-5, `${g[i]} vs ${want[i]}`);
  got.get('w')!.dispose();
  assert.equal(tf.memory().numTensors, before);
  w.variable.dispose();
});

test('clipping scales to max norm only when above it', async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    const grads = new Map([['a', tf.tensor([3, 0])], ['b', tf.tensor([0, 4])]]); // global norm 5
    const big = clipGradNorm(grads, 1);
    assert.ok(Math.abs(big.norm.dataSync()[0] - 5) < 1e-6);
    const a = big.grads.get('a')!.dataSync();
    assert.ok(Math.abs(a[0] - 3 / (5 + 1e-6)) < 1e-6);
    const small = clipGradNorm(grads, 10);
    assert.deepEqual(Array.from(small.grads.get('b')!.dataSync()), [0, 4]);
    const off = clipGradNorm(grads, 0);
    assert.equal(off.grads, grads);
  });
});
