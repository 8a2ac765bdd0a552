// The fused cross-entropy equals a plain float64 computation (value, and gradient by central finite
// differences of that computation), ignores −100, reduces by token mean or sum, on wasm and cpu.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { crossEntropy, IGNORE_INDEX, shiftLabels } from '../src/model/loss.ts';

const N = 6;
const V = 5;
// Fixed, spread-out logits computed in float64 here, independent of the code under test.
const logits = Float64Array.from({ length: N * V }, (_, i) => Math.sin(i * 12.9898 + 1.5) * 3);
const targets = Int32Array.from([2, IGNORE_INDEX, 0, 4, IGNORE_INDEX, 1]);

/** Mean (or sum) of -log softmax(z)[t] over scored rows, in float64. */
function naive(z: Float64Array, reduction: 'mean' | 'sum'): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    const row = z.subarray(i * V, (i + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    s += lse - row[t];
    n++;
  }
  return reduction === 'mean' ? s / n : s;
}

for (const backend of ['wasm', 'cpu'] as const) {
  for (const reduction of ['mean', 'sum'] as const) {
    test(`cross-entropy (${reduction}) value and gradient on ${backend}`, async () => {
      await setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor2d(Float32Array.from(logits), [N, V]);
      const value = crossEntropy(x, targets, reduction);
      assert.ok(Math.abs(value.dataSync()[0] - naive(logits, reduction)) < 1e-5);
      // Upstream factor 3 checks dy is honoured.
      const grad = tf.grad((z: tf.Tensor) => tf.mul(crossEntropy(z as tf.Tensor2D, targets, reduction), 3))(x);
      const g = grad.dataSync();
      const h = 1e-5;
      for (let k = 0; k < N * V; k++) {
        const up = Float64Array.from(logits);
        const down = Float64Array.from(logits);
        up[k] += h;
        down[k] -= h;
        const fd = (3 * (naive(up, reduction) - naive(down, reduction))) / (2 * h);
        assert.ok(Math.abs(g[k] - fd) < 1e-5, `d/dz[${k}]: ${g[k]} vs finite difference ${fd}`);
      }
      // Rows with an ignored target get no gradient at all.
      for (const row of [1, 4]) for (let j = 0; j < V; j++) assert.equal(g[row * V + j], 0);
      tf.dispose([x, value, grad]);
      assert.equal(tf.memory().numTensors, before);
    });
  }
}

test('all targets ignored: mean is NaN (as PyTorch), sum is 0 with a zero gradient', async () => {
  await setBackend('wasm');
  const x = tf.tensor2d(Float32Array.from(logits), [N, V]);
  const none = new Int32Array(N).fill(IGNORE_INDEX);
  assert.ok(Number.isNaN(crossEntropy(x, none, 'mean').dataSync()[0]));
  assert.equal(crossEntropy(x, none, 'sum').dataSync()[0], 0);
  const g = tf.grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, none, 'sum'))(x).dataSync();
  assert.ok(g.every((v) => v === 0));
});

test('targets outside the vocabulary are refused', async () => {
  await setBackend('wasm');
  const x = tf.zeros([2, V]) as tf.Tensor2D;
  assert.throws(() => crossEntropy(x, Int32Array.from([0, V])), /targets\[1\] = 5 is outside \[0, 5\)/);
});

test('shiftLabels: target t is label t+1, the last position of each row is ignored', () => {
  const labels = Int32Array.from([10, 11, 12, IGNORE_INDEX, 21, 22]);
  assert.deepEqual([...shiftLabels(labels, 2, 3)], [11, 12, IGNORE_INDEX, 21, 22, IGNORE_INDEX]);
});
