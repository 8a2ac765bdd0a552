// The packed-batch cache: a rerun with the same documents, tokenizer and params reads the
// Arrow shards and tokenizes nothing (it reads and hashes the documents); a changed tokenizer,
// corpus or param builds anew; a folder left by a killed run (no manifest) or a damaged shard is
// never trusted. Also: later epochs replay a seeded permutation of the same batches.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { CorpusParams, corpusFingerprint, readCorpus } from '../src/data/corpus.ts';
import { batchArrays } from '../src/io/arrow.ts';
import type { PackedBatch, Document } from '../src/data/items.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import { llama2Artifact, writeBrownJsonl } from './helpers/data.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tp-cache-'));
const cacheDir = path.join(dir, 'cache');
writeBrownJsonl(path.join(dir, 'brown.jsonl'), ['ca01'], 80);
const base = llama2Artifact();
const pool = new RunPool({ threads: 2 });
after(() => pool.close());
let runs = 0;

/** One packer run; `take` stops reading train batches after that many (for a stream that repeats). */
async function run(artifact: TokenizerArtifact, packer: Record<string, unknown> = {}, take = Infinity) {
  const cp = CorpusParams.parse({ paths: 'brown.jsonl', cwd: dir, evalFraction: 0.1 });
  let pulled = 0;
  const docs = (async function* () {
    for await (const d of readCorpus(cp, { seed: 1 })) {
      pulled++;
      yield d as Document;
    }
  })();
  const h = createPacker(docs, Promise.resolve(artifact), corpusFingerprint(cp, 1), PackerParams.parse({ seqLen: 64, batchSize: 4, cacheDir, epochs: 1, ...packer }), {
    name: 'packer',
    runDir: path.join(dir, `run${++runs}`),
    seed: 1,
    runOnPool: (m, e, a, t) => pool.call(m, e, a, t),
  });
  const train: PackedBatch[] = [];
  for await (const b of h.train) if (train.push(b) >= take) break;
  const evalB: PackedBatch[] = [];
  for await (const b of h.eval) evalB.push(b);
  await h.built;
  return { train, eval: evalB, status: h.status, pulled, plan: train[0]?.plan, lastPlan: train.at(-1)?.plan };
}

const ids = (bs: PackedBatch[]) => bs.map((b) => Array.from(batchArrays(b.batch).input_ids));

test('a second run reads the cache and tokenizes nothing; a changed tokenizer rebuilds', async () => {
  const first = await run(base);
  assert.equal(first.status.cache, 'built');
  assert.ok(first.status.tokenizeCalls > 0);
  const second = await run(base);
  assert.equal(second.status.cache, 'hit');
  assert.equal(second.status.tokenizeCalls, 0);
  assert.equal(second.pulled, first.pulled, 'a hit hashes every document');
  assert.deepEqual(second.status.docs, first.status.docs);
  assert.equal(second.status.dir, first.status.dir);
  assert.deepEqual(ids(second.train), ids(first.train));
  assert.deepEqual(ids(second.eval), ids(first.eval));
  // An extended tokenizer (one added token, so a new hash) must not reuse the old batches.
  const extended = await run(llama2Artifact(['Fulton County']));
  assert.equal(extended.status.cache, 'built');
  assert.ok(extended.status.tokenizeCalls > 0);
  assert.notEqual(extended.status.key, first.status.key);
  assert.notDeepEqual(ids(extended.train), ids(first.train));
  // A packing param that changes the batches is part of the key; epochs are not.
  assert.equal((await run(base, { seqLen: 32 })).status.cache, 'built');
  assert.equal((await run(base, { epochs: 2 })).status.cache, 'hit');
});

test('a changed corpus file rebuilds', async () => {
  const before = await run(base);
  assert.equal(before.status.cache, 'hit');
  appendFileSync(path.join(dir, 'brown.jsonl'), JSON.stringify({ text: 'One more paragraph.' }) + '\n');
  const after = await run(base);
  assert.equal(after.status.cache, 'built');
  assert.notEqual(after.status.key, before.status.key);
});

test('a folder without manifest (killed run) or with a damaged shard is rebuilt, not trusted', async () => {
  const good = await run(base);
  const folder = good.status.dir;
  rmSync(path.join(folder, 'manifest.json'));
  const rebuilt = await run(base);
  assert.equal(rebuilt.status.cache, 'built');
  assert.deepEqual(ids(rebuilt.train), ids(good.train));
  assert.notEqual(rebuilt.status.dir, folder, 'each build has its own folder');
  const shard = readdirSync(rebuilt.status.dir).find((f) => f.startsWith('train-'))!;
  truncateSync(path.join(rebuilt.status.dir, shard), 100);
  // A build folder left by a killed process (no manifest, its pid gone) is swept by the next build.
  const leftover = path.join(path.dirname(rebuilt.status.dir), '20260101T000000-4194000-zzzzzz');
  mkdirSync(leftover);
  const again = await run(base);
  assert.equal(again.status.cache, 'built');
  assert.ok(!existsSync(leftover), 'leftover of a dead build removed');
  assert.deepEqual(ids(again.train), ids(good.train));
  assert.equal((await run(base)).status.cache, 'hit');
});

test('epochs: later passes are seeded permutations of the same batches; eval is one pass', async () => {
  const r = await run(base, { epochs: 3, shardBatches: 2 });
  const per = r.train.length / 3;
  assert.ok(Number.isInteger(per) && per > 4);
  const epoch = (e: number) => r.train.filter((b) => b.epoch === e);
  const key = (bs: PackedBatch[]) => ids(bs).map((x) => x.join(','));
  assert.notDeepEqual(key(epoch(1)), key(epoch(0)));
  assert.notDeepEqual(key(epoch(2)), key(epoch(1)));
  for (const e of [1, 2]) assert.deepEqual([...key(epoch(e))].sort(), [...key(epoch(0))].sort());
  assert.deepEqual(epoch(2).map((b) => b.index), epoch(0).map((_, i) => i));
  assert.ok(r.eval.every((b) => b.epoch === 0));
});

test('epochs unset: the train stream repeats, reshuffled, until its consumer stops; its plan gives the batches per pass', async () => {
  const once = await run(base, { shardBatches: 2 });
  const per = once.train.length;
  const r = await run(base, { epochs: undefined, shardBatches: 2 }, 3 * per + 1);
  assert.equal(r.plan?.epochs, null);
  assert.equal(r.plan?.batchesPerEpoch, undefined, 'the first pass streams as it is packed: its count is not known yet');
  assert.equal(r.lastPlan?.batchesPerEpoch, per);
  assert.ok(r.train.every((b) => (b.epoch === 0) === (b.plan?.batchesPerEpoch === undefined)), 'the count from the second pass on');
  assert.equal(once.plan?.batchesPerEpoch, per, 'with epochs set, the count is on the first batch');
  assert.equal(once.plan?.epochs, 1);
  assert.deepEqual(r.train.map((b) => b.epoch), [...Array(3 * per).keys()].map((i) => Math.floor(i / per)).concat(3));
  const key = (bs: PackedBatch[]) => ids(bs).map((x) => x.join(','));
  const epoch = (e: number) => r.train.filter((b) => b.epoch === e);
  assert.deepEqual(key(epoch(0)), key(once.train));
  assert.notDeepEqual(key(epoch(1)), key(epoch(0)));
  for (const e of [1, 2]) assert.deepEqual([...key(epoch(e))].sort(), [...key(epoch(0))].sort());
});

test('epochs unset with an empty train split: the stream ends instead of spinning', async () => {
  const r = await run(base, { epochs: undefined, seqLen: 4096, batchSize: 64, finalBatch: 'drop' });
  assert.equal(r.train.length, 0);
  assert.equal(await r.plan, undefined);
});
