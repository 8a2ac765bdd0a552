// Cross-check against PyTorch: test/fixtures/safetensors/torch-oracle.safetensors was written by
// tools/safetensors-oracle.py with values torch computed (f32 -> bf16/f16 rounding, upcasts,
// integer dtypes). No python runs at test time; the fixture is committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, SafetensorsFile, serializeSafetensors } from '../src/io/safetensors.ts';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'safetensors', 'torch-oracle.safetensors');

const bitsOf = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

test('our f32 -> bf16 and f32 -> f16 rounding equals torch .to() bit for bit', async () => {
  const f = await SafetensorsFile.open(fixture);
  const src = await f.readF32('src_f32');
  assert.equal(src.length, 97);
  assert.deepEqual(Array.from(f32ToBf16(src)), Array.from((await f.read('as_bf16')) as Uint16Array));
  assert.deepEqual(Array.from(f32ToF16(src)), Array.from((await f.read('as_f16')) as Uint16Array));
  await f.close();
});

test('our bf16/f16 -> f32 upcasts (readF32 and the plain functions) equal torch .float()', async () => {
  const f = await SafetensorsFile.open(fixture);
  const cases: [string, string, (x: Uint16Array) => Float32Array][] = [
    ['as_bf16', 'bf16_up', bf16ToF32],
    ['as_f16', 'f16_up', f16ToF32],
    ['f16_patterns', 'f16_patterns_up', f16ToF32],
  ];
  // NaNs compare as "both NaN": torch (like the F16C instruction) sets the quiet bit of a
  // signalling NaN, while we keep the bits so that f16 -> f32 -> f16 is exact.
  const nanAware = (x: Float32Array) => bitsOf(x).map((b, i) => (Number.isNaN(x[i]) ? 'NaN' : b));
  for (const [half, up, fn] of cases) {
    const want = nanAware(await f.readF32(up));
    assert.deepEqual(nanAware(await f.readF32(half)), want, half);
    assert.deepEqual(nanAware(fn((await f.read(half)) as Uint16Array)), want, half);
  }
  const upNaNs = (await f.readF32('f16_patterns_up')).filter(Number.isNaN).length;
  assert.ok(upNaNs > 0, `the stride hits some NaN patterns (${upNaNs})`);
  // The pattern set holds every f16 subnormal of both signs.
  const pats = (await f.read('f16_patterns')) as Uint16Array;
  for (const p of [0x0001, 0x03ff, 0x8001, 0x83ff]) assert.ok(pats.includes(p));
  await f.close();
});

test('integer, bool, f64, scalar, empty and 2-D tensors hold the values the script put there', async () => {
  const f = await SafetensorsFile.open(fixture);
  assert.deepEqual(f.metadata, { format: 'pt', source: 'tools/safetensors-oracle.py' });
  const i8 = (await f.read('i8')) as Int8Array;
  assert.ok(i8 instanceof Int8Array);
  assert.deepEqual(Array.from(i8), Array.from({ length: 256 }, (_, k) => k - 128));
  assert.deepEqual(Array.from((await f.read('u8')) as Uint8Array), Array.from({ length: 256 }, (_, k) => k));
  assert.deepEqual(Array.from((await f.read('i16')) as Int16Array), [-32768, -1, 0, 1, 32767]);
  assert.deepEqual(Array.from((await f.read('i32')) as Int32Array), [-2147483648, -1, 0, 1, 2147483647]);
  assert.deepEqual(Array.from((await f.read('i64')) as BigInt64Array), [-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]);
  assert.equal(f.info('bool').dtype, 'BOOL');
  assert.deepEqual(Array.from(await f.readF32('bool')), [1, 0, 0, 1, 1]);
  assert.deepEqual(Array.from((await f.read('f64')) as Float64Array), [1 / 3, -2.5e-300]);
  assert.deepEqual(f.info('scalar').shape, []);
  assert.deepEqual(Array.from(await f.readF32('scalar')), [7.5]);
  assert.deepEqual(f.info('empty').shape, [0, 3]);
  assert.equal(f.info('empty').byteLength, 0);
  assert.deepEqual(f.info('matrix').shape, [2, 3]);
  assert.deepEqual(Array.from(await f.readF32('matrix')), [0, 0.5, 1, 1.5, 2, 2.5]);
  await f.close();
});

test('re-serialising the fixture with our writer reproduces the file byte for byte', async () => {
  const f = await SafetensorsFile.open(fixture);
  const tensors = await Promise.all(f.tensors().map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await f.readRaw(t.name) })));
  // Hand them over in reverse order: the writer's own ordering must restore the file's.
  const ours = serializeSafetensors(tensors.reverse(), f.metadata);
  await f.close();
  const theirs = new Uint8Array(await readFile(fixture));
  assert.equal(ours.byteLength, theirs.byteLength);
  assert.ok(Buffer.from(ours).equals(Buffer.from(theirs)), 'bytes differ');
});
