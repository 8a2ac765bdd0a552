// The init report of a training run: per new token, how its row was initialised (method, source
// pieces of the base tokenizer, norm) and the loss where it is the target before any training,
// which is the evaluator's step-0 figure for that token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeRun, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

test('a fresh run writes init-report.{json,txt} with the before-training loss of each new token', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-init-'));
  const { runDir } = pipeRun(tinyPipeline(dir, { steps: 2, every: 2, atStart: true }));
  const report = JSON.parse(readFileSync(path.join(runDir, 'init-report.json'), 'utf8'));
  assert.equal(report.method, 'subtoken-mean');
  assert.equal(report.tokens.length, 1);
  const [tok] = report.tokens;
  assert.equal(tok.token, '<harbour>');
  assert.ok(tok.sources.length > 1, 'a multi-piece token is initialised from its pieces');
  assert.ok(tok.norm > 0);

  const metrics = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const start = metrics.find((m) => m.step === 0);
  assert.ok(start, 'the evaluator ran at step 0');
  assert.equal(tok.positions, start.perToken['<harbour>'].count);
  assert.ok(Math.abs(tok.loss - start.perToken['<harbour>'].loss) < 1e-12);
  assert.match(readFileSync(path.join(runDir, 'init-report.txt'), 'utf8'), /init subtoken-mean[\s\S]*<harbour>/);
});
