// Writing one safetensors file the way the reference Rust writer lays it out (so files are
// byte-identical to `safetensors.torch.save_file`): tensors sorted by dtype (descending, in the
// reference enum order, i.e. by alignment) then by name, compact JSON with __metadata__ first,
// header padded with spaces to a multiple of 8. The write is atomic: temp file, fsync, rename.
import { SafetensorsWriteError } from '../errors.ts';
import { DTYPES, f32ToBf16, f32ToF16, isAnyDType, type AnyDType } from './dtypes.ts';
import { byteSize, MAX_HEADER_BYTES } from './safetensors-header.ts';
import { writeFileAtomic } from './atomic.ts';

// The old name, still imported by src/report/write.ts.
export { writeFileAtomic as writeAtomic } from './atomic.ts';

export interface TensorToWrite {
  name: string;
  dtype: AnyDType;
  shape: number[];
  /**
   * Elements in the dtype's native typed array (BigInt64Array for I64, Uint16Array bit patterns for
   * F16/BF16, Uint8Array of 0/1 for BOOL), or a Float32Array for F16/BF16 (converted, round to
   * nearest even), or a Uint8Array of the exact little-endian bytes for any dtype.
   */
  data: ArrayBufferView;
}

interface Prepared {
  name: string;
  dtype: AnyDType;
  shape: number[];
  bytes: Uint8Array;
}

const encoder = new TextEncoder();

/** Validates the tensors and turns each into its byte view; conversions happen here. */
export function prepareTensors(file: string, tensors: TensorToWrite[]): Prepared[] {
  const seen = new Set<string>();
  return tensors.map((t) => {
    const { name, dtype, shape, data } = t;
    if (typeof name !== 'string') throw new SafetensorsWriteError(file, `tensor name must be a string, got ${JSON.stringify(name)}`);
    if (name === '__metadata__') throw new SafetensorsWriteError(file, 'the name "__metadata__" is reserved', name);
    if (seen.has(name)) throw new SafetensorsWriteError(file, 'duplicate tensor name', name);
    seen.add(name);
    if (!isAnyDType(dtype)) throw new SafetensorsWriteError(file, `unknown dtype "${String(dtype)}"`, name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsWriteError(file, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, name);
    }
    if (!ArrayBuffer.isView(data)) throw new SafetensorsWriteError(file, 'data must be a typed array', name);
    const bytes = toBytes(file, name, dtype, data);
    const expected = byteSize(file, { name, dtype, shape });
    if (bytes.byteLength !== expected) {
      throw new SafetensorsWriteError(file, `shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes, data has ${bytes.byteLength}`, name);
    }
    if (dtype === 'BOOL' && !bytes.every((b) => b === 0 || b === 1)) {
      throw new SafetensorsWriteError(file, 'BOOL data must hold only 0 and 1', name);
    }
    return { name, dtype, shape: [...shape], bytes };
  });
}

function toBytes(file: string, name: string, dtype: AnyDType, data: ArrayBufferView): Uint8Array {
  const asBytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (data instanceof Uint8Array) return asBytes(data); // raw bytes, or native for U8/BOOL
  if (data instanceof Float32Array && (dtype === 'BF16' || dtype === 'F16')) {
    return asBytes(dtype === 'BF16' ? f32ToBf16(data) : f32ToF16(data));
  }
  const native = DTYPES[dtype].array;
  if (native !== undefined && data instanceof native) return asBytes(data);
  const kind = data.constructor.name;
  throw new SafetensorsWriteError(
    file,
    `dtype ${dtype} takes ${native ? native.name : 'raw bytes'}${dtype === 'BF16' || dtype === 'F16' ? ', Float32Array' : ''} or Uint8Array (raw bytes), got ${kind}`,
    name,
  );
}

/** Compares names as the reference does (Rust String order = UTF-8 byte order). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Sorts in writer order and builds the padded header; returns the bytes to write in order. */
export function layout(tensors: Prepared[], metadata?: Record<string, string>, file = '<memory>'): { header: Uint8Array; order: Prepared[] } {
  const order = [...tensors].sort((a, b) => DTYPES[b.dtype].rank - DTYPES[a.dtype].rank || byteOrder(a.name, b.name));
  // Built by hand: JSON.stringify of an object would move integer-like names ("0", "1") first.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(byteOrder);
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') throw new SafetensorsWriteError(file, `metadata value for "${k}" must be a string`);
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of order) {
    const end = offset + t.bytes.byteLength;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = encoder.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new SafetensorsWriteError(file, `header would be ${padded} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  const header = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, order };
}

/** Serialises to one in-memory buffer (small files and tests). */
export function serializeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const { header, order } = layout(prepareTensors('<memory>', tensors), metadata);
  const total = header.byteLength + order.reduce((s, t) => s + t.bytes.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.byteLength;
  for (const t of order) {
    out.set(t.bytes, pos);
    pos += t.bytes.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically: temp file beside it, fsync, rename. */
export async function writeSafetensors(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  const { header, order } = layout(prepareTensors(file, tensors), metadata, file);
  await writeFileAtomic(file, [header, ...order.map((t) => t.bytes)]);
}
