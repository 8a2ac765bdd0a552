// Fail before work (issue 11, case 7): `pipe validate` and the start of `pipe run` check every
// input path declared with pathParam({mustExist}): a corpus glob that matches nothing and a
// model folder that does not exist are errors with file:line:column and exit 2, and a missing
// model folder is "not a Hugging Face model folder" (the words `pipe eval` uses), never a
// tokenizer-file error. `pipe run` stops there: no run folder, no node started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';

const MODEL = path.join(ROOT, 'fixtures', 'models', 'llama');

function pipelineFile(dir: string, corpus: string, model: string): string {
  const file = path.join(dir, 'inputs.yaml');
  writeFileSync(file, `name: inputs
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))} }
nodes:
  corpus:
    use: corpus-reader
    with: { paths: ${corpus}, textMode: line }
  tokens:
    use: token-discovery
    with: { model: ${MODEL}, tokens: ["<x>"], mine: false }
  tokenizer: { use: tokenizer-extension, from: tokens, with: { model: ${MODEL} } }
  pack: { use: batch-packer, from: { docs: corpus.docs, tokenizer: tokenizer }, with: { seqLen: 16, batchSize: 2 } }
  train:
    use: train-step
    from: { batches: pack.train, tokenizer: tokenizer }
    with:
      model: ${model}
      steps: 1
`);
  return file;
}


test('a corpus that matches no file and a missing model folder: errors at their positions, exit 2', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-inputs-'));
  const file = pipelineFile(dir, 'no-such-corpus.txt', './no-such-model');
  const v = await pipe('validate', file);
  assert.equal(v.status, 2, v.stderr);
  const lines = v.stderr.split('\n');
  assert.ok(lines.includes(`${file}:6:20: error: nodes.corpus.with.paths: no file matches 'no-such-corpus.txt' (relative to ${dir})`), v.stderr);
  assert.ok(lines.includes(`${file}:16:14: error: nodes.train.with.model: ${path.join(dir, 'no-such-model')}: not a Hugging Face model folder (no such folder)`), v.stderr);
  assert.match(v.stderr, /2 error\(s\)/);
  assert.doesNotMatch(v.stderr, /invalid tokenizer file/);

  // pipe run checks the same before any node runs: same errors, no run folder.
  const r = await pipe('run', file);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /nodes\.corpus\.with\.paths: no file matches 'no-such-corpus\.txt'/);
  assert.match(r.stderr, /nodes\.train\.with\.model: .*: not a Hugging Face model folder \(no such folder\)/);
  assert.doesNotMatch(r.stderr, /run folder/);
  assert.ok(!existsSync(path.join(dir, 'runs')), 'nothing ran');
});

test('a folder that is not a model, and a model that is fine: only the first is an error', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-inputs-'));
  writeFileSync(path.join(dir, 'corpus.txt'), 'a line\n');
  mkdirSync(path.join(dir, 'empty'));
  const bad = await pipe('validate', pipelineFile(dir, 'corpus.txt', './empty'));
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /:16:14: error: nodes\.train\.with\.model: .*empty: not a Hugging Face model folder \(no config\.json in it\)/);
  const good = await pipe('validate', pipelineFile(dir, '"*.txt"', MODEL));
  assert.equal(good.status, 0, good.stderr);
});
