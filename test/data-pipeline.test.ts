// corpus-reader → (discovery-like consumer) → batch-packer on the real executor: the docs
// stream fans out to a node that drains it before it emits the tokenizer (as token discovery
// does) and to the packer. With a small edge buffer this deadlocks unless the packer keeps
// reading while its tokenizer is pending; here it must complete and pack every document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { defineNode } from '../src/pipeline/node.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import corpusReader from '../nodes/corpus-reader.ts';
import batchPacker from '../nodes/batch-packer.ts';
import { batchArrays } from '../src/io/arrow.ts';
import type { PackedBatch } from '../src/data/items.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { llama2Artifact, writeBrownJsonl } from './helpers/data.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-data-pipe-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const seen = { docs: 0, train: [] as PackedBatch[], eval: [] as PackedBatch[] };

const fakeDiscovery = defineNode({
  name: 'test-discovery',
  description: 'reads every document, then emits the tokenizer',
  params: z.object({}),
  inputs: { docs: { kind: 'stream', item: 'document' } },
  outputs: { tokenizer: { kind: 'value', item: 'tokenizer' } },
  placement: 'main',
  run(inputs) {
    return {
      tokenizer: (async function* () {
        for await (const _ of inputs.docs) seen.docs++;
        yield llama2Artifact();
      })(),
    };
  },
});

const batchSink = defineNode({
  name: 'test-batch-sink',
  description: 'collects batches',
  params: z.object({ split: z.enum(['train', 'eval']) }),
  inputs: { in: { kind: 'stream', item: 'batch' } },
  outputs: {},
  placement: 'main',
  async run(inputs, ctx) {
    for await (const b of inputs.in) seen[ctx.params.split].push(b as PackedBatch);
  },
});

test('reader fans out to discovery and packer; the run completes with every document packed', async () => {
  const texts = writeBrownJsonl(path.join(tmp, 'brown.jsonl'), ['ca01'], 120);
  const p = pipeline(
    'data',
    {
      corpus: { def: corpusReader, params: { paths: 'brown.jsonl', cwd: tmp, evalFraction: 0.2 } },
      discover: { def: fakeDiscovery, from: { docs: 'corpus.docs' } },
      pack: {
        def: batchPacker,
        params: { seqLen: 64, batchSize: 2, epochs: 1, cacheDir: path.join(tmp, 'cache') },
        from: { docs: 'corpus.docs', tokenizer: 'discover.tokenizer', fingerprint: 'corpus.fingerprint' },
      },
      train: { def: batchSink, params: { split: 'train' }, from: { in: 'pack.train' } },
      evaluate: { def: batchSink, params: { split: 'eval' }, from: { in: 'pack.eval' } },
    },
    { edgeBuffer: 4 },
  );
  const r = await runPipeline(p, { runDir: path.join(tmp, 'run') });
  assert.equal(r.status, 'completed', String(r.error));
  assert.equal(seen.docs, texts.length);
  assert.ok(seen.train.length > 0 && seen.eval.length > 0);
  const docIds = new Set<string>();
  for (const b of [...seen.train, ...seen.eval]) {
    const v = batchArrays(b.batch);
    for (const d of v.document_ids) if (d >= 0) docIds.add(`${b.split}:${d}`);
  }
  assert.equal(docIds.size, texts.length, 'every document landed in a batch');
});
