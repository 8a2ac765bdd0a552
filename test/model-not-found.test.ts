// A mistyped model folder says so plainly: missing folder, or a folder without config.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelNotFound } from '../src/errors.ts';
import { loadModelConfig } from '../src/model/config.ts';

test('a missing folder and a folder without config.json are ModelNotFound naming the folder', () => {
  const empty = mkdtempSync(path.join(tmpdir(), 'tp-nomodel-'));
  const missing = path.join(empty, 'nope');
  assert.throws(() => loadModelConfig(missing), (e: unknown) => e instanceof ModelNotFound && e.message === `${missing}: not a Hugging Face model folder (no such folder)`);
  assert.throws(() => loadModelConfig(empty), (e: unknown) => e instanceof ModelNotFound && e.message === `${empty}: not a Hugging Face model folder (no config.json in it)`);
});
