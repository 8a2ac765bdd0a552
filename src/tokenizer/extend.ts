// Tokenizer extension. `added` mode does what transformers' add_tokens / add_special_tokens do to
// the files: new AddedToken entries (normal: special=false, normalized=true; special: special=true,
// normalized=false, lstrip/rstrip false) with ids after every existing id, and tokenizer_config.json
// gets `added_tokens_decoder` (rebuilt from tokenizer.json, as save_pretrained does) and
// `additional_special_tokens`. `merge` mode puts normal words into the BPE model instead
// (extend-merge.ts); tokens it cannot handle there fall back to added tokens (or are skipped).
import path from 'node:path';
import { z } from 'zod';
import type { TokenCandidate, TokenizerArtifact } from './items.ts';
import { TokenizerUnsupported } from '../errors.ts';
import { checkToken } from './discover.ts';
import { sortedJson } from '../io/json.ts';
import { writeFileAtomicSync } from '../io/atomic.ts';
import { artifactFromFiles, type AddedTokenEntry, type LoadedTokenizer } from './load.ts';
import { finishBpe, mergeState, planWord, serializeMerges } from './extend-merge.ts';
import { fromSymbols, toSymbols } from './symbols.ts';

type Json = Record<string, any>;

export const ExtendOptions = z
  .object({
    mode: z
      .enum(['added', 'merge'])
      .default('added')
      .describe("'added': AddedToken entries like transformers' add_tokens; 'merge': normal words enter the BPE vocabulary with their leading space and merges (no stray space token)"),
    unmergeable: z
      .enum(['added', 'skip'])
      .default('added')
      .describe("merge mode: what to do with a normal token merges cannot build (spans several pre-tokens, or has characters outside the vocabulary)"),
  })
  .strict();
export type ExtendOptions = z.output<typeof ExtendOptions>;

export interface ExtensionEntry {
  id: number;
  /** Vocabulary string: the added token's content, or the symbol form of a BPE entry ('Ġacetaminophen'). */
  token: string;
  /** What it stands for in text (' acetaminophen'). */
  text: string;
  kind: 'added' | 'vocab' | 'intermediate';
  special: boolean;
  /** For a fallback or intermediate: why / which word needed it. */
  note?: string;
}

export interface ExtensionReport {
  mode: ExtendOptions['mode'];
  baseVocabSize: number;
  vocabSize: number;
  added: ExtensionEntry[];
  skipped: Array<{ content: string; reason: string; id?: number }>;
  mergesAdded: number;
  /** Merge mode: words that need no merge, since the tokenizer looks a pre-token up whole (ignore_merges): their vocabulary entry is enough. */
  wholeWords?: number;
  warnings: string[];
}

export interface Extended {
  artifact: TokenizerArtifact;
  report: ExtensionReport;
}

/** Appends `tokens` to the base tokenizer. Never reuses an id: new ids start at max(existing id) + 1. */
export function extendTokenizer(base: LoadedTokenizer, tokens: TokenCandidate[], options: Partial<ExtendOptions> = {}): Extended {
  const opts = ExtendOptions.parse(options);
  if (opts.mode === 'merge' && (base.tokenizerJson.model.type ?? 'BPE') !== 'BPE') {
    throw new TokenizerUnsupported(`merge mode needs a BPE model; ${base.source} has ${base.tokenizerJson.model.type}`);
  }
  const out = build(base, tokens, opts);
  // planWord makes every word one token by construction; re-running BPE over the final merge list
  // guards that claim (a failure here is a bug, not bad input).
  if (out.unfinished.length) throw new TokenizerUnsupported(`merge mode: ${out.unfinished.join(', ')} would not encode to one token`);
  const { tokenizerJson, tokenizerConfig, entries, report } = out;
  const artifact = {
    ...artifactFromFiles(tokenizerJson, tokenizerConfig, base.vocabSize, entries.map((e) => e.token), entries.map((e) => e.id)),
    intermediateIds: entries.filter((e) => e.kind === 'intermediate').map((e) => e.id),
  };
  return { artifact, report };
}

function build(base: LoadedTokenizer, tokens: TokenCandidate[], opts: ExtendOptions) {
  const json = base.tokenizerJson;
  const model = json.model;
  const addedByContent = new Map(base.addedTokens.map((t) => [t.content, t.id]));
  const existingId = (s: string): number | undefined => addedByContent.get(s) ?? (Object.hasOwn(model.vocab, s) ? model.vocab[s] : undefined);
  let nextId = base.vocabSize;
  const takeId = () => nextId++;
  const state = opts.mode === 'merge' ? mergeState(model, base.addedTokens.map((t) => [t.content, t.id]), takeId) : null;
  const newAdded: AddedTokenEntry[] = [];
  const entries: ExtensionEntry[] = [];
  const skipped: ExtensionReport['skipped'] = [];
  const planned: Array<[string, string, string[], boolean]> = [];
  const seen = new Set<string>();

  const addAdded = (c: TokenCandidate, note?: string) => {
    const id = existingId(c.content);
    if (id !== undefined) return void skipped.push({ content: c.content, reason: 'already in the vocabulary', id });
    const t: AddedTokenEntry = { id: takeId(), content: c.content, single_word: false, lstrip: false, rstrip: false, normalized: !c.special, special: c.special };
    newAdded.push(t);
    addedByContent.set(c.content, t.id);
    state?.vocab.set(c.content, t.id);
    entries.push({ id: t.id, token: c.content, text: c.content, kind: 'added', special: c.special, note });
  };

  tokens.forEach((c, i) => {
    checkToken(c.content, `tokens[${i}]`);
    if (seen.has(c.content)) return void skipped.push({ content: c.content, reason: 'listed twice' });
    seen.add(c.content);
    if (!state || c.special) return addAdded(c);
    const why = unmergeableReason(base, c.content);
    const word = toSymbols(base.scheme, ' ' + c.content);
    if (!why && state.vocab.has(word)) {
      return void skipped.push({ content: c.content, reason: `already in the vocabulary as ${JSON.stringify(word)}`, id: state.vocab.get(word) });
    }
    if (why) {
      if (opts.unmergeable === 'skip') return void skipped.push({ content: c.content, reason: `not mergeable: ${why}` });
      return addAdded(c, `added token (not mergeable: ${why})`);
    }
    const pieces = base.bpeSymbols(word);
    const before = state.newEntries.length;
    // ignore_merges looks a pre-token up whole; that only helps when running text makes the word
    // its own pre-token (a regex pre-tokenizer). Otherwise BPE sees longer strings: plan merges.
    const whole = base.scheme.ignoreMerges && isolatedInContext(base, c.content, word);
    planWord(state, word, pieces, whole);
    for (const e of state.newEntries.slice(before)) {
      entries.push({
        id: e.id,
        token: e.symbols,
        text: fromSymbols(base.scheme, e.symbols),
        kind: e.intermediate ? 'intermediate' : 'vocab',
        special: false,
        note: e.intermediate ? `builds ${JSON.stringify(c.content)}` : whole ? 'no merge needed: looked up whole (ignore_merges)' : undefined,
      });
    }
    planned.push([word, c.content, pieces, whole]);
  });

  // A word looked up whole (ignore_merges) is one token by construction; the others are checked.
  const unfinished = state
    ? planned
        .filter(([word, , pieces, whole]) => {
          if (whole) return false;
          const got = finishBpe(pieces, state.ranks);
          return got.length !== 1 || got[0] !== word;
        })
        .map(([, content]) => content)
    : [];

  const tokenizerJson: Json = { ...json, added_tokens: [...json.added_tokens, ...newAdded].sort((a, b) => a.id - b.id) };
  const warnings: string[] = [];
  if (state && state.newEntries.length > 0) {
    // The Rust tokenizers re-derive the id of every added token that is not in model.vocab as
    // "model vocab size + n" when loading. With new entries in model.vocab that count no longer
    // lines up with the added ids, so every added token is also entered in model.vocab under its
    // own id (as Llama 2 does for <s>), which keeps every id as written.
    const vocab: Record<string, number> = { ...model.vocab };
    let size = base.modelVocabSize;
    for (const t of tokenizerJson.added_tokens as AddedTokenEntry[]) if (!Object.hasOwn(vocab, t.content)) (vocab[t.content] = t.id), size++;
    for (const e of state.newEntries) (vocab[e.symbols] = e.id), size++;
    if (size !== nextId) warnings.push(`model.vocab ids are not contiguous (${size} entries, ids up to ${nextId - 1}): the Rust tokenizers may renumber added tokens`);
    tokenizerJson.model = { ...model, vocab, merges: [...model.merges, ...serializeMerges(model.merges, state.newMerges)] };
  }
  const tokenizerConfig = extendConfig(base.tokenizerConfig, tokenizerJson.added_tokens, newAdded);
  entries.sort((a, b) => a.id - b.id);
  const report: ExtensionReport = {
    mode: opts.mode,
    baseVocabSize: base.vocabSize,
    vocabSize: nextId,
    added: entries,
    skipped,
    mergesAdded: state?.newMerges.length ?? 0,
    ...(state ? { wholeWords: planned.filter(([, , , whole]) => whole).length } : {}),
    warnings,
  };
  return { tokenizerJson, tokenizerConfig, entries, report, unfinished };
}

/**
 * Why merges cannot build ' content', or null. Merges act inside one pre-token and on symbols
 * that are vocabulary entries, so the text must stay one pre-token and must not need byte
 * fallback or the unknown token.
 */
function unmergeableReason(base: LoadedTokenizer, content: string): string | null {
  if (base.scheme.kind === 'other') return 'the tokenizer has no leading-space marker (neither ByteLevel nor Metaspace)';
  const text = ' ' + content;
  const word = toSymbols(base.scheme, text);
  const pre = base.tokenizerJson.pre_tokenizer ? preTokenizeOnly(base, text) : [word];
  if (pre.length !== 1 || pre[0] !== word) return `the pre-tokenizer splits it (${pre.map((p) => JSON.stringify(p)).join(' ')})`;
  const missing = base.bpeSymbols(word).filter((s) => !base.inModelVocab(s));
  if (missing.length) return `characters outside the vocabulary (${missing.map((s) => JSON.stringify(s)).join(' ')})`;
  return null;
}

function preTokenizeOnly(base: LoadedTokenizer, text: string): string[] {
  return base.preTokenize(text).flatMap((s) => (Array.isArray(s) ? s : ['<added>']));
}

/** Whether the word is a pre-token of its own between other words. */
function isolatedInContext(base: LoadedTokenizer, content: string, word: string): boolean {
  return base.tokenizerJson.pre_tokenizer != null && preTokenizeOnly(base, `a ${content} b`).includes(word);
}

/** tokenizer_config.json after the change, as save_pretrained (v4) writes it. */
function extendConfig(config: Json, allAdded: AddedTokenEntry[], newAdded: AddedTokenEntry[]): Json {
  const out: Json = { ...config };
  if (newAdded.length === 0) return out;
  const decoder: Json = {};
  for (const t of allAdded) {
    decoder[String(t.id)] = { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special };
  }
  out.added_tokens_decoder = decoder;
  const specials = newAdded.filter((t) => t.special).map((t) => t.content);
  if (specials.length) {
    const prev = Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens : [];
    const have = new Set(prev.map((x: any) => (typeof x === 'string' ? x : x?.content)));
    out.additional_special_tokens = [...prev, ...specials.filter((s) => !have.has(s))];
  }
  return out;
}

/**
 * Writes tokenizer.json (2-space indent, like tokenizers' pretty save) and tokenizer_config.json
 * (sorted keys, like transformers) into `dir`, each atomically.
 */
export function writeTokenizerFiles(dir: string, artifact: TokenizerArtifact): { tokenizerJson: string; tokenizerConfig: string } {
  const tokenizerJson = path.join(dir, 'tokenizer.json');
  const tokenizerConfig = path.join(dir, 'tokenizer_config.json');
  writeFileAtomicSync(tokenizerJson, JSON.stringify(artifact.tokenizerJson, null, 2), { mkdir: true, fsync: false });
  writeFileAtomicSync(tokenizerConfig, sortedJson(artifact.tokenizerConfig, 2) + '\n', { mkdir: true, fsync: false });
  return { tokenizerJson, tokenizerConfig };
}
