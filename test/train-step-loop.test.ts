// The train step on the fixture model: it learns (loss falls) in every embedding mode, leaks no
// tensors, repeats exactly for a seed (dropout included), holds exactly what the memory plan
// says, and the watchdog stops a diverging run before the bad update lands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { trainStep } from '../src/train/step.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { modelShape } from '../src/model/lora.ts';
import { memoryPlan } from '../src/train/memory-plan.ts';
import { countParams } from '../src/model/params.ts';
import { TrainingDiverged } from '../src/errors.ts';
import { fixtureBatch, fixtureTrainer, useBackend } from './fixtures/train/setup.ts';

const modes = ['trainable-tokens', 'full', 'frozen'] as const;

for (const embedding of modes) {
  test(`loss falls over 8 updates and tensors stay flat ('${embedding}', wasm)`, async () => {
    await useBackend('wasm');
    const t = await fixtureTrainer('untied', { embedding, lr: 1e-2, steps: 8, schedule: { kind: 'constant', warmupSteps: 0, numCycles: 0.5 } });
    const b = fixtureBatch(t);
    const losses: number[] = [];
    let tensors = -1;
    for (let i = 0; i < 8; i++) {
      losses.push(trainStep(t, [b]).loss);
      if (i === 1) tensors = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leak across steps');
    assert.ok(losses[7] < losses[0] - 0.05, `losses ${losses.map((l) => l.toFixed(3))}`);
    disposeTrainer(t);
  });
}

test('same seed, same losses (dropout and accumulation on); another seed differs', async () => {
  await useBackend('cpu');
  const run = async (seed: number) => {
    const t = await fixtureTrainer('tied', { lr: 1e-2, gradAccumulation: 2, lora: { r: 4, alpha: 8, dropout: 0.1, rslora: false, targetModules: 'all-linear' } }, 3, seed);
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push(trainStep(t, [fixtureBatch(t, 8, i), fixtureBatch(t, 8, i + 10)]).loss);
    disposeTrainer(t);
    return out;
  };
  const a = await run(5);
  assert.deepEqual(await run(5), a);
  assert.notDeepEqual(await run(6), a);
});

test('dry-run memory plan equals what a trainer allocates, in every mode', async () => {
  await useBackend('cpu');
  for (const embedding of modes) {
    for (const kind of ['untied', 'tied'] as const) {
      const t = await fixtureTrainer(kind, { embedding, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: ['q_proj', 'k_proj', 'gate_proj'] } });
      const plan = memoryPlan({ shape: modelShape(t.model), lora: t.lora.cfg, newTokens: 3 }, embedding);
      assert.equal(countParams(t.params), plan.counts.trainable, `${embedding}/${kind} params`);
      assert.equal(t.opt.stateBytes(), plan.bytes.optimizer, `${embedding}/${kind} optimizer bytes`);
      assert.equal(countParams(t.lora.params()), plan.counts.lora);
      disposeTrainer(t);
    }
  }
});

test('watchdog: a non-finite loss stops the step before any parameter changes', async () => {
  await useBackend('cpu');
  const t = await fixtureTrainer('untied', { lr: 1e-2 });
  trainStep(t, [fixtureBatch(t)]);
  const before = t.params.map((p) => p.variable.dataSync().slice());
  const rows = t.table.exportRows() as { embed: { ids: number[]; rows: Float32Array }; lmHead: { ids: number[]; rows: Float32Array } };
  rows.lmHead.rows[0] = Infinity; // poisons every logit row that sees the new token's column
  t.table.importRows(rows);
  const poisoned = t.params.map((p) => p.variable.dataSync().slice());
  assert.throws(() => trainStep(t, [fixtureBatch(t)]), (e: unknown) => e instanceof TrainingDiverged && /step 2: (loss|gradient norm) is/.test((e as Error).message));
  t.params.forEach((p, i) => assert.deepEqual(p.variable.dataSync(), poisoned[i], p.name));
  assert.equal(t.step, 1);
  assert.ok(before.length > 0);
  disposeTrainer(t);
});
