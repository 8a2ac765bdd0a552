// The items the data library produces, which the built-in nodes pass along (the `item` names of
// their ports): documents from the corpus reader, packed batches from the packer, the corpus
// fingerprint. Declared here, next to the code that makes them, so the library stands without
// the framework: each kind is a name and a description, which nodes/_kinds.ts registers with the
// framework together with the TypeScript type below it.
import type { RecordBatch } from 'apache-arrow';
import type { Fingerprint } from './sources.ts';

export const DOCUMENT_KIND = {
  name: 'document',
  description: 'one text (or rendered chat) of the corpus, with its train/eval split and scored segments',
  fields: {
    id: 'string: stable id (file and line/row)',
    text: 'string: the text trained on',
    split: "'train' | 'eval'",
    segments: '{text, scored}[]? : the text in pieces, only scored ones in the loss (absent: all scored)',
    templated: 'boolean? : rendered by a chat template, so tokenized without added special tokens',
    source: '{file, line?, row?}: where it came from',
  },
};
export const BATCH_KIND = {
  name: 'batch',
  description: 'a packed Arrow batch: input_ids, labels, position_ids, document_ids, each [B, seqLen] int32',
  fields: {
    batch: 'apache-arrow RecordBatch: columns input_ids, labels (-100 = not scored), position_ids, document_ids',
    seqLen: 'number: T',
    split: "'train' | 'eval'",
    epoch: 'number: pass over the data, from 0',
    index: 'number: position in its split stream',
    plan: '{epochs, batchesPerEpoch?, cache?}? : for the train node\'s data plan (plain values)',
  },
};
export const CORPUS_FINGERPRINT_KIND = {
  name: 'corpus-fingerprint',
  description: '{hash, files}: identifies a corpus read (files and reader params), for caches and provenance',
  fields: { hash: 'string: sha256 over the files and reader params', files: '{file, size, mtimeMs, sha256?}[]' },
};

/** item: 'corpus-fingerprint' (value edge). */
export type { Fingerprint };

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
  /** On train batches: what the packer knows of the stream they belong to (one object per stream). */
  plan?: PackPlan;
}

/**
 * What a packer's train stream holds, as values on its batches. The packer knows its batches; the
 * train node knows its steps and gradient accumulation: together they give the updates the data allows.
 */
export interface PackPlan {
  /** Passes over the data the stream makes; null: it repeats (reshuffled) until its consumer stops pulling. */
  epochs: number | null;
  /**
   * Train batches in one pass, on every batch when `epochs` is set (the stream then holds its first batch
   * until packing is complete, so the train node plans its updates before the first), else on the batches
   * of the second pass on (the first streams as it is packed).
   */
  batchesPerEpoch?: number;
  /** Where the batches come from (known before the first batch). */
  cache?: PackCacheInfo;
}

/** The pack cache's part in a run: 'hit' reused a packing, 'built' packed into the cache, 'run-local' (cache off) packed into the run folder. */
export interface PackCacheInfo {
  status: 'hit' | 'built' | 'run-local';
  dir: string;
}
