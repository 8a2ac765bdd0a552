// Piece → token ids in shared memory: every pool thread that tokenizes with one tokenizer reads
// and fills the same table. With a cache per thread, each thread met the corpus's vocabulary on its
// own: two threads computed a quarter more cache misses than one (the Brown corpus has 52.7k
// distinct pieces, each half about 33k), and a miss (byte-level mapping and BPE merges, ~10 µs)
// is most of what encoding a cold corpus costs. The table is also invisible to the garbage
// collector: no string or array per cached piece survives into the heap.
//
// Append-only and lock-free. A writer reserves arena space with Atomics.add, in blocks it then fills
// on its own (a counter every thread bumped on every insert kept one cache line moving between the
// cores), writes the key's UTF-16 code units and the ids, then claims an empty slot with
// compareExchange (empty → writing), fills it and publishes it (Atomics.store → ready). A reader
// probes with Atomics.load and only trusts ready slots; a slot still being written counts as a
// different key. Two threads that miss on the same piece at once may both insert it: two equal
// entries, the first one found wins. When an arena or the slots run out, nothing more is stored and
// misses are computed every time.

/** What crosses to a pool thread: the shared buffers and an id to tell tables apart. */
export interface SharedPiecesBuffers {
  id: number;
  /** The tokenizer whose pieces it holds (its hash): ids from another tokenizer would be wrong ids. */
  owner: string;
  /** Per slot: state (0 empty, 1 writing, 2 ready), hash, key offset, key length × 2 + kind, ids offset, ids length. */
  slots: SharedArrayBuffer;
  keys: SharedArrayBuffer;
  ids: SharedArrayBuffer;
  /** [key units, ids, entries] reserved by all threads. */
  used: SharedArrayBuffer;
}

const FIELDS = 6;
/** What a thread reserves at once: key units, ids, entries (a few hundred inserts per reservation). */
const KEY_BLOCK = 4096;
const IDS_BLOCK = 1024;
const ENTRY_BLOCK = 256;
/** The arenas, by their index in `used`. */
const KEYS = 0;
const IDS = 1;
const EMPTY = 0;
const WRITING = 1;
const READY = 2;

export interface SharedPiecesSize {
  /** Slots (a power of two); at most half are filled, so probes stay short. */
  slots: number;
  /** UTF-16 code units of all keys. */
  keyUnits: number;
  /** Token ids of all values. */
  ids: number;
}

/** 2^18 slots, 4M key units, 1M ids: 131k pieces, about 18 MB shared by all threads. */
export const DEFAULT_SIZE: SharedPiecesSize = { slots: 1 << 18, keyUnits: 1 << 22, ids: 1 << 20 };

let nextId = 1;

/**
 * A table for `owner`'s pieces. `shared`: pool threads will use it at once (the packer's); a table
 * one thread keeps to itself (an encoder's own) skips writtenOnce: no other core to interrupt, and
 * its pages stay unmapped until used.
 */
export function createSharedPieces(owner: string, size: SharedPiecesSize = DEFAULT_SIZE, shared = true): SharedPiecesBuffers {
  // internal: sizes come from code (DEFAULT_SIZE, tests), not from users.
  if (size.slots & (size.slots - 1)) throw new Error(`shared pieces: slots must be a power of two, got ${size.slots}`);
  return {
    // Distinct across threads that create tables too: the pid and a counter would collide only within one process.
    id: nextId++ + Math.floor(Math.random() * 2 ** 20) * 2 ** 20,
    owner,
    slots: shared ? writtenOnce(size.slots * FIELDS * 4) : new SharedArrayBuffer(size.slots * FIELDS * 4),
    // The arenas are read only where an insert wrote first: their fresh pages need nothing.
    keys: new SharedArrayBuffer(size.keyUnits * 2),
    ids: new SharedArrayBuffer(size.ids * 4),
    used: new SharedArrayBuffer(3 * 4),
  };
}

/**
 * A zeroed SharedArrayBuffer whose pages have been written (for the slots, 6 MB by default, ~4 ms):
 * fresh memory is mapped on first touch, and a page a thread first read (a probe finding an empty
 * slot) is the kernel's shared zero page, which the first write then replaces, flushing every core's
 * TLB with an interrupt. With both pool threads running, those flushes (a VM exit each on this
 * machine) took 5-6 % of their time.
 */
function writtenOnce(bytes: number): SharedArrayBuffer {
  const b = new SharedArrayBuffer(bytes);
  new Uint8Array(b).fill(0);
  return b;
}

export class SharedPieces {
  readonly id: number;
  private readonly slots: Int32Array;
  private readonly keys: Uint16Array;
  private readonly ids: Int32Array;
  private readonly used: Int32Array;
  private readonly mask: number;
  private readonly maxEntries: number;

  constructor(b: SharedPiecesBuffers) {
    this.id = b.id;
    this.slots = new Int32Array(b.slots);
    this.keys = new Uint16Array(b.keys);
    this.ids = new Int32Array(b.ids);
    this.used = new Int32Array(b.used);
    const n = this.slots.length / FIELDS;
    this.mask = n - 1;
    this.maxEntries = n >> 1;
  }

  /** Per arena (0: key units, 1: ids), this thread's reserved and unused range [freeAt, freeEnd). */
  private readonly freeAt = [0, 0];
  private readonly freeEnd = [0, 0];
  /** Entries this thread has reserved and not used. */
  private entries = 0;
  /** A reservation failed: the table is full for this thread, which stops asking (each failed ask
   * still adds to the shared counters, which must not wrap around). */
  private full = false;

  /** Entries stored so far (by all threads): a scan, for tests and reports. */
  get size(): number {
    let n = 0;
    for (let at = 0; at < this.slots.length; at += FIELDS) if (Atomics.load(this.slots, at) === READY) n++;
    return n;
  }

  /** FNV-1a over the UTF-16 code units of text[start, end). */
  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The slot of text[start, end) stored with `kind` (hash h), or -1. */
  find(text: string, start: number, end: number, kind: number, h: number): number {
    const s = this.slots;
    const lenKind = ((end - start) << 1) | kind;
    for (let k = h & this.mask; ; k = (k + 1) & this.mask) {
      const at = k * FIELDS;
      const state = Atomics.load(s, at);
      if (state === EMPTY) return -1;
      if (state === READY && s[at + 1] === h && s[at + 3] === lenKind && this.sameUnits(s[at + 2], text, start, end)) return k;
    }
  }

  /** The ids of slot k are idAt(i) for i in [idsStart(k), idsEnd(k)). */
  idsStart(k: number): number {
    return this.slots[k * FIELDS + 4];
  }
  idsEnd(k: number): number {
    return this.slots[k * FIELDS + 4] + this.slots[k * FIELDS + 5];
  }
  idAt(i: number): number {
    return this.ids[i];
  }

  /** Stores `ids` for text[start, end) with `kind`; false when the table is full. */
  insert(text: string, start: number, end: number, kind: number, h: number, ids: number[]): boolean {
    const len = end - start;
    if (this.full) return false;
    if (this.entries === 0 && !this.reserveEntries()) return false;
    const keyAt = this.take(KEYS, len);
    const idsAt = keyAt < 0 ? -1 : this.take(IDS, ids.length);
    if (idsAt < 0) return false;
    this.entries--;
    for (let i = 0; i < len; i++) this.keys[keyAt + i] = text.charCodeAt(start + i);
    for (let i = 0; i < ids.length; i++) this.ids[idsAt + i] = ids[i];
    const s = this.slots;
    for (let k = h & this.mask; ; k = (k + 1) & this.mask) {
      const at = k * FIELDS;
      if (Atomics.compareExchange(s, at, EMPTY, WRITING) !== EMPTY) continue;
      s[at + 1] = h;
      s[at + 2] = keyAt;
      s[at + 3] = (len << 1) | kind;
      s[at + 4] = idsAt;
      s[at + 5] = ids.length;
      // Publishes the fields and the arenas' contents written above.
      Atomics.store(s, at, READY);
      return true;
    }
  }

  /** Up to ENTRY_BLOCK more entries for this thread; false once the table holds its most (half the slots, so probes end). */
  private reserveEntries(): boolean {
    const at = Atomics.add(this.used, 2, ENTRY_BLOCK);
    this.entries = Math.max(0, Math.min(ENTRY_BLOCK, this.maxEntries - at));
    this.full = this.entries === 0;
    return !this.full;
  }

  /**
   * `need` units of arena `a` (KEYS or IDS) from this thread's block, reserving a fresh block (the
   * rest of the last one left unused) when it is short: their start, or -1 once the arena is spent.
   */
  private take(a: number, need: number): number {
    if (this.freeEnd[a] - this.freeAt[a] < need) {
      const size = a === KEYS ? this.keys.length : this.ids.length;
      const n = Math.max(a === KEYS ? KEY_BLOCK : IDS_BLOCK, need);
      const at = Atomics.add(this.used, a, n);
      if (at + need > size) {
        this.full = true;
        return -1;
      }
      this.freeAt[a] = at;
      this.freeEnd[a] = Math.min(at + n, size);
    }
    const at = this.freeAt[a];
    this.freeAt[a] += need;
    return at;
  }

  private sameUnits(keyAt: number, text: string, start: number, end: number): boolean {
    const keys = this.keys;
    for (let i = start, j = keyAt; i < end; i++, j++) if (keys[j] !== text.charCodeAt(i)) return false;
    return true;
  }
}
