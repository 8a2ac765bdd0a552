// The tokenizer of a GGUF file: tokenizer.ggml.* keys as llama.cpp's convert_hf_to_gguf.py writes
// them from a Hugging Face tokenizer.json, so llama.cpp encodes text to the ids tokenpipe does.
//
// - Byte-level BPE (Llama 3, Qwen2/3, SmolLM, the quickstart's base): model "gpt2", the vocabulary
//   in its byte-symbol form, the merges, and the pre-tokenizer type (tokenizer.ggml.pre) whose
//   llama.cpp regex is the one tokenizer.json splits with; one that matches none is refused.
// - SentencePiece-style BPE with byte fallback (Llama 2, Mistral): model "llama", scores and types.
//   llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined piece has the highest
//   score, where Hugging Face BPE takes the merge of lowest rank; the score of a piece is minus the
//   rank of the merge that builds it, so new words (merge mode) are built as tokenpipe builds them.
// - Added tokens keep their ids: special ones (and those that look special, <|...|>) as control
//   tokens, others (added mode) as user-defined tokens in their text form, which llama.cpp matches
//   in the raw text as tokenizers does for byte-level files. A SentencePiece-style file's normalized
//   added words (added mode on Llama 2 / Mistral) are refused: tokenizers matches them after its
//   normalizer ("▁acetaminophen") and adds no "▁" after them, llama.cpp cannot do either.
// - Ids past the tokenizer up to the model's vocab_size (padded embeddings) become unused [PADn].
import { GgufExportUnsupported } from '../errors.ts';
import { gv, type GgufValue } from '../io/gguf-write.ts';
import type { LoadedTokenizer } from './load.ts';

type Json = Record<string, any>;

/** llama_token_type (gguf-py TokenType). */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

// The split regexes of llama.cpp's pre-tokenizer types (llama-vocab.cpp), as tokenizer.json writes them.
const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The pre-tokenizer types this export recognises: [llama.cpp name, what tokenizer.json must hold]. */
export const PRE_TYPES = ['gpt-2', 'llama-bpe', 'qwen2', 'smollm'] as const;

/** tokenizer.ggml.pre for a byte-level tokenizer.json, or a reason it matches none. */
export function preTokenizerType(tj: Json): { pre: (typeof PRE_TYPES)[number] } | { why: string } {
  const pt = tj.pre_tokenizer;
  const steps: Json[] = pt?.type === 'Sequence' ? pt.pretokenizers ?? [] : pt ? [pt] : [];
  const sig = steps.map((s) => s.type).join('+');
  const byteLevel = steps[steps.length - 1];
  if (byteLevel?.type !== 'ByteLevel') return { why: `pre_tokenizer ${sig || 'null'} does not end in ByteLevel` };
  if (byteLevel.add_prefix_space) return { why: 'ByteLevel add_prefix_space is true (llama.cpp adds no prefix space to BPE text)' };
  if (steps.length === 1 && byteLevel.use_regex !== false) return { pre: 'gpt-2' };
  if (steps.length === 2 && steps[0].type === 'Digits' && steps[0].individual_digits && byteLevel.use_regex !== false) return { pre: 'smollm' };
  if (steps.length === 2 && steps[0].type === 'Split' && byteLevel.use_regex === false) {
    const re = steps[0].pattern?.Regex;
    if (steps[0].behavior === 'Isolated' && !steps[0].invert) {
      if (re === LLAMA3_REGEX) return { pre: 'llama-bpe' };
      if (re === QWEN2_REGEX) return { pre: 'qwen2' };
      if (re === GPT2_REGEX) return { pre: 'gpt-2' };
    }
    return { why: `Split regex ${JSON.stringify(re)} is none of llama.cpp's gpt-2, llama-bpe (Llama 3) or qwen2 regexes` };
  }
  return { why: `pre_tokenizer ${sig} matches none of ${PRE_TYPES.join(', ')}` };
}

function mergePair(m: string | [string, string]): [string, string] {
  if (Array.isArray(m)) return m;
  const k = m.indexOf(' ');
  return [m.slice(0, k), m.slice(k + 1)];
}

/** Content of a tokenizer_config special-token entry (a string or an AddedToken dict). */
function contentOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content;
  return null;
}

/** A token that looks like a control marker (convert_hf_to_gguf's does_token_look_special). */
function looksSpecial(content: string): boolean {
  return /^<\|[^\s]*\|>$/.test(content) || ['<s>', '</s>', '<pad>', '<unk>'].includes(content);
}

export interface GgufVocabOptions {
  /** Rows of the model's embedding: the token list is padded to it. */
  vocabSize: number;
  /** Ids from config.json / generation_config.json, used when tokenizer_config.json names none. */
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
}

/** The tokenizer.* metadata entries of a GGUF file for `tok`. */
export function ggufTokenizerMetadata(tok: LoadedTokenizer, opts: GgufVocabOptions): Array<[string, GgufValue]> {
  const where = `${tok.source}/tokenizer.json`;
  const tj = tok.tokenizerJson;
  const model: Json = tj.model;
  if (model?.type !== 'BPE') throw new GgufExportUnsupported(where, `model.type ${model?.type} (only BPE tokenizers: byte-level or SentencePiece-style with byte_fallback)`);
  const spm = model.byte_fallback === true;
  if (tok.vocabSize > opts.vocabSize) throw new GgufExportUnsupported(where, `the tokenizer has ${tok.vocabSize} ids but the model only ${opts.vocabSize} embedding rows`);

  const N = opts.vocabSize;
  const tokens: string[] = new Array(N).fill(null);
  const types = new Int32Array(N).fill(TOKEN_TYPE.NORMAL);
  for (const [s, id] of Object.entries(model.vocab as Record<string, number>)) tokens[id] = s;
  const merges = (model.merges as Array<string | [string, string]>).map(mergePair);
  const scores = new Float32Array(N);
  if (spm) {
    // Minus the rank of the first merge that builds a piece; pieces no merge builds keep 0.
    const rankOf = new Map<string, number>();
    merges.forEach(([a, b], r) => { if (!rankOf.has(a + b)) rankOf.set(a + b, r); });
    for (let id = 0; id < N; id++) {
      const s = tokens[id];
      if (s === null) continue;
      if (/^<0x[0-9A-Fa-f]{2}>$/.test(s)) types[id] = TOKEN_TYPE.BYTE;
      else if (rankOf.has(s)) scores[id] = -rankOf.get(s)!;
    }
    if (typeof model.unk_token === 'string' && model.vocab[model.unk_token] !== undefined) types[model.vocab[model.unk_token]] = TOKEN_TYPE.UNKNOWN;
  }
  for (const t of tok.addedTokens) {
    if (t.special || looksSpecial(t.content)) {
      tokens[t.id] = t.content;
      // <unk> is often an added special token too; llama.cpp wants it typed unknown (SentencePiece's type).
      types[t.id] = spm && t.content === model.unk_token ? TOKEN_TYPE.UNKNOWN : TOKEN_TYPE.CONTROL;
    } else {
      if (spm && t.normalized) {
        // tokenizers matches it in the normalized text ("▁" before it, none added after it); llama.cpp
        // matches raw text and starts the text after any token with a space: no GGUF setting says otherwise.
        throw new GgufExportUnsupported(where, `added token ${JSON.stringify(t.content)} (id ${t.id}) is a normalized word on a SentencePiece-style tokenizer, which llama.cpp cannot split as tokenizers does; extend the tokenizer in merge mode (the extend node's mode: merge) to export it`);
      }
      // llama.cpp matches user-defined tokens in the raw text: their plain text form.
      tokens[t.id] = spm ? t.content.replaceAll('▁', ' ') : t.content;
      types[t.id] = TOKEN_TYPE.USER_DEFINED;
    }
    scores[t.id] = 0;
  }
  for (let id = 0; id < N; id++) {
    if (tokens[id] === null) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TOKEN_TYPE.UNUSED;
    }
  }

  const out: Array<[string, GgufValue]> = [];
  if (spm) {
    out.push(['tokenizer.ggml.model', gv.str('llama')], ['tokenizer.ggml.pre', gv.str('default')]);
  } else {
    const p = preTokenizerType(tj);
    if ('why' in p) throw new GgufExportUnsupported(where, `${p.why}; llama.cpp would split text differently`);
    out.push(['tokenizer.ggml.model', gv.str('gpt2')], ['tokenizer.ggml.pre', gv.str(p.pre)]);
  }
  out.push(['tokenizer.ggml.tokens', gv.strs(tokens)]);
  if (spm) out.push(['tokenizer.ggml.scores', gv.f32s(scores)]);
  out.push(['tokenizer.ggml.token_type', gv.i32s(types)]);
  if (!spm) out.push(['tokenizer.ggml.merges', gv.strs(merges.map(([a, b]) => `${a} ${b}`))]);

  const cfg = tok.tokenizerConfig;
  const idOf = (v: unknown): number | null => {
    const c = contentOf(v);
    return c === null ? null : tok.tokenToId(c) ?? null;
  };
  const bos = idOf(cfg.bos_token) ?? opts.bosTokenId;
  const eos = idOf(cfg.eos_token) ?? opts.eosTokenId;
  const pad = idOf(cfg.pad_token) ?? opts.padTokenId;
  const unk = spm && typeof model.unk_token === 'string' ? tok.tokenToId(model.unk_token) ?? null : null;
  if (bos !== null) out.push(['tokenizer.ggml.bos_token_id', gv.u32(bos)]);
  if (eos !== null) out.push(['tokenizer.ggml.eos_token_id', gv.u32(eos)]);
  if (unk !== null) out.push(['tokenizer.ggml.unknown_token_id', gv.u32(unk)]);
  if (pad !== null) out.push(['tokenizer.ggml.padding_token_id', gv.u32(pad)]);
  // What the tokenizer does, not what a flag says: encode a letter with and without special tokens.
  const plain = tok.encode('a', { addSpecialTokens: false });
  const full = tok.encode('a', { addSpecialTokens: true });
  const addBos = full.length > plain.length && full[0] !== plain[0];
  const addEos = full.length > plain.length && full[full.length - 1] !== plain[plain.length - 1];
  out.push(['tokenizer.ggml.add_bos_token', gv.bool(addBos)], ['tokenizer.ggml.add_eos_token', gv.bool(addEos)]);
  if (spm) out.push(['tokenizer.ggml.add_space_prefix', gv.bool(addsSpacePrefix(tj))]);
  const tpl = cfg.chat_template;
  if (typeof tpl === 'string') out.push(['tokenizer.chat_template', gv.str(tpl)]);
  else if (Array.isArray(tpl)) {
    for (const t of tpl) {
      if (typeof t?.template !== 'string' || typeof t?.name !== 'string') continue;
      out.push([t.name === 'default' ? 'tokenizer.chat_template' : `tokenizer.chat_template.${t.name}`, gv.str(t.template)]);
    }
  }
  return out;
}

/** SentencePiece-style: does the tokenizer put "▁" before the text (Prepend normalizer or Metaspace)? */
function addsSpacePrefix(tj: Json): boolean {
  const norms: Json[] = tj.normalizer?.type === 'Sequence' ? tj.normalizer.normalizers : tj.normalizer ? [tj.normalizer] : [];
  if (norms.some((n) => n.type === 'Prepend' && n.prepend === '▁')) return true;
  const pres: Json[] = tj.pre_tokenizer?.type === 'Sequence' ? tj.pre_tokenizer.pretokenizers : tj.pre_tokenizer ? [tj.pre_tokenizer] : [];
  return pres.some((p) => p.type === 'Metaspace' && (p.prepend_scheme ? p.prepend_scheme !== 'never' : p.add_prefix_space !== false));
}
