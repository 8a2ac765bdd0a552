// vocab_size: 1e9 on a checkpoint whose embedding has 1370 rows is named as a config/weights
// mismatch at `pipe validate` (exit 2); it was refused only later, as a memory plan of 504 GiB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelConfigMismatch } from '../src/errors.ts';
import { checkModelFolder } from '../src/model/weights.ts';
import { pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';
import { modelCopy, tempDir, trainPipeline } from './helpers/model-folder.ts';

test('vocab_size 1e9: named as vocab_size against the embedding rows, exit 2', async () => {
  const dir = tempDir('tp-vocab-');
  const model = modelCopy(dir, { vocab_size: 1e9 });
  await assert.rejects(checkModelFolder(model), (e: unknown) => {
    assert.ok(e instanceof ModelConfigMismatch, String(e));
    assert.equal(e.field, 'vocab_size');
    return true;
  });
  const v = await pipe('validate', trainPipeline(dir, model));
  assert.equal(v.status, 2, v.stderr);
  assert.match(v.stderr, /:19:20: error: nodes\.train\.with\.model: .*config\.json: vocab_size: 1000000000 \(beyond any real model: at most \d+\) but model\.embed_tokens\.weight has 1370 rows \(\[1370,16\]\): config\.json and the weights disagree/);
  assert.doesNotMatch(v.stderr, /GiB|seqLen/);
});
