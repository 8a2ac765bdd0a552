// The cached Arrow IPC shards are read back correctly by another Arrow implementation
// (nodejs-polars, Rust arrow2/polars): same columns, types and values.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { CorpusParams, corpusFingerprint, readCorpus } from '../src/data/corpus.ts';
import { BATCH_COLUMNS, batchArrays, readIpcFile } from '../src/io/arrow.ts';
import { llama2Artifact, writeBrownJsonl } from './helpers/data.ts';

const pool = new RunPool({ threads: 2 });
after(() => pool.close());

async function polars(): Promise<typeof import('nodejs-polars').default> {
  try {
    return (await import('nodejs-polars')).default;
  } catch (e) {
    // The platform binary is an optional dependency pinned in package-lock.json.
    throw new Error(`nodejs-polars cannot load its native binary (run npm ci): ${(e as Error).message.split('\n')[0]}`);
  }
}

test('polars reads every cached shard with the same values', async () => {
  const pl = await polars();
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-polars-'));
  writeBrownJsonl(path.join(dir, 'brown.jsonl'), ['ca01'], 60);
  const T = 48;
  const cp = CorpusParams.parse({ paths: 'brown.jsonl', cwd: dir, evalFraction: 0.2 });
  const h = createPacker(readCorpus(cp, { seed: 1 }), Promise.resolve(llama2Artifact()), corpusFingerprint(cp, 1), PackerParams.parse({ seqLen: T, batchSize: 3, shardBatches: 4, epochs: 1, cacheDir: path.join(dir, 'cache') }), {
    name: 'packer',
    runDir: path.join(dir, 'run'),
    seed: 1,
    runOnPool: (m, e, a, t) => pool.call(m, e, a, t),
  });
  await h.built;
  const shards = readdirSync(h.status.dir).filter((f) => f.endsWith('.arrow')).sort();
  assert.ok(shards.some((f) => f.startsWith('train-')) && shards.some((f) => f.startsWith('eval-')));
  for (const f of shards) {
    const file = path.join(h.status.dir, f);
    const df = pl.readIPC(readFileSync(file));
    assert.deepEqual(df.columns, [...BATCH_COLUMNS]);
    for (const c of BATCH_COLUMNS) assert.equal(String(df.getColumn(c).dtype), `DataType(FixedSizeList(DataType(Int32),${T}))`);
    const ours = await readIpcFile(file);
    assert.equal(df.height, ours.reduce((s, b) => s + b.numRows, 0));
    for (const c of BATCH_COLUMNS) {
      const theirs = (df.getColumn(c).toArray() as unknown as number[][]).flat();
      const mine = ours.flatMap((b) => Array.from(batchArrays(b)[c]));
      assert.deepEqual(theirs, mine, `${f} ${c}`);
    }
  }
});
