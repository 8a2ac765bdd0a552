// Two of tokenizers.js's pre-tokenizers (0.2.0, pinned) with their pieces made without the
// garbage the library makes; the pieces are the same (test/tokenizer-encode-caches.test.ts).
//
// - ByteLevel maps each regex piece to its byte string through a TextEncoder and
//   Array.from(...).join(): byteLevelString writes the same characters without a byte array;
//   pieces seen before can be memoized (the result depends on the piece alone).
// - An isolating Split (Llama 3's and Qwen's digit-and-word regex) walks `matchAll`, a match object
//   per piece. `String.match` gives the same pieces as plain strings when they cover the text
//   without a gap, which such a regex always does; when they do not, the library's split runs.
//
// The replacements are module functions reading their state off `this`, not closures per
// tokenizer, so code V8 optimized for one tokenizer serves the next one a thread builds.
import { byteLevelString } from './symbols.ts';
import { BoundedCache, MAX_PIECE } from './bounded-cache.ts';

export interface ByteLevelLike {
  byte_encoder: Record<number, string>;
  text_encoder: unknown;
  add_prefix_space: boolean;
  use_regex: boolean;
  pattern: RegExp;
  pre_tokenize_text(text: string, options?: unknown): string[];
  /** Ours: pieces already mapped, when memoized. */
  tpMemo?: BoundedCache<string[]>;
}

export interface SplitLike {
  pattern: RegExp | null;
  config: { type?: string; invert?: boolean; behavior?: string };
  pre_tokenize_text(text: string, options?: unknown): string[];
}

/** `visit` on the node and every pre-tokenizer inside it (a Sequence's members, nested ones too). */
function eachPreTokenizer(node: unknown, visit: (n: Record<string, unknown>) => void): void {
  // tokenizers.js pre-tokenizers are callable: functions with the class's prototype.
  if (!node || (typeof node !== 'object' && typeof node !== 'function')) return;
  const n = node as Record<string, unknown>;
  for (const key of ['tokenizers', 'pre_tokenizers']) if (Array.isArray(n[key])) for (const c of n[key] as unknown[]) eachPreTokenizer(c, visit);
  visit(n);
}

/** Every ByteLevel pre-tokenizer in the tree (alone or inside a Sequence): bytes mapped directly, pieces memoized if `memoize`. */
export function fastByteLevel(node: unknown, memoize: boolean): void {
  eachPreTokenizer(node, (n) => {
    if (!('byte_encoder' in n && 'text_encoder' in n && typeof n.pre_tokenize_text === 'function')) return;
    const pt = n as unknown as ByteLevelLike;
    if (memoize) pt.tpMemo = new BoundedCache<string[]>();
    pt.pre_tokenize_text = memoize ? memoByteLevelPieces : byteLevelPieces;
  });
}

/** ByteLevel.pre_tokenize_text (it ignores its options). */
function byteLevelPieces(this: ByteLevelLike, text: string): string[] {
  if (this.add_prefix_space && !text.startsWith(' ')) text = ' ' + text;
  const pieces = this.use_regex ? text.match(this.pattern) || [] : [text];
  const out = new Array<string>(pieces.length);
  for (let i = 0; i < pieces.length; i++) out[i] = byteLevelString(pieces[i], this.byte_encoder);
  return out;
}

/** The same, memoized. Callers flatten the arrays into new ones; frozen, one that wrote into a cached array would throw, never corrupt it. */
function memoByteLevelPieces(this: ByteLevelLike, text: string): string[] {
  if (text.length > MAX_PIECE) return byteLevelPieces.call(this, text);
  let hit = this.tpMemo!.get(text);
  if (hit === undefined) {
    hit = Object.freeze(byteLevelPieces.call(this, text)) as string[];
    this.tpMemo!.set(text, hit);
  }
  return hit;
}

/**
 * The node as an isolating Split pre-tokenizer (its pieces are the regex's matches and the gaps
 * between them), or null. Split only: ByteLevel has a pattern too, but maps its pieces to bytes
 * after matching; inverted and 'removed' Splits already use match/split.
 */
export function isolatingSplit(node: unknown): SplitLike | null {
  const sp = node as SplitLike | null;
  if (!sp || (typeof sp !== 'object' && typeof sp !== 'function')) return null;
  if (sp.config?.type !== 'Split' || !(sp.pattern instanceof RegExp) || !sp.pattern.global || typeof sp.pre_tokenize_text !== 'function') return null;
  return sp.config.invert || sp.config.behavior?.toLowerCase() === 'removed' ? null : sp;
}

/** Every isolating Split in the tree splits by String.match. */
export function splitByMatch(node: unknown): void {
  eachPreTokenizer(node, (n) => {
    const sp = isolatingSplit(n);
    if (sp) sp.pre_tokenize_text = matchPieces;
  });
}

function matchPieces(this: SplitLike, text: string, options?: unknown): string[] {
  // The library's own method, for what String.match cannot stand in for.
  const library = (Object.getPrototypeOf(this) as SplitLike).pre_tokenize_text;
  const pattern = this.pattern;
  if (pattern === null || text.length === 0) return library.call(this, text, options);
  const pieces = text.match(pattern);
  if (pieces === null) return library.call(this, text, options);
  let covered = 0;
  let empty = false;
  for (let i = 0; i < pieces.length; i++) {
    covered += pieces[i].length;
    empty ||= pieces[i].length === 0;
  }
  // Matches do not overlap and come in order: they tile the text exactly when their lengths sum to it.
  if (covered !== text.length) return library.call(this, text, options);
  // The library drops empty matches.
  return empty ? pieces.filter((p) => p.length > 0) : pieces;
}
