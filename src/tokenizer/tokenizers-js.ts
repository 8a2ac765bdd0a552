// The one place a tokenizers.js (@huggingface/tokenizers) Tokenizer is built, with its encoding
// made 3-4x as fast and, as important on a small machine, allocating far less:
//
// - fast-pre-tokenizers.ts: byte-level pieces mapped without byte arrays (and memoized), an
//   isolating Split by String.match instead of a match object per piece.
// - The BPE model's word cache: the library's LRU deletes and re-inserts the key on every hit
//   (Map churn on the hottest path); a bounded plain Map gives the same words back without it.
// - scan-bpe.ts: merge ranks in a map of maps instead of JSON.stringify([a, b]) per pair, and
//   short words merged by scanning instead of a heap.
//
// Each is exact: the ids are those of the plain tokenizer (test/tokenizer-encode-caches.test.ts
// compares them on four tokenizer layouts). Each attaches only to the shape it was written for
// and leaves anything else as tokenizers.js built it. idEncoder (encode-ids.ts) goes further for
// bulk encoding: ids without the token strings.
import { Tokenizer } from '@huggingface/tokenizers';
import { BoundedCache } from './bounded-cache.ts';
import { fastByteLevel, splitByMatch } from './fast-pre-tokenizers.ts';
import { scanBpe } from './scan-bpe.ts';
import { internalsAsExpected } from './tokenizers-internals.ts';

type Json = Record<string, any>;

export interface TokenizerOptions {
  /**
   * Memoize byte-level pieces and BPE words (default true). idEncoder (encode-ids.ts) caches
   * whole pieces' ids in front of both, where they would only hold a second copy of each new
   * piece: more garbage that survives, for collections that cost the most on a 2-core machine.
   */
  wordCaches?: boolean;
}

export function createTokenizer(tokenizerJson: Json, tokenizerConfig: Json, opts: TokenizerOptions = {}): Tokenizer {
  return speedUp(new Tokenizer(tokenizerJson, tokenizerConfig), opts);
}

/** Attaches the fast paths to `tok` (in place), unless its internals are not those of 0.2.0 (then one warning). */
export function speedUp(tok: Tokenizer, opts: TokenizerOptions = {}): Tokenizer {
  if (!internalsAsExpected(tok)) return tok;
  const t = tok as unknown as { pre_tokenizer: unknown; model: unknown };
  const caches = opts.wordCaches ?? true;
  fastByteLevel(t.pre_tokenizer, caches);
  splitByMatch(t.pre_tokenizer);
  boundWordCache(t.model, caches);
  scanBpe(t.model);
  return tok;
}

/** The BPE model's LRU word cache, replaced by a bounded Map with the same get/put/clear (or by none). */
function boundWordCache(model: unknown, keep: boolean): void {
  const m = model as { cache?: { get?: unknown; put?: unknown; clear?: unknown }; bpe?: unknown } | null;
  if (!m || typeof m.bpe !== 'function' || !m.cache || typeof m.cache.get !== 'function' || typeof m.cache.put !== 'function') return;
  if (!keep) {
    m.cache = { get: () => undefined, put: () => {}, clear: () => {} };
    return;
  }
  const memo = new BoundedCache<string[]>();
  m.cache = { get: (k: string) => memo.get(k), put: (k: string, v: string[]) => memo.set(k, v), clear: () => memo.clear() };
}
