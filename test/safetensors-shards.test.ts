// Sharded checkpoints: model-0000k-of-0000N.safetensors + model.safetensors.index.json, written
// greedily like huggingface_hub and read back through WeightSet; broken indexes give clear errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafetensorsFile, WeightSet, writeSafetensors, writeShardedSafetensors, type TensorToWrite } from '../src/io/safetensors.ts';
import { SafetensorsIndexError, SafetensorsTensorNotFound } from '../src/errors.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'st-shards-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const t = (name: string, n: number, v: number): TensorToWrite => ({ name, dtype: 'F32', shape: [n], data: new Float32Array(n).fill(v) });
// 40, 24, 80, 16 and 8 bytes, split below with a 48-byte limit.
const tensors = [t('a', 10, 1), t('b', 6, 2), t('big', 20, 3), t('c', 4, 4), t('d', 2, 5)];

test('sharded write: greedy split, HF file names, index with total_size and weight_map', async () => {
  const out = path.join(dir, 'sharded');
  await writeShardedSafetensors(out, tensors, { maxShardBytes: 48, metadata: { format: 'pt' } });
  // a(40) alone (40+24 > 48); b(24) then big(80 > 48) gets its own shard without closing b's;
  // then c(16): 24+16 = 40 <= 48 joins b; d(8): 48 <= 48 joins too. Shards in creation order.
  const files = (await readdir(out)).sort();
  assert.deepEqual(files, [
    'model-00001-of-00003.safetensors',
    'model-00002-of-00003.safetensors',
    'model-00003-of-00003.safetensors',
    'model.safetensors.index.json',
  ]);
  const index = JSON.parse(await readFile(path.join(out, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  assert.deepEqual(index, {
    metadata: { total_size: 40 + 24 + 80 + 16 + 8 },
    weight_map: {
      a: 'model-00001-of-00003.safetensors',
      big: 'model-00002-of-00003.safetensors',
      b: 'model-00003-of-00003.safetensors',
      c: 'model-00003-of-00003.safetensors',
      d: 'model-00003-of-00003.safetensors',
    },
  });
  const ws = await WeightSet.open(out);
  assert.deepEqual(ws.names().sort(), ['a', 'b', 'big', 'c', 'd']);
  assert.deepEqual(ws.metadata, { format: 'pt' });
  for (const x of tensors) {
    assert.deepEqual(await ws.readF32(x.name), x.data, x.name);
    assert.equal(ws.info(x.name).file, path.join(out, (index.weight_map as Record<string, string>)[x.name]));
  }
  assert.equal((await ws.readRaw('d')).byteLength, 8);
  await assert.rejects(ws.readF32('zz'), SafetensorsTensorNotFound);
  await ws.close();
});

test('everything within one shard is written as model.safetensors, stale shards and index removed', async () => {
  const out = path.join(dir, 'sharded'); // reuses the folder of the previous test
  await writeShardedSafetensors(out, tensors, { maxShardBytes: 1 << 20 });
  assert.deepEqual(await readdir(out), ['model.safetensors']);
  const ws = await WeightSet.open(out);
  assert.deepEqual(await ws.readF32('big'), tensors[2].data);
  await ws.close();
  // And back to shards: the single file would shadow the index, so it must go.
  await writeShardedSafetensors(out, tensors, { maxShardBytes: 100 });
  assert.ok(!(await readdir(out)).includes('model.safetensors'));
});

test('WeightSet opens a single file directly and honours another prefix', async () => {
  const out = path.join(dir, 'adapter');
  await mkdir(out);
  await writeSafetensors(path.join(out, 'adapter_model.safetensors'), [t('x', 2, 9)]);
  const ws = await WeightSet.open(out, { prefix: 'adapter_model' });
  assert.deepEqual(Array.from(await ws.readF32('x')), [9, 9]);
  await ws.close();
  const direct = await WeightSet.open(path.join(out, 'adapter_model.safetensors'));
  assert.deepEqual(direct.names(), ['x']);
  await direct.close();
  await assert.rejects(WeightSet.open(out), (e: Error) => e instanceof SafetensorsIndexError && /no weights found: neither model.safetensors nor model.safetensors.index.json exists/.test(e.message));
});

async function shardedCopy(name: string): Promise<string> {
  const out = path.join(dir, name);
  await writeShardedSafetensors(out, tensors, { maxShardBytes: 48 });
  return out;
}

test('index naming a shard file that is missing', async () => {
  const out = await shardedCopy('missing-shard');
  await unlink(path.join(out, 'model-00002-of-00003.safetensors'));
  await assert.rejects(WeightSet.open(out), (e: Error) => {
    assert.ok(e instanceof SafetensorsIndexError);
    assert.match(e.message, /model\.safetensors\.index\.json: tensor "big": shard file "model-00002-of-00003\.safetensors" listed in weight_map is missing/);
    return true;
  });
});

test('index naming a tensor its shard does not hold', async () => {
  const out = await shardedCopy('absent-name');
  const indexPath = path.join(out, 'model.safetensors.index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8'));
  index.weight_map['lm_head.weight'] = 'model-00001-of-00003.safetensors';
  await writeFile(indexPath, JSON.stringify(index));
  await assert.rejects(WeightSet.open(out), (e: Error) => {
    assert.ok(e instanceof SafetensorsIndexError);
    assert.match(e.message, /tensor "lm_head\.weight": weight_map puts it in "model-00001-of-00003\.safetensors" but that file has no such tensor/);
    return true;
  });
});

test('index that is not JSON, lacks weight_map, or points outside the folder', async () => {
  const out = await shardedCopy('bad-index');
  const indexPath = path.join(out, 'model.safetensors.index.json');
  const cases: [string, RegExp][] = [
    ['{"weight_map": ', /index is not valid JSON/],
    ['{"metadata": {}}', /index needs a "weight_map" object/],
    ['{"weight_map": {"a": "../model-00001-of-00003.safetensors"}}', /tensor "a": weight_map value must be a shard file name in the same folder/],
  ];
  for (const [text, re] of cases) {
    await writeFile(indexPath, text);
    await assert.rejects(WeightSet.open(out), (e: Error) => e instanceof SafetensorsIndexError && re.test(e.message) && e.message.includes(indexPath));
  }
});

test('each shard is itself a valid, independently readable safetensors file', async () => {
  const out = await shardedCopy('independent');
  const f = await SafetensorsFile.open(path.join(out, 'model-00003-of-00003.safetensors'));
  assert.deepEqual(f.names(), ['b', 'c', 'd']);
  await f.close();
});
