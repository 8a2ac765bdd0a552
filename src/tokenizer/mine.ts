// Corpus mining as map/reduce. Map (`countShard`, on a pool thread): split each document the way
// the tokenizer does (added tokens, normalizer, pre-tokenizer) and count every word unit that the
// base tokenizer cuts into several pieces, in each surface form it takes as a pre-token (after a
// space or not, any case: forms.ts). Reduce (`MinedCounts.add`): sum counts by string.
// Select (`selectMined`): filter forms, score each by tokens saved = count * (pieces - 1), sort
// with a string tie-break, group the kept forms under their word. Everything is keyed and ordered by strings, so the list does not depend on how the
// corpus was cut into shards or which thread counted what.
import { z } from 'zod';
import type { TokenCandidate } from './items.ts';
import type { LoadedTokenizer } from './load.ts';
import { byCodePoint } from './files.ts';
import { WORD_RE, fromSymbols } from './symbols.ts';
import { groupByWord, wordOfText } from './forms.ts';

export const MiningOptions = z
  .object({
    minCount: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe("keep every surface form seen at least this many times, each form counted on its own (' zintrapolate', 'Zintrapolate' at a line start, ...)"),
    maxTokens: z
      .number()
      .int()
      .min(0)
      .default(64)
      .describe('keep at most this many mined tokens, counted in forms (each form is one new token; best tokens-saved first)'),
    minPieces: z.number().int().min(2).default(2).describe('keep units the base tokenizer splits into at least this many pieces'),
    maxWords: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(1)
      .describe('longest unit in words; >1 also counts " New York"-style runs (these favour frequent pairs like " of the", and merge mode can only join words on tokenizers without a pre-tokenizer)'),
    minChars: z.number().int().min(1).default(3).describe('shortest word unit in characters (without the leading space)'),
    exclude: z
      .array(z.string())
      .default([])
      .describe('units to leave out: exact strings, or /regex/flags tested against the unit'),
    case: z
      .enum(['keep', 'fold'])
      .default('keep')
      .describe("'keep': each spelling is its own form (BPE is case-sensitive); 'fold': spellings that differ only in case compete (separately with and without the leading space), and only the most frequent one is kept, with its own count"),
  })
  .strict();
export type MiningOptions = z.output<typeof MiningOptions>;

/** What one shard sends back: plain arrays, cheap to clone across threads. */
export interface ShardCounts {
  documents: number;
  /** Tokens the base tokenizer gives the shard (no BOS/EOS): the "before" of the compression figure. */
  tokens: number;
  /** [unit text as its pre-token has it (with its leading space or not), occurrences, pieces under the base tokenizer]. */
  units: Array<[string, number, number]>;
}

/**
 * Map step. A unit is 1..maxWords consecutive word pre-tokens (see WORD_RE): the first with a
 * single leading space or none (a word after '\n' or at a text start, as the pre-tokenizer really
 * splits it), the others each after a space, so it always starts where the pre-tokenizer starts a
 * piece and merge mode can target exactly that form. Only units with >= minPieces pieces are
 * returned: a property of the string, so dropping the rest early cannot change the reduced result.
 */
export function countShard(tok: LoadedTokenizer, texts: string[], opts: Pick<MiningOptions, 'maxWords' | 'minPieces'>): ShardCounts {
  const pieceCache = new Map<string, number>();
  const surfaceCache = new Map<string, string | null>();
  const counts = new Map<string, [number, number]>();
  let tokens = 0;
  const piecesOf = (sym: string): number => {
    let n = pieceCache.get(sym);
    if (n === undefined) pieceCache.set(sym, (n = tok.modelPieces(sym).length));
    return n;
  };
  const wordOf = (sym: string): string | null => {
    let w = surfaceCache.get(sym);
    if (w === undefined) {
      const text = fromSymbols(tok.scheme, sym);
      surfaceCache.set(sym, (w = WORD_RE.test(text) ? text : null));
    }
    return w;
  };
  for (const text of texts) {
    for (const section of tok.preTokenize(text)) {
      if (!Array.isArray(section)) {
        tokens += 1;
        continue;
      }
      for (let i = 0; i < section.length; i++) {
        tokens += piecesOf(section[i]);
        let unit = '';
        let pieces = 0;
        for (let j = i; j < section.length && j < i + opts.maxWords; j++) {
          const w = wordOf(section[j]);
          if (w === null || (j > i && w[0] !== ' ')) break;
          unit += w;
          pieces += piecesOf(section[j]);
          if (pieces < opts.minPieces) continue;
          const c = counts.get(unit);
          if (c) c[0] += 1;
          else counts.set(unit, [1, pieces]);
        }
      }
    }
  }
  const units: ShardCounts['units'] = [];
  for (const [u, [n, p]] of counts) units.push([u, n, p]);
  return { documents: texts.length, tokens, units };
}

/** Reduce step: order-independent sums. */
export class MinedCounts {
  documents = 0;
  tokens = 0;
  readonly units = new Map<string, [number, number]>();

  add(shard: ShardCounts): this {
    this.documents += shard.documents;
    this.tokens += shard.tokens;
    for (const [u, n, p] of shard.units) {
      const c = this.units.get(u);
      if (c) c[0] += n;
      else this.units.set(u, [n, p]);
    }
    return this;
  }
}

/** '/abc/i' -> RegExp, anything else -> exact string. */
function excluder(exclude: string[]): (s: string) => boolean {
  const exact = new Set<string>();
  const res: RegExp[] = [];
  for (const e of exclude) {
    const m = /^\/(.*)\/([a-z]*)$/s.exec(e);
    if (m) res.push(new RegExp(m[1], m[2].replace('g', '')));
    else exact.add(e);
  }
  return (s) => exact.has(s) || res.some((r) => r.test(s));
}

/**
 * Select step. Content is the form exactly as its pre-token has it (' acetaminophen', or
 * 'Acetaminophen' at a line start), marked `form` and with its `word`; merge mode adds that form.
 * Exclusions and minChars look at the text without the leading space. `known` filters forms
 * already named elsewhere. maxTokens counts forms; the kept forms come grouped under their word
 * (words in order of their best form).
 */
export function selectMined(counts: MinedCounts, options: Partial<MiningOptions> = {}, known?: (form: string) => boolean): TokenCandidate[] {
  const opts = MiningOptions.parse(options);
  const excluded = excluder(opts.exclude);
  let cands: TokenCandidate[] = [];
  for (const [unit, [count, pieces]] of counts.units) {
    const text = unit.startsWith(' ') ? unit.slice(1) : unit;
    if (count < opts.minCount || pieces < opts.minPieces || [...text].length < opts.minChars) continue;
    if (text.split(' ').length > opts.maxWords) continue;
    if (excluded(text) || known?.(unit)) continue;
    cands.push({ content: unit, special: false, origin: 'mined', form: true, word: wordOfText(text), count, pieces, saved: count * (pieces - 1) });
  }
  if (opts.case === 'fold') {
    const best = new Map<string, TokenCandidate>();
    for (const c of cands) {
      const key = c.content.toLowerCase();
      const b = best.get(key);
      if (!b || c.count! > b.count! || (c.count === b.count && byCodePoint(c.content, b.content) < 0)) best.set(key, c);
    }
    cands = [...best.values()];
  }
  cands.sort((a, b) => b.saved! - a.saved! || b.count! - a.count! || byCodePoint(a.content, b.content));
  return groupByWord(cands.slice(0, opts.maxTokens), (c) => c.word!).flatMap((g) => g.items);
}

/** Splits documents into shards of `size` (the unit of work sent to one pool task). */
export function* shards<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let buf: T[] = [];
  for (const x of items) {
    buf.push(x);
    if (buf.length >= size) {
      yield buf;
      buf = [];
    }
  }
  if (buf.length) yield buf;
}
