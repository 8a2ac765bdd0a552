// The evaluator never changes the snapshot it receives: train-step's snapshots reach it frozen
// (test/fixtures/train/chain.ts), and an evaluated one goes on as a new object carrying the
// metrics, while the others pass through as they came.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runChain } from './fixtures/train/chain.ts';

test('evaluated snapshots go on as new objects; the ones received stay as they were', async () => {
  await tf.setBackend('cpu');
  const runDir = mkdtempSync(path.join(tmpdir(), 'tp-snap-'));
  const { snapshots } = await runChain(runDir, { steps: 4, evalEvery: 2, ckptEvery: 100 });
  const { train, evaluated } = snapshots;
  assert.deepEqual(train.map((s) => `${s.reason}:${s.step}`), ['start:0', 'step:1', 'step:2', 'step:3', 'step:4', 'end:4']);
  assert.equal(evaluated.length, train.length);
  assert.ok(train.every((s) => Object.isFrozen(s) && s.metrics === undefined), 'a received snapshot was changed');
  train.forEach((s, i) => {
    const out = evaluated[i];
    const due = s.reason === 'end' || (s.reason === 'step' && s.step % 2 === 0);
    if (due) {
      assert.notEqual(out, s, `step ${s.step}: the evaluated snapshot must be a new object`);
      assert.ok(out.metrics && Number.isFinite(out.metrics.loss));
      assert.equal(out.weights, s.weights);
      assert.deepEqual({ ...out, metrics: undefined }, { ...s, metrics: undefined });
    } else {
      assert.equal(out, s, `step ${s.step} was not due: passed on as it came`);
    }
  });
  // The end snapshot right after the step-4 evaluation reuses its metrics (same weights).
  assert.equal(evaluated.at(-1)!.metrics!.loss, evaluated.at(-2)!.metrics!.loss);
});
