// One safetensors file, read tensor by tensor at its offset: a multi-GB checkpoint is never
// loaded into one buffer, only the tensor asked for.
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { PlatformUnsupported, SafetensorsDtypeError, SafetensorsLayoutError, SafetensorsTensorNotFound } from '../errors.ts';
import { bytesToF32, DTYPES, hasTypedArray, type TypedArray } from './dtypes.ts';
import { checkPrefix, elementCount, parseHeader, type TensorInfo } from './safetensors-header.ts';

// Typed-array views reinterpret bytes in host order; safetensors data is little-endian.
if (endianness() !== 'LE') throw new PlatformUnsupported('tokenpipe safetensors I/O needs a little-endian host');

/** Largest single read: stays under the 2 GiB limit of one fs read, and bounds conversion scratch. */
const READ_CHUNK = 1 << 26;

export interface OpenOptions {
  /** Bytes per read call (default 64 MiB); small values exercise the chunked path in tests. */
  readChunkBytes?: number;
}

export class SafetensorsFile {
  private readonly byName: Map<string, TensorInfo>;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly metadata: Record<string, string>,
    private readonly list: TensorInfo[],
    /** Header length N; the data buffer starts at byte 8 + N. */
    readonly headerLength: number,
    private readonly chunk: number,
  ) {
    this.byName = new Map(list.map((t) => [t.name, t]));
  }

  static async open(path: string, opts: OpenOptions = {}): Promise<SafetensorsFile> {
    const chunk = opts.readChunkBytes ?? READ_CHUNK;
    if (!(Number.isSafeInteger(chunk) && chunk > 0)) throw new RangeError(`readChunkBytes must be a positive integer, got ${chunk}`);
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const prefix = await readAt(handle, path, 0, Math.min(8, size), READ_CHUNK);
      const n = checkPrefix(path, prefix, size);
      const header = await readAt(handle, path, 8, n, READ_CHUNK);
      const parsed = parseHeader(path, header, size);
      return new SafetensorsFile(path, handle, parsed.metadata, parsed.tensors, parsed.headerLength, chunk);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Tensors in file order (by offset). */
  tensors(): TensorInfo[] {
    return this.list.map((t) => ({ ...t, shape: [...t.shape] }));
  }

  names(): string[] {
    return this.list.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (t === undefined) throw new SafetensorsTensorNotFound(this.path, name);
    return { ...t, shape: [...t.shape] };
  }

  /** The tensor's exact bytes in a fresh buffer (byteOffset 0, so any typed view is aligned). */
  async readRaw(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return readAt(this.handle, this.path, t.offset, t.byteLength, this.chunk, name);
  }

  /** Native typed array: I64 -> BigInt64Array, F16/BF16 -> Uint16Array (bit patterns), BOOL -> Uint8Array. */
  async read(name: string): Promise<TypedArray> {
    const t = this.info(name);
    const spec = DTYPES[t.dtype];
    if (spec.array === undefined) {
      throw new SafetensorsDtypeError(this.path, name, `dtype ${t.dtype} has no typed array here; use readRaw`);
    }
    const raw = await this.readRaw(name);
    return new spec.array(raw.buffer as ArrayBuffer, 0, elementCount(t.shape));
  }

  /**
   * float32 values handed to `write(values, offset)` piece by piece (about one read chunk each), so a caller can put
   * them where they belong (a tensor's memory) without a whole-tensor copy in between. `values` is reused: copy it.
   */
  async readF32Chunks(name: string, write: (values: Float32Array, offset: number) => void): Promise<void> {
    const t = this.info(name);
    const dtype = t.dtype;
    if (!hasTypedArray(dtype)) {
      throw new SafetensorsDtypeError(this.path, name, `cannot convert dtype ${dtype} to float32; use readRaw`);
    }
    const elemBytes = DTYPES[dtype].bits / 8;
    const total = elementCount(t.shape);
    const chunkElems = Math.max(1, Math.floor(this.chunk / elemBytes));
    const out = new Float32Array(Math.min(chunkElems, total));
    for (let i = 0; i < total; i += chunkElems) {
      const n = Math.min(chunkElems, total - i);
      const bytes = await readAt(this.handle, this.path, t.offset + i * elemBytes, n * elemBytes, this.chunk, name);
      const piece = n === out.length ? out : out.subarray(0, n);
      bytesToF32(dtype, bytes, piece, 0);
      write(piece, i);
    }
  }

  /** float32 values: F32 as stored, F16/BF16 upcast exactly, integers and BOOL converted. */
  async readF32(name: string): Promise<Float32Array> {
    const t = this.info(name);
    const dtype = t.dtype;
    if (!hasTypedArray(dtype)) {
      throw new SafetensorsDtypeError(this.path, name, `cannot convert dtype ${dtype} to float32; use readRaw`);
    }
    if (dtype === 'F32') {
      const raw = await this.readRaw(name);
      return new Float32Array(raw.buffer as ArrayBuffer, 0, raw.byteLength / 4);
    }
    // Convert chunk by chunk so a large bf16 tensor never needs its raw bytes and its float32 copy at once.
    const elemBytes = DTYPES[dtype].bits / 8;
    const out = new Float32Array(elementCount(t.shape));
    const chunkElems = Math.max(1, Math.floor(this.chunk / elemBytes));
    for (let i = 0; i < out.length; i += chunkElems) {
      const n = Math.min(chunkElems, out.length - i);
      const bytes = await readAt(this.handle, this.path, t.offset + i * elemBytes, n * elemBytes, this.chunk, name);
      bytesToF32(dtype, bytes, out, i);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Reads exactly `length` bytes at `position` into a fresh buffer, in chunks. */
async function readAt(handle: FileHandle, path: string, position: number, length: number, chunk: number, tensor?: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const want = Math.min(chunk, length - done);
    const { bytesRead } = await handle.read(out, done, want, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsLayoutError(path, tensor, `file ended after ${position + done} bytes while reading ${length} bytes at ${position} (was it truncated while open?)`);
    }
    done += bytesRead;
  }
  return out;
}
