// All-I32 weights are refused at `pipe validate` (exit 2) naming the tensor and its dtype; they
// passed validate and stopped at step 1 with "loss is NaN" before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelWeightsInvalid } from '../src/errors.ts';
import { checkModelFolder } from '../src/model/weights.ts';
import { pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';
import { modelCopy, rewriteWeights, tempDir, trainPipeline } from './helpers/model-folder.ts';

test('I32 weights: refused at validate, naming the dtype', async () => {
  const dir = tempDir('tp-dtype-');
  const model = modelCopy(dir);
  await rewriteWeights(model, (name, shape, v) => ({ name, shape, dtype: 'I32', data: Int32Array.from(v, (x) => Math.round(x * 1000)) }));
  await assert.rejects(checkModelFolder(model), (e: unknown) => {
    assert.ok(e instanceof ModelWeightsInvalid, String(e));
    assert.match(e.message, /dtype I32: only float weights \(F32, F16, BF16\)/);
    return true;
  });
  const v = await pipe('validate', trainPipeline(dir, model));
  assert.equal(v.status, 2, v.stderr);
  assert.match(v.stderr, /:19:20: error: nodes\.train\.with\.model: .*tensor "model\.embed_tokens\.weight": dtype I32/);
});

test('BF16 weights pass the same check', async () => {
  const dir = tempDir('tp-dtype-');
  const model = modelCopy(dir);
  await rewriteWeights(model, (name, shape, v) => ({ name, shape, dtype: 'BF16', data: v }));
  await checkModelFolder(model);
});
