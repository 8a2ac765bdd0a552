// Exporting AdamW state and importing it into a fresh optimizer continues training exactly
// as if it had never stopped; mismatched state is refused with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../src/train/optimizer.ts';
import { OptimizerStateMismatch } from '../src/errors.ts';
import type { Param } from '../src/model/params.ts';

const grad = (k: number) => tf.tensor([Math.sin(k), Math.cos(3 * k), 0.1 * k, -1], [2, 2]);
const makeParam = () => ({ name: 'w', variable: tf.variable(tf.tensor([1, -2, 3, 0.5], [2, 2])) });
const group = (p: Param) => [{ name: 'g', lr: 0.1, weightDecay: 0.01, params: [p] }];

test('resume from exported state gives identical params', async () => {
  await tf.setBackend('cpu');
  const p1 = makeParam();
  const o1 = new AdamW(group(p1));
  for (let k = 0; k < 6; k++) tf.tidy(() => o1.step(new Map([['w', grad(k)]]), 1));
  const straight = p1.variable.dataSync().slice();

  const p2 = makeParam();
  const o2 = new AdamW(group(p2));
  for (let k = 0; k < 3; k++) tf.tidy(() => o2.step(new Map([['w', grad(k)]]), 1));
  const saved = o2.exportState();
  const savedW = p2.variable.dataSync().slice();
  const p3 = { name: 'w', variable: tf.variable(tf.tensor(savedW, [2, 2])) };
  const o3 = new AdamW(group(p3));
  o3.importState(saved);
  assert.equal(o3.exportState().params[0].step, 3);
  for (let k = 3; k < 6; k++) tf.tidy(() => o3.step(new Map([['w', grad(k)]]), 1));
  assert.deepEqual(Array.from(p3.variable.dataSync()), Array.from(straight));
  for (const o of [o1, o2, o3]) o.dispose();
});

test('importState refuses foreign or missing params and wrong shapes', async () => {
  await tf.setBackend('cpu');
  const p = makeParam();
  const o = new AdamW(group(p));
  const good = o.exportState();
  assert.throws(() => o.importState({ params: [] }), OptimizerStateMismatch);
  assert.throws(
    () => o.importState({ params: [{ ...good.params[0], name: 'other' }] }),
    /"other" that this run does not train/,
  );
  assert.throws(
    () => o.importState({ params: [{ ...good.params[0], shape: [4], expAvg: new Float32Array(4) }] }),
    /saved shape \[4\]/,
  );
  o.dispose();
});

test('a param without a gradient is skipped entirely (no decay, no step)', async () => {
  await tf.setBackend('cpu');
  const p = makeParam();
  const q = { name: 'q', variable: tf.variable(tf.tensor([5, 6])) };
  const o = new AdamW([{ name: 'g', lr: 0.1, weightDecay: 0.5, params: [p, q] }]);
  tf.tidy(() => o.step(new Map([['w', grad(1)]]), 1));
  assert.deepEqual(Array.from(q.variable.dataSync()), [5, 6]);
  assert.equal(o.exportState().params.find((s) => s.name === 'q')!.step, 0);
  o.dispose();
});
