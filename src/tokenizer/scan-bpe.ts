// tokenizers.js's BPE model (0.2.0, pinned) with its merges ranked without building strings and
// short words merged by scanning; the tokens are the same (test/tokenizer-encode-caches.test.ts).
//
// - A word not in the word cache is merged pair by pair, each pair's rank looked up by
//   JSON.stringify([left, right]) (the largest cost on a real corpus's long tail of words). The
//   same ranks in a map of maps need no string built.
// - The library merges with a heap of linked nodes; for a word of a few symbols, scanning a small
//   array for the lowest rank is several times faster and allocates almost nothing.
// - Where every merge's parts and result are vocabulary tokens of their own ids (real BPE
//   vocabularies are built that way), the scan runs on ids: a pair's rank and merged id come from
//   a typed-array hash table, with no string concatenated or hashed until the result is read.
//
// Module functions reading their state off `this` (see fast-pre-tokenizers.ts for why).

interface MergeNode {
  token: string;
  bias: number;
  score?: number;
  next: MergeNode | null;
}

interface BpeLike {
  merges: unknown[];
  bpe_ranks: unknown;
  add_node(queue: { push(n: MergeNode): void }, node: MergeNode): void;
  bpe(token: string): string[];
  cache: { get(k: string): string[] | undefined; put(k: string, v: string[]): void };
  end_of_word_suffix?: string;
  continuing_subword_suffix: string | null;
  max_length_to_cache: number;
  tokens_to_ids: Map<string, number>;
  vocab: string[];
  /** Ours: left → right → rank, built on first use (ranksOf). */
  tpRanks: Map<string, Map<string, number>> | null;
  /** Ours: the same merges by ids, when they can be (see pairTable). */
  tpPairs: PairTable | null;
}

/** Words of up to this many symbols are merged by scanning; longer ones by the library's heap. */
const SCAN_SYMBOLS = 48;

export function scanBpe(model: unknown): void {
  const m = model as BpeLike | null;
  if (!m || !Array.isArray(m.merges) || !(m.bpe_ranks instanceof Map) || typeof m.add_node !== 'function' || typeof m.bpe !== 'function') return;
  m.tpRanks = null;
  m.tpPairs = pairTable(m);
  // add_node was bpe_ranks' only reader (tokenizers.js 0.2.0): its 280k JSON keys (Llama 3) need not stay.
  m.bpe_ranks = new Map();
  m.add_node = addNodeByRanks;
  m.bpe = scanOrHeapBpe;
}

/**
 * The merge ranks by strings, made when first needed: where the id table exists (real
 * vocabularies), only words past SCAN_SYMBOLS or off the vocabulary need them, and building them
 * beside it at every tokenizer build cost each pool thread a second map of all 280k merges (Llama 3).
 */
function ranksOf(m: BpeLike): Map<string, Map<string, number>> {
  if (m.tpRanks) return m.tpRanks;
  const ranks = new Map<string, Map<string, number>>();
  // As bpe_ranks: a pair listed twice keeps its last index.
  m.merges.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) return;
    let right = ranks.get(pair[0]);
    if (!right) ranks.set(pair[0], (right = new Map()));
    right.set(pair[1], i);
  });
  return (m.tpRanks = ranks);
}

/** BPE's add_node, ranked from the map of maps. */
function addNodeByRanks(this: BpeLike, queue: { push(n: MergeNode): void }, node: MergeNode): void {
  const rank = ranksOf(this).get(node.token)?.get(node.next!.token);
  if (rank !== undefined) {
    node.score = rank + node.bias;
    queue.push(node);
  }
}

/** BPE.bpe: the cache, then a scan for short words or the library's heap for long ones. */
function scanOrHeapBpe(this: BpeLike, token: string): string[] {
  if (token.length === 0 || token.length > SCAN_SYMBOLS) return (Object.getPrototypeOf(this) as BpeLike).bpe.call(this, token);
  const cached = this.cache.get(token);
  if (cached !== undefined) return cached;
  const word = codePoints(token);
  if (this.end_of_word_suffix) word[word.length - 1] += this.end_of_word_suffix;
  const result = (this.tpPairs && scanMergeIds(word, this.tpPairs, this)) || scanMerge(word, ranksOf(this));
  if (this.continuing_subword_suffix) for (let i = 0; i < result.length - 1; ++i) result[i] += this.continuing_subword_suffix;
  if (token.length < this.max_length_to_cache) this.cache.put(token, result);
  return result;
}

/** Array.from(text) (one string per code point; a lone surrogate on its own) without an iterator. */
function codePoints(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = (text.codePointAt(i) as number) > 0xffff ? 2 : 1;
    out.push(n === 1 ? text[i] : text.slice(i, i + 2));
    i += n;
  }
  return out;
}

/** Removes a[i], closing the gap in place (splice would allocate an array of what it removes). */
function removeAt<T>(a: T[], i: number): void {
  for (let k = i; k < a.length - 1; k++) a[k] = a[k + 1];
  a.pop();
}

function rankOf(ranks: Map<string, Map<string, number>>, a: string, b: string): number {
  return ranks.get(a)?.get(b) ?? Infinity;
}

/**
 * BPE by scanning: merge the adjacent pair of lowest rank, the leftmost of equal ones, until no
 * pair has a rank. The library's heap pops the same pair each time (its score is rank plus the
 * left symbol's start position / word length, below 1), so the result is the same.
 */
function scanMerge(word: string[], ranks: Map<string, Map<string, number>>): string[] {
  // pair[i]: rank of (word[i], word[i + 1]).
  const pair: number[] = [];
  for (let i = 0; i < word.length - 1; i++) pair.push(rankOf(ranks, word[i], word[i + 1]));
  while (pair.length > 0) {
    let at = 0;
    for (let i = 1; i < pair.length; i++) if (pair[i] < pair[at]) at = i;
    if (pair[at] === Infinity) break;
    word[at] += word[at + 1];
    removeAt(word, at + 1);
    removeAt(pair, at);
    if (at > 0) pair[at - 1] = rankOf(ranks, word[at - 1], word[at]);
    if (at < pair.length) pair[at] = rankOf(ranks, word[at], word[at + 1]);
  }
  return word;
}

/** Merges by ids in open addressing: keys (left, right), values (rank, merged id). */
interface PairTable {
  mask: number;
  left: Int32Array;
  right: Int32Array;
  rank: Int32Array;
  merged: Int32Array;
}

/**
 * The merges by ids, or null when some merge's part or result is not a vocabulary token of its
 * own id (an added token sharing an id, a result missing from the vocabulary): the string scan,
 * which maps tokens to ids only afterwards, stays exact there.
 */
function pairTable(m: BpeLike): PairTable | null {
  if (!Array.isArray(m.vocab) || !(m.tokens_to_ids instanceof Map)) return null;
  const idOf = (tok: unknown): number => {
    const id = typeof tok === 'string' ? m.tokens_to_ids.get(tok) : undefined;
    return id !== undefined && m.vocab[id] === tok ? id : -1;
  };
  let size = 1;
  while (size < m.merges.length * 2) size *= 2;
  const t: PairTable = { mask: size - 1, left: new Int32Array(size).fill(-1), right: new Int32Array(size), rank: new Int32Array(size), merged: new Int32Array(size) };
  for (let i = 0; i < m.merges.length; i++) {
    const pair = m.merges[i];
    if (!Array.isArray(pair) || pair.length !== 2) continue;
    const a = idOf(pair[0]);
    const b = idOf(pair[1]);
    const ab = idOf(`${pair[0]}${pair[1]}`);
    if (a < 0 || b < 0 || ab < 0) return null;
    let k = pairSlot(t, a, b);
    while (t.left[k] !== -1 && (t.left[k] !== a || t.right[k] !== b)) k = (k + 1) & t.mask;
    // As bpe_ranks: a pair listed twice keeps its last index.
    t.left[k] = a;
    t.right[k] = b;
    t.rank[k] = i;
    t.merged[k] = ab;
  }
  return t;
}

function pairSlot(t: PairTable, a: number, b: number): number {
  return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & t.mask;
}

/** Slot of (a, b) in the table, or -1. */
function findPair(t: PairTable, a: number, b: number): number {
  for (let k = pairSlot(t, a, b); ; k = (k + 1) & t.mask) {
    const l = t.left[k];
    if (l === -1) return -1;
    if (l === a && t.right[k] === b) return k;
  }
}

/** scanMerge on ids; null when a symbol of the word is not a vocabulary token of its own (the string scan then). */
function scanMergeIds(word: string[], t: PairTable, m: BpeLike): string[] | null {
  const ids: number[] = [];
  for (let i = 0; i < word.length; i++) {
    const id = m.tokens_to_ids.get(word[i]);
    if (id === undefined || m.vocab[id] !== word[i]) return null;
    ids.push(id);
  }
  // slot[i]: the table slot of (ids[i], ids[i + 1]), -1 when the pair does not merge.
  const slot: number[] = [];
  for (let i = 0; i < ids.length - 1; i++) slot.push(findPair(t, ids[i], ids[i + 1]));
  while (slot.length > 0) {
    let at = -1;
    for (let i = 0; i < slot.length; i++) if (slot[i] >= 0 && (at < 0 || t.rank[slot[i]] < t.rank[slot[at]])) at = i;
    if (at < 0) break;
    ids[at] = t.merged[slot[at]];
    removeAt(ids, at + 1);
    removeAt(slot, at);
    if (at > 0) slot[at - 1] = findPair(t, ids[at - 1], ids[at]);
    if (at < slot.length) slot[at] = findPair(t, ids[at], ids[at + 1]);
  }
  const out = new Array<string>(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = m.vocab[ids[i]];
  return out;
}
