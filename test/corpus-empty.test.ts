// An empty corpus is named, file and node, before any training: an empty file at `pipe validate`
// (exit 2, at the paths param), a file with no document in it (blank lines only) when the reader
// finishes its pass. It failed with "the eval input produced no batches", naming no file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';
import { LLAMA, tempDir, trainPipeline } from './helpers/model-folder.ts';

test('an empty corpus file: refused at validate naming it, exit 2', async () => {
  const dir = tempDir('tp-empty-');
  writeFileSync(path.join(dir, 'empty.txt'), '');
  const file = trainPipeline(dir, LLAMA, { corpus: 'empty.txt' });
  const v = await pipe('validate', file);
  assert.equal(v.status, 2, v.stderr);
  assert.ok(v.stderr.includes(`${file}:4:48: error: nodes.corpus.with.paths: ${path.join(dir, 'empty.txt')}: empty file: the corpus would have no documents`), v.stderr);
});

test('a corpus with no document in it: the run fails naming the node and the file, nothing trained', async () => {
  const dir = tempDir('tp-empty-');
  writeFileSync(path.join(dir, 'blank.txt'), '\n\n   \n\n');
  const r = await pipe('run', trainPipeline(dir, LLAMA, { corpus: 'blank.txt' }));
  assert.notEqual(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(`node 'corpus' failed on item 1: the corpus has no documents: ${path.join(dir, 'blank.txt')}`), r.stderr);
  assert.doesNotMatch(r.stderr, /produced no batches/);
  assert.doesNotMatch(r.stdout + r.stderr, /train-step|step 1\b/);
});
