// A model past the inline limit goes to ONNX Runtime as files, its big initializers as ONNX external data
// (src/io/onnx-external.ts), so weights past protobuf's 2 GB load. Forced here on the fixture with inlineLimit 0:
// the native update gives bit for bit the loss and gradients of the same graph sent inline, and the temp folder
// is gone once the session is built.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import type { GradSink } from '../src/model/layer.ts';
import { releaseSessions, sessionsBuilt, sessionsFromFiles } from '../src/model/native-run.ts';
import { Rng } from '../src/model/rng.ts';
import { updateGradsNative } from '../src/train/step.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer } from './fixtures/train/setup.ts';

const ours = () => readdirSync(tmpdir()).filter((n) => n.startsWith('tokenpipe-onnx-')).sort();

test('a native update through external data equals the inline one, bit for bit, and leaves no temp folder', async () => {
  await setBackend('native');
  const t = await fixtureTrainer('untied', { lora: { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: 'all-linear' } });
  const before = ours();
  try {
    const b = fixtureBatch(t);
    const start = t.rng.state();
    const run = async (inlineLimit: number | undefined) => {
      await releaseSessions(); // the graph's key is the same either way: build its session afresh
      t.native = { ...t.native, inlineLimit };
      t.rng = Rng.fromState(start);
      const grads: GradSink = new Map();
      const r = await updateGradsNative(t, [b], grads);
      const out = new Map([...grads].map(([k, g]) => [k, g.dataSync().slice()]));
      tf.dispose([...grads.values()]);
      return { loss: r.loss, grads: out };
    };
    const files0 = sessionsFromFiles();
    const inline = await run(undefined);
    assert.equal(sessionsFromFiles(), files0, 'the fixture is sent inline by default');
    const built = sessionsBuilt();
    const external = await run(0);
    assert.equal(sessionsBuilt(), built + 1);
    assert.equal(sessionsFromFiles(), files0 + 1, 'inlineLimit 0 sends the model as files');
    assert.equal(external.loss, inline.loss);
    assert.deepEqual([...external.grads.keys()].sort(), [...inline.grads.keys()].sort());
    for (const [name, g] of inline.grads) assert.deepEqual(external.grads.get(name), g, name);
    assert.deepEqual(ours(), before, 'the folder of model files is removed once the session is built');
  } finally {
    await releaseSessions();
    disposeTrainer(t);
  }
});
