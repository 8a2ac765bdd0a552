// seqLen past the model's context (max_position_embeddings) is refused at `pipe validate` and
// `pipe run` (exit 2) at the packer's seqLen, naming the model's context; `allowBeyondContext: true`
// on the train node opts in, and the run then trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';
import { modelCopy, tempDir, trainPipeline } from './helpers/model-folder.ts';

test('seqLen 16 on a model whose context is 8: refused with exit 2 at seqLen; accepted with the opt-in', async () => {
  const dir = tempDir('tp-context-');
  const model = modelCopy(dir, { max_position_embeddings: 8 });
  const file = trainPipeline(dir, model);
  const v = await pipe('validate', file);
  assert.equal(v.status, 2, v.stderr);
  const where = `${file}:15:21: error: nodes.pack.with.seqLen: seqLen 16 is longer than the model's context (max_position_embeddings 8 in ${path.join(model, 'config.json')})`;
  assert.ok(v.stderr.includes(where), v.stderr);
  assert.match(v.stderr, /allowBeyondContext: true/);

  const r = await pipe('run', file);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /nodes\.pack\.with\.seqLen: seqLen 16 is longer than the model's context/);
  assert.ok(!existsSync(path.join(dir, 'runs')), 'nothing ran');

  const opted = trainPipeline(dir, model, { train: 'allowBeyondContext: true' });
  const ok = await pipe('validate', opted);
  assert.equal(ok.status, 0, ok.stderr);
  const run = await pipe('run', opted);
  assert.equal(run.status, 0, run.stderr);
});

test('seqLen within the context passes', async () => {
  const dir = tempDir('tp-context-');
  const v = await pipe('validate', trainPipeline(dir, modelCopy(dir, { max_position_embeddings: 16 })));
  assert.equal(v.status, 0, v.stderr);
});
