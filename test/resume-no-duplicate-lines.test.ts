// Steps re-run after a resume replace their lines (issue 21): a run killed (SIGKILL) after its
// checkpoint at update 4, once update 6 was logged (and evaluated: every 2), redoes updates 5 and 6
// when resumed; train.log then names each update once, metrics.jsonl each evaluated step once, and report.json's loss
// curve has every update once. (events.jsonl and records/*.jsonl keep every leg's lines: their
// readers take a step's last.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { interruptAfter, pipeHere, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

const STEPS = 12;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('killed after its checkpoint, then resumed: each step once in train.log, metrics.jsonl and the report', async () => {
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-dup-')), { steps: STEPS, every: 4, atStart: true, summary: true });
  const sets = ['--set', 'eval.every=2']; // the same in both legs: no change to the pipeline
  const killed = await interruptAfter(file, 6, 'SIGKILL', sets);
  assert.equal(killed.code, null, 'killed');
  const logged = (runDir: string) => readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n').map((l) => Number(/\| step +(\d+) \|/.exec(l)![1]));
  const before = logged(killed.runDir);
  assert.ok(before.length >= 6 && before.at(-1)! % 4 !== 0, `updates past the last checkpoint were logged: ${before}`);

  const r = await pipeHere('run', file, ...sets, '--resume');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.runDir, killed.runDir);
  assert.deepEqual(logged(r.runDir), range(1, STEPS));
  const evals = readFileSync(path.join(r.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(evals, range(0, STEPS / 2).map((k) => 2 * k));
  const report = JSON.parse(readFileSync(path.join(r.runDir, 'report.json'), 'utf8')).branches[0];
  assert.deepEqual(report.trainLoss.map((p: { step: number }) => p.step), range(1, STEPS));
});
