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
import { finishBpe, mergeState, planWord, serializeMerges, type MergeState } from './extend-merge.ts';
import { isolatedInContext, surfaceTarget, unmergeableReason } from './extend-forms.ts';
import { wordOfText } from './forms.ts';
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
  /** The word it is a form of (lowercase, no leading space): reports group forms under it. */
  word?: string;
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
  let nextId = base.vocabSize;
  const takeId = () => nextId++;
  // Merge mode plans words from the start; added mode needs merges only for a SentencePiece form
  // no added token can match (surfaceTarget), so its state is built on first use.
  let merge: MergeState | null = null;
  const state = () => (merge ??= mergeState(model, [...addedByContent], takeId));
  if (opts.mode === 'merge') state();
  const existingId = (s: string): number | undefined =>
    addedByContent.get(s) ?? merge?.vocab.get(s) ?? (Object.hasOwn(model.vocab, s) ? model.vocab[s] : undefined);
  const newAdded: AddedTokenEntry[] = [];
  const entries: ExtensionEntry[] = [];
  const skipped: ExtensionReport['skipped'] = [];
  const planned: Array<[string, string, string[], boolean]> = [];
  const seen = new Set<string>();
  const skip = (content: string, reason: string, id?: number) => void skipped.push(id === undefined ? { content, reason } : { content, reason, id });
  // An entry at or past the base size was added by this extension, earlier in the list.
  const existing = (shown: string, id: number) => (id >= base.vocabSize ? `the same token as ${JSON.stringify(shown)}, added above` : `already in the vocabulary as ${JSON.stringify(shown)}`);

  const addAdded = (c: TokenCandidate, content = c.content, note?: string): number | undefined => {
    const id = existingId(content);
    if (id !== undefined) return void skip(c.content, id >= base.vocabSize ? existing(content, id) : 'already in the vocabulary', id);
    const t: AddedTokenEntry = { id: takeId(), content, single_word: false, lstrip: false, rstrip: false, normalized: !c.special, special: c.special };
    newAdded.push(t);
    addedByContent.set(content, t.id);
    merge?.vocab.set(content, t.id);
    entries.push({ id: t.id, token: content, text: content, kind: 'added', special: c.special, word: c.word ?? wordOfText(c.content), note });
    return t.id;
  };

  /** Merges that make the pre-token `text` one token (a new vocabulary row unless `word` has an id already). */
  const planMerges = (c: TokenCandidate, text: string, note?: string) => {
    const st = state();
    const word = toSymbols(base.scheme, text);
    const pieces = base.bpeSymbols(word);
    const before = st.newEntries.length;
    // ignore_merges looks a pre-token up whole; that only helps when running text makes the word
    // its own pre-token (a regex pre-tokenizer). Otherwise BPE sees longer strings: plan merges.
    const whole = base.scheme.ignoreMerges && isolatedInContext(base, text, word);
    planWord(st, word, pieces, whole);
    for (const e of st.newEntries.slice(before)) {
      entries.push({
        id: e.id,
        token: e.symbols,
        text: fromSymbols(base.scheme, e.symbols),
        kind: e.intermediate ? 'intermediate' : 'vocab',
        special: false,
        word: c.word ?? wordOfText(c.content),
        note: e.intermediate ? `builds ${JSON.stringify(text)}` : note ?? (whole ? 'no merge needed: looked up whole (ignore_merges)' : undefined),
      });
    }
    planned.push([word, c.content, pieces, whole]);
  };

  tokens.forEach((c, i) => {
    checkToken(c.content, `tokens[${i}]`);
    const key = `${c.special ? 'special' : c.form ? 'form' : 'text'}:${c.content}`;
    if (seen.has(key)) return void skip(c.content, 'listed twice');
    seen.add(key);
    if (c.special) return void addAdded(c);
    const target = surfaceTarget(base, c, opts.mode, existingId);
    if (target.kind === 'skip') return skip(c.content, target.reason, target.id);
    if (target.kind === 'added') return void addAdded(c, target.content);
    const why = unmergeableReason(base, target.text);
    if (why && target.kind === 'shared') return skip(c.content, `not mergeable: ${why}`);
    if (why) {
      if (opts.unmergeable === 'skip') return skip(c.content, `not mergeable: ${why}`);
      return void addAdded(c, c.content, `added token (not mergeable: ${why})`);
    }
    if (target.kind === 'shared') {
      // SentencePiece added mode, a form without the marker: the added token 'X' matches only
      // '▁X' (the normalizer prepends ▁ to its content), so merges build 'X' onto the same id.
      const id = existingId(target.text) ?? addAdded(c, target.text);
      if (id === undefined) return;
      const entry = entries.find((e) => e.id === id);
      if (entry) entry.note = `also ${JSON.stringify(target.text)} without the leading space (merges build it onto this id)`;
    }
    const note = opts.mode === 'added' && target.kind === 'vocab' ? `merges build it: an added token would match only after the marker, already one token there` : undefined;
    planMerges(c, target.text, note);
  });

  // Assigned inside the closures above, which TypeScript's narrowing does not follow.
  const mergeDone = merge as MergeState | null;
  // A word looked up whole (ignore_merges) is one token by construction; the others are checked.
  const unfinished = mergeDone
    ? planned
        .filter(([word, , pieces, whole]) => {
          if (whole) return false;
          const got = finishBpe(pieces, mergeDone!.ranks);
          return got.length !== 1 || got[0] !== word;
        })
        .map(([, content]) => content)
    : [];

  const tokenizerJson: Json = { ...json, added_tokens: [...json.added_tokens, ...newAdded].sort((a, b) => a.id - b.id) };
  const warnings: string[] = [];
  if (mergeDone && (mergeDone.newEntries.length > 0 || mergeDone.newMerges.length > 0)) {
    const state = mergeDone;
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
    mergesAdded: mergeDone?.newMerges.length ?? 0,
    ...(mergeDone ? { wholeWords: planned.filter(([, , , whole]) => whole).length } : {}),
    warnings,
  };
  return { tokenizerJson, tokenizerConfig, entries, report, unfinished };
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
