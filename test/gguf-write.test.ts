// The GGUF writer: a file read back by @huggingface/gguf (an independent parser) holds every metadata
// value with its type, the tensor infos (dims innermost-first, ggml types, aligned offsets), and each
// tensor's bytes decode to the values written (f16/bf16 rounded, q8_0 within half a quantisation step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gguf } from '@huggingface/gguf';
import { gv, writeGguf, GGUF_ALIGNMENT } from '../src/io/gguf-write.ts';
import { GgufWriteError } from '../src/errors.ts';
import { bf16ToF32, f16ToF32 } from '../src/io/safetensors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tp-gguf-'));
const values = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + salt) * (1 + (i % 5)));

test('metadata and tensors read back with @huggingface/gguf', async () => {
  const file = path.join(dir, 'a.gguf');
  const [norm, f16v, q8v] = [values(5, 0), values(21, 1), values(192, 3)];
  const tensors = [
    { name: 'norm', shape: [5], dtype: 'F32' as const, data: norm },
    { name: 'm.f16', shape: [3, 7], dtype: 'F16' as const, data: f16v },
    { name: 'm.bf16', shape: [2, 3], dtype: 'BF16' as const, data: () => values(6, 2) },
    { name: 'm.q8', shape: [3, 64], dtype: 'Q8_0' as const, data: q8v },
  ];
  await writeGguf(file, [
    ['general.architecture', gv.str('llama')],
    ['x.u32', gv.u32(4000000000)],
    ['x.i32', gv.i32(-5)],
    ['x.f32', gv.f32(1e-5)],
    ['x.bool', gv.bool(true)],
    ['x.strs', gv.strs(['a', 'Ġb', '<|im_end|>', ''])],
    ['x.i32s', gv.i32s([1, 3, 6])],
    ['x.f32s', gv.f32s([0.5, -2])],
  ], tensors);
  const r = await gguf(file, { allowLocalFile: true });
  const md = r.metadata as Record<string, unknown>;
  assert.equal(md.version, 3);
  assert.equal(md['general.architecture'], 'llama');
  assert.equal(md['x.u32'], 4000000000);
  assert.equal(md['x.i32'], -5);
  assert.equal(md['x.f32'], Math.fround(1e-5));
  assert.equal(md['x.bool'], true);
  assert.deepEqual(md['x.strs'], ['a', 'Ġb', '<|im_end|>', '']);
  assert.deepEqual(md['x.i32s'], [1, 3, 6]);
  assert.deepEqual(md['x.f32s'], [0.5, -2]);
  assert.deepEqual(r.tensorInfos.map((t) => [t.name, t.shape.map(Number), t.dtype]), [
    ['norm', [5], 0], ['m.f16', [7, 3], 1], ['m.bf16', [3, 2], 30], ['m.q8', [64, 3], 8],
  ]);
  const bytes = readFileSync(file);
  assert.equal(r.tensorDataOffset % BigInt(GGUF_ALIGNMENT), 0n);
  const at = (i: number, n: number) => {
    const off = Number(r.tensorDataOffset + r.tensorInfos[i].offset);
    assert.equal(off % GGUF_ALIGNMENT, 0);
    return new Uint8Array(bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + n));
  };
  assert.deepEqual(new Float32Array(at(0, 20).buffer), norm);
  const f16 = f16ToF32(new Uint16Array(at(1, 42).buffer));
  f16.forEach((v, i) => assert.ok(Math.abs(v - f16v[i]) <= 1e-3 * Math.abs(f16v[i]) + 1e-7, `f16 ${i}`));
  const bf = bf16ToF32(new Uint16Array(at(2, 12).buffer));
  bf.forEach((v, i) => assert.ok(Math.abs(v - values(6, 2)[i]) <= 8e-3 * Math.abs(values(6, 2)[i]), `bf16 ${i}`));
  // q8_0: 6 blocks of (f16 scale, 32 int8).
  const q = at(3, 6 * 34);
  const view = new DataView(q.buffer);
  const want = q8v;
  for (let b = 0; b < 6; b++) {
    const d = f16ToF32(new Uint16Array([view.getUint16(b * 34, true)]))[0];
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(want[b * 32 + i]));
    assert.ok(Math.abs(d - amax / 127) <= 1e-3 * amax / 127, `block ${b} scale`);
    for (let i = 0; i < 32; i++) {
      const v = d * view.getInt8(b * 34 + 2 + i);
      // half a step, plus the f16 rounding of d times |q| <= 127
      assert.ok(Math.abs(v - want[b * 32 + i]) <= 0.5 * d + 127 * d * 1e-3, `block ${b} value ${i}: ${v} vs ${want[b * 32 + i]}`);
    }
  }
});

test('bad input is refused before anything is written, naming the key or tensor', async () => {
  const file = path.join(dir, 'bad.gguf');
  await assert.rejects(writeGguf(file, [['k', gv.u32(-1)]], []), (e: unknown) => e instanceof GgufWriteError && /"k"/.test(e.message));
  await assert.rejects(writeGguf(file, [], [{ name: 'q', shape: [2, 20], dtype: 'Q8_0', data: values(40, 0) }]), (e: unknown) => e instanceof GgufWriteError && /"q".*multiple of 32/.test(e.message));
  // A data length that does not fit the shape is found while writing: the temp file is removed.
  await assert.rejects(writeGguf(file, [], [{ name: 't', shape: [2, 2], dtype: 'F32', data: values(3, 0) }]), (e: unknown) => e instanceof GgufWriteError && /"t": 3 values/.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('bad')), []);
});
