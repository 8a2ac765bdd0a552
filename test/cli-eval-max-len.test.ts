// pipe eval's window defaults to the model's context length (max_position_embeddings): the
// fixture base model's 256, with no note; a longer --max-len is still noted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';

const BASE = path.join(ROOT, 'fixtures', 'base');

test('--max-len defaults to max_position_embeddings without a note', async () => {
  const text = path.join(mkdtempSync(path.join(tmpdir(), 'tp-evlen-')), 'eval.txt');
  // Over 256 tokens, so the window length changes the result.
  writeFileSync(text, 'The jury said that the city had been taken by surprise. '.repeat(24));
  const def = await pipeHere('eval', '--model', BASE, '--text', text, '--json', '--backend', 'wasm');
  assert.equal(def.status, 0, def.stderr);
  assert.doesNotMatch(def.stderr, /note/);
  const at256 = await pipeHere('eval', '--model', BASE, '--text', text, '--json', '--backend', 'wasm', '--max-len', '256');
  assert.equal(def.stdout, at256.stdout);
  const longer = await pipeHere('eval', '--model', BASE, '--text', text, '--json', '--backend', 'wasm', '--max-len', '1024');
  assert.match(longer.stderr, /note: --max-len 1024 is longer than the model's max_position_embeddings \(256\)/);
});
