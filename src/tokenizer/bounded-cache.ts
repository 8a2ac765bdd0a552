// The tokenizer's caches: plain Maps that start over when full, so a corpus's long tail of words
// cannot grow a thread's heap without bound, and no eviction order is kept up on every hit.

/** Entries a cache holds before it starts over (tens of MB at most, per thread). */
export const CACHE_ENTRIES = 100_000;
/** Longer pieces are rarely repeated; tokenizers.js's BPE does not cache words over 256 either. */
export const MAX_PIECE = 256;

export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    if (this.map.size >= CACHE_ENTRIES) this.map.clear();
    this.map.set(k, v);
  }
  clear(): void {
    this.map.clear();
  }
}
