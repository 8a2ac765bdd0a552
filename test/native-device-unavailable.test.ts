// The native engine's GPU execution providers are an option (train-step `device`); where one cannot start, the run
// stops with BackendUnavailable naming the provider, what it needs and the way back to the CPU, and nothing is
// cached. CUDA is the deterministic case: its provider libraries come only from onnxruntime-node's install script,
// which this project skips (package.json allowScripts), so they are absent on every install of this repository.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailable } from '../src/errors.ts';
import { setBackend } from '../src/model/backend.ts';
import type { HeadColumns } from '../src/model/head.ts';
import { headLossNative } from '../src/model/head-native.ts';
import { sessionsBuilt } from '../src/model/native-run.ts';

test('device cuda without its provider libraries: BackendUnavailable with the install step and device cpu', async () => {
  await setBackend('native');
  const h = tf.tensor2d(Float32Array.from({ length: 8 }, (_, i) => Math.sin(i)), [2, 4]);
  const cols: HeadColumns = { head: tf.tensor2d(Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)), [5, 4]), masked: [], extra: null, extraIds: [] };
  const targets = Int32Array.from([1, 3]);
  await assert.rejects(headLossNative(h, targets, cols, 0.5, { device: 'cuda' }), (e: Error) => {
    assert.ok(e instanceof BackendUnavailable, String(e));
    assert.match(e.message, /^ONNX Runtime's cuda execution provider cannot start here: /);
    assert.match(e.message, /ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    assert.match(e.message, /or use device cpu\.$/);
    return true;
  });
  // The CPU provider still serves the same graph.
  const before = sessionsBuilt();
  const r = await headLossNative(h, targets, cols, 0.5, { device: 'cpu' });
  assert.equal(sessionsBuilt(), before + 1);
  assert.equal(r.count, 2);
  tf.dispose([h, cols.head, r.dh]);
});
