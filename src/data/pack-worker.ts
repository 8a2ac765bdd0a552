// Pool-thread side of the batch packer: `tokenize(task)` is called through ctx.runOnPool.
// The tokenizer is built once per thread (per tokenizer hash) from a file the main thread
// wrote, so a task carries only texts, never the multi-megabyte tokenizer.json.
import { readFileSync } from 'node:fs';
import { createTokenizer } from '../tokenizer/tokenizers-js.ts';
import { idEncoder, type IdEncoder } from '../tokenizer/encode-ids.ts';
import type { SharedPiecesBuffers } from '../tokenizer/shared-pieces.ts';
import { PackerConfigInvalid } from '../errors.ts';
import { tokenizeDocs, type TokenizeDocs, type TokenizedDocs } from './tokenize.ts';

export interface TokenizeTask {
  /** JSON file {tokenizerJson, tokenizerConfig} written by the packer (see pack-cache.ts). */
  tokenizerFile: string;
  tokenizerHash: string;
  addSpecialTokens: boolean;
  appendEos: boolean;
  eosId: number | null;
  docs: TokenizeDocs;
  /** The piece cache every thread of this packing fills and reads (created by the packer). */
  pieces?: SharedPiecesBuffers;
}

/** Tokenizers a thread keeps (a run packs with one or two); the least recently used goes first. */
const KEEP = 3;
const encoders = new Map<string, IdEncoder>();

function encoderFor(task: TokenizeTask): IdEncoder {
  let enc = encoders.get(task.tokenizerHash);
  if (enc) encoders.delete(task.tokenizerHash);
  else {
    const { tokenizerJson, tokenizerConfig } = JSON.parse(readFileSync(task.tokenizerFile, 'utf8'));
    enc = idEncoder(createTokenizer(tokenizerJson, tokenizerConfig, { wordCaches: false }));
    // A Llama 3 tokenizer holds ~100 MB of maps and caches: a thread does not keep every one it met.
    if (encoders.size >= KEEP) encoders.delete(encoders.keys().next().value!);
  }
  // Map order is insertion order: re-inserted, the tokenizer is the most recently used.
  encoders.set(task.tokenizerHash, enc);
  return enc;
}

/** Returns fresh Int32Arrays (ids, labels [tokens], lens [docs]); the pool transfers their buffers. */
export function tokenize(task: TokenizeTask): TokenizedDocs {
  // A table filled by another tokenizer would hand out its ids for this one's pieces.
  if (task.pieces && task.pieces.owner !== task.tokenizerHash) throw new PackerConfigInvalid(`a tokenize task for tokenizer ${task.tokenizerHash} came with the shared piece table of tokenizer ${task.pieces.owner}`);
  const enc = encoderFor(task);
  if (task.pieces) enc.sharePieces(task.pieces);
  return tokenizeDocs(enc, task.docs, task);
}
