// `pipe run --resume` as a user would use it: a training run is stopped with Ctrl-C (SIGINT)
// mid-training, then resumed in the same run folder; the losses of every step equal those of
// an uninterrupted run of the same pipeline (to 1e-6), and so does its report (issue 11, case 5):
// before numbers from step 0, the whole loss curve, all updates and tokens, wall time of both
// legs; the interrupted leg's summary says "at step N" for its last evaluation, not "after".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PIPE, ROOT, interruptAfter, losses, pipeHere, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

const STEPS = 40;

/**
 * One uninterrupted run, and one stopped with Ctrl-C after update 6 then resumed; both with a
 * summary node and a step-0 evaluation. Shared by the tests below (they read, never write).
 */
const scenario = (async () => {
  const options = { steps: STEPS, every: 4, atStart: true, summary: true };
  const whole = await pipeHere('run', tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-resume-')), options));
  // A second, separate output folder keeps the two runs apart.
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-resume-')), options);
  const stopped = await interruptAfter(file, 6);
  const leg1 = { losses: losses(stopped.runDir), report: JSON.parse(readFileSync(path.join(stopped.runDir, 'report.json'), 'utf8')), metrics: readFileSync(path.join(stopped.runDir, 'metrics.jsonl'), 'utf8') };
  const resumed = await pipeHere('run', file, '--resume');
  return { whole, stopped, leg1, resumed };
})();

test('Ctrl-C mid-training, then pipe run --resume, repeats the uninterrupted loss curve', async () => {
  const { whole, stopped, leg1, resumed } = await scenario;
  assert.equal(whole.status, 0, whole.stderr);
  const all = losses(whole.runDir);
  assert.equal(all.size, STEPS);
  assert.equal(stopped.code, 130, 'an interrupted run exits 130');
  assert.ok(leg1.losses.size < STEPS, `the run was stopped before the end (${leg1.losses.size} steps)`);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`run folder: ${stopped.runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(resuming\\)`));
  const after = losses(stopped.runDir);
  assert.equal(after.size, STEPS);
  for (const [step, loss] of all) {
    assert.ok(Math.abs(after.get(step)! - loss) <= 1e-6, `step ${step}: ${after.get(step)} vs ${loss}`);
  }
});

/** Numbers equal to 1e-5 (a resumed run repeats the losses to about 1e-6), everything else exactly. */
function assertClose(a: unknown, b: unknown, at = 'report'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)) || (Number.isNaN(a) && Number.isNaN(b)), `${at}: ${a} vs ${b}`);
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), at);
    for (const k of Object.keys(a)) assertClose((a as any)[k], (b as any)[k], `${at}.${k}`);
  } else assert.deepEqual(a, b, at);
}

/** A branch of report.json without what differs between any two runs: times, rates, folders and the pack cache (a resumed leg hits it). */
function untimed(branch: Record<string, any>) {
  const { seconds: _s, adapter, throughput, packCache: _c, ...rest } = branch;
  return { ...rest, adapter: { weightsBytes: adapter.weightsBytes, folderBytes: adapter.folderBytes }, throughput: { tokens: throughput.tokens } };
}

test("a resumed run's report covers the whole run: equal to the uninterrupted run's apart from timings", async () => {
  const { whole, stopped, leg1 } = await scenario;
  const full = JSON.parse(readFileSync(path.join(whole.runDir, 'report.json'), 'utf8')).branches[0];
  const resumed = JSON.parse(readFileSync(path.join(stopped.runDir, 'report.json'), 'utf8')).branches[0];
  // Before numbers from step 0, every evaluation, the whole loss curve, all updates and tokens.
  assert.equal(resumed.evals[0].step, 0);
  assert.equal(resumed.trainLoss.length, STEPS);
  assertClose(untimed(resumed), untimed(full));
  // Wall time adds up the legs.
  assert.ok(resumed.seconds > leg1.report.branches[0].seconds, `${resumed.seconds} s in all, ${leg1.report.branches[0].seconds} s in the first leg`);
  // The interrupted leg named its last evaluation by its step, not "after".
  const lastEval = JSON.parse(leg1.metrics.trim().split('\n').at(-1)!).step;
  assert.match(stopped.stdout, new RegExp(`^ +before +at step ${lastEval}$`, 'm'));
  assert.doesNotMatch(stopped.stdout, /after/);
});

test('--resume without an earlier run names the problem', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-resume-'));
  const file = tinyPipeline(dir, { steps: 2 });
  const r = spawnSync(process.execPath, [PIPE, 'run', file, '--resume'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--resume: no earlier run of 'e2e' under .*runs/);
});

test('--resume skips run folders without a checkpoint (a run stopped before its first, say)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-resume-'));
  const file = tinyPipeline(dir, { steps: 2 });
  mkdirSync(path.join(dir, 'runs', 'e2e-20260101-000000'), { recursive: true });
  const r = spawnSync(process.execPath, [PIPE, 'run', file, '--resume'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--resume: no earlier run with a checkpoint \(1 run folder\(s\) without one\) of 'e2e'/);
});
