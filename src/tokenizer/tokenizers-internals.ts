// The fast paths (tokenizers-js.ts, encode-ids.ts) read fields of a tokenizers.js Tokenizer that
// are not its public API: they were written against @huggingface/tokenizers 0.2.0 (pinned). An
// upgrade that renames or reshapes one must not break encoding silently, so each tokenizer is
// checked once at load: when anything differs, the fast paths stay off (plain Tokenizer.encode,
// the same ids, slower) and one warning says what differs.
import type { Tokenizer } from '@huggingface/tokenizers';

const isFn = (v: unknown) => typeof v === 'function';
const has = (o: unknown, k: string) => ((o !== null && typeof o === 'object') || isFn(o)) && k in (o as object);

/** What differs from the 0.2.0 internals the fast paths read, one line each; empty when all is as expected. */
export function internalsMismatch(tok: Tokenizer): string[] {
  const t = tok as unknown as Record<string, any>;
  const out: string[] = [];
  const need = (ok: boolean, what: string) => ok || out.push(what);
  need(t.added_tokens_map instanceof Map, 'added_tokens_map is not a Map');
  for (const s of ['splitter_unnormalized', 'splitter_normalized']) need(isFn(t[s]?.split), `${s}.split is not a function`);
  need(has(t, 'normalizer') && (t.normalizer === null || isFn(t.normalizer)), 'normalizer is neither null nor callable');
  need(has(t, 'post_processor') && (t.post_processor === null || isFn(t.post_processor)), 'post_processor is neither null nor callable');
  const pt = t.pre_tokenizer;
  need(has(t, 'pre_tokenizer') && (pt === null || (isFn(pt?.pre_tokenize) && isFn(pt?.pre_tokenize_text))), 'pre_tokenizer lacks pre_tokenize / pre_tokenize_text');
  const m = t.model;
  need(isFn(m?.encode), 'model.encode is not a function');
  need(m?.tokens_to_ids instanceof Map, 'model.tokens_to_ids is not a Map');
  return out;
}

let warned = false;

/** Whether the fast paths may read `tok`'s internals; warns once per thread when they may not. */
export function internalsAsExpected(tok: Tokenizer, warn: (message: string) => void = (m) => process.emitWarning(m, { code: 'TOKENPIPE_TOKENIZERS_INTERNALS' })): boolean {
  const diff = internalsMismatch(tok);
  if (diff.length === 0) return true;
  if (!warned) {
    warned = true;
    warn(`@huggingface/tokenizers is not shaped as the 0.2.0 that tokenpipe's fast encoding was written for (${diff.join('; ')}): encoding with the library's public API instead (same ids, slower)`);
  }
  return false;
}
