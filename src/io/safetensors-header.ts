// Parsing and validating a safetensors header, in the order of the reference Rust reader
// (huggingface/safetensors `read_metadata` + `Metadata::validate`), but with one named error
// per failure that says which file, which tensor and what is wrong.
import { SafetensorsDtypeError, SafetensorsHeaderError, SafetensorsLayoutError } from '../errors.ts';
import { DTYPES, isAnyDType, type AnyDType } from './dtypes.ts';

/** The reference reader refuses headers longer than this. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: AnyDType;
  shape: number[];
  /** Absolute file offset of the first byte. */
  offset: number;
  byteLength: number;
  /** Path of the file holding the tensor. */
  file: string;
}

export interface ParsedHeader {
  /** N, the header length in bytes (the data buffer starts at 8 + N). */
  headerLength: number;
  metadata: Record<string, string>;
  /** Sorted by offset. */
  tensors: TensorInfo[];
}

/** Checks the 8-byte prefix against the file size and returns the header length N. */
export function checkPrefix(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new SafetensorsHeaderError(file, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsHeaderError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  }
  if (8n + n > BigInt(fileSize)) {
    throw new SafetensorsHeaderError(file, `header length ${n} runs past the end of the ${fileSize}-byte file`);
  }
  return Number(n);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses header bytes (without the 8-byte prefix) and validates the tensor layout against the
 * file size. Throws SafetensorsHeaderError / SafetensorsDtypeError / SafetensorsLayoutError.
 */
export function parseHeader(file: string, header: Uint8Array, fileSize: number): ParsedHeader {
  let text: string;
  try {
    text = utf8.decode(header);
  } catch {
    throw new SafetensorsHeaderError(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsHeaderError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsHeaderError(file, `header must be a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json === 'object' ? 'null' : typeof json}`);
  }
  const dup = findDuplicateKey(text);
  if (dup !== undefined) {
    throw new SafetensorsHeaderError(
      file,
      dup.parent === undefined ? `duplicate key "${dup.key}"` : `duplicate field "${dup.key}"`,
      dup.parent ?? dup.key,
    );
  }

  const headerLength = header.byteLength;
  const dataStart = 8 + headerLength;
  const bufferSize = fileSize - dataStart;
  const metaPairs: [string, string][] = [];
  const entries: { info: TensorInfo; begin: number; end: number }[] = [];

  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null) continue; // serde reads null as "no metadata"
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new SafetensorsHeaderError(file, '"__metadata__" must be an object mapping strings to strings');
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') {
          throw new SafetensorsHeaderError(file, `"__metadata__" values must be strings; "${k}" is ${JSON.stringify(v)}`);
        }
        metaPairs.push([k, v]);
      }
      continue;
    }
    const { dtype, shape, begin, end } = entryFields(file, name, value);
    entries.push({ info: { name, dtype, shape, offset: dataStart + begin, byteLength: end - begin, file }, begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev = 0;
  let prevName: string | undefined;
  for (const { info, begin, end } of entries) {
    if (begin > prev) {
      throw new SafetensorsLayoutError(file, info.name, `starts at data byte ${begin} but the previous tensor ends at ${prev}: offsets are not contiguous (gap of ${begin - prev} bytes)`);
    }
    if (begin < prev) {
      throw new SafetensorsLayoutError(file, info.name, `data_offsets [${begin}, ${end}] overlap tensor "${prevName}" which ends at ${prev}`);
    }
    if (end < begin) {
      throw new SafetensorsLayoutError(file, info.name, `data_offsets [${begin}, ${end}] end before they begin`);
    }
    const expected = byteSize(file, info);
    if (end - begin !== expected) {
      throw new SafetensorsLayoutError(file, info.name, `shape [${info.shape.join(', ')}] of ${info.dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > bufferSize) {
      throw new SafetensorsLayoutError(file, info.name, `data_offsets [${begin}, ${end}] are out of bounds: the data buffer holds ${bufferSize} bytes`);
    }
    prev = end;
    prevName = info.name;
  }
  if (prev !== bufferSize) {
    throw new SafetensorsLayoutError(file, undefined, `${bufferSize - prev} trailing bytes after the last tensor (tensors end at data byte ${prev}, buffer is ${bufferSize} bytes)`);
  }
  // fromEntries defines own properties, so even a "__proto__" key stays plain data.
  return { headerLength, metadata: Object.fromEntries(metaPairs), tensors: entries.map((e) => e.info) };
}

function entryFields(file: string, name: string, value: unknown): { dtype: AnyDType; shape: number[]; begin: number; end: number } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsHeaderError(file, 'entry must be an object with "dtype", "shape" and "data_offsets"', name);
  }
  const v = value as Record<string, unknown>;
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!(field in v)) throw new SafetensorsHeaderError(file, `entry lacks "${field}"`, name);
  }
  if (typeof v.dtype !== 'string') {
    throw new SafetensorsHeaderError(file, `"dtype" must be a string, got ${JSON.stringify(v.dtype)}`, name);
  }
  if (!isAnyDType(v.dtype)) {
    throw new SafetensorsDtypeError(file, name, `unknown dtype "${v.dtype}" (known: ${Object.keys(DTYPES).join(', ')})`);
  }
  if (!Array.isArray(v.shape) || !v.shape.every(isIndex)) {
    throw new SafetensorsHeaderError(file, `"shape" must be an array of non-negative integers, got ${JSON.stringify(v.shape)}`, name);
  }
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isIndex)) {
    throw new SafetensorsHeaderError(file, `"data_offsets" must be [begin, end] with non-negative integers, got ${JSON.stringify(offs)}`, name);
  }
  return { dtype: v.dtype, shape: v.shape as number[], begin: offs[0] as number, end: offs[1] as number };
}

function isIndex(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Bytes a tensor of this shape and dtype occupies; errors when it overflows or is not whole bytes. */
export function byteSize(file: string, t: { name: string; dtype: AnyDType; shape: number[] }): number {
  let n = 1n;
  for (const d of t.shape) n *= BigInt(d);
  const bits = n * BigInt(DTYPES[t.dtype].bits);
  if (bits % 8n !== 0n) {
    throw new SafetensorsLayoutError(file, t.name, `shape [${t.shape.join(', ')}] of ${t.dtype} is ${bits} bits, not a whole number of bytes`);
  }
  const bytes = bits / 8n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new SafetensorsLayoutError(file, t.name, `shape [${t.shape.join(', ')}] is too large`);
  }
  return Number(bytes);
}

export function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * JSON.parse keeps the last of duplicate keys silently; the reference rejects duplicates. This
 * scans already-valid JSON text and returns the first key repeated within one object.
 */
export function findDuplicateKey(text: string): { key: string; parent?: string } | undefined {
  type Frame = { keys: Set<string> | null; expectKey: boolean; lastKey?: string };
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push({ keys: new Set(), expectKey: true });
    else if (c === 0x5b /* [ */) stack.push({ keys: null, expectKey: false });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === 0x3a /* : */) {
      const top = stack[stack.length - 1];
      if (top) top.expectKey = false;
    } else if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) {
          const parent = stack.length >= 2 ? stack[stack.length - 2].lastKey : undefined;
          return { key, parent: stack.length === 1 ? undefined : parent };
        }
        top.keys.add(key);
        top.lastKey = key;
      }
    }
  }
  return undefined;
}
