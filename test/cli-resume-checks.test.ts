// `pipe run --resume` checks the whole run (issue 11, cases 3 and 4). The run folder keeps the
// first leg's resolved pipeline; a resume whose pipeline differs (here: without the first leg's
// --set pack.seqLen=64) is refused with exit 2 and the field's two values, and changes no file;
// --resume-changed goes on and records the change in legs.jsonl and the adapter's provenance.
// Resuming a run that finished says so, exits 0 and changes no file (hashes of every file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

/** sha256 of every file under `dir`, by relative path. */
function hashes(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const p = path.join(rel, name);
    if (statSync(path.join(dir, p)).isDirectory()) Object.assign(out, hashes(dir, p));
    else out[p] = createHash('sha256').update(readFileSync(path.join(dir, p))).digest('hex');
  }
  return out;
}

const resume = (file: string, ...args: string[]) => pipeHere('run', file, '--resume', ...args);

const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-resume-checks-')), { steps: 4, every: 2 });
const first = await pipeHere('run', file, '--set', 'pack.seqLen=64');
assert.equal(first.status, 0, first.stderr);
const { runDir } = first;

test('a resume with a changed --set is refused with the field and both values; nothing is written', async () => {
  const before = hashes(runDir);
  const r = await resume(file);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--resume: the pipeline differs from the first leg's/);
  assert.ok(r.stderr.split('\n').includes('  nodes.pack.with.seqLen: 64 (first leg) → 32 (now)'), r.stderr);
  assert.equal(r.stderr.match(/\(first leg\)/g)!.length, 1, 'only the field that changed');
  assert.deepEqual(hashes(runDir), before);
});

test('resuming a finished run says so and changes no file', async () => {
  const before = hashes(runDir);
  const r = await resume(file, '--set', 'pack.seqLen=64');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /--resume: this run finished \(leg 1, completed .*\); nothing to resume, nothing changed/);
  assert.deepEqual(hashes(runDir), before);
});

test('--resume-changed continues and records the change in the run folder and the adapter', async () => {
  const first = readFileSync(path.join(runDir, 'pipeline.json'), 'utf8');
  const r = await resume(file, '--resume-changed');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(path.join(runDir, 'pipeline.json'), 'utf8'), first, "pipeline.json stays the first leg's");
  const legs = readFileSync(path.join(runDir, 'legs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const leg2 = legs.find((l) => l.leg === 2 && l.started);
  assert.deepEqual(leg2.changes, [{ field: 'nodes.pack.with.seqLen', first: '64', now: '32' }]);
  const provenance = JSON.parse(readFileSync(path.join(runDir, 'adapter', 'tokenpipe.json'), 'utf8')).provenance;
  assert.deepEqual(provenance.resumedWithChanges, [{ leg: 2, changes: ['nodes.pack.with.seqLen: 64 (first leg) → 32 (now)'] }]);
  assert.match(readFileSync(path.join(runDir, 'adapter', 'README.md'), 'utf8'), /leg 2 resumed with --resume-changed:\n  - nodes\.pack\.with\.seqLen: 64 \(first leg\) → 32 \(now\)/);
});
