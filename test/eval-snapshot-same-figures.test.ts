// The evaluator scores a snapshot's copy of the trainable tensors on its own LoRA and token rows around
// the shared frozen weights (src/train/eval-model.ts): the figures are bit for bit those of the trainer's
// own model at that step, in each embedding mode, and the frozen weights are held once and freed when
// the last user gives them back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TrainConfig } from '../src/train/config.ts';
import { EvalModel } from '../src/train/eval-model.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { frozenModelsHeld } from '../src/train/frozen-models.ts';
import { setupTrainer } from '../src/train/setup.ts';
import { trainRun } from '../src/train/snapshot.ts';
import { stepBatch, trainStep } from '../src/train/step.ts';
import { adapterContents, disposeTrainer } from '../src/train/trainer.ts';
import { fixtureArtifact, MODEL, packed } from './fixtures/train/chain.ts';

for (const embedding of ['trainable-tokens', 'full', 'frozen'] as const) {
  test(`a snapshot's weights on the shared frozen model score what the trainer's model scores ('${embedding}')`, async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const { trainer: t } = await setupTrainer({
      model: MODEL, tokenizer: fixtureArtifact(), cfg: TrainConfig.parse({ steps: 3, embedding, lr: 3e-2, lora: { r: 4, alpha: 8, targetModules: 'all-linear' } }),
      seed: 5, init: 'mean', retrainTokens: [], checkpointRoot: path.join(mkdtempSync(path.join(tmpdir(), 'tp-evalsnap-')), 'ck'), resume: false, backend: 'cpu',
    });
    const held = [packed(0, 'eval'), packed(1, 'eval')].map((b) => stepBatch(b.batch, b.seqLen));
    const score = (m: Parameters<typeof evaluate>[0]) => evaluate(m, held, t.tokens.newTokenIds, t.tokens.newTokens);
    const run = trainRun(t, { id: 'test', seed: 5, backend: 'cpu' });
    const w0 = adapterContents(t, MODEL);
    for (let i = 0; i < 3; i++) trainStep(t, [stepBatch(packed(i, 'train').batch, 8)]);
    const live = score(t.model);
    const w3 = adapterContents(t, MODEL);
    const ev = await EvalModel.open(MODEL, run, w3);
    assert.equal(frozenModelsHeld(), 1, 'the evaluator shares the trainer\'s frozen model');
    assert.deepEqual(score(ev.at(w3)), live);
    // The snapshot is what counts, not the time it is read: step 0's weights give step 0's figures.
    const start = score(ev.at(w0));
    assert.notDeepEqual(start, live);
    assert.deepEqual(score(ev.at(w3)), live);
    disposeTrainer(t);
    assert.deepEqual(score(ev.at(w3)), live, 'the trainer gone, the frozen weights stay while the evaluator holds them');
    ev.close();
    assert.equal(frozenModelsHeld(), 0);
    assert.equal(tf.memory().numTensors, before, 'every tensor freed');
  });
}
