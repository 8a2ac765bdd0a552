// Writing and reading back every dtype; byte-exact layout against the spec's worked example and
// the reference Rust crate's own test vectors; writer input validation; atomic writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafetensorsFile, serializeSafetensors, writeSafetensors, type TensorToWrite } from '../src/io/safetensors.ts';
import { SafetensorsWriteError } from '../src/errors.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'st-rt-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('spec worked example: F32 "a" = [1, 2] is the 72-byte file, byte for byte', async () => {
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assert.equal(header.length, 54);
  const want = '3800000000000000' + Buffer.from(header + '  ').toString('hex') + '0000803f' + '00000040';
  const file = path.join(dir, 'example.safetensors');
  await writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
  const got = new Uint8Array(await readFile(file));
  assert.equal(got.byteLength, 72);
  assert.equal(hexOf(got), want);
});

test('matches the reference crate test vectors (tensor.rs test_serialization / test_empty)', () => {
  const attn = serializeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
  // prettier-ignore
  const rust = [64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
    116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
    58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
    101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
    0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
  assert.deepEqual(Array.from(attn), rust);
  assert.deepEqual(Array.from(serializeSafetensors([])), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  // prettier-ignore
  const withMeta = [40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32];
  assert.deepEqual(Array.from(serializeSafetensors([], { framework: 'pt' })), withMeta);
});

const every: TensorToWrite[] = [
  { name: 'f32', dtype: 'F32', shape: [2, 2], data: new Float32Array([1.5, -2, 3.25, 1e-30]) },
  { name: 'f16', dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x0001]) },
  { name: 'bf16', dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc049, 0x7f80]) },
  { name: 'i8', dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
  { name: 'u8', dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
  { name: 'i16', dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
  { name: 'i32', dtype: 'I32', shape: [2], data: new Int32Array([-2147483648, 2147483647]) },
  { name: 'i64', dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n, 7n]) },
  { name: 'bool', dtype: 'BOOL', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
  { name: 'f64', dtype: 'F64', shape: [1], data: new Float64Array([Math.PI]) },
  { name: 'u16', dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
  { name: 'u32', dtype: 'U32', shape: [1], data: new Uint32Array([4294967295]) },
  { name: 'u64', dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
  { name: 'f8', dtype: 'F8_E4M3', shape: [2], data: new Uint8Array([0x38, 0xb8]) },
  { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) },
  { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
];

test('round trip of every dtype: read() gives the native array, readRaw() the exact bytes', async () => {
  const file = path.join(dir, 'every.safetensors');
  await writeSafetensors(file, every, { format: 'pt', note: 'ünïcode' });
  const f = await SafetensorsFile.open(file);
  assert.deepEqual(f.metadata, { format: 'pt', note: 'ünïcode' });
  assert.equal(f.tensors().length, every.length);
  for (const t of every) {
    const info = f.info(t.name);
    assert.equal(info.dtype, t.dtype, t.name);
    assert.deepEqual(info.shape, t.shape, t.name);
    assert.equal(info.file, file);
    const raw = await f.readRaw(t.name);
    assert.equal(hexOf(raw), hexOf(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)), t.name);
    if (t.dtype !== 'F8_E4M3') {
      const native = await f.read(t.name);
      assert.equal(native.constructor, t.data.constructor, t.name);
      assert.deepEqual(native, t.data, t.name);
    }
  }
  await f.close();
});

test('readF32 upcasts halves exactly and converts integers and BOOL', async () => {
  const f = await SafetensorsFile.open(path.join(dir, 'every.safetensors'));
  assert.deepEqual(Array.from(await f.readF32('f32')), Array.from(new Float32Array([1.5, -2, 3.25, 1e-30])));
  assert.deepEqual(Array.from(await f.readF32('f16')), [1, -2, 2 ** -24]);
  assert.deepEqual(Array.from(await f.readF32('bf16')), [1, -3.140625, Infinity]);
  assert.deepEqual(Array.from(await f.readF32('i8')), [-128, 0, 127]);
  assert.deepEqual(Array.from(await f.readF32('i64')), [-(2 ** 63), 2 ** 62, 7]);
  assert.deepEqual(Array.from(await f.readF32('bool')), [1, 0, 0, 1]);
  assert.deepEqual(Array.from(await f.readF32('u32')), [4294967296]);
  assert.deepEqual(Array.from(await f.readF32('scalar')), [42]);
  assert.equal((await f.readF32('empty')).length, 0);
  await assert.rejects(f.readF32('f8'), /cannot convert dtype F8_E4M3 to float32; use readRaw/);
  await f.close();
});

test('writer layout: __metadata__ first, dtype alignment descending then name, 8-aligned data', async () => {
  const file = path.join(dir, 'order.safetensors');
  await writeSafetensors(
    file,
    [
      { name: 'b', dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
      { name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array([2]) },
      { name: 'z', dtype: 'I64', shape: [1], data: new BigInt64Array([3n]) },
      { name: 'h', dtype: 'F16', shape: [1], data: new Uint16Array([4]) },
      { name: 'g', dtype: 'BF16', shape: [1], data: new Uint16Array([5]) },
      { name: '9', dtype: 'F32', shape: [1], data: new Float32Array([6]) },
      { name: '10', dtype: 'F32', shape: [1], data: new Float32Array([7]) },
    ],
    { format: 'pt' },
  );
  const bytes = new Uint8Array(await readFile(file));
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  assert.match(header, /^\{"__metadata__":\{"format":"pt"\},"z":/);
  assert.match(header, /\}\}\s*$/);
  // Reference enum order: I64 > F32 > BF16 > F16 > U8; names "10" < "9" in byte order.
  const f = await SafetensorsFile.open(file);
  assert.deepEqual(f.tensors().map((t) => t.name), ['z', '10', '9', 'g', 'h', 'a', 'b']);
  assert.equal(f.info('z').offset, 8 + n);
  await f.close();
});

test('BF16 and F16 accept float32 input and round it', async () => {
  const file = path.join(dir, 'conv.safetensors');
  const x = new Float32Array(new Uint32Array([0x3f818000, 0x3f808000]).buffer); // ties: up to even, stay
  await writeSafetensors(file, [
    { name: 'b', dtype: 'BF16', shape: [2], data: x },
    { name: 'h', dtype: 'F16', shape: [2], data: new Float32Array([65520, 1 + 3 * 2 ** -11]) },
  ]);
  const f = await SafetensorsFile.open(file);
  assert.deepEqual(Array.from((await f.read('b')) as Uint16Array), [0x3f82, 0x3f80]);
  assert.deepEqual(Array.from((await f.read('h')) as Uint16Array), [0x7c00, 0x3c02]);
  await f.close();
});

test('writer rejects bad input with a named error', async () => {
  const file = path.join(dir, 'bad.safetensors');
  const cases: [TensorToWrite[], RegExp][] = [
    [[{ name: 'w', dtype: 'F32', shape: [3], data: new Float32Array(2) }], /"w": cannot write safetensors: shape \[3\] of F32 needs 12 bytes, data has 8/],
    [[{ name: 'w', dtype: 'I32', shape: [2], data: new Float32Array(2) }], /"w": .*dtype I32 takes Int32Array or Uint8Array \(raw bytes\), got Float32Array/],
    [[{ name: 'w', dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 2]) }], /BOOL data must hold only 0 and 1/],
    [[{ name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) }, { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) }], /"w": .*duplicate tensor name/],
    [[{ name: '__metadata__', dtype: 'F32', shape: [1], data: new Float32Array(1) }], /the name "__metadata__" is reserved/],
    [[{ name: 'w', dtype: 'Q4' as never, shape: [1], data: new Uint8Array(1) }], /unknown dtype "Q4"/],
    [[{ name: 'w', dtype: 'F32', shape: [-1], data: new Float32Array(1) }], /shape must be an array of non-negative integers/],
  ];
  for (const [tensors, re] of cases) {
    await assert.rejects(writeSafetensors(file, tensors), (e: Error) => e instanceof SafetensorsWriteError && re.test(e.message) && e.message.includes(file));
  }
  await assert.rejects(
    writeSafetensors(file, [], { step: 3 as unknown as string }),
    (e: Error) => e instanceof SafetensorsWriteError && /metadata value for "step" must be a string/.test(e.message),
  );
});

test('writes are atomic: overwrite in place, no temp files left, old file kept when input is bad', async () => {
  const sub = await mkdtemp(path.join(dir, 'atomic-'));
  const file = path.join(sub, 'w.safetensors');
  await writeFile(file, 'old contents');
  await writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
  await assert.rejects(writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1]) }]));
  assert.deepEqual(await readdir(sub), ['w.safetensors']);
  const f = await SafetensorsFile.open(file);
  assert.deepEqual(Array.from(await f.readF32('a')), [1]);
  await f.close();
  // A folder that does not exist cannot take the temp file: the error comes from fs, nothing is created.
  await assert.rejects(writeSafetensors(path.join(sub, 'missing', 'x.safetensors'), []), /ENOENT/);
});

test('chunked reads (tiny read size) give the same values as one read', async () => {
  const file = path.join(dir, 'chunks.safetensors');
  const x = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 100);
  await writeSafetensors(file, [
    { name: 'b', dtype: 'BF16', shape: [7, 143], data: x },
    { name: 'h', dtype: 'F16', shape: [1001], data: x },
    { name: 'f', dtype: 'F32', shape: [1001], data: x },
    { name: 'q', dtype: 'I64', shape: [5], data: new BigInt64Array([1n, -2n, 3n, -4n, 5n]) },
  ]);
  const whole = await SafetensorsFile.open(file);
  const tiny = await SafetensorsFile.open(file, { readChunkBytes: 6 }); // not a multiple of any element size
  for (const name of ['b', 'h', 'f', 'q']) {
    assert.deepEqual(await tiny.readF32(name), await whole.readF32(name), name);
    assert.deepEqual(await tiny.readRaw(name), await whole.readRaw(name), name);
  }
  assert.deepEqual(await tiny.readF32('f'), x);
  await whole.close();
  await tiny.close();
});

test('odd names and metadata keys ("__proto__", quotes, non-ASCII) survive a round trip', async () => {
  const file = path.join(dir, 'odd.safetensors');
  const names = ['__proto__', 'a"b\\c', 'ünï.weight', 'tab\there', 'constructor'];
  await writeSafetensors(
    file,
    names.map((name, i) => ({ name, dtype: 'I32', shape: [1], data: new Int32Array([i]) })),
    JSON.parse('{"__proto__": "x", "k\\"q": "v\\n"}') as Record<string, string>,
  );
  const f = await SafetensorsFile.open(file);
  assert.deepEqual(Object.entries(f.metadata), [['__proto__', 'x'], ['k"q', 'v\n']]);
  for (const [i, name] of names.entries()) assert.deepEqual(Array.from((await f.read(name)) as Int32Array), [i], name);
  await f.close();
});
