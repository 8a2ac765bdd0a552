// Safetensors dtype table and the float16 / bfloat16 <-> float32 conversions.
// Rounding is to nearest, ties to even, as in PyTorch, so finite values we write from float32 are
// byte-identical to what `tensor.to(torch.bfloat16 / torch.float16)` saves. NaNs keep their sign
// and top payload bits instead of being canonicalised (PyTorch 1.13 turns every NaN into 0xFFFF
// for bf16), which makes bf16 -> f32 -> bf16 and f16 -> f32 -> f16 exact for every bit pattern.

/** Dtypes this library reads into typed arrays and writes. */
export type DType = 'F32' | 'F16' | 'BF16' | 'I8' | 'U8' | 'I16' | 'I32' | 'I64' | 'BOOL';
/** Further dtypes with a native typed array: read and written too. */
export type WideDType = 'F64' | 'U16' | 'U32' | 'U64';
/** Dtypes the format defines that we can only pass through as raw bytes. */
export type OpaqueDType =
  | 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0' | 'F8_E4M3FNUZ' | 'F8_E5M2FNUZ' | 'C64' | 'F4' | 'F6_E2M3' | 'F6_E3M2';
/** Every dtype name a safetensors header may carry. */
export type AnyDType = DType | WideDType | OpaqueDType;

export type TypedArray =
  | Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array | Int16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

interface DTypeSpec {
  bits: number;
  /** Position in the reference Rust `Dtype` enum, whose derived order the writer sorts by (descending). */
  rank: number;
  /** Typed array holding the raw elements, when there is one. */
  array?: { new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArray; BYTES_PER_ELEMENT: number };
}

// Order of the reference enum (BOOL < U8 < I8 < F8 < I16 < U16 < F16 < BF16 < I32 < U32 < F32 < F64 < I64 < U64);
// the newer sub-byte and complex types only matter for ordering among themselves, which we never write.
export const DTYPES: Record<AnyDType, DTypeSpec> = {
  BOOL: { bits: 8, rank: 0, array: Uint8Array },
  F4: { bits: 4, rank: 1 },
  F6_E2M3: { bits: 6, rank: 2 },
  F6_E3M2: { bits: 6, rank: 3 },
  U8: { bits: 8, rank: 4, array: Uint8Array },
  I8: { bits: 8, rank: 5, array: Int8Array },
  F8_E5M2: { bits: 8, rank: 6 },
  F8_E4M3: { bits: 8, rank: 7 },
  F8_E8M0: { bits: 8, rank: 8 },
  F8_E4M3FNUZ: { bits: 8, rank: 9 },
  F8_E5M2FNUZ: { bits: 8, rank: 10 },
  I16: { bits: 16, rank: 11, array: Int16Array },
  U16: { bits: 16, rank: 12, array: Uint16Array },
  F16: { bits: 16, rank: 13, array: Uint16Array },
  BF16: { bits: 16, rank: 14, array: Uint16Array },
  I32: { bits: 32, rank: 15, array: Int32Array },
  U32: { bits: 32, rank: 16, array: Uint32Array },
  F32: { bits: 32, rank: 17, array: Float32Array },
  F64: { bits: 64, rank: 18, array: Float64Array },
  I64: { bits: 64, rank: 19, array: BigInt64Array },
  U64: { bits: 64, rank: 20, array: BigUint64Array },
  C64: { bits: 64, rank: 21 },
};

export function isAnyDType(s: unknown): s is AnyDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
}

/** True for dtypes with a typed array (readable by `read`/`readF32`, writable from typed arrays). */
export function hasTypedArray(d: AnyDType): d is DType | WideDType {
  return DTYPES[d].array !== undefined;
}

// One shared scratch word reinterprets a float's bits without allocating.
const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

function u32View(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

export function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) {
    // NaN: truncate; if the payload lived only in the dropped bits, set the quiet bit so it is not Inf.
    const hi = bits >>> 16;
    return (hi & 0x7f) !== 0 ? hi : hi | 0x40;
  }
  // Adding 0x7FFF plus the lowest kept bit rounds to nearest, ties to even; a carry out of the
  // mantissa bumps the exponent, which is exactly the overflow to Inf that rounding requires.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 -> bfloat16 bit patterns, round to nearest even; NaN stays NaN. */
export function f32ToBf16(x: Float32Array): Uint16Array {
  const src = u32View(x);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16(src[i]);
  return out;
}

/** bfloat16 bit patterns -> float32 (exact). */
export function bf16ToF32(x: Uint16Array): Float32Array {
  const out = new Float32Array(x.length);
  const bits = u32View(out);
  for (let i = 0; i < x.length; i++) bits[i] = x[i] << 16;
  return out;
}

export function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00; // Inf
    const m = mant >>> 13; // NaN: keep the top payload bits, quiet bit if nothing else survives
    return sign | 0x7c00 | (m !== 0 ? m : 0x200);
  }
  if (exp >= 0x8f) return sign | 0x7c00; // |x| >= 2^16: beyond the largest finite half
  if (exp <= 0x70) {
    // Result is a half subnormal (or zero): value = m * 2^-24 with m = full >> shift.
    if (exp < 0x66) return sign; // |x| < 2^-25 rounds to zero
    const full = mant | 0x800000;
    const shift = 0x7e - exp; // 14..24
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m; // m may reach 0x400, the smallest normal, which is the right encoding
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1) === 1)) m++;
  // A mantissa carry runs into the exponent; from the top binade that yields 0x7C00 = Inf, as it should.
  return sign | (((exp - 0x70) << 10) + m);
}

/** float32 -> float16 bit patterns, round to nearest even, subnormals kept, overflow to Inf. */
export function f32ToF16(x: Float32Array): Uint16Array {
  const src = u32View(x);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16(src[i]);
  return out;
}

/** float16 bits -> float32 bits. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    scratchF[0] = mant * 5.960464477539063e-8; // subnormal: mant * 2^-24, exact in float32
    return (scratchU[0] | sign) >>> 0;
  }
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  return (sign | ((exp + 0x70) << 23) | (mant << 13)) >>> 0;
}

export function f16BitsToF32(h: number): number {
  scratchU[0] = f16BitsToF32Bits(h);
  return scratchF[0];
}

// Kept as bits, not floats: storing a NaN through a float may canonicalise its payload.
let f16Table: Uint32Array | undefined;
function halfTable(): Uint32Array {
  if (f16Table === undefined) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

/** float16 bit patterns -> float32 (exact, NaN payloads kept). */
export function f16ToF32(x: Uint16Array): Float32Array {
  const t = halfTable();
  const out = new Float32Array(x.length);
  const ob = u32View(out);
  for (let i = 0; i < x.length; i++) ob[i] = t[x[i]];
  return out;
}

/**
 * Raw little-endian bytes of one dtype -> float32 values, written into `out` at `outOffset`.
 * `bytes` must start on a fresh buffer (byteOffset a multiple of the element size).
 */
export function bytesToF32(dtype: DType | WideDType, bytes: Uint8Array, out: Float32Array, outOffset: number): void {
  const spec = DTYPES[dtype];
  const n = (bytes.byteLength * 8) / spec.bits;
  const src = new spec.array!(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  switch (dtype) {
    case 'BF16': {
      const ob = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, n);
      const s = src as Uint16Array;
      for (let i = 0; i < n; i++) ob[i] = s[i] << 16;
      return;
    }
    case 'F16': {
      const tb = halfTable();
      const ob = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, n);
      const s = src as Uint16Array;
      for (let i = 0; i < n; i++) ob[i] = tb[s[i]];
      return;
    }
    case 'BOOL': {
      const s = src as Uint8Array;
      for (let i = 0; i < n; i++) out[outOffset + i] = s[i] !== 0 ? 1 : 0;
      return;
    }
    case 'I64':
    case 'U64': {
      const s = src as BigInt64Array | BigUint64Array;
      for (let i = 0; i < n; i++) out[outOffset + i] = Number(s[i]);
      return;
    }
    default: {
      const s = src as Exclude<TypedArray, BigInt64Array | BigUint64Array>;
      out.set(s, outOffset);
    }
  }
}
