// hidden_size disagreeing with the weights is caught by `pipe validate` from the safetensors headers
// (it passed validate and failed at load before); so is a per-layer dimension (intermediate_size),
// named by its config key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelConfigMismatch } from '../src/errors.ts';
import { checkModelFolder } from '../src/model/weights.ts';
import { pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';
import { modelCopy, tempDir, trainPipeline } from './helpers/model-folder.ts';

test('hidden_size 32 on 16-wide weights: refused at validate, exit 2, naming hidden_size', async () => {
  const dir = tempDir('tp-hidden-');
  const model = modelCopy(dir, { hidden_size: 32 });
  const v = await pipe('validate', trainPipeline(dir, model));
  assert.equal(v.status, 2, v.stderr);
  assert.match(v.stderr, /:19:20: error: nodes\.train\.with\.model: .*config\.json: hidden_size: 32 but model\.embed_tokens\.weight is \[1370,16\] \(hidden size 16\)/);
});

test('intermediate_size disagreeing with the MLP weights: named by its key and tensor', async () => {
  const dir = tempDir('tp-hidden-');
  await assert.rejects(checkModelFolder(modelCopy(dir, { intermediate_size: 48 })), (e: unknown) => {
    assert.ok(e instanceof ModelConfigMismatch, String(e));
    assert.equal(e.field, 'intermediate_size');
    assert.match(e.message, /model\.layers\.0\.mlp\.gate_proj\.weight is \[40,16\] in the weights but intermediate_size gives 48 where the weights have 40/);
    return true;
  });
});
