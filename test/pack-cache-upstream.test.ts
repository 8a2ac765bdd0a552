// The packed cache cannot go stale (issue 11, case 2): a custom node between the corpus reader
// and the packer changes the documents when its param changes, while the corpus files (and so
// the reader's fingerprint) stay the same. The rerun with the same param hits the cache and
// tokenizes nothing; the run with the changed param misses it and packs the new text.
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
import type { Document, PackedBatch } from '../src/data/items.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { llama2Artifact, writeBrownJsonl } from './helpers/data.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-cache-upstream-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
writeBrownJsonl(path.join(tmp, 'brown.jsonl'), ['ca01'], 60);
const artifact = llama2Artifact();

/** A user's node: rewrites one word in every document. */
const replace = defineNode({
  name: 'replace-word',
  description: 'replaces a word in every document',
  params: z.strictObject({ word: z.string(), by: z.string() }),
  inputs: { docs: { kind: 'stream', item: 'document' } },
  outputs: { docs: { kind: 'stream', item: 'document' } },
  placement: 'main',
  run(inputs, ctx) {
    const { word, by } = ctx.params;
    return {
      docs: (async function* () {
        for await (const d of inputs.docs as AsyncIterable<Document>) yield { ...d, text: d.text.split(word).join(by) };
      })(),
    };
  },
});

const tokenizer = defineNode({
  name: 'fixed-tokenizer',
  description: 'the Llama 2 tokenizer as a value',
  params: z.object({}),
  inputs: {},
  outputs: { tokenizer: { kind: 'value', item: 'tokenizer' } },
  placement: 'main',
  run: () => ({ tokenizer: (async function* () { yield artifact; })() }),
});

const batches: PackedBatch[] = [];
const sink = defineNode({
  name: 'batch-sink',
  description: 'collects batches',
  params: z.object({}),
  inputs: { in: { kind: 'stream', item: 'batch' } },
  outputs: {},
  placement: 'main',
  async run(inputs) {
    for await (const b of inputs.in) batches.push(b as PackedBatch);
  },
});

let runs = 0;
async function pack(by: string): Promise<{ cache: string; tokenizeCalls: number; ids: string }> {
  batches.length = 0;
  const p = pipeline('upstream', {
    corpus: { def: corpusReader, params: { paths: 'brown.jsonl', cwd: tmp, evalFraction: 0.2 } },
    edit: { def: replace, params: { word: 'the', by }, from: { docs: 'corpus.docs' } },
    tok: { def: tokenizer },
    pack: {
      def: batchPacker,
      params: { seqLen: 64, batchSize: 2, epochs: 1, cacheDir: path.join(tmp, 'cache') },
      // The reader's fingerprint is wired too: it alone would not see the edit.
      from: { docs: 'edit.docs', tokenizer: 'tok.tokenizer', fingerprint: 'corpus.fingerprint' },
    },
    train: { def: sink, from: { in: 'pack.train' } },
    evaluate: { def: sink, from: { in: 'pack.eval' } },
  });
  let summary: Record<string, any> | undefined;
  const r = await runPipeline(p, { runDir: path.join(tmp, `run${++runs}`), events: { emit: (e) => void (e.type === 'pack-summary' && (summary = e)) } });
  assert.equal(r.status, 'completed', String(r.error));
  const ids = batches.filter((b) => b.split === 'train').map((b) => Array.from(batchArrays(b.batch).input_ids).join(',')).join(';');
  return { cache: summary!.cache, tokenizeCalls: summary!.tokenizeCalls, ids };
}

test("a custom node's param change misses the packed cache; the same param hits it", async () => {
  const first = await pack('THE');
  assert.equal(first.cache, 'built');
  const same = await pack('THE');
  assert.equal(same.cache, 'hit');
  assert.equal(same.tokenizeCalls, 0, 'a hit tokenizes nothing');
  assert.equal(same.ids, first.ids);
  const changed = await pack('A');
  assert.equal(changed.cache, 'built', 'changed documents miss the cache');
  assert.ok(changed.tokenizeCalls > 0);
  assert.notEqual(changed.ids, first.ids, 'the new text was packed');
  // Both packings stay cached: going back hits again.
  assert.equal((await pack('THE')).cache, 'hit');
});
