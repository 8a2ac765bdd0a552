// Corpus mining as map/reduce. Map (`countShard`, on a pool thread): split each document the way
// the tokenizer does (added tokens, normalizer, pre-tokenizer) and count every word unit that the
// base tokenizer cuts into several pieces. Reduce (`MinedCounts.add`): sum counts by string.
// Select (`selectMined`): filter, score by tokens saved = count * (pieces - 1), sort with a string
// tie-break. Everything is keyed and ordered by strings, so the list does not depend on how the
// corpus was cut into shards or which thread counted what.
import { z } from 'zod';
import type { TokenCandidate } from './items.ts';
import type { LoadedTokenizer } from './load.ts';
import { byCodePoint } from './files.ts';
import { WORD_RE, fromSymbols } from './symbols.ts';

export const MiningOptions = z
  .object({
    minCount: z.number().int().min(1).default(5).describe('keep units seen at least this many times (after the leading space)'),
    maxTokens: z.number().int().min(0).default(64).describe('keep at most this many mined tokens (best tokens-saved first)'),
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
      .describe("'keep': each spelling is its own candidate (BPE is case-sensitive); 'fold': spellings that differ only in case compete, and only the most frequent one is kept, with its own count"),
  })
  .strict();
export type MiningOptions = z.output<typeof MiningOptions>;

/** What one shard sends back: plain arrays, cheap to clone across threads. */
export interface ShardCounts {
  documents: number;
  /** Tokens the base tokenizer gives the shard (no BOS/EOS): the "before" of the compression figure. */
  tokens: number;
  /** [unit text with its leading space, occurrences, pieces under the base tokenizer]. */
  units: Array<[string, number, number]>;
}

/**
 * Map step. A unit is 1..maxWords consecutive word pre-tokens, each a single space plus letters
 * and digits (see WORD_RE), so it always starts where the pre-tokenizer starts a piece and merge
 * mode can target its leading-space form. Only units with >= minPieces pieces are returned:
 * a property of the string, so dropping the rest early cannot change the reduced result.
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
          if (w === null) break;
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
 * Select step. Content is the unit without its leading space ('acetaminophen'): the string a
 * user would list; merge mode adds it back. `known` filters strings the tokenizer already has.
 */
export function selectMined(counts: MinedCounts, options: Partial<MiningOptions> = {}, known?: (content: string) => boolean): TokenCandidate[] {
  const opts = MiningOptions.parse(options);
  const excluded = excluder(opts.exclude);
  let cands: TokenCandidate[] = [];
  for (const [unit, [count, pieces]] of counts.units) {
    const content = unit.slice(1);
    if (count < opts.minCount || pieces < opts.minPieces || [...content].length < opts.minChars) continue;
    if (unit.split(' ').length - 1 > opts.maxWords) continue;
    if (excluded(content) || known?.(content)) continue;
    cands.push({ content, special: false, origin: 'mined', count, pieces, saved: count * (pieces - 1) });
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
  return cands.slice(0, opts.maxTokens);
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
