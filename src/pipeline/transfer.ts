// Finds the ArrayBuffers an item can hand over to another thread instead of copying.
//
// Only a buffer the item owns outright is transferred: a typed array that spans its whole
// buffer, or a bare ArrayBuffer. A view into a larger buffer (Node's Buffer pool, a
// subarray of a shared slab) is replaced by a fresh copy first: transferring the slab
// would detach every other view on it, and pooled Buffers are marked untransferable and
// throw DataCloneError (node#32759, node#47604). The item is edited in place: sending it
// passes ownership, the sender must not touch it afterwards.
import * as wt from 'node:worker_threads';

export interface Prepared<T> {
  value: T;
  transfer: ArrayBuffer[];
}

const MAX_DEPTH = 8;

export function prepareTransfer<T>(value: T): Prepared<T> {
  const transfer = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const out = visit(value, transfer, seen, 0) as T;
  return { value: out, transfer: [...transfer] };
}

function visit(v: unknown, transfer: Set<ArrayBuffer>, seen: Set<object>, depth: number): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof ArrayBuffer) {
    if (v.byteLength > 0 && !untransferable(v)) transfer.add(v);
    return v;
  }
  if (ArrayBuffer.isView(v)) {
    const buf = v.buffer;
    // SharedArrayBuffer is shared memory already; nothing to move.
    if (!(buf instanceof ArrayBuffer) || v.byteLength === 0) return v;
    if (v.byteOffset === 0 && v.byteLength === buf.byteLength && !untransferable(buf)) {
      transfer.add(buf);
      return v;
    }
    const copy = copyView(v);
    transfer.add(copy.buffer as ArrayBuffer);
    return copy;
  }
  if (depth >= MAX_DEPTH || seen.has(v)) return v;
  seen.add(v);
  if (Array.isArray(v)) {
    // A list of numbers or strings holds no buffers; skip walking long ones.
    if (v.length > 0 && (v[0] === null || typeof v[0] !== 'object')) return v;
    for (let i = 0; i < v.length; i++) v[i] = visit(v[i], transfer, seen, depth + 1);
    return v;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) v.set(k, visit(x, transfer, seen, depth + 1));
    return v;
  }
  const rec = v as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    const x = rec[k];
    if (x !== null && typeof x === 'object') rec[k] = visit(x, transfer, seen, depth + 1);
  }
  return v;
}

function copyView(v: ArrayBufferView): ArrayBufferView {
  if (v instanceof DataView) {
    return new DataView((v.buffer as ArrayBuffer).slice(v.byteOffset, v.byteOffset + v.byteLength));
  }
  // Buffer's own constructor may allocate from the pool again, and a Buffer arrives on the
  // other side as a plain Uint8Array anyway.
  if (typeof Buffer !== 'undefined' && Buffer.isBuffer(v)) return new Uint8Array(v);
  const Ctor = (v as unknown as { constructor: new (src: ArrayBufferView) => ArrayBufferView }).constructor;
  return new Ctor(v);
}

// Node >= 21 can tell; on Node 20 pooled Buffers are always partial views, handled above.
const isMarked = (wt as { isMarkedAsUntransferable?: (o: object) => boolean }).isMarkedAsUntransferable;
function untransferable(buf: ArrayBuffer): boolean {
  return isMarked ? isMarked(buf) : false;
}
