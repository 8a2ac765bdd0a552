// A GGUF v3 file writer (the format llama.cpp loads): header, typed key/value metadata, tensor
// infos, then each tensor's data at a 32-byte aligned offset. Everything little-endian. Tensor
// dims are given outer-first, as Hugging Face/safetensors write them ([out, in]); GGUF lists them
// innermost-first (ggml's ne[0] is the row length), so the writer reverses them.
//
// The file is written under a temporary name beside the target and renamed when complete; tensor
// data is encoded one tensor at a time (`data` may be a function), so only one encoded copy lives.
import { open, rename, rm } from 'node:fs/promises';
import { GgufWriteError } from '../errors.ts';
import { tempPath } from './atomic.ts';
import { encodeGguf, ggufByteLength, GGML_TYPE, Q8_0_BLOCK, type GgufDType } from './gguf-quant.ts';

export const GGUF_ALIGNMENT = 32;
const WRITE_SLICE = 64 * 2 ** 20;

/** gguf_type ids of metadata values. */
const T = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
type Scalar = 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64' | 'f64';

export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32' | 'u64' | 'f64'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; of: 'string'; value: string[] }
  | { type: 'array'; of: 'u32' | 'i32' | 'f32'; value: ArrayLike<number> };

/** Shorthands for metadata values. */
export const gv = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strs: (value: string[]): GgufValue => ({ type: 'array', of: 'string', value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: 'array', of: 'f32', value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: 'array', of: 'i32', value }),
};

export interface GgufTensor {
  name: string;
  /** Outer-first, like safetensors ([rows, cols]); the row length is the last dim. */
  shape: number[];
  dtype: GgufDType;
  /** float32 values in row-major order, or a function giving them when the tensor is written. */
  data: Float32Array | (() => Float32Array | Promise<Float32Array>);
}

/** Growable little-endian byte buffer for the header. */
class Bytes {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number) { this.room(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number) { this.room(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number) { this.room(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number) { this.room(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: number) { this.room(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  u8(v: number) { this.room(1); this.buf[this.length++] = v; }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }
  pad(align: number) { while (this.length % align !== 0) this.u8(0); }
  bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

function writeScalar(b: Bytes, type: Scalar, v: number | boolean | string): void {
  switch (type) {
    case 'u32': b.u32(v as number); break;
    case 'i32': b.i32(v as number); break;
    case 'f32': b.f32(v as number); break;
    case 'u64': b.u64(v as number); break;
    case 'f64': b.f64(v as number); break;
    case 'bool': b.u8(v ? 1 : 0); break;
    case 'string': b.str(v as string); break;
  }
}

function checkValue(file: string, key: string, v: GgufValue): void {
  const bad = (why: string) => new GgufWriteError(file, `metadata "${key}": ${why}`);
  const intOk = (n: number, t: string) =>
    Number.isInteger(n) && (t === 'u32' ? n >= 0 && n <= 0xffffffff : t === 'i32' ? n >= -0x80000000 && n <= 0x7fffffff : t === 'u64' ? n >= 0 : true);
  if (v.type === 'array') {
    if (v.of !== 'string' && v.of !== 'f32') for (let i = 0; i < v.value.length; i++) if (!intOk(v.value[i] as number, v.of)) throw bad(`element ${i} (${v.value[i]}) is not a ${v.of}`);
  } else if (v.type === 'u32' || v.type === 'i32' || v.type === 'u64') {
    if (!intOk(v.value, v.type)) throw bad(`${v.value} is not a ${v.type}`);
  } else if ((v.type === 'f32' || v.type === 'f64') && !Number.isFinite(v.value)) throw bad(`${v.value} is not a finite number`);
}

/** Writes `file` (atomically): metadata in the given order, then the tensors in the given order. */
export async function writeGguf(file: string, metadata: Array<[string, GgufValue]>, tensors: GgufTensor[]): Promise<{ bytes: number }> {
  const names = new Set<string>();
  for (const [k, v] of metadata) {
    if (names.has(k)) throw new GgufWriteError(file, `metadata key "${k}" given twice`);
    names.add(k);
    checkValue(file, k, v);
  }
  const h = new Bytes();
  h.u32(0x46554747); // "GGUF"
  h.u32(3);
  h.u64(tensors.length);
  h.u64(metadata.length);
  for (const [k, v] of metadata) {
    h.str(k);
    h.u32(T[v.type]);
    if (v.type === 'array') {
      h.u32(T[v.of]);
      h.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) writeScalar(h, v.of, v.value[i]);
    } else writeScalar(h, v.type, v.value);
  }
  let offset = 0;
  const seen = new Set<string>();
  const sizes: number[] = [];
  for (const t of tensors) {
    if (seen.has(t.name)) throw new GgufWriteError(file, `tensor "${t.name}" given twice`);
    seen.add(t.name);
    if (t.shape.length < 1 || t.shape.length > 4 || t.shape.some((d) => !Number.isInteger(d) || d < 1)) throw new GgufWriteError(file, `tensor "${t.name}": bad shape [${t.shape}]`);
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (t.dtype === 'Q8_0' && t.shape[t.shape.length - 1] % Q8_0_BLOCK !== 0) {
      throw new GgufWriteError(file, `tensor "${t.name}": Q8_0 needs rows of a multiple of ${Q8_0_BLOCK} values, shape [${t.shape}]`);
    }
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(GGML_TYPE[t.dtype]);
    h.u64(offset);
    const size = ggufByteLength(t.dtype, n);
    sizes.push(size);
    offset += Math.ceil(size / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
  }
  h.pad(GGUF_ALIGNMENT);

  const tmp = tempPath(file);
  const fh = await open(tmp, 'wx');
  let pos = 0;
  // In slices, looping on short writes: one write(2) moves at most ~2 GiB, less than a large
  // vocabulary's f32 embedding (Llama 3: 128256 x 4096 x 4 bytes).
  const put = async (b: Uint8Array) => {
    for (let o = 0; o < b.length; ) {
      const { bytesWritten } = await fh.write(b, o, Math.min(b.length - o, WRITE_SLICE), pos);
      o += bytesWritten;
      pos += bytesWritten;
    }
  };
  try {
    await put(h.bytes());
    const zeros = new Uint8Array(GGUF_ALIGNMENT);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      const values = typeof t.data === 'function' ? await t.data() : t.data;
      const n = t.shape.reduce((a, d) => a * d, 1);
      if (values.length !== n) throw new GgufWriteError(file, `tensor "${t.name}": ${values.length} values for shape [${t.shape}]`);
      await put(encodeGguf(t.dtype, values));
      const pad = (GGUF_ALIGNMENT - (sizes[i] % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
      if (pad) await put(zeros.subarray(0, pad));
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  return { bytes: pos };
}
