// Turning documents into token ids and labels (the per-document half of packing). Runs on
// pool threads (pack-worker.ts) and in-process in tests; pure given a tokenizer.
//
// A document with segments is encoded as one whole text, so tokenization is exactly what
// the model sees at inference (tokenizing pieces separately changes ids at the seams, e.g.
// SentencePiece prepends '▁' to every piece). Segment boundaries are mapped to token
// positions by encoding the prefix up to the boundary and taking the longest common prefix
// with the whole encoding; a token that straddles a boundary belongs to the later segment.
import type { Tokenizer } from '@huggingface/tokenizers';
import type { Segment } from './items.ts';
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import { IGNORE_INDEX } from '../io/arrow.ts';
import { tokenString } from './chat.ts';

export interface TokenizeDoc {
  text: string;
  segments?: Segment[];
  templated?: boolean;
}

export interface TokenizeOptions {
  /** Let the tokenizer add its special tokens (BOS...) to non-templated documents. */
  addSpecialTokens: boolean;
  /** Append EOS after every document whose last token is not EOS already. */
  appendEos: boolean;
  eosId: number | null;
}

/** All documents of one task, concatenated: ids/labels [sum(lens)], lens [docs]. Fresh buffers. */
export interface TokenizedDocs {
  ids: Int32Array;
  labels: Int32Array;
  lens: Int32Array;
}

export function tokenizeDocs(tok: Tokenizer, docs: TokenizeDoc[], opts: TokenizeOptions): TokenizedDocs {
  const perDoc = docs.map((d) => tokenizeOne(tok, d, opts));
  const total = perDoc.reduce((s, d) => s + d.ids.length, 0);
  // Fresh, exactly-sized buffers: they are transferred to the main thread whole.
  const ids = new Int32Array(total);
  const labels = new Int32Array(total);
  const lens = new Int32Array(docs.length);
  let at = 0;
  perDoc.forEach((d, i) => {
    ids.set(d.ids, at);
    labels.set(d.labels, at);
    lens[i] = d.ids.length;
    at += d.ids.length;
  });
  return { ids, labels, lens };
}

function tokenizeOne(tok: Tokenizer, doc: TokenizeDoc, opts: TokenizeOptions): { ids: number[]; labels: number[] } {
  const add = doc.templated ? false : opts.addSpecialTokens;
  const ids: number[] = tok.encode(doc.text, { add_special_tokens: add }).ids;
  const scored = new Array<boolean>(ids.length).fill(true);
  const segs = doc.segments;
  if (segs && segs.some((s) => !s.scored)) {
    let charAt = 0;
    let tokAt = 0;
    for (let k = 0; k < segs.length; k++) {
      charAt += segs[k].text.length;
      const tokEnd = k === segs.length - 1 ? ids.length : commonPrefix(tok.encode(doc.text.slice(0, charAt), { add_special_tokens: add }).ids, ids);
      for (let t = tokAt; t < tokEnd; t++) scored[t] = segs[k].scored;
      tokAt = Math.max(tokAt, tokEnd);
    }
  }
  if (opts.appendEos && opts.eosId !== null && ids[ids.length - 1] !== opts.eosId) {
    ids.push(opts.eosId);
    // The EOS ends the last piece: scored when that piece is.
    scored.push(scored.length > 0 ? scored[scored.length - 1] : true);
  }
  const labels = ids.map((id: number, t: number) => (scored[t] ? id : IGNORE_INDEX));
  // No target across the seam: HF shifts labels (target(t) = labels[t+1]), so the first
  // token of a document must not be a target of the previous document's last token.
  if (labels.length > 0) labels[0] = IGNORE_INDEX;
  return { ids, labels };
}

function commonPrefix(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Id of a token string in a tokenizer.json: added tokens first, then the model vocabulary. */
export function tokenId(tokenizerJson: Record<string, unknown>, content: string): number | null {
  const added = tokenizerJson.added_tokens as Array<{ id: number; content: string }> | undefined;
  const hit = added?.find((t) => t.content === content);
  if (hit) return hit.id;
  const vocab = (tokenizerJson.model as { vocab?: unknown } | undefined)?.vocab;
  if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], ...], the id is the index.
    const i = vocab.findIndex((v) => Array.isArray(v) && v[0] === content);
    return i >= 0 ? i : null;
  }
  if (vocab && typeof vocab === 'object') {
    const id = (vocab as Record<string, number>)[content];
    return typeof id === 'number' ? id : null;
  }
  return null;
}

/** EOS and pad ids from the tokenizer files; pad falls back to EOS, then 0. */
export function specialIds(artifact: Pick<TokenizerArtifact, 'tokenizerJson' | 'tokenizerConfig'>): { eosId: number | null; padId: number } {
  const eos = tokenString(artifact.tokenizerConfig.eos_token);
  const pad = tokenString(artifact.tokenizerConfig.pad_token);
  const eosId = eos !== undefined ? tokenId(artifact.tokenizerJson, eos) : null;
  const padId = (pad !== undefined ? tokenId(artifact.tokenizerJson, pad) : null) ?? eosId ?? 0;
  return { eosId, padId };
}
