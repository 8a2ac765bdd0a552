// A refused resume names every field that differs and prints the command that resumes the run
// as it began, with its first leg's --set arguments (legs.jsonl). Two refusals: the pipeline
// check (without --resume-changed) and the checkpoint's training config (with it: the trainer
// cannot continue under another lr). The command, run as printed, is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeCommand } from '../src/report/pipe-command.ts';
import { pipeHere, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-resume-refusal-')), { steps: 2, every: 2 });
const first = await pipeHere('run', file, '--set', 'pack.seqLen=64', '--set', 'train.lr=0.03');
assert.equal(first.status, 0, first.stderr);
const asBefore = `To resume as the run began (its first leg's --set arguments): ${pipeCommand()} run ${file} --set pack.seqLen=64 --set train.lr=0.03 --resume`;

test('the pipeline refusal names the lr and prints the command with the first leg\'s --sets', async () => {
  const r = await pipeHere('run', file, '--resume', '--set', 'pack.seqLen=64');
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.split('\n');
  assert.ok(lines.includes('  nodes.train.with.lr: 0.03 (first leg) → 0.02 (now)'), r.stderr);
  assert.ok(lines.includes(asBefore), r.stderr);
  // Run as printed, it is accepted (the run finished, so there is nothing to do).
  const args = asBefore.slice(asBefore.indexOf(': ') + 2 + pipeCommand().length + 1).split(' ');
  const again = await pipeHere(...args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /this run finished .* nothing to resume, nothing changed/);
});

test("with --resume-changed, the checkpoint's refusal names the lr too, and prints the same command", async () => {
  const r = await pipeHere('run', file, '--resume', '--resume-changed', '--set', 'pack.seqLen=64');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /checkpoint was written under another training config or token list; cannot resume with these changes:\n {2}lr: 0\.03 \(checkpoint\) → 0\.02 \(now\)\n/);
  assert.ok(r.stderr.split('\n').includes(asBefore), r.stderr);
});
