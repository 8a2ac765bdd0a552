// Token discovery: an explicit list, a chat template's markers, and mined corpus units, combined
// into one deduplicated list. Order is deterministic: list entries as given, then template
// markers in order of appearance, then mined units best-first; the first source to name a string wins.
import { z } from 'zod';
import type { TokenCandidate, TokenList } from './items.ts';
import { TokenInvalid } from '../errors.ts';
import { templateCandidates, type MarkerOptions, type TemplateSource } from './template.ts';
import { MinedCounts, selectMined, type MiningOptions } from './mine.ts';

// An empty token is refused when the params parse, so `pipe validate` names its file:line:col.
const EMPTY = 'a token cannot be empty';
export const ListEntry = z.union([
  z.string().min(1, EMPTY),
  z
    .object({
      content: z.string().min(1, EMPTY).describe('the token text, e.g. "<|tool|>" or "acetaminophen"'),
      special: z.boolean().default(false).describe('special tokens match raw text, are never split and are skipped by decode(skip_special_tokens)'),
    })
    .strict(),
]);
export type ListEntry = z.input<typeof ListEntry>;

/** Throws TokenInvalid naming `where` when the token cannot be added. */
export function checkToken(content: unknown, where: string): string {
  if (typeof content !== 'string') throw new TokenInvalid(where, content, 'is not a string');
  if (content.length === 0) throw new TokenInvalid(where, content, 'is empty');
  if (content.trim().length === 0) throw new TokenInvalid(where, content, 'is only whitespace');
  return content;
}

/** A plain string is a normal token; `{content, special}` says which. */
export function explicitCandidates(list: ListEntry[], where = 'tokens'): TokenCandidate[] {
  return list.map((e, i) => {
    const content = checkToken(typeof e === 'string' ? e : e?.content, `${where}[${i}]`);
    const special = typeof e === 'string' ? false : (e.special ?? false);
    return { content, special, origin: 'list' as const };
  });
}

export interface Combined extends TokenList {
  /** Strings named by more than one source, with the origin that was kept first. */
  duplicates: Array<{ content: string; kept: TokenCandidate['origin']; dropped: TokenCandidate['origin'] }>;
}

export function combineCandidates(...lists: TokenCandidate[][]): Combined {
  const byContent = new Map<string, TokenCandidate>();
  const duplicates: Combined['duplicates'] = [];
  for (const list of lists) {
    for (const c of list) {
      checkToken(c.content, `${c.origin} token`);
      const prev = byContent.get(c.content);
      if (prev) duplicates.push({ content: c.content, kept: prev.origin, dropped: c.origin });
      else byContent.set(c.content, c);
    }
  }
  return { tokens: [...byContent.values()], duplicates };
}

export interface DiscoverInput {
  list?: ListEntry[];
  template?: TemplateSource & MarkerOptions;
  /** Reduced corpus counts (absent: no mining). */
  mined?: { counts: MinedCounts; options: Partial<MiningOptions> };
}

/** The three sources combined. */
export function discover(input: DiscoverInput): Combined {
  const list = explicitCandidates(input.list ?? []);
  const tpl = input.template ? templateCandidates(input.template, input.template) : [];
  // Strings already listed do not use up the mined budget (maxTokens).
  const named = new Set([...list, ...tpl].map((c) => c.content));
  const mined = input.mined ? selectMined(input.mined.counts, input.mined.options, (s) => named.has(s)) : [];
  return combineCandidates(list, tpl, mined);
}
