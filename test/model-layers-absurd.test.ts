// num_hidden_layers: 100000 on a 2-layer checkpoint is refused at `pipe validate` (exit 2) with a
// named error that says which config key and what the weights hold; it overflowed the stack before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelConfigMismatch } from '../src/errors.ts';
import { checkModelFolder, loadModel } from '../src/model/weights.ts';
import { pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';
import { modelCopy, tempDir, trainPipeline } from './helpers/model-folder.ts';

test('100000 layers: a named config/weights error at validate, exit 2, never a stack overflow', async () => {
  const dir = tempDir('tp-layers-');
  const model = modelCopy(dir, { num_hidden_layers: 100000 });
  await assert.rejects(checkModelFolder(model), (e: unknown) => {
    assert.ok(e instanceof ModelConfigMismatch, String(e));
    assert.equal(e.field, 'num_hidden_layers');
    assert.match(e.message, /num_hidden_layers: 100000 \(beyond any real model: at most 1024\) but the weights hold 2 layer\(s\)/);
    return true;
  });
  await assert.rejects(loadModel(model), ModelConfigMismatch);
  const v = await pipe('validate', trainPipeline(dir, model));
  assert.equal(v.status, 2, v.stderr);
  assert.match(v.stderr, /train\.yaml:19:20: error: nodes\.train\.with\.model: .*config\.json: num_hidden_layers: 100000 .*the weights hold 2 layer/);
  assert.doesNotMatch(v.stderr, /call stack/);
  const r = await pipe('run', trainPipeline(dir, model));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /num_hidden_layers: 100000/);
});
