// Piece → token ids, looked up by a stretch of a text (text, start, end) without slicing the piece
// out first. A Map needs a string key, and a string per regex piece was most of what encoding
// allocated (about 11 bytes per character of text); on a 2-core machine that garbage was collected
// on V8's helper threads, beside the pool threads that needed the cores.
//
// Open addressing over 32-bit FNV-1a hashes of the UTF-16 code units; a full table starts over
// (the same bounded-cache policy as the tokenizer's other caches).

/** Pieces a table holds before it starts over. */
const MAX_ENTRIES = 100_000;
/** Slots: a power of two, at least twice the entries, so probes stay short. */
const SLOTS = 1 << 18;

export class PieceTable {
  private keys: (string | undefined)[] = new Array(SLOTS);
  private vals: (number[] | undefined)[] = new Array(SLOTS);
  private hashes = new Int32Array(SLOTS);
  private size = 0;

  /** Hash of text[start, end). */
  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The ids stored for text[start, end) (its hash `h`), or undefined. */
  get(text: string, start: number, end: number, h: number): number[] | undefined {
    const mask = SLOTS - 1;
    const len = end - start;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const key = this.keys[i];
      if (key === undefined) return undefined;
      if (this.hashes[i] === h && key.length === len && sameChars(key, text, start)) return this.vals[i];
    }
  }

  /** Stores ids for `piece` (hash `h`, as hash() of it gives); the caller has checked it is absent. */
  set(piece: string, h: number, ids: number[]): void {
    if (this.size >= MAX_ENTRIES) this.clear();
    const mask = SLOTS - 1;
    let i = h & mask;
    while (this.keys[i] !== undefined) i = (i + 1) & mask;
    this.keys[i] = piece;
    this.vals[i] = ids;
    this.hashes[i] = h;
    this.size++;
  }

  clear(): void {
    this.keys = new Array(SLOTS);
    this.vals = new Array(SLOTS);
    this.hashes.fill(0);
    this.size = 0;
  }
}

function sameChars(key: string, text: string, start: number): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== text.charCodeAt(start + i)) return false;
  return true;
}
