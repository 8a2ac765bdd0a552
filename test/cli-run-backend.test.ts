// pipe run --backend NAME: checked like --set settings.backend=NAME, and asking for the GPU
// backend where @tensorflow/tfjs-node-gpu is not installed fails the run with the install hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PIPE, ROOT, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

const run = (...args: string[]) => spawnSync(process.execPath, [PIPE, 'run', ...args], { cwd: ROOT, encoding: 'utf8' });

test('an unknown --backend is an invalid pipeline naming the setting', () => {
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-backend-')), { steps: 2 });
  const r = run(file, '--backend', 'gpu');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /settings\.backend.*expected one of/);
});

test('--backend tensorflow-gpu without the package fails with the install command', () => {
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-backend-')), { steps: 2 });
  const r = run(file, '--backend', 'tensorflow-gpu');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /npm install @tensorflow\/tfjs-node-gpu/);
});
