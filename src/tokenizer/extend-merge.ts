// BPE-native extension ("merge" mode): a word enters model.vocab in its leading-space form
// ('Ġacetaminophen', '▁acetaminophen') together with the merges that build it from the pieces
// the base tokenizer gives, so ' acetaminophen' encodes as one token with no stray space token
// (an added token splits the text around itself and leaves 'Ġ' behind: architecture.md §5).
//
// Why appending at the lowest priority is safe: BPE always applies the best-ranked applicable
// merge, so every base merge fires before any of ours and a word first reaches exactly its base
// pieces; ours then join those pieces. Each merge removes one token, so other words that happen
// to contain the same piece pairs can only get shorter. A k-piece word needs k-1 merges; the
// partial spans they create are new vocabulary rows too unless they already exist, so the merge
// tree is chosen to reuse existing spans (fewest new rows). With `ignore_merges` (Llama 3) a
// pre-token found whole in the vocabulary is emitted as is: the word alone is enough, no merges.
import { TokenizerUnsupported } from '../errors.ts';
export interface NewVocabEntry {
  symbols: string;
  id: number;
  /** A partial span created only to build `word`. */
  intermediate: boolean;
  /** The word (symbol form) it was created for. */
  word: string;
}

export interface MergeState {
  /** model.vocab plus added tokens and entries added so far: symbol string -> id. */
  vocab: Map<string, number>;
  /** Rank of every merge pair (base, then new), keyed `${a} ${b}` (vocab strings hold no space). */
  ranks: Map<string, number>;
  /** Rank the next new merge gets: after every base merge. */
  nextRank: number;
  newMerges: Array<[string, string]>;
  newEntries: NewVocabEntry[];
  takeId(): number;
}

const key = (a: string, b: string) => `${a} ${b}`;

/**
 * Adds `word` (symbol form, not yet in the vocabulary) given its base BPE pieces. With
 * ignoreMerges only the word itself is added.
 *
 * The merges are found by running BPE forward from the pieces with every merge known so far:
 * while some merge applies, BPE would take the best-ranked one, and so do we; when none applies we
 * append one new merge (ranked after all others) for an adjacent pair, preferring a span of the
 * cheapest tree (fewest new rows), then a pair that forms an existing token, then the leftmost.
 * Because each new merge is added exactly where BPE would otherwise stop, and later merges rank
 * below it, the encoder retraces this path: the word comes out as one token by construction,
 * even where a base merge fires on a span our merges create.
 */
export function planWord(state: MergeState, word: string, pieces: string[], ignoreMerges: boolean): void {
  if (ignoreMerges || pieces.length < 2) {
    // A word with an id already (an added token whose form merges build, extend-forms.ts) keeps it.
    if (!state.vocab.has(word)) addEntry(state, word, word, false);
    return;
  }
  const tree = cheapestTree(pieces, state.vocab);
  const w = [...pieces];
  while (w.length > 1) {
    let at = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < w.length; i++) {
      const r = state.ranks.get(key(w[i], w[i + 1]));
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        at = i;
      }
    }
    if (at < 0) {
      let score = -1;
      for (let i = 0; i + 1 < w.length; i++) {
        const s = w[i] + w[i + 1];
        const sc = tree.has(s) ? 2 : state.vocab.has(s) ? 1 : 0;
        if (sc > score) {
          score = sc;
          at = i;
        }
      }
      const s = w[at] + w[at + 1];
      if (!state.vocab.has(s)) addEntry(state, s, word, s !== word);
      state.ranks.set(key(w[at], w[at + 1]), state.nextRank++);
      state.newMerges.push([w[at], w[at + 1]]);
    }
    w.splice(at, 2, w[at] + w[at + 1]);
  }
}

/**
 * Spans (as strings) of the binary merge tree over `pieces` that needs the fewest new vocabulary
 * entries: a span already in the vocabulary is free. O(k^3) for k pieces, k is small.
 */
function cheapestTree(pieces: string[], vocab: Map<string, number>): Set<string> {
  const k = pieces.length;
  const span = (i: number, j: number) => pieces.slice(i, j).join('');
  const cost: number[][] = Array.from({ length: k + 1 }, () => new Array(k + 1).fill(0));
  const split: number[][] = Array.from({ length: k + 1 }, () => new Array(k + 1).fill(-1));
  for (let len = 2; len <= k; len++) {
    for (let i = 0; i + len <= k; i++) {
      const j = i + len;
      let best = Infinity;
      // Ties go to the largest m: a left-deep tree, the order BPE itself tends to build in.
      for (let m = j - 1; m > i; m--) {
        const c = cost[i][m] + cost[m][j];
        if (c < best) {
          best = c;
          split[i][j] = m;
        }
      }
      cost[i][j] = best + (vocab.has(span(i, j)) ? 0 : 1);
    }
  }
  const nodes = new Set<string>();
  const collect = (i: number, j: number) => {
    if (j - i < 2) return;
    nodes.add(span(i, j));
    collect(i, split[i][j]);
    collect(split[i][j], j);
  };
  collect(0, k);
  return nodes;
}

function addEntry(state: MergeState, symbols: string, word: string, intermediate: boolean): void {
  const id = state.takeId();
  state.vocab.set(symbols, id);
  state.newEntries.push({ symbols, id, intermediate, word });
}

/** State over a BPE model section of tokenizer.json; `extra` are ids outside model.vocab (added tokens). */
export function mergeState(
  model: { vocab: Record<string, number>; merges: Array<string | [string, string]> },
  extra: Array<[string, number]>,
  takeId: () => number,
): MergeState {
  const vocab = new Map(Object.entries(model.vocab));
  for (const [s, id] of extra) if (!vocab.has(s)) vocab.set(s, id);
  let ranks: Map<string, number> | null = null;
  return {
    vocab,
    // Built on first use: words looked up whole (ignore_merges) never need the 100k+ merge ranks.
    get ranks() {
      if (!ranks) {
        ranks = new Map<string, number>();
        model.merges.forEach((m, r) => {
          const k = Array.isArray(m) ? key(m[0], m[1]) : m;
          if (!ranks!.has(k)) ranks!.set(k, r);
        });
      }
      return ranks;
    },
    nextRank: model.merges.length,
    newMerges: [],
    newEntries: [],
    takeId,
  };
}

/**
 * The pieces BPE ends with for a word whose base merges are exhausted at `pieces`: every base
 * merge ranks before ours, so from there the best-ranked applicable pair (base or new) is merged
 * until none applies. Exact for checking that a planned word comes out as one token.
 */
export function finishBpe(pieces: string[], ranks: Map<string, number>): string[] {
  const w = [...pieces];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < w.length; i++) {
      const r = ranks.get(key(w[i], w[i + 1]));
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) return w;
    w.splice(best, 2, w[best] + w[best + 1]);
  }
}

/** New merges in the file's own format: "a b" strings (older files) or [a, b] pairs. */
export function serializeMerges(existing: Array<string | [string, string]>, added: Array<[string, string]>): Array<string | [string, string]> {
  const pairs = existing.length === 0 || Array.isArray(existing[0]);
  if (pairs) return added;
  return added.map(([a, b]) => {
    // "a b" cannot carry a space inside a or b; such vocabularies do not use the string form.
    if (a.includes(' ') || b.includes(' ')) throw new TokenizerUnsupported(`merge ${JSON.stringify([a, b])} contains a space and the file uses "a b" merges`);
    return `${a} ${b}`;
  });
}
