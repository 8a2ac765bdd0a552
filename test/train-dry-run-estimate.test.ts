// --dry-run estimates the run: tokens (updates x the first batch's rows x length x micro-batches) and wall time from
// one real update timed on a throwaway trainer; it trains nothing and writes no file of a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runChain } from './fixtures/train/chain.ts';

test('a dry run prints the tokens and an estimated wall time from one timed update', async () => {
  await tf.setBackend('cpu');
  const runDir = mkdtempSync(path.join(tmpdir(), 'tp-estimate-'));
  const tensors = tf.memory().numTensors;
  const r = await runChain(runDir, { steps: 50, dryRun: true, trainParams: { threads: 1, gradAccumulation: 2 } });
  const plan = r.emitted.find((e) => e.type === 'data-plan') as { lines: string[]; estimate: Record<string, number> };
  // The chain's batches are 2 rows x 8 tokens and come from no packer: the data is taken to last 50 updates.
  assert.equal(plan.estimate.tokens, 50 * 2 * 8 * 2);
  assert.ok(plan.estimate.updateMs > 0);
  assert.equal(plan.estimate.wallMs, 50 * plan.estimate.updateMs);
  const text = plan.lines.join('\n');
  assert.match(text, /^ {2}tokens {19}1,600 \(50 updates x 2 x 8 x 2 micro-batches\)$/m);
  const m = /^ {2}estimated wall time {6}(\S+ \S+) \(one timed update: (\d+\.\d\d) s x 50 updates, after \d warm-ups?;/m.exec(text);
  assert.ok(m, text);
  assert.equal(r.events.length, 0, 'no update reached the run');
  assert.deepEqual(readdirSync(runDir).sort(), ['memory-plan.txt'], 'only the plan is written');
  assert.ok(!existsSync(path.join(runDir, '.dry-run-no-checkpoints')));
  assert.equal(tf.memory().numTensors, tensors, 'the throwaway trainer is disposed');
});
