// The training nodes inside a real `pipe run`: corpus → token list → extended tokenizer → packer
// → train-step → evaluator → checkpoint-sink on the fixture model with one added token (the
// one-row edge case), ending with metrics, checkpoints and a loadable adapter; then a second run
// resumes from a checkpoint (--set train.resumeFrom) and continues the step count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAdapter } from '../src/adapter/peft.ts';
import { pipeRun, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

function run(file: string, ...args: string[]): string {
  return pipeRun(file, ...args).runDir;
}

test('pipe run trains, evaluates, checkpoints, writes an adapter, and resumes from a checkpoint', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-e2e-'));
  const file = tinyPipeline(dir, { steps: 6 });
  const runDir = run(file);
  const log = readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n');
  assert.equal(log.length, 6);
  // The train node names no backend: it takes the pipeline's settings.backend (cpu).
  const start = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'train-start');
  assert.equal(start.backend, 'cpu');
  const metrics = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((m) => m.step), [3, 6]);
  assert.ok(metrics[0].perToken['<harbour>'].count > 0);
  assert.deepEqual(readdirSync(path.join(runDir, 'checkpoints')).sort(), ['index.json', 'step-00000003', 'step-00000006']);
  const adapter = await loadAdapter(path.join(runDir, 'adapter'));
  assert.deepEqual(adapter.tokenRows!.embed!.ids, [1370]);
  assert.deepEqual(adapter.tokenRows!.lmHead!.ids, [1370]);

  // A second run picks up after update 3 and repeats updates 4-6 exactly.
  const runDir2 = run(file, '--set', `train.resumeFrom=${path.join(runDir, 'checkpoints', 'step-00000003')}`);
  const log2 = readFileSync(path.join(runDir2, 'train.log'), 'utf8').trim().split('\n');
  const lossOf = (l: string) => /loss\s+(\S+)/.exec(l)![1];
  assert.deepEqual(log2.map((l) => Number(/step\s+(\d+)/.exec(l)![1])), [4, 5, 6]);
  assert.deepEqual(log2.map(lossOf), log.slice(3).map(lossOf));
});
