// End to end through the worker pool: every document's tokens (encoded independently here)
// come back, in order, from the non-padding positions of the packed batches, per split;
// the same holds when documents were spilled to disk while the tokenizer was pending. The pool
// threads of one packing share one piece table, and refuse another tokenizer's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import { batchArrays } from '../src/io/arrow.ts';
import { tokenize as tokenizeTask, type TokenizeTask } from '../src/data/pack-worker.ts';
import { createSharedPieces } from '../src/tokenizer/shared-pieces.ts';
import { PackerConfigInvalid } from '../src/errors.ts';
import type { Document, PackedBatch } from '../src/data/items.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import { llama2Artifact, writeBrownJsonl } from './helpers/data.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tp-pack-'));
writeBrownJsonl(path.join(dir, 'brown.jsonl'));
const artifact = llama2Artifact();
const EOS = 2;
const pool = new RunPool({ threads: 2 });
after(() => pool.close());

async function docsOf(): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of readCorpus(CorpusParams.parse({ paths: 'brown.jsonl', cwd: dir, evalFraction: 0.2 }), { seed: 1 })) out.push(d);
  return out;
}

/** The tasks every pack() sent to the pool, for the shared-table test. */
const sent: TokenizeTask[] = [];

async function pack(docs: AsyncIterable<Document>, tokenizer: Promise<TokenizerArtifact>, run: string) {
  const h = createPacker(docs, tokenizer, null, PackerParams.parse({ seqLen: 96, batchSize: 4, docsPerTask: 7, cache: false, shardBatches: 3, epochs: 1 }), {
    name: 'packer',
    runDir: path.join(dir, run),
    seed: 1,
    runOnPool: (m, e, a, t) => {
      sent.push(a as TokenizeTask);
      return pool.call(m, e, a, t);
    },
  });
  const collect = async (it: AsyncIterable<PackedBatch>) => {
    const out: PackedBatch[] = [];
    for await (const b of it) out.push(b);
    return out;
  };
  const [train, evalB] = await Promise.all([collect(h.train), collect(h.eval)]);
  await h.built;
  return { train, eval: evalB, status: h.status };
}

function tokensOf(batches: PackedBatch[]): number[] {
  const out: number[] = [];
  for (const b of batches) {
    const v = batchArrays(b.batch);
    for (let i = 0; i < v.input_ids.length; i++) if (v.document_ids[i] >= 0) out.push(v.input_ids[i]);
  }
  return out;
}

async function* gen(docs: Document[]) {
  yield* docs;
}

test('packed batches give back every document token, in order, per split', async () => {
  const docs = await docsOf();
  const tok = new Tokenizer(artifact.tokenizerJson, artifact.tokenizerConfig);
  const r = await pack(gen(docs), Promise.resolve(artifact), 'run1');
  for (const split of ['train', 'eval'] as const) {
    const mine = docs.filter((d) => d.split === split);
    assert.ok(mine.length > 10, `${split} has ${mine.length} documents`);
    const expected = mine.flatMap((d) => [...tok.encode(d.text).ids, EOS]);
    const batches = split === 'train' ? r.train : r.eval;
    assert.deepEqual(tokensOf(batches), expected, split);
    assert.ok(batches.every((b) => b.split === split && b.seqLen === 96 && b.batch.numRows === 4));
    assert.deepEqual(batches.map((b) => b.index), batches.map((_, i) => i));
  }
  assert.ok(r.status.tokenizeCalls >= Math.ceil(docs.length / 7));
  assert.equal(r.status.spilled, 0);
});

test('every tokenize task of one packing carries the one shared piece table of its tokenizer', async () => {
  sent.length = 0;
  await pack(gen(await docsOf()), Promise.resolve(artifact), 'run-shared');
  assert.ok(sent.length > 10);
  assert.equal(new Set(sent.map((t) => t.pieces?.id)).size, 1, 'one table for the packing');
  assert.ok(sent.every((t) => t.pieces?.owner === artifact.hash && t.tokenizerHash === artifact.hash));
});

test('a pool thread refuses a piece table made for another tokenizer', () => {
  const task = { ...sent[0], pieces: createSharedPieces('another tokenizer') };
  assert.throws(() => tokenizeTask(task), (e: Error) => e instanceof PackerConfigInvalid && /another tokenizer/.test(e.message));
});

test('documents read while the tokenizer is pending are spilled and packed the same', async () => {
  const docs = await docsOf();
  let arrive!: (a: TokenizerArtifact) => void;
  const tokenizer = new Promise<TokenizerArtifact>((resolve) => (arrive = resolve));
  const source = (async function* () {
    for (const d of docs) yield d;
    // The tokenizer arrives only once the packer pulled past the last document, i.e. after the
    // whole stream was drained (as after token discovery).
    arrive(artifact);
  })();
  const spilled = await pack(source, tokenizer, 'run2');
  const direct = await pack(gen(docs), Promise.resolve(artifact), 'run3');
  assert.ok(spilled.status.spilled >= docs.length - 1, `spilled ${spilled.status.spilled}`);
  assert.deepEqual(tokensOf(spilled.train), tokensOf(direct.train));
  assert.deepEqual(tokensOf(spilled.eval), tokensOf(direct.eval));
});
