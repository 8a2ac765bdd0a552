// A small handle over tokenizers.js (@huggingface/tokenizers) for a Hugging Face fast tokenizer:
// loaded from a model folder, from files in memory, or from a TokenizerArtifact (the value the
// tokenizer-extension node emits). Also the artifact constructor with its content hash.
import type { Tokenizer } from '@huggingface/tokenizers';
import { createTokenizer } from './tokenizers-js.ts';
import { idEncoder, type IdEncoder } from './encode-ids.ts';
import type { TokenizerArtifact } from './items.ts';
import { TokenizerFileInvalid } from '../errors.ts';
import { readTokenizerFiles, tokenizerHash, validateTokenizerJson, type TokenizerFiles } from './files.ts';
import { detectScheme, escapeRegex, metaspaceWords, type SymbolScheme } from './symbols.ts';

type Json = Record<string, any>;

export interface AddedTokenEntry {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface EncodeOptions {
  /** Add what the post-processor adds (BOS for Llama). Default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export class LoadedTokenizer {
  readonly tokenizerJson: Json;
  readonly tokenizerConfig: Json;
  /** Folder or 'artifact', for messages. */
  readonly source: string;
  readonly scheme: SymbolScheme;
  readonly addedTokens: AddedTokenEntry[];
  /** Entries of model.vocab. */
  readonly modelVocabSize: number;
  /** Largest id (model vocab or added) + 1: len(tokenizer) in transformers, the embedding rows the ids need. */
  readonly vocabSize: number;
  readonly chatTemplate: string | null;
  readonly bosId: number | null;
  readonly eosId: number | null;
  private readonly tok: Tokenizer;
  private readonly ids: IdEncoder;
  private hashCache: string | null;

  constructor(files: { tokenizerJson: Json; tokenizerConfig: Json; source?: string; hash?: string }) {
    this.source = files.source ?? 'artifact';
    const where = files.source ? `${files.source}/tokenizer.json` : 'tokenizer artifact';
    validateTokenizerJson(files.tokenizerJson, where);
    this.tokenizerJson = files.tokenizerJson;
    this.tokenizerConfig = files.tokenizerConfig;
    // An artifact carries its hash already: no second pass over 10 MB of JSON.
    this.hashCache = typeof files.hash === 'string' ? files.hash : null;
    try {
      this.tok = createTokenizer(files.tokenizerJson, files.tokenizerConfig);
      this.ids = idEncoder(this.tok);
    } catch (e) {
      throw new TokenizerFileInvalid(where, `tokenizers.js cannot build it: ${(e as Error).message}`, { cause: e });
    }
    this.scheme = detectScheme(files.tokenizerJson);
    this.addedTokens = (files.tokenizerJson.added_tokens as AddedTokenEntry[]).map((t) => ({
      id: t.id,
      content: t.content,
      single_word: t.single_word ?? false,
      lstrip: t.lstrip ?? false,
      rstrip: t.rstrip ?? false,
      normalized: t.normalized ?? !t.special,
      special: t.special ?? false,
    }));
    const vocab = files.tokenizerJson.model.vocab;
    const ids: number[] = Array.isArray(vocab) ? vocab.map((_, i) => i) : (Object.values(vocab) as number[]);
    this.modelVocabSize = ids.length;
    let max = -1;
    for (const id of ids) if (id > max) max = id;
    for (const t of this.addedTokens) if (t.id > max) max = t.id;
    this.vocabSize = max + 1;
    this.chatTemplate = pickTemplate(files.tokenizerConfig.chat_template);
    this.bosId = this.namedId(files.tokenizerConfig.bos_token);
    this.eosId = this.namedId(files.tokenizerConfig.eos_token);
  }

  /** Fresh Int32Array of ids (transferable). */
  encode(text: string, opts: EncodeOptions = {}): Int32Array {
    return Int32Array.from(this.ids.encode(text, opts.addSpecialTokens ?? true));
  }

  /** Token strings (vocabulary form) of the encoding. */
  tokenize(text: string, opts: EncodeOptions = {}): string[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).tokens;
  }

  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tok.decode(Array.from(ids), { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  /** Whether `symbols` is an entry of model.vocab (not only an added token). */
  inModelVocab(symbols: string): boolean {
    const v = this.tokenizerJson.model.vocab;
    return !Array.isArray(v) && Object.hasOwn(v, symbols);
  }

  /** Pieces (vocabulary strings, after byte fallback) the model gives one pre-token in symbol form. */
  modelPieces(symbols: string): string[] {
    return (this.tok.model as any)([symbols]) as string[];
  }

  /** BPE symbols before byte fallback: what merges operate on. Only for BPE models. */
  bpeSymbols(symbols: string): string[] {
    const m = this.tok.model as any;
    if (typeof m.bpe !== 'function') return this.modelPieces(symbols);
    return [...(m.bpe(symbols) as string[])];
  }

  /**
   * Text -> pre-tokens (symbol form), per section between added tokens, the way encode splits:
   * added tokens first, then the normalizer, then the pre-tokenizer. Added-token sections come
   * back as { added: id } so callers can count them as one token and break units there.
   */
  preTokenize(text: string): Array<string[] | { added: number }> {
    const out: Array<string[] | { added: number }> = [];
    const parts = this.addedSplitter ? text.split(this.addedSplitter) : [text];
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        const t = this.addedByContent.get(part);
        if (t) return void out.push({ added: t.id });
      }
      if (part.length === 0) return;
      let s = part;
      if (this.tok.normalizer) s = (this.tok.normalizer as any)(s) as string;
      if (s.length === 0) return;
      let pre: string[] = this.tok.pre_tokenizer ? ((this.tok.pre_tokenizer as any)(s, { section_index: out.length }) as string[]) : [s];
      if (this.scheme.kind === 'metaspace') pre = pre.flatMap((p) => metaspaceWords(this.scheme.marker, p));
      out.push(pre);
    });
    return out;
  }

  /** `text` through the tokenizer's normalizer (unchanged when it has none). */
  normalize(text: string): string {
    return this.tok.normalizer ? ((this.tok.normalizer as any)(text) as string) : text;
  }

  /** sha256 of the canonical JSON of both files (computed once, on first use). */
  get hash(): string {
    this.hashCache ??= tokenizerHash(this.tokenizerJson, this.tokenizerConfig);
    return this.hashCache;
  }

  private namedId(v: unknown): number | null {
    const content = typeof v === 'string' ? v : v && typeof v === 'object' ? (v as Json).content : undefined;
    if (typeof content !== 'string') return null;
    return this.tokenToId(content) ?? null;
  }

  private _added?: { re: RegExp | null; map: Map<string, AddedTokenEntry> };
  private get addedSplitter(): RegExp | null {
    return this.addedIndex.re;
  }
  private get addedByContent(): Map<string, AddedTokenEntry> {
    return this.addedIndex.map;
  }
  private get addedIndex() {
    if (!this._added) {
      const contents = this.addedTokens.map((t) => t.content).filter((c) => c.length > 0);
      // Longest first, so '<|im_start|>' wins over a shorter token that is its prefix.
      contents.sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
      const re = contents.length ? new RegExp(`(${contents.map(escapeRegex).join('|')})`, 'u') : null;
      this._added = { re, map: new Map(this.addedTokens.map((t) => [t.content, t])) };
    }
    return this._added;
  }
}

function pickTemplate(t: unknown): string | null {
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x) => x?.name === 'default') ?? t[0];
    return typeof named?.template === 'string' ? named.template : null;
  }
  return null;
}

/** From a model folder, files in memory, or a TokenizerArtifact. */
export function loadTokenizer(from: string | TokenizerFiles | TokenizerArtifact): LoadedTokenizer {
  if (typeof from === 'string') return new LoadedTokenizer(readTokenizerFiles(from));
  return new LoadedTokenizer(from);
}

/** Throws what loadTokenizer(dir) would: for checks of a model folder before a run starts. */
export function checkTokenizerFolder(dir: string): void {
  loadTokenizer(dir);
}

/** Builds the 'tokenizer' item; the hash covers both files, so any change gives a new cache key. */
export function artifactFromFiles(
  tokenizerJson: Json,
  tokenizerConfig: Json,
  baseVocabSize: number,
  newTokens: string[],
  newTokenIds: number[],
): TokenizerArtifact {
  // internal: callers build both lists together.
  if (newTokens.length !== newTokenIds.length) throw new Error('artifactFromFiles: newTokens and newTokenIds differ in length');
  return { tokenizerJson, tokenizerConfig, hash: tokenizerHash(tokenizerJson, tokenizerConfig), baseVocabSize, newTokenIds, newTokens };
}
