// The wasm backend's Slice, SplitV and Unpack (tf.slice, tf.split, tf.unstack) give the cpu backend's values, and
// a small slice of a large tensor copies only the slice: the stock kernel copied its whole input into JS first
// (src/model/wasm-backend.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import '../src/model/wasm-backend.ts';

const cases: Array<[number[], number[], number[]]> = [
  [[5, 7], [1, 2], [3, 4]],
  [[4, 3, 6], [0, 1, 2], [4, 2, 3]],
  [[2, 3, 4, 5], [1, 0, 1, 0], [1, 3, 2, 5]],
  [[9], [3], [4]],
  [[3, 4], [0, 0], [3, 4]],
  [[2, 5, 4], [1, 0, 0], [1, 5, 4]],
  [[3, 0, 2], [0, 0, 0], [2, 0, 2]],
];

function run(): number[][] {
  const out: number[][] = [];
  for (const [shape, begin, size] of cases) {
    const x = tf.range(0, shape.reduce((a, c) => a * c, 1)).reshape(shape);
    out.push(Array.from(tf.slice(x, begin, size).dataSync()));
    if (shape[0] > 1) out.push(...tf.split(x, [1, shape[0] - 1], 0).map((t) => Array.from(t.dataSync())));
    out.push(...tf.unstack(x, shape.length - 1).map((t) => [...t.shape, ...Array.from(t.dataSync())]));
    tf.disposeVariables();
  }
  return out;
}

test('slice, split and unstack on wasm equal the cpu backend', async () => {
  await setBackend('cpu');
  const want = tf.tidy(run);
  await setBackend('wasm');
  assert.deepEqual(tf.tidy(run), want);
});

test('a slice of a large tensor does not copy the whole tensor out of the heap', async () => {
  await setBackend('wasm');
  const big = tf.zeros([4096, 4096]); // 64 MiB
  const before = process.memoryUsage().arrayBuffers;
  const part = tf.slice(big, [100, 0], [2, 4096]);
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.deepEqual(part.shape, [2, 4096]);
  assert.ok(grew < 16 * 2 ** 20, `slicing 32 KiB grew JS array buffers by ${(grew / 2 ** 20).toFixed(1)} MiB`);
  tf.dispose([big, part]);
});
