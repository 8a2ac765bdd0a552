// Shapes of the items that flow between the built-in nodes. The `item` names used in
// PortSpec refer to these. Custom nodes may define their own item names.
import type { RecordBatch } from 'apache-arrow';

/** A piece of a document's text; `scored: false` pieces are masked out of the loss. */
export interface Segment {
  text: string;
  scored: boolean;
}

/** item: 'document' — one text (or rendered chat) from the corpus. */
export interface Document {
  /** Stable id: `${file}:${line}` for line-based files, `${file}#${row}` for tables, `${file}` for whole files. */
  id: string;
  /** The whole text (for a chat: the rendered template); always the concatenation of `segments`. */
  text: string;
  /** 'train' or 'eval', from a hash of the document (deterministic). */
  split: 'train' | 'eval';
  /**
   * The text cut into consecutive pieces, each scored by the loss or not (e.g. a chat: only
   * assistant turns and their end-of-turn marker scored). Absent: the whole text is scored.
   */
  segments?: Segment[];
  /**
   * The text came out of a chat template and already carries BOS and turn markers: tokenize
   * it without letting the tokenizer add special tokens (apply_chat_template does the same).
   */
  templated?: boolean;
  source: { file: string; line?: number; row?: number };
}

/** One token to add, from discovery. */
export interface TokenCandidate {
  content: string;
  special: boolean;
  /** Where it came from: 'list' | 'template' | 'mined'. */
  origin: 'list' | 'template' | 'mined';
  /** Corpus occurrences (mined tokens), pieces under the base tokenizer and count*(pieces-1). */
  count?: number;
  pieces?: number;
  saved?: number;
}

/** item: 'token-list' (value edge). */
export interface TokenList {
  tokens: TokenCandidate[];
}

/** item: 'tokenizer' (value edge) — the (possibly extended) tokenizer as files in memory. */
export interface TokenizerArtifact {
  /** Parsed tokenizer.json. */
  tokenizerJson: Record<string, unknown>;
  /** Parsed tokenizer_config.json (may be {}). */
  tokenizerConfig: Record<string, unknown>;
  /** sha256 hex of the canonical JSON of both files: the packer cache key uses it. */
  hash: string;
  /** Vocabulary size of the base tokenizer (model vocab + added tokens) before extension. */
  baseVocabSize: number;
  /** Ids given to the new tokens, in the order of `newTokens`. */
  newTokenIds: number[];
  newTokens: string[];
}

/**
 * item: 'batch' — a packed training batch as an Arrow RecordBatch with the columns
 * input_ids, labels, position_ids, document_ids: each FixedSizeList<Int32>(seqLen), B rows.
 * `split` tells train from eval batches; `epoch`/`index` locate it in the stream.
 */
export interface PackedBatch {
  batch: RecordBatch;
  seqLen: number;
  split: 'train' | 'eval';
  epoch: number;
  index: number;
}

/** item: 'step-event' — one optimizer step of the train step. */
export interface StepEvent {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  tokens: number;
}
