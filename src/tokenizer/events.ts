// The events of the tokenizer library's nodes (token discovery, tokenizer extension). Declared
// here as plain types; nodes/_events.ts joins them into the one union of a run's events.
import type { ExtendOptions } from './extend.ts';

export type TokenizerEvent =
  /** The token list is ready; `report` is the text report's path. */
  | { type: 'token-discovery'; tokens: number; report: string }
  /** Corpus mining counted `documents` documents, `tokens` base tokens and `units` distinct candidate units. */
  | { type: 'mining'; documents: number; tokens: number; units: number }
  /** The extended tokenizer is written: new ids given, tokens skipped, the files. */
  | { type: 'tokenizer-extension'; mode: ExtendOptions['mode']; newIds: number; skipped: number; tokenizer: string; report: string };
