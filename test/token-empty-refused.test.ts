// An empty-string token in a pipeline's tokens list is refused by `pipe validate` (exit 2) at its
// file:line:col, in both forms (a string, {content}); it failed only at run time, naming no line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';
import { LLAMA, tempDir, trainPipeline } from './helpers/model-folder.ts';

test('"" in tokens: refused at validate with file:line:col', async () => {
  const dir = tempDir('tp-token-');
  const file = trainPipeline(dir, LLAMA, { tokens: '["<harbour>", ""]' });
  const v = await pipe('validate', file);
  assert.equal(v.status, 2, v.stderr);
  assert.ok(v.stderr.includes(`${file}:9:29: error: nodes.tokens.with.tokens[1]: a token cannot be empty`), v.stderr);
});

test('{content: ""} in tokens: refused the same way', async () => {
  const dir = tempDir('tp-token-');
  const file = trainPipeline(dir, LLAMA, { tokens: '[{ content: "", special: true }]' });
  const v = await pipe('validate', file);
  assert.equal(v.status, 2, v.stderr);
  assert.match(v.stderr, /train\.yaml:9:\d+: error: nodes\.tokens\.with\.tokens\[0\](\.content)?: a token cannot be empty/);
});
