// Frozen weights for the native engine, held once: in one float32 file (`weights.bin` in a `tokenpipe-weights-*`
// folder under the system temp folder), written straight from the safetensors at load (bf16/f16 upcast there, one
// chunk at a time), page-aligned so ONNX Runtime maps each tensor as ONNX external data. Every session of the model
// (train pass, eval batch shapes, generate) points its model.onnx at this one file instead of copying the weights
// into a serialized model or a file of its own. The host (TF.js) never holds them: the few places that read frozen
// rows (the embedding lookup, token init, a grown 'full' table) read just those rows from the file.
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { asIoFailed } from '../errors.ts';
import { alignUp, writeAllAt } from '../io/onnx-external.ts';
import { pidAlive } from '../util/pid.ts';

const WEIGHTS_FILE = 'weights.bin';
/** Folder names: the prefix, the owning process id, a random tail (so a leftover's owner can be checked). */
const PREFIX = 'tokenpipe-weights-';
const OWNER = new RegExp(`^${PREFIX}(\\d+)-`);

/**
 * Removes the weights folders under `parent` whose process is gone (killed before its exit hook ran): a float32
 * copy of a model, gigabytes each. Folders of running processes are left alone.
 */
function sweepWeightsFolders(parent = tmpdir()): string[] {
  const gone: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return gone;
  }
  for (const name of names) {
    const pid = OWNER.exec(name)?.[1];
    if (pid === undefined || pidAlive(Number(pid))) continue;
    try {
      rmSync(join(parent, name), { recursive: true, force: true });
      gone.push(name);
    } catch { /* another process's sweep, or not ours to remove: leave it */ }
  }
  return gone;
}

/** Folders not removed yet (a model never disposed, or a system that refuses to remove a mapped file): tried at exit. */
const open = new Set<WeightsFile>();
process.once('exit', () => open.forEach((f) => f.remove()));

/** The float32 weights file of one loaded model. Appended to while loading, then read only. */
export class WeightsFile {
  readonly dir: string;
  readonly path: string;
  private fd = -1;
  private end = 0;
  private removed = false;

  constructor(parent = tmpdir()) {
    sweepWeightsFolders(parent);
    try {
      this.dir = mkdtempSync(join(parent, `${PREFIX}${process.pid}-`));
    } catch (e) {
      throw asIoFailed(e, parent, "create the native engine's weights folder in");
    }
    this.path = join(this.dir, WEIGHTS_FILE);
    open.add(this);
    try {
      this.fd = openSync(this.path, 'w+');
    } catch (e) {
      this.remove();
      throw asIoFailed(e, this.path, 'create');
    }
  }

  /** Reserves the next aligned place for `count` floats; `fill` writes them in pieces (offset in floats). */
  async append(name: string, shape: number[], fill: (write: (values: Float32Array, offset: number) => void) => Promise<void>): Promise<DiskTensor> {
    const at = alignUp(this.end);
    const count = shape.reduce((a, b) => a * b, 1);
    this.end = at + count * 4;
    await fill((v, offset) => {
      try {
        writeAllAt(this.fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at + offset * 4);
      } catch (e) {
        // A write error (ENOSPC: a model's float32 copy is gigabytes) names no path of its own.
        throw asIoFailed(e, this.path, `write ${name} into the native engine's weights file`);
      }
    });
    return new DiskTensor(this, name, shape, at);
  }

  /** Reads `length` bytes at `offset` into `into` (at its byte `at`). */
  read(into: Uint8Array, offset: number, length: number, at = 0): void {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, into, at + done, length - done, offset + done);
      // internal: the file was written by this process to at least this length.
      if (n === 0) throw new Error(`${this.path}: short read at ${offset + done}`);
      done += n;
    }
  }

  /** Closes and deletes the file (a runtime that mapped it keeps its mapping where the system allows). Idempotent. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    open.delete(this);
    try {
      closeSync(this.fd);
    } catch { /* already closed */ }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch { /* a folder the system will not remove now: the next load's sweep takes it */ }
  }
}

let nextId = 0;

/**
 * A frozen float32 tensor lying in a WeightsFile. It stands where the model holds a tf.Tensor (`asTensor`): the graph
 * builder reads only its shape and place (onnx-ops.ts `frozen`), host code reads rows through `rows`/`dataSync`. Any
 * TF.js op handed one fails at once (it is not a tf.Tensor): that is a host copy of a frozen weight nobody planned.
 */
export class DiskTensor {
  readonly dtype = 'float32' as const;
  readonly id = `disk${nextId++}`;
  readonly size: number;
  readonly rank: number;

  constructor(readonly file: WeightsFile, readonly name: string, readonly shape: number[], readonly offset: number) {
    this.size = shape.reduce((a, b) => a * b, 1);
    this.rank = shape.length;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** The whole tensor (a session's inline initializer; a 'full' table's trainable copy). */
  dataSync(): Float32Array {
    const out = new Float32Array(this.size);
    this.file.read(new Uint8Array(out.buffer), this.offset, this.byteLength);
    return out;
  }

  /** Rows `ids` of a [V, H] tensor, [ids.length, H]. */
  rows(ids: ArrayLike<number>): Float32Array {
    const H = this.shape[1];
    const out = new Float32Array(ids.length * H);
    const bytes = new Uint8Array(out.buffer);
    for (let i = 0; i < ids.length; i++) this.file.read(bytes, this.offset + ids[i] * H * 4, H * 4, i * H * 4);
    return out;
  }

  /** Rows [r0, r0 + n) of a [V, H] tensor, [n, H]. */
  slab(r0: number, n: number): Float32Array {
    const H = this.shape[1];
    const out = new Float32Array(n * H);
    this.file.read(new Uint8Array(out.buffer), this.offset + r0 * H * 4, n * H * 4);
    return out;
  }

  /** The first `n` rows of a [V, H] tensor, as a tensor of the same file (no copy). */
  firstRows(n: number): DiskTensor {
    return new DiskTensor(this.file, this.name, [n, ...this.shape.slice(1)], this.offset);
  }

  /** Where ONNX external data finds it. */
  location(): { dir: string; location: string; offset: number; length: number } {
    return { dir: this.file.dir, location: WEIGHTS_FILE, offset: this.offset, length: this.byteLength };
  }

  /** The file owns the bytes: nothing to free per tensor. */
  dispose(): void {}

  /** Typed as the tf.Tensor the model's weight fields hold (see the class comment). */
  asTensor<T extends tf.Tensor>(): T {
    return this as unknown as T;
  }
}

export function isDiskTensor(t: unknown): t is DiskTensor {
  return t instanceof DiskTensor;
}
