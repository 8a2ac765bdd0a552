// What extension adds for one normal token, in each mode: a vocabulary entry built by merges, an
// added token, or nothing because the base tokenizer already has it (issue 21: `" the"` must not
// become a second, untrained id for 'Ġthe'). A mined surface form (TokenCandidate.form) is added
// exactly as its pre-token has it: ' zintrapolate' after a space, 'Zintrapolate' at a line start.
import type { TokenCandidate } from './items.ts';
import type { LoadedTokenizer } from './load.ts';
import { fromSymbols, toSymbols } from './symbols.ts';

export type SurfaceTarget =
  | { kind: 'skip'; reason: string; id?: number }
  /** An AddedToken with this content. */
  | { kind: 'added'; content: string }
  /** Merges make the pre-token `text` one vocabulary entry. */
  | { kind: 'vocab'; text: string }
  /** SentencePiece added mode, a form without the marker: the added token `text` plus merges that build it onto the same id. */
  | { kind: 'shared'; text: string };

/**
 * `existingId` knows the base vocabulary, its added tokens and what this extension added so far.
 * Duplicates are judged on the vocabulary strings the token would match: its text in symbol form,
 * and, where an added token would also match the text after a space, that form too.
 */
export function surfaceTarget(base: LoadedTokenizer, c: TokenCandidate, mode: 'added' | 'merge', existingId: (s: string) => number | undefined): SurfaceTarget {
  const sym = (t: string) => toSymbols(base.scheme, t);
  const dup = (symbols: string, id: number): SurfaceTarget => ({
    kind: 'skip',
    reason: id >= base.vocabSize ? `the same token as ${JSON.stringify(symbols)}, added above` : `already in the vocabulary as ${JSON.stringify(symbols)}`,
    id,
  });
  const lead = /^ \S/u.test(c.content);
  if (mode === 'merge') {
    // A listed word means its form after a space; a form, or a text written with its space, is taken as is.
    const text = c.form || lead ? c.content : ' ' + c.content;
    const id = existingId(sym(text));
    return id === undefined ? { kind: 'vocab', text } : dup(sym(text), id);
  }
  if (base.scheme.kind === 'metaspace') {
    // A normalized added token is matched after the normalizer ran, which puts '▁' before its content too:
    // content 'X' matches '▁X' (the form after a space, or at the text start), never 'X' after '\n'.
    if (c.form && !lead) {
      const own = existingId(c.content);
      if (own !== undefined && own < base.vocabSize) return dup(c.content, own);
      // With '▁X' already one token, an added 'X' would only duplicate it: merges alone build 'X'.
      const marked = existingId(sym(' ' + c.content));
      if (marked !== undefined && marked < base.vocabSize) return { kind: 'vocab', text: c.content };
      return { kind: 'shared', text: c.content };
    }
    const content = lead ? c.content.slice(1) : c.content;
    for (const s of [sym(' ' + content), content]) {
      const id = existingId(s);
      if (id !== undefined) return dup(s, id);
    }
    return { kind: 'added', content };
  }
  // Byte-level (and marker-less) added tokens match the raw text, a leading space included.
  for (const s of [c.content, sym(c.content)]) {
    const id = existingId(s);
    if (id !== undefined) return dup(s, id);
  }
  if (!/^\s/u.test(c.content)) {
    // An added 'X' also matches inside ' X' and leaves 'Ġ' + X there: one base token would become two.
    const spaced = sym(' ' + c.content);
    const id = existingId(spaced);
    if (id !== undefined && id < base.vocabSize) {
      return { kind: 'skip', reason: `an added token would also split ${JSON.stringify(' ' + c.content)}, already one token ${JSON.stringify(spaced)} (merge mode can add it)`, id };
    }
  }
  return { kind: 'added', content: c.content };
}

/**
 * Why merges cannot make the pre-token `text` one token, or null. Merges act inside one pre-token
 * and on symbols that are vocabulary entries, so the text must stay one pre-token (a form without
 * the leading space is checked where it occurs, after '\n') and must not need byte fallback or
 * the unknown token.
 */
export function unmergeableReason(base: LoadedTokenizer, text: string): string | null {
  if (base.scheme.kind === 'other') return 'the tokenizer has no leading-space marker (neither ByteLevel nor Metaspace)';
  const word = toSymbols(base.scheme, text);
  const pre = base.tokenizerJson.pre_tokenizer ? inContext(base, text) : [word];
  if (pre.length !== 1 || pre[0] !== word) return `the pre-tokenizer splits it (${pre.map((p) => JSON.stringify(p)).join(' ')})`;
  const missing = base.bpeSymbols(word).filter((s) => !base.inModelVocab(s));
  if (missing.length) return `characters outside the vocabulary (${missing.map((s) => JSON.stringify(s)).join(' ')})`;
  return null;
}

function preTokenizeOnly(base: LoadedTokenizer, text: string): string[] {
  return base.preTokenize(text).flatMap((s) => (Array.isArray(s) ? s : ['<added>']));
}

/** Pre-tokens of `text` where it occurs: alone, or after a newline (dropped) for a form without a leading space. */
function inContext(base: LoadedTokenizer, text: string): string[] {
  if (text.startsWith(' ')) return preTokenizeOnly(base, text);
  const pre = preTokenizeOnly(base, '\n' + text);
  if (pre.length > 0 && fromSymbols(base.scheme, pre[0]).trim() === '') pre.shift();
  return pre;
}

/** Whether the form is a pre-token of its own between other words. */
export function isolatedInContext(base: LoadedTokenizer, text: string, word: string): boolean {
  const context = text.startsWith(' ') ? `a${text} b` : `a\n${text} b`;
  return base.tokenizerJson.pre_tokenizer != null && preTokenizeOnly(base, context).includes(word);
}
