// Several nodes in one graph (the ablation's three train-steps) ask for a backend at the same
// time, before any has finished initialising: every call must end on the same backend as a
// single call would, and the global backend must not be flipped to 'cpu' under them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';

test("concurrent setBackend('auto') calls all get the native engine, and its wasm host stays active", async () => {
  const got = await Promise.all([setBackend('auto'), setBackend('auto'), setBackend('auto')]);
  assert.deepEqual(got, ['native', 'native', 'native']);
  assert.equal(tf.getBackend(), 'wasm');
});

test('a failing request does not block the ones queued after it', async () => {
  const bad = setBackend('nope' as never);
  const good = setBackend('cpu');
  await assert.rejects(bad, /unknown backend/);
  assert.equal(await good, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});
