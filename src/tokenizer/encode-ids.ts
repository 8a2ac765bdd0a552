// Token ids straight from a tokenizers.js Tokenizer's parts, without the token strings, nested
// arrays and attention mask its `encode` builds for every call: the packer's pool threads encode
// gigabytes, and on a 2-core machine the garbage of those arrays (collected on V8's helper
// threads) took CPU the other pool thread needed.
//
// Exactly the ids of `tok.encode(text, { add_special_tokens }).ids` (test/tokenizer-encode-ids.test.ts
// compares them on four real layouts and two made ones), because each step is tokenizers.js's own
// or follows from it:
// - Sections (added tokens, their lstrip/rstrip, the normalizer) as Tokenizer.encode_text does them.
// - Every pre-tokenizer maps its pieces one by one and flattens (PreTokenizer.pre_tokenize), and
//   BPE encodes each piece on its own (BPE.encode), so the ids of a section are the concatenation,
//   over the pieces of the first pre-tokenizer, of the ids of the rest of the chain and the model
//   on that piece: a function of the piece alone, cached (shared-pieces.ts: one table for all
//   pool threads of a packing). Only Metaspace reads an option (section_index === 0), so a piece
//   of the first section is a key of its own kind.
// - Texts without a character an added token starts with skip the added-token trie walk, and an
//   isolating Split's regex runs sticky so pieces are looked up in place, without a string each.
// - A model that fuses unknown tokens collapses runs of the unknown id over a section: the same
//   as fusing each piece and then the runs across them.
// - The post-processor only wraps the sequence (TemplateProcessing, Bert, Roberta, ByteLevel):
//   its prefix and suffix are read once by running it on marker tokens, and checked.
// Anything else (another model type, a post-processor that does more than wrap) uses plain encode.
//
// Classes, not closures: their methods are one set of functions for every encoder a thread builds,
// so V8's optimized code and type feedback carry over from one tokenizer to the next.
import type { Tokenizer } from '@huggingface/tokenizers';
import { isolatingSplit } from './fast-pre-tokenizers.ts';
import { byteLevelString } from './symbols.ts';
import { MAX_PIECE } from './bounded-cache.ts';
import { createSharedPieces, DEFAULT_SIZE, SharedPieces, type SharedPiecesBuffers } from './shared-pieces.ts';
import type { IdSink } from './id-buffer.ts';
import { internalsAsExpected } from './tokenizers-internals.ts';
import { AddedTokenSplitter, firstPieces, regexlessByteLevel, splitChain, stripAround, tokenId, wrapping, type ByteLevelFields, type PreTokenizerLike, type TokenizerParts, type Wrap } from './tokenizer-parts.ts';

export interface IdEncoder {
  /** `tok.encode(text, { add_special_tokens }).ids`, a fresh array. */
  encode(text: string, addSpecialTokens: boolean): number[];
  /** The same ids, appended to `out`. */
  encodeInto(text: string, addSpecialTokens: boolean, out: IdSink): void;
  /** Cache pieces in this table from now on, shared with other threads (shared-pieces.ts). */
  sharePieces(buffers: SharedPiecesBuffers): void;
}

/** Ids as `tok.encode(text, { add_special_tokens }).ids` gives them, without building its tokens. */
export function idEncoder(tok: Tokenizer): IdEncoder {
  if (!internalsAsExpected(tok)) return new PlainEncoder(tok);
  const t = tok as unknown as TokenizerParts;
  const wraps = [wrapping(t, false), wrapping(t, true)];
  // BPE only: another model (Unigram, WordPiece) may not encode pieces independently.
  const fits = typeof t.model.bpe === 'function' && wraps[0] && wraps[1] && t.remove_space !== true && !t.do_lowercase_and_remove_accent;
  return fits ? new PieceEncoder(t, wraps as Wrap[]) : new PlainEncoder(tok);
}

/** Tokenizer.encode itself, for layouts PieceEncoder does not cover. */
class PlainEncoder implements IdEncoder {
  constructor(private readonly tok: Tokenizer) {}
  encode(text: string, add: boolean): number[] {
    return this.tok.encode(text, { add_special_tokens: add }).ids;
  }
  encodeInto(text: string, add: boolean, out: IdSink): void {
    const ids = this.encode(text, add);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }
  sharePieces(): void {}
}

type Options = { section_index: number };

class PieceEncoder implements IdEncoder {
  private readonly unk: number | undefined;
  private readonly fuse: boolean;
  private readonly chain: { first: PreTokenizerLike | null; rest: PreTokenizerLike[] };
  /** Piece → ids, keyed also by section 0 or not (kind 0/1); pieces over MAX_PIECE are not kept.
   * Its own until sharePieces gives it a table shared with other threads (made on first use). */
  private store: SharedPieces | null = null;
  /** An isolating Split first (Llama 3, Qwen): its regex run sticky from each piece's end finds the
   * same pieces when they tile the text, and each piece is looked up where it lies. */
  private readonly sticky: RegExp | null;
  private ends = new Int32Array(1024);
  private readonly unnormalized: AddedTokenSplitter;
  private readonly normalized: AddedTokenSplitter;
  /** The rest of the chain is one ByteLevel without a regex (Llama 3, Qwen): a piece maps to one string. */
  private readonly byteLevel: ByteLevelFields | null;

  constructor(
    private readonly t: TokenizerParts,
    /** [add_special_tokens false, true]. */
    private readonly wraps: Wrap[],
  ) {
    this.unk = t.model.unk_token_id;
    this.fuse = t.model.fuse_unk === true;
    this.chain = splitChain(t.pre_tokenizer);
    const split = this.chain.first ? isolatingSplit(this.chain.first) : null;
    this.sticky = split?.pattern ? new RegExp(split.pattern.source, split.pattern.flags.replace('g', '') + 'y') : null;
    this.unnormalized = new AddedTokenSplitter(t.splitter_unnormalized);
    this.normalized = new AddedTokenSplitter(t.splitter_normalized);
    this.byteLevel = this.chain.rest.length === 1 ? regexlessByteLevel(this.chain.rest[0]) : null;
  }

  sharePieces(buffers: SharedPiecesBuffers): void {
    if (buffers.id !== this.store?.id) this.store = new SharedPieces(buffers);
  }

  encode(text: string, add: boolean): number[] {
    const out: number[] = [];
    this.encodeInto(text, add, out);
    return out;
  }

  encodeInto(text: string, add: boolean, out: IdSink): void {
    const t = this.t;
    const wrap = this.wraps[add ? 1 : 0];
    for (let i = 0; i < wrap.prefix.length; i++) out.push(wrap.prefix[i]);
    const sections = stripAround(t, this.unnormalized.split(text));
    for (let i = 0; i < sections.length; i++) {
      let s = sections[i];
      if (s.length === 0) continue;
      if (t.added_tokens_map.has(s)) {
        out.push(this.idOf(s));
        continue;
      }
      if (t.normalizer !== null) s = t.normalizer(s);
      if (s.length === 0) continue;
      const options = { section_index: i };
      const subs = stripAround(t, this.normalized.split(s));
      for (let j = 0; j < subs.length; j++) {
        const sub = subs[j];
        if (sub.length === 0) continue;
        if (t.added_tokens_map.has(sub)) out.push(this.idOf(sub));
        else if (!this.sticky || !this.encodeTiled(sub, options, out)) this.encodePieces(sub, options, out);
      }
    }
    for (let i = 0; i < wrap.suffix.length; i++) out.push(wrap.suffix[i]);
  }

  private idOf(token: string): number {
    return tokenId(this.t, token);
  }

  /** The rest of the pre-tokenizer chain and the model on one piece. */
  private pieceIds(piece: string, options: Options): number[] {
    const bl = this.byteLevel;
    if (bl !== null) {
      // ByteLevel.pre_tokenize_text without its regex: the piece (after the prefix space) as one
      // byte-level string; then BPE.encode, which with ignore_merges takes a piece that is a token
      // as that token, before any merge. No arrays on the way for the usual case, a known word.
      const mapped = byteLevelString(bl.add_prefix_space && !piece.startsWith(' ') ? ' ' + piece : piece, bl.byte_encoder);
      if (this.t.model.ignore_merges && this.t.model.tokens_to_ids.has(mapped)) return [this.idOf(mapped)];
      return this.idsOf(this.t.model.encode([mapped]));
    }
    let pieces = [piece];
    for (let i = 0; i < this.chain.rest.length; i++) pieces = this.chain.rest[i].pre_tokenize(pieces, options);
    return this.idsOf(this.t.model.encode(pieces));
  }

  private idsOf(tokens: string[]): number[] {
    const ids = new Array<number>(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = this.idOf(tokens[i]);
    return ids;
  }

  /** Appends `ids`; fuse_unk: one unknown id for a run of them within the stretch. Returns whether the last was unknown. */
  private append(ids: number[], out: IdSink, afterUnk: boolean): boolean {
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      if (this.fuse && id === this.unk && afterUnk) continue;
      afterUnk = id === this.unk;
      out.push(id);
    }
    return afterUnk;
  }

  /** One stretch between added tokens (the model's one call), by sticky matching and in-place
   * lookups; false, with nothing written, when its pieces would leave a gap. */
  private encodeTiled(text: string, options: Options, out: IdSink): boolean {
    const re = this.sticky!;
    let count = 0;
    for (let pos = 0; pos < text.length; ) {
      re.lastIndex = pos;
      // An empty match or none at pos: the library's split would leave a gap here.
      if (!re.test(text) || re.lastIndex === pos) return false;
      if (count === this.ends.length) {
        const grown = new Int32Array(count * 2);
        grown.set(this.ends);
        this.ends = grown;
      }
      pos = this.ends[count++] = re.lastIndex;
    }
    let afterUnk = false;
    for (let p = 0, start = 0; p < count; start = this.ends[p++]) afterUnk = this.appendPiece(text, start, this.ends[p], options, out, afterUnk);
    return true;
  }

  /** The ids of text[start, end), from the store or computed (and stored), appended to `out`. */
  private appendPiece(text: string, start: number, end: number, options: Options, out: IdSink, afterUnk: boolean): boolean {
    if (end - start > MAX_PIECE) return this.append(this.pieceIds(text.slice(start, end), options), out, afterUnk);
    const store = (this.store ??= new SharedPieces(createSharedPieces('this encoder', DEFAULT_SIZE, false)));
    const kind = options.section_index === 0 ? 0 : 1;
    const h = SharedPieces.hash(text, start, end);
    const k = store.find(text, start, end, kind, h);
    if (k < 0) {
      const ids = this.pieceIds(start === 0 && end === text.length ? text : text.slice(start, end), options);
      store.insert(text, start, end, kind, h, ids);
      return this.append(ids, out, afterUnk);
    }
    const to = store.idsEnd(k);
    for (let i = store.idsStart(k); i < to; i++) {
      const id = store.idAt(i);
      if (this.fuse && id === this.unk && afterUnk) continue;
      afterUnk = id === this.unk;
      out.push(id);
    }
    return afterUnk;
  }

  /** One stretch between added tokens, through the first pre-tokenizer's own split. */
  private encodePieces(text: string, options: Options, out: IdSink): void {
    const pieces = this.chain.first ? firstPieces(this.chain.first, text, options) : [text];
    let afterUnk = false;
    for (let p = 0; p < pieces.length; p++) afterUnk = this.appendPiece(pieces[p], 0, pieces[p].length, options, out, afterUnk);
  }
}
