// An interrupted run checkpoints where it stopped; resuming in the same run folder restores
// weights, moments, step, schedule, RNG (dropout on) and data position, and continues with the
// same losses as a run that was never interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runChain } from './fixtures/train/chain.ts';

const params = { gradAccumulation: 2 };

test('interrupt at update 3, resume, and the loss curve matches an uninterrupted run', async () => {
  await tf.setBackend('cpu');
  const straight = await runChain(mkdtempSync(path.join(tmpdir(), 'tp-straight-')), { steps: 7, ckptEvery: 100, evalEvery: 100, trainParams: params });
  assert.equal(straight.events.length, 7);

  const dir = mkdtempSync(path.join(tmpdir(), 'tp-resume-'));
  // Batch 7 is the second micro-batch of update 4: the half-done update is dropped.
  const first = await runChain(dir, { steps: 7, ckptEvery: 100, evalEvery: 100, interruptAt: 7, trainParams: params });
  assert.deepEqual(first.events.map((e) => e.step), [1, 2, 3]);
  assert.deepEqual(readdirSync(path.join(dir, 'checkpoints')).filter((n) => n.startsWith('step-')), ['step-00000003']);
  assert.ok(!existsSync(path.join(dir, 'adapter')), 'no final adapter for an interrupted run');

  const second = await runChain(dir, { steps: 7, ckptEvery: 100, evalEvery: 100, resume: true, trainParams: params });
  assert.deepEqual(second.events.map((e) => e.step), [4, 5, 6, 7]);
  const start = second.emitted.find((e) => e.type === 'train-start')!;
  assert.equal(start.skip, 6);
  const curve = [...first.events, ...second.events].map((e) => e.loss);
  straight.events.forEach((e, i) => assert.ok(Math.abs(curve[i] - e.loss) <= 1e-6, `step ${i + 1}: ${curve[i]} vs ${e.loss}`));
  assert.deepEqual(second.events.map((e) => e.lr), straight.events.slice(3).map((e) => e.lr));
  assert.ok(existsSync(path.join(dir, 'adapter', 'adapter_model.safetensors')));
});

test('resuming under a different training config is refused, naming the field', async () => {
  await tf.setBackend('cpu');
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-resume-cfg-'));
  await runChain(dir, { steps: 4, ckptEvery: 2, evalEvery: 100, interruptAt: 3 });
  await assert.rejects(runChain(dir, { steps: 4, ckptEvery: 2, evalEvery: 100, resume: true, trainParams: { lr: 5e-3 } }), /another training config or token list; cannot resume with these changes:\n {2}lr: [\d.e-]+ \(checkpoint\) → 0\.005 \(now\)/);
});
