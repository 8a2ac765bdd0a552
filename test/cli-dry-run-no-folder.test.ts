// `pipe run --dry-run` plans and leaves nothing behind: no run folder under outputDir (nothing
// for a later --resume to find), no 'run folder:' line, and it does not say "completed".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

test('a dry run makes no run folder and does not print completed', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-dry-nofolder-'));
  const r = await pipeHere('run', tinyPipeline(dir, { steps: 3 }), '--dry-run');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /train: memory plan/, 'it still plans');
  const runs = path.join(dir, 'runs');
  const left = existsSync(runs) ? readdirSync(runs).filter((d) => d !== '.cache') : [];
  assert.deepEqual(left, [], `nothing but the pack cache under ${runs}`);
  assert.doesNotMatch(r.stderr, /completed/);
  assert.doesNotMatch(r.stderr, /run folder:/);
  assert.match(r.stderr, /dry run done in [\d.]+s: nothing trained, no run folder made/);
});
