// The one place a tokenizers.js (@huggingface/tokenizers) Tokenizer is built, with three caches that
// make bulk encoding 1.4-2x as fast (a real corpus to repeated text) and, as important on a small
// machine, allocate far less:
//
// - Byte-level pre-tokenizing maps every regex piece to its byte string through a TextEncoder and
//   Array.from(...).join() (a fifth of encode time, and most of its garbage). The result depends on
//   the piece alone, so pieces seen before are looked up.
// - The BPE model's word cache is an LRU that deletes and re-inserts the key on every hit (Map
//   churn on the hottest path). A bounded plain Map gives the same words back without it.
// - A word not in that cache is merged pair by pair, each pair's rank looked up by
//   JSON.stringify([left, right]) (the largest cost on a real corpus's long tail of words). The same
//   ranks, in a map of maps, need no string built.
//
// All three are pure caches over functions of their key: the ids are exactly those of the plain tokenizer
// (test/tokenizer-encode-caches.test.ts compares them on four tokenizer layouts). They attach only to
// the shapes they were written for and leave anything else as tokenizers.js built it.
import { Tokenizer } from '@huggingface/tokenizers';

type Json = Record<string, any>;

/** Entries a cache holds before it starts over (tens of MB at most, per thread). */
const CACHE_ENTRIES = 100_000;
/** Longer pieces are rarely repeated; the BPE model does not cache words over 256 either. */
const MAX_PIECE = 256;

export function createTokenizer(tokenizerJson: Json, tokenizerConfig: Json): Tokenizer {
  const tok = new Tokenizer(tokenizerJson, tokenizerConfig);
  const t = tok as unknown as { pre_tokenizer: unknown; model: unknown };
  cacheByteLevel(t.pre_tokenizer);
  cacheBpeWords(t.model);
  rankPairsDirectly(t.model);
  return tok;
}

/** A Map that starts over when full: no eviction order to keep up on every hit. */
class BoundedCache<V> {
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

interface ByteLevelLike {
  byte_encoder: unknown;
  text_encoder: unknown;
  pre_tokenize_text(text: string, options?: unknown): string[];
}

/** Every ByteLevel pre-tokenizer in the tree (alone or inside a Sequence). */
function cacheByteLevel(node: unknown): void {
  // tokenizers.js pre-tokenizers are callable: functions with the class's prototype.
  if (!node || (typeof node !== 'object' && typeof node !== 'function')) return;
  const n = node as Record<string, unknown>;
  for (const key of ['tokenizers', 'pre_tokenizers']) if (Array.isArray(n[key])) for (const c of n[key] as unknown[]) cacheByteLevel(c);
  if (!('byte_encoder' in n && 'text_encoder' in n && typeof n.pre_tokenize_text === 'function')) return;
  const pt = n as unknown as ByteLevelLike;
  const plain = pt.pre_tokenize_text.bind(pt);
  const memo = new BoundedCache<string[]>();
  // ByteLevel's output is a function of the text alone (it ignores the options). Callers flatten
  // the arrays into new ones; frozen, a caller that wrote into one would throw, never corrupt it.
  pt.pre_tokenize_text = (text: string, options?: unknown) => {
    if (text.length > MAX_PIECE) return plain(text, options);
    let hit = memo.get(text);
    if (hit === undefined) {
      hit = Object.freeze(plain(text, options)) as string[];
      memo.set(text, hit);
    }
    return hit;
  };
}

/** The BPE model's LRU word cache, replaced by a bounded Map with the same get/put/clear. */
function cacheBpeWords(model: unknown): void {
  const m = model as { cache?: { get?: unknown; put?: unknown; clear?: unknown }; bpe?: unknown } | null;
  if (!m || typeof m.bpe !== 'function' || !m.cache || typeof m.cache.get !== 'function' || typeof m.cache.put !== 'function') return;
  const memo = new BoundedCache<string[]>();
  m.cache = { get: (k: string) => memo.get(k), put: (k: string, v: string[]) => memo.set(k, v), clear: () => memo.clear() };
}

interface MergeNode {
  token: string;
  bias: number;
  score?: number;
  next: MergeNode | null;
}

/** BPE's add_node with its rank looked up in left → right → rank maps built from the same merges. */
function rankPairsDirectly(model: unknown): void {
  const m = model as { merges?: unknown; bpe_ranks?: unknown; add_node?: unknown } | null;
  if (!m || !Array.isArray(m.merges) || !(m.bpe_ranks instanceof Map) || typeof m.add_node !== 'function') return;
  const ranks = new Map<string, Map<string, number>>();
  // As bpe_ranks: a pair listed twice keeps its last index.
  (m.merges as unknown[]).forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) return;
    let right = ranks.get(pair[0]);
    if (!right) ranks.set(pair[0], (right = new Map()));
    right.set(pair[1], i);
  });
  // add_node was bpe_ranks' only reader (tokenizers.js 0.2.0): its 280k JSON keys (Llama 3) need not stay.
  m.bpe_ranks = new Map();
  m.add_node = (queue: { push(n: MergeNode): void }, node: MergeNode) => {
    const rank = ranks.get(node.token)?.get(node.next!.token);
    if (rank !== undefined) {
      node.score = rank + node.bias;
      queue.push(node);
    }
  };
}
