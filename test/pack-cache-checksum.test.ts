// The pack cache verifies content, not just size: a finished shard overwritten with same-size
// bytes is never used. The hit is refused, the build removed and packed again (same batches as
// the first run), with a warning that names the shard.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { CorpusParams, corpusFingerprint, readCorpus } from '../src/data/corpus.ts';
import { batchArrays } from '../src/io/arrow.ts';
import type { DataEvent } from '../src/data/events.ts';
import type { Document, PackedBatch } from '../src/data/items.ts';
import { llama2Artifact, writeBrownJsonl } from './helpers/data.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tp-cache-sum-'));
writeBrownJsonl(path.join(dir, 'brown.jsonl'), ['ca01'], 60);
const pool = new RunPool({ threads: 1 });
after(() => pool.close());
let runs = 0;

async function run() {
  const cp = CorpusParams.parse({ paths: 'brown.jsonl', cwd: dir, evalFraction: 0.1 });
  const events: DataEvent[] = [];
  const h = createPacker(readCorpus(cp, { seed: 1 }) as AsyncIterable<Document>, Promise.resolve(llama2Artifact()), corpusFingerprint(cp, 1), PackerParams.parse({ seqLen: 64, batchSize: 4, cacheDir: path.join(dir, 'cache'), epochs: 1 }), {
    name: 'packer',
    runDir: path.join(dir, `run${++runs}`),
    seed: 1,
    runOnPool: (m, e, a, t) => pool.call(m, e, a, t),
    emit: (e) => events.push(e),
  });
  const train: PackedBatch[] = [];
  for await (const b of h.train) train.push(b);
  for await (const _ of h.eval);
  await h.built;
  return { ids: train.map((b) => Array.from(batchArrays(b.batch).input_ids)), status: h.status, events };
}

test('a same-size overwrite of a cached shard is caught by its checksum and rebuilt with a warning', async () => {
  const first = await run();
  assert.equal(first.status.cache, 'built');
  const manifest = JSON.parse(readFileSync(path.join(first.status.dir, 'manifest.json'), 'utf8'));
  assert.match(manifest.splits.train.shards[0].sha256, /^[0-9a-f]{64}$/);

  const shard = path.join(first.status.dir, readdirSync(first.status.dir).find((f) => f.startsWith('train-'))!);
  const bytes = readFileSync(shard);
  const size = statSync(shard).size;
  // Garbage over the middle of the file (the batches' columns): same size, so the size check passes.
  bytes.fill(0x41, Math.floor(size / 3), Math.floor(size / 3) + 256);
  writeFileSync(shard, bytes);
  assert.equal(statSync(shard).size, size);

  const second = await run();
  assert.equal(second.status.cache, 'built', 'the corrupted build is not a hit');
  assert.deepEqual(second.ids, first.ids, 'the rebuilt batches are the original ones');
  const warning = second.events.find((e) => e.type === 'warning');
  assert.ok(warning && warning.type === 'warning', 'a warning is emitted');
  assert.ok(warning.message.includes(shard), `the warning names the shard: ${warning.message}`);
  assert.ok(!existsSync(first.status.dir), 'the corrupted build is removed');
  // The rebuilt cache is trusted again.
  const third = await run();
  assert.equal(third.status.cache, 'hit');
  assert.deepEqual(third.ids, first.ids);
});
