// The parts of a tokenizers.js Tokenizer (0.2.0, pinned) that encode-ids.ts reads, and the small
// rules of Tokenizer.encode it repeats on them: added-token splitting and stripping, the
// pre-tokenizer chain, token ids, and the post-processor's wrapping of a sequence.
import type { ByteLevelLike } from './fast-pre-tokenizers.ts';

export interface PreTokenizerLike {
  pre_tokenize(text: string | string[], options?: unknown): string[];
  pre_tokenize_text(text: string, options?: unknown): string[] | string[][];
  tokenizers?: PreTokenizerLike[];
}
/** A ByteLevel pre-tokenizer's fields (tokenizers.js; fast-pre-tokenizers.ts keeps them). */
export type ByteLevelFields = Pick<ByteLevelLike, 'byte_encoder' | 'add_prefix_space' | 'use_regex'>;
export interface AddedTokenLike {
  id: number;
  lstrip: boolean;
  rstrip: boolean;
}
/** The parts of a tokenizers.js Tokenizer (0.2.0, pinned) that encode reads. */
export interface TokenizerParts {
  splitter_unnormalized: { split(text: string): string[] };
  splitter_normalized: { split(text: string): string[] };
  added_tokens_map: Map<string, AddedTokenLike>;
  remove_space?: boolean;
  do_lowercase_and_remove_accent?: boolean;
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: PreTokenizerLike | null;
  model: { encode(tokens: string[]): string[]; tokens_to_ids: Map<string, number>; unk_token_id?: number; fuse_unk?: boolean; bpe?: unknown; ignore_merges?: boolean };
  post_processor: ((tokens: string[], pair: null, add: boolean) => { tokens: string[] }) | null;
}

export type Wrap = { prefix: number[]; suffix: number[] };

/**
 * The library's added-token splitter walks a trie from every character of the text; most texts
 * hold no character an added token starts with (Llama 3's all start with '<'), and for those its
 * answer is known: the text whole (nothing for an empty one).
 */
export class AddedTokenSplitter {
  private readonly starts: RegExp | null;
  constructor(private readonly splitter: { split(text: string): string[]; trie?: Record<string, unknown> }) {
    // The trie's first level, as UTF-16 code units (no 'u' flag; an empty class matches nothing).
    // Usable when every key is one code unit (an empty added token would put 'end' at the root).
    const firsts = splitter.trie ? Object.keys(splitter.trie) : null;
    const unit = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    this.starts = firsts && firsts.every((c) => c.length === 1) ? new RegExp(`[${firsts.map(unit).join('')}]`) : null;
  }
  split(text: string): string[] {
    if (this.starts && !this.starts.test(text)) return text.length > 0 ? [text] : [];
    return this.splitter.split(text);
  }
}

/** PreTokenizer.pre_tokenize on one text (its pieces, flattened), without copying a flat result. */
export function firstPieces(p: PreTokenizerLike, text: string, options: unknown): string[] {
  const pieces = p.pre_tokenize_text(text, options);
  for (const x of pieces) if (typeof x !== 'string') return pieces.flat();
  return pieces as string[];
}

/** Tokenizer.encode_text's lstrip/rstrip around added tokens (in place, as it does). */
export function stripAround(t: TokenizerParts, parts: string[]): string[] {
  for (let i = 0; i < parts.length; i++) {
    const added = t.added_tokens_map.get(parts[i]);
    if (!added) continue;
    if (added.lstrip && i > 0) parts[i - 1] = parts[i - 1].trimEnd();
    if (added.rstrip && i < parts.length - 1) parts[i + 1] = parts[i + 1].trimStart();
  }
  return parts;
}

/** The node as a ByteLevel pre-tokenizer that maps a piece whole (no regex of its own), or null. */
export function regexlessByteLevel(node: PreTokenizerLike): ByteLevelFields | null {
  const n = node as unknown as Partial<ByteLevelFields> & { config?: { type?: string } };
  if (n.config?.type !== 'ByteLevel' || n.use_regex !== false || !n.byte_encoder || typeof n.add_prefix_space !== 'boolean') return null;
  return n as ByteLevelFields;
}

/** The first pre-tokenizer of the chain (it splits the text) and the rest (applied per piece). */
export function splitChain(pt: PreTokenizerLike | null): { first: PreTokenizerLike | null; rest: PreTokenizerLike[] } {
  if (pt === null) return { first: null, rest: [] };
  // A Sequence runs its members in order over all pieces (skipping empty ones, as it does);
  // nested Sequences are flattened the same way.
  const flat = (p: PreTokenizerLike | null): PreTokenizerLike[] => (!p ? [] : Array.isArray(p.tokenizers) ? p.tokenizers.flatMap(flat) : [p]);
  const all = flat(pt);
  return all.length === 0 ? { first: pt, rest: [] } : { first: all[0], rest: all.slice(1) };
}

/** A token string's id as Tokenizer.encode maps it: added tokens first, then the vocabulary, else unknown. */
export function tokenId(t: TokenizerParts, token: string): number {
  return (t.added_tokens_map.get(token)?.id ?? t.model.tokens_to_ids.get(token) ?? t.model.unk_token_id) as number;
}

/**
 * The ids the post-processor puts before and after a single sequence, read by running it on
 * marker tokens; null when it does anything but wrap them unchanged (then plain encode is used).
 */
export function wrapping(t: TokenizerParts, add: boolean): Wrap | null {
  if (t.post_processor === null) return { prefix: [], suffix: [] };
  const m = ['\u0000tokenpipe-a\u0000', '\u0000tokenpipe-b\u0000'];
  const one = t.post_processor([m[0]], null, add).tokens;
  const two = t.post_processor([m[0], m[1]], null, add).tokens;
  const at = one.indexOf(m[0]);
  if (at < 0 || one.lastIndexOf(m[0]) !== at || two.length !== one.length + 1) return null;
  const prefix = one.slice(0, at);
  const suffix = one.slice(at + 1);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(two, [...prefix, m[0], m[1], ...suffix]) || [...prefix, ...suffix].some((x) => x.includes('\u0000tokenpipe'))) return null;
  return { prefix: prefix.map((x) => tokenId(t, x)), suffix: suffix.map((x) => tokenId(t, x)) };
}
