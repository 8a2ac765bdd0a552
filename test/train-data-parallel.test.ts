// Data-parallel updates (src/train/parallel.ts): a worker thread with its own wasm TF.js instance and model copy
// computes a share of the rows; the summed gradients, the loss and the parameters after the AdamW update equal the
// single-thread update within 1e-5, with LoRA dropout on (masks seeded per row) and two micro-batches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { GradSink } from '../src/model/layer.ts';
import { DataParallel, shareRows } from '../src/train/parallel.ts';
import { trainStep, trainStepParallel, updateGrads } from '../src/train/step.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer, MODELS, useBackend } from './fixtures/train/setup.ts';

test('rows are shared by scored tokens, in order, never more than a micro-batch per part', () => {
  const b = { B: 4, T: 2, inputIds: new Int32Array(8), positionIds: new Int32Array(8), documentIds: new Int32Array(8), targets: Int32Array.from([1, 1, 1, -100, 1, 1, 1, 1]) };
  const shares = shareRows([b, b], [11, 22], 2);
  const rows = shares.map((parts) => parts.map((p) => `${p.dropoutSeed}:${p.rowOffset}+${p.batch.B}`));
  assert.deepEqual(rows, [['11:0+4'], ['22:0+4']]);
  const three = shareRows([b], [5], 3).map((parts) => parts.map((p) => `${p.rowOffset}+${p.batch.B}`));
  assert.deepEqual(three.flat().join(' '), '0+1 1+2 3+1');
  assert.deepEqual(Array.from(shareRows([b], [5], 2)[1][0].batch.targets), [1, 1, 1, 1]);
});

test('two threads give the single-thread gradients, loss and update (dropout on, two micro-batches)', async () => {
  await useBackend('wasm');
  const cfg = { lora: { r: 2, alpha: 4, dropout: 0.1, rslora: false, targetModules: 'all-linear' as const } };
  const t = await fixtureTrainer('untied', cfg);
  const w = t.lora.toPeft();
  for (const v of w.values()) v.B = Float32Array.from(v.B, (_, i) => 0.2 * Math.cos(i + v.inF));
  t.lora.load(w);
  const micro = [fixtureBatch(t, 8, 0), fixtureBatch(t, 8, 3)];
  const dp = await DataParallel.start(2, { key: 'test', modelDir: MODELS.untied, backend: 'wasm', cfg: t.cfg, tokens: t.tokens, seed: 1 });
  try {
    const rng = t.rng.state();
    const one: GradSink = new Map();
    const a = updateGrads(t, micro, one);
    t.rng = (await import('../src/model/rng.ts')).Rng.fromState(rng); // the same dropout seeds again
    const two: GradSink = new Map();
    const b = await dp.updateGrads(t, micro, two);
    assert.equal(b.tokens, a.tokens);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * a.loss, `loss ${a.loss} vs ${b.loss}`);
    assert.deepEqual([...two.keys()].sort(), [...one.keys()].sort());
    for (const [name, g] of one) {
      const x = g.dataSync(), y = two.get(name)!.dataSync();
      const scale = Math.max(1e-6, ...Array.from(x, Math.abs));
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-5 * scale, `${name}[${i}]: ${x[i]} vs ${y[i]}`);
    }
    tf.dispose([...one.values(), ...two.values()]);

    // Whole updates from the same state: the parameters after AdamW agree too.
    const start = new Map(t.params.map((p) => [p.name, p.variable.dataSync().slice()]));
    const state = t.rng.state();
    const r1 = trainStep(t, micro);
    const after1 = new Map(t.params.map((p) => [p.name, p.variable.dataSync().slice()]));
    const t2 = await fixtureTrainer('untied', cfg);
    for (const p of t2.params) p.variable.assign(tf.tensor(start.get(p.name)!, p.variable.shape));
    t2.rng = (await import('../src/model/rng.ts')).Rng.fromState(state);
    const r2 = await trainStepParallel(t2, micro, dp);
    assert.ok(Math.abs(r1.gradNorm - r2.gradNorm) <= 1e-5 * r1.gradNorm);
    for (const p of t2.params) {
      const x = after1.get(p.name)!, y = p.variable.dataSync();
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-5 * Math.max(1, Math.abs(x[i])), `${p.name}[${i}] after the update`);
    }
    disposeTrainer(t2);
  } finally {
    await dp.close();
    disposeTrainer(t);
  }
});
