// Each way a safetensors file can be malformed gets its own named error whose message names the
// file, the tensor where there is one, and what is wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafetensorsFile } from '../src/io/safetensors.ts';
import {
  SafetensorsDtypeError,
  SafetensorsHeaderError,
  SafetensorsLayoutError,
  SafetensorsTensorNotFound,
} from '../src/errors.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'st-corrupt-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file whose 8-byte prefix says `n` (default: the header's real length), then header, then data. */
function bytes(header: string | Uint8Array, data = new Uint8Array(0), n?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}

let counter = 0;
async function openBytes(b: Uint8Array): Promise<{ file: string; open: Promise<SafetensorsFile> }> {
  const file = path.join(dir, `case-${counter++}.safetensors`);
  await writeFile(file, b);
  return { file, open: SafetensorsFile.open(file) };
}

/** Asserts the open fails with `cls`, a message matching `re`, naming the file and (if given) the tensor. */
async function rejects(b: Uint8Array, cls: new (...a: never[]) => Error, re: RegExp, tensor?: string): Promise<void> {
  const { file, open } = await openBytes(b);
  await assert.rejects(open, (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, re);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    if (tensor !== undefined) assert.ok(e.message.includes(`"${tensor}"`), `message names tensor ${tensor}: ${e.message}`);
    return true;
  });
}

const f32 = (...xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);
const entry = (dtype: string, shape: number[], b: number, e: number) =>
  `{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${b},${e}]}`;

test('a well-formed file opens (control for the cases below)', async () => {
  const { open } = await openBytes(bytes(`{"a":${entry('F32', [2], 0, 8)}}`, f32(1, 2)));
  const f = await open;
  assert.deepEqual(Array.from(await f.readF32('a')), [1, 2]);
  await f.close();
});

test('file shorter than 8 bytes', async () => {
  await rejects(new Uint8Array([1, 2, 3, 4, 5]), SafetensorsHeaderError, /file is 5 bytes, shorter than the 8-byte header length/);
});

test('header length over the 100 MB bound', async () => {
  await rejects(bytes('{}', undefined, 100_000_001n), SafetensorsHeaderError, /header length 100000001 exceeds the 100000000-byte limit/);
});

test('header length past the end of the file', async () => {
  await rejects(bytes('{}', undefined, 1000n), SafetensorsHeaderError, /header length 1000 runs past the end of the 10-byte file/);
});

test('header not valid UTF-8', async () => {
  await rejects(bytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), SafetensorsHeaderError, /header is not valid UTF-8/);
});

test('header not valid JSON', async () => {
  await rejects(bytes('{"a": {"dtype": "F32",'), SafetensorsHeaderError, /header is not valid JSON/);
});

test('header JSON is not an object', async () => {
  await rejects(bytes('[1, 2]      '), SafetensorsHeaderError, /header must be a JSON object, got an array/);
});

test('entry that is not an object', async () => {
  await rejects(bytes('{"a": 3}'), SafetensorsHeaderError, /entry must be an object with "dtype", "shape" and "data_offsets"/, 'a');
});

test('entry missing data_offsets', async () => {
  await rejects(bytes('{"w":{"dtype":"F32","shape":[0]}}'), SafetensorsHeaderError, /entry lacks "data_offsets"/, 'w');
});

test('shape with a negative or fractional dimension', async () => {
  await rejects(bytes(`{"w":${entry('F32', [2, -1], 0, 0)}}`), SafetensorsHeaderError, /"shape" must be an array of non-negative integers, got \[2,-1\]/, 'w');
  await rejects(bytes(`{"w":${entry('F32', [1.5], 0, 0)}}`), SafetensorsHeaderError, /"shape" must be an array of non-negative integers/, 'w');
});

test('data_offsets not a pair of integers', async () => {
  await rejects(bytes('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', f32(1)), SafetensorsHeaderError, /"data_offsets" must be \[begin, end\]/, 'w');
});

test('__metadata__ with a non-string value', async () => {
  await rejects(bytes('{"__metadata__":{"format":"pt","step":3}}'), SafetensorsHeaderError, /"__metadata__" values must be strings; "step" is 3/);
});

test('unknown dtype', async () => {
  await rejects(bytes(`{"w":${entry('F12', [1], 0, 4)}}`, f32(1)), SafetensorsDtypeError, /unknown dtype "F12"/, 'w');
});

test('duplicate tensor key', async () => {
  await rejects(bytes(`{"a":${entry('F32', [1], 0, 4)},"a":${entry('F32', [1], 0, 4)}}`, f32(1)), SafetensorsHeaderError, /duplicate key "a"/, 'a');
});

test('duplicate field inside an entry', async () => {
  await rejects(bytes('{"b":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,2]}}', new Uint8Array(2)), SafetensorsHeaderError, /duplicate field "dtype"/, 'b');
});

test('shape x dtype size differs from the byte range', async () => {
  await rejects(bytes(`{"w":${entry('F32', [3], 0, 8)}}`, f32(1, 2)), SafetensorsLayoutError, /shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] span 8/, 'w');
});

test('sub-byte dtype not filling whole bytes', async () => {
  await rejects(bytes(`{"q":${entry('F4', [3], 0, 2)}}`, new Uint8Array(2)), SafetensorsLayoutError, /is 12 bits, not a whole number of bytes/, 'q');
});

test('offsets with a gap', async () => {
  const h = `{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 8, 12)}}`;
  await rejects(bytes(h, f32(1, 2, 3)), SafetensorsLayoutError, /starts at data byte 8 but the previous tensor ends at 4: offsets are not contiguous \(gap of 4 bytes\)/, 'b');
});

test('first tensor not starting at 0 is a gap too', async () => {
  await rejects(bytes(`{"a":${entry('F32', [1], 4, 8)}}`, f32(1, 2)), SafetensorsLayoutError, /gap of 4 bytes/, 'a');
});

test('overlapping tensors', async () => {
  const h = `{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [2], 4, 12)}}`;
  await rejects(bytes(h, f32(1, 2, 3)), SafetensorsLayoutError, /data_offsets \[4, 12\] overlap tensor "a" which ends at 8/, 'b');
});

test('offsets that end before they begin', async () => {
  const h = `{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [0], 4, 0)}}`;
  await rejects(bytes(h, f32(1)), SafetensorsLayoutError, /data_offsets \[4, 0\] end before they begin/, 'b');
});

test('tensor out of bounds (file truncated)', async () => {
  await rejects(bytes(`{"a":${entry('F32', [2], 0, 8)}}`, f32(1)), SafetensorsLayoutError, /data_offsets \[0, 8\] are out of bounds: the data buffer holds 4 bytes/, 'a');
});

test('trailing bytes after the last tensor', async () => {
  await rejects(bytes(`{"a":${entry('F32', [1], 0, 4)}}`, f32(1, 2)), SafetensorsLayoutError, /4 trailing bytes after the last tensor/);
});

test('asking for a tensor that is not there', async () => {
  const { file, open } = await openBytes(bytes(`{"a":${entry('F32', [1], 0, 4)}}`, f32(1)));
  const f = await open;
  await assert.rejects(f.readF32('nope'), (e: Error) => e instanceof SafetensorsTensorNotFound && e.message === `${file}: no tensor named "nope"`);
  await f.close();
});
