// Pool-thread side of the batch packer: `tokenize(task)` is called through ctx.runOnPool.
// The tokenizer is built once per thread (per tokenizer hash) from a file the main thread
// wrote, so a task carries only texts, never the multi-megabyte tokenizer.json.
import { readFileSync } from 'node:fs';
import type { Tokenizer } from '@huggingface/tokenizers';
import { createTokenizer } from '../tokenizer/tokenizers-js.ts';
import { tokenizeDocs, type TokenizeDoc, type TokenizedDocs } from './tokenize.ts';

export interface TokenizeTask {
  /** JSON file {tokenizerJson, tokenizerConfig} written by the packer (see pack-cache.ts). */
  tokenizerFile: string;
  tokenizerHash: string;
  addSpecialTokens: boolean;
  appendEos: boolean;
  eosId: number | null;
  docs: TokenizeDoc[];
}

const tokenizers = new Map<string, Tokenizer>();

function tokenizerFor(task: TokenizeTask): Tokenizer {
  let tok = tokenizers.get(task.tokenizerHash);
  if (!tok) {
    const { tokenizerJson, tokenizerConfig } = JSON.parse(readFileSync(task.tokenizerFile, 'utf8'));
    tok = createTokenizer(tokenizerJson, tokenizerConfig);
    tokenizers.set(task.tokenizerHash, tok);
  }
  return tok;
}

/** Returns fresh Int32Arrays (ids, labels [tokens], lens [docs]); the pool transfers their buffers. */
export function tokenize(task: TokenizeTask): TokenizedDocs {
  return tokenizeDocs(tokenizerFor(task), task.docs, task);
}
