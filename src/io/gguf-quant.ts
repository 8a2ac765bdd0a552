// Tensor encodings of a GGUF file (ggml types), from float32 rows: F32, F16, BF16 and Q8_0.
// Q8_0 is ggml's block_q8_0: blocks of 32 values along a row, each a float16 scale d = max|x|/127
// followed by 32 int8 q = round(x/d) (half away from zero), 34 bytes a block, as gguf-py's
// quants.py writes it (d computed in float32, 1/d applied, d == 0 gives all-zero q).
import { f32ToBf16, f32ToF16, f32BitsToF16 } from './dtypes.ts';

export type GgufDType = 'F32' | 'F16' | 'BF16' | 'Q8_0';

/** ggml_type ids (ggml.h). */
export const GGML_TYPE: Record<GgufDType, number> = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 };

export const Q8_0_BLOCK = 32;
const Q8_0_BYTES = 2 + Q8_0_BLOCK;

/** Bytes of `n` values of `dtype` (n a multiple of 32 for Q8_0). */
export function ggufByteLength(dtype: GgufDType, n: number): number {
  if (dtype === 'Q8_0') return (n / Q8_0_BLOCK) * Q8_0_BYTES;
  return n * (dtype === 'F32' ? 4 : 2);
}

/** The bytes of `x` (rows of the innermost dimension, row length a multiple of 32 for Q8_0). */
export function encodeGguf(dtype: GgufDType, x: Float32Array): Uint8Array {
  switch (dtype) {
    case 'F32':
      return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    case 'F16': {
      const h = f32ToF16(x);
      return new Uint8Array(h.buffer);
    }
    case 'BF16': {
      const b = f32ToBf16(x);
      return new Uint8Array(b.buffer);
    }
    case 'Q8_0':
      return quantizeQ8_0(x);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** ggml's roundf: half away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % Q8_0_BLOCK !== 0) throw new RangeError(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${x.length}`);
  const blocks = x.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(x[base + i]));
    // float32 arithmetic like numpy's on float32 arrays: d and 1/d are rounded to float32.
    const d = Math.fround(amax / 127);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    f32[0] = d;
    const o = b * Q8_0_BYTES;
    view.setUint16(o, f32BitsToF16(u32[0]), true);
    for (let i = 0; i < Q8_0_BLOCK; i++) view.setInt8(o + 2 + i, roundHalfAway(Math.fround(x[base + i] * id)));
  }
  return out;
}
