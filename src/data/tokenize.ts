// Turning documents into token ids and labels (the per-document half of packing). Runs on
// pool threads (pack-worker.ts) and in-process in tests; pure given a tokenizer.
//
// A document with segments is encoded as one whole text, so tokenization is exactly what
// the model sees at inference (tokenizing pieces separately changes ids at the seams, e.g.
// SentencePiece prepends '▁' to every piece). Segment boundaries are mapped to token
// positions by encoding the prefix up to the boundary and taking the longest common prefix
// with the whole encoding; a token that straddles a boundary belongs to the later segment.
import type { IdEncoder } from '../tokenizer/encode-ids.ts';
import { IdBuffer } from '../tokenizer/id-buffer.ts';
import type { Segment } from './items.ts';
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import { IGNORE_INDEX } from '../io/arrow.ts';
import { tokenString } from './chat.ts';

/** What a document carries beside its text: its segments, and whether a chat template made it. */
export interface DocMarks {
  segments?: Segment[];
  templated?: boolean;
}

/**
 * A pool task's documents: their texts, and the marks of those that have any, by index (absent
 * when none has). Strings rather than an object per document: the structured clone of a task's
 * 256 small objects cost the main thread twice, and the pool thread four times, what their plain
 * strings cost (v8.serialize / deserialize of the Brown corpus in groups of 256: 5.5 / 10.5 ms
 * against 3.5 / 2.5 ms).
 */
export interface TokenizeDocs {
  texts: string[];
  marks?: Array<DocMarks | null>;
}

/** The task form of documents: marks only for a document they change (templated, or with an unscored segment). */
export function tokenizeDocsOf(docs: ReadonlyArray<{ text: string } & DocMarks>): TokenizeDocs {
  const texts = docs.map((d) => d.text);
  const marked = (d: DocMarks) => d.templated === true || (d.segments?.some((s) => !s.scored) ?? false);
  if (!docs.some(marked)) return { texts };
  return { texts, marks: docs.map((d) => (marked(d) ? { segments: d.segments, templated: d.templated } : null)) };
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

/** All documents' ids and labels, written straight into growing Int32Arrays (no array per document). */
export function tokenizeDocs(encoder: IdEncoder, docs: TokenizeDocs, opts: TokenizeOptions): TokenizedDocs {
  const { texts, marks } = docs;
  // About 4 characters a token in English; the buffers double when a text needs more.
  const chars = texts.reduce((n, t) => n + t.length, 0);
  const ids = new IdBuffer(chars / 3 + 4 * texts.length);
  const labels = new IdBuffer(chars / 3 + 4 * texts.length);
  const lens = new Int32Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const start = ids.length;
    tokenizeOne(encoder, texts[i], marks?.[i] ?? null, opts, ids, labels);
    lens[i] = ids.length - start;
  }
  // Fresh, exactly-sized buffers: they are transferred to the main thread whole.
  return { ids: ids.take(), labels: labels.take(), lens };
}

/** One document's ids appended to `ids`, and as many labels to `labels`. */
function tokenizeOne(encoder: IdEncoder, text: string, marks: DocMarks | null, opts: TokenizeOptions, ids: IdBuffer, labels: IdBuffer): void {
  const add = marks?.templated ? false : opts.addSpecialTokens;
  const start = ids.length;
  encoder.encodeInto(text, add, ids);
  const n = ids.length - start;
  // scored[t]: token t is a target. Only a document with unscored segments has a 0 anywhere.
  let scored: Uint8Array | null = null;
  const segs = marks?.segments;
  if (segs && segs.some((s) => !s.scored)) {
    scored = new Uint8Array(n + 1).fill(1);
    let charAt = 0;
    let tokAt = 0;
    for (let k = 0; k < segs.length; k++) {
      charAt += segs[k].text.length;
      const tokEnd = k === segs.length - 1 ? n : commonPrefix(encoder.encode(text.slice(0, charAt), add), ids.view(start));
      for (let t = tokAt; t < tokEnd; t++) scored[t] = segs[k].scored ? 1 : 0;
      tokAt = Math.max(tokAt, tokEnd);
    }
  }
  if (opts.appendEos && opts.eosId !== null && (n === 0 || ids.get(start + n - 1) !== opts.eosId)) {
    ids.push(opts.eosId);
    // The EOS ends the last piece: scored when that piece is.
    if (scored) scored[n] = n > 0 ? scored[n - 1] : 1;
  }
  for (let t = start; t < ids.length; t++) labels.push(scored && !scored[t - start] ? IGNORE_INDEX : ids.get(t));
  // No target across the seam: HF shifts labels (target(t) = labels[t+1]), so the first
  // token of a document must not be a target of the previous document's last token.
  if (ids.length > start) labels.set(start, IGNORE_INDEX);
}

function commonPrefix(a: ArrayLike<number>, b: ArrayLike<number>): number {
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
