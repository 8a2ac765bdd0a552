// UTF-8 bytes each token id stands for in text: the denominator of bits per byte. Counting bytes
// instead of tokens makes a loss comparable across tokenizers: the base tokenizer and its extension
// cut the same text into different tokens, but the scored tokens of both spell the same bytes.
import type { LoadedTokenizer } from './load.ts';
import { fromSymbols } from './symbols.ts';

const BYTE_FALLBACK = /^<0x[0-9A-Fa-f]{2}>$/;

/**
 * Per id (length vocabSize): the bytes the token spells. Added tokens (special or not) count their
 * content, since chat markers such as '<|im_end|>' are text in the corpus and the base tokenizer
 * spells them in pieces; a `normalized` one is matched in the normalized text, so it spans its
 * normalized content (a SentencePiece normalizer that prepends '▁' makes '<x>' match ' <x>': 4
 * bytes, the space the base tokenizer's pieces spell too). BOS and EOS count 0 because the
 * encoder or the packer inserts them (they are not text). Byte-level vocabularies hold one symbol per byte ('Ġ' is the space); SentencePiece
 * ones write a space as '▁' and a fallback byte as '<0xNN>'.
 */
export function tokenByteLengths(tok: LoadedTokenizer): Int32Array {
  const out = new Int32Array(tok.vocabSize);
  const { kind, marker } = tok.scheme;
  const span = (t: LoadedTokenizer['addedTokens'][number]) =>
    t.normalized && kind === 'metaspace' ? tok.normalize(t.content).split(marker).join(' ') : t.content;
  const added = new Map(tok.addedTokens.map((t) => [t.id, span(t)]));
  for (let id = 0; id < tok.vocabSize; id++) {
    const content = added.get(id);
    if (content !== undefined) {
      out[id] = Buffer.byteLength(content, 'utf8');
      continue;
    }
    const s = tok.idToToken(id);
    if (s === undefined) continue; // a hole in the id range: never a target
    if (kind === 'byte-level') out[id] = [...s].length;
    else if (kind === 'metaspace') out[id] = BYTE_FALLBACK.test(s) ? 1 : Buffer.byteLength(s.split(marker).join(' '), 'utf8');
    else out[id] = Buffer.byteLength(tok.decode([id]), 'utf8');
  }
  for (const id of [tok.bosId, tok.eosId]) if (id !== null && id < out.length) out[id] = 0;
  return out;
}

/**
 * The exact text a run of ids spells: added tokens as their content, vocabulary pieces through the
 * symbol form (joined first, so a character split over two byte-level tokens comes out whole).
 * Unlike decode() it never cleans up spaces or strips a leading one.
 */
export function idsText(tok: LoadedTokenizer, ids: ArrayLike<number>): string {
  const added = new Map(tok.addedTokens.map((t) => [t.id, t.content]));
  let out = '';
  let symbols = '';
  for (let i = 0; i < ids.length; i++) {
    const content = added.get(ids[i]);
    if (content === undefined) {
      symbols += tok.idToToken(ids[i]) ?? '';
      continue;
    }
    out += fromSymbols(tok.scheme, symbols) + content;
    symbols = '';
  }
  return out + fromSymbols(tok.scheme, symbols);
}
