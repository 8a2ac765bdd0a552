// Reports of discovery, extension and initialisation: a JSON object (for tools) and a fixed-width
// table (for people), both written atomically next to each other.
import path from 'node:path';
import type { TokenCandidate } from './items.ts';
import { writeFileAtomicSync } from '../io/atomic.ts';
import type { MinedCounts, MiningOptions } from './mine.ts';
import type { ExtensionReport } from './extend.ts';
import type { InitReport } from './init.ts';
import type { Combined } from './discover.ts';
import { groupByWord } from './forms.ts';

/** A mined word with the forms of it that were proposed (each one token to add). */
export interface MinedWord {
  word: string;
  /** Sums over its proposed forms. */
  count: number;
  saved: number;
  forms: Array<{ form: string; count: number; pieces: number; saved: number }>;
}

export interface DiscoveryReport {
  tokens: TokenCandidate[];
  duplicates: Combined['duplicates'];
  /** Mined forms grouped under their word, words in list order. */
  words: MinedWord[];
  /** Present when the corpus was mined. */
  corpus?: {
    documents: number;
    /** Base-tokenizer tokens of the corpus (no BOS/EOS). */
    tokensBefore: number;
    /** Sum of count*(pieces-1) over mined tokens. */
    tokensSaved: number;
    /** tokensBefore - tokensSaved: what merge mode gives when units do not overlap (maxWords = 1). */
    tokensAfter: number;
    /** tokensAfter / tokensBefore. */
    ratio: number;
    options: MiningOptions;
  };
}

export function discoveryReport(combined: Combined, counts?: MinedCounts, options?: MiningOptions): DiscoveryReport {
  const mined = combined.tokens.filter((t) => t.origin === 'mined' && t.word !== undefined);
  const words = groupByWord(mined, (t) => t.word!).map(({ word, items }): MinedWord => ({
    word,
    count: items.reduce((a, t) => a + (t.count ?? 0), 0),
    saved: items.reduce((a, t) => a + (t.saved ?? 0), 0),
    forms: items.map((t) => ({ form: t.content, count: t.count ?? 0, pieces: t.pieces ?? 0, saved: t.saved ?? 0 })),
  }));
  const report: DiscoveryReport = { tokens: combined.tokens, duplicates: combined.duplicates, words };
  if (counts && options) {
    const saved = combined.tokens.reduce((s, t) => s + (t.origin === 'mined' ? (t.saved ?? 0) : 0), 0);
    const after = counts.tokens - saved;
    report.corpus = {
      documents: counts.documents,
      tokensBefore: counts.tokens,
      tokensSaved: saved,
      tokensAfter: after,
      ratio: counts.tokens ? after / counts.tokens : 1,
      options,
    };
  }
  return report;
}

/** Visible form of a token in a table cell: quotes, with control characters escaped. */
const show = (s: string) => JSON.stringify(s);

function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const width = header.map((_, c) => Math.max(...cells.map((r) => [...r[c]].length)));
  const line = (r: string[]) => r.map((x, c) => (c === 0 ? x.padEnd(width[c]) : x.padStart(width[c]))).join('  ').trimEnd();
  return [line(header), width.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatDiscovery(r: DiscoveryReport): string {
  const row = (t: TokenCandidate, indent = '') => [indent + show(t.content), t.origin, t.special ? 'yes' : 'no', t.count ?? '', t.pieces ?? '', t.saved ?? ''];
  const rows: Array<Array<string | number>> = [];
  const words = new Map((r.words ?? []).map((w) => [w.word, w]));
  let word: string | undefined;
  for (const t of r.tokens) {
    // Mined forms sit under a line for their word (its total count and saving), indented.
    if (t.word !== undefined && words.has(t.word)) {
      if (t.word !== word) {
        const w = words.get(t.word)!;
        rows.push([`${w.word} (${w.forms.length} form${w.forms.length === 1 ? '' : 's'})`, 'word', '', w.count, '', w.saved]);
      }
      rows.push(row(t, '  '));
    } else rows.push(row(t));
    word = t.word;
  }
  let text = table(['token', 'origin', 'special', 'count', 'pieces', 'saved'], rows);
  if (r.corpus) {
    const c = r.corpus;
    text +=
      `\n\ncorpus: ${c.documents} documents, ${c.tokensBefore} tokens before, ${c.tokensAfter} after ` +
      `(-${c.tokensSaved}, x${c.ratio.toFixed(4)}; merge mode, non-overlapping units)`;
  }
  for (const d of r.duplicates) text += `\nduplicate: ${show(d.content)} from ${d.dropped} (kept the ${d.kept} entry)`;
  return text + '\n';
}

export function formatExtension(r: ExtensionReport): string {
  const rows = r.added.map((e) => [String(e.id), show(e.token), show(e.text), e.kind, e.special ? 'yes' : 'no', e.special ? '' : (e.word ?? ''), e.note ?? '']);
  // With ignore_merges (Llama 3) a word that is its own pre-token is found whole: 0 merges is then the whole story.
  const whole = r.wholeWords
    ? ` (${r.wholeWords} word${r.wholeWords === 1 ? '' : 's'} need no merge: this tokenizer looks a pre-token up whole in its vocabulary (ignore_merges), so the vocabulary entry alone makes each one token)`
    : '';
  let text = `mode ${r.mode}: vocabulary ${r.baseVocabSize} -> ${r.vocabSize}, ${r.added.length} new ids, ${r.mergesAdded} merges${whole}\n\n`;
  text += table(['id', 'token', 'text', 'kind', 'special', 'word', 'note'], rows);
  for (const s of r.skipped) text += `\nskipped ${show(s.content)}: ${s.reason}${s.id !== undefined ? ` (id ${s.id})` : ''}`;
  for (const w of r.warnings) text += `\nwarning: ${w}`;
  return text + '\n';
}

export function formatInit(r: InitReport): string {
  const rows = r.tokens.map((t) => [
    String(t.id),
    show(t.text),
    t.sourceTokens.map(show).join(' '),
    t.norm.toFixed(4),
    t.loss === undefined ? '' : t.loss.toFixed(4),
    t.positions ?? '',
  ]);
  return `init ${r.method}\n\n` + table(['id', 'text', 'from', 'norm', 'loss', 'positions'], rows) + '\n';
}

/** Writes `<base>.json` and `<base>.txt` atomically. */
export function writeReport(base: string, json: unknown, text: string): { json: string; text: string } {
  const j = base.replace(/\.(json|txt)$/, '') + '.json';
  const t = base.replace(/\.(json|txt)$/, '') + '.txt';
  writeFileAtomicSync(j, JSON.stringify(json, null, 2) + '\n', { mkdir: true, fsync: false });
  writeFileAtomicSync(t, text, { mkdir: true, fsync: false });
  return { json: j, text: t };
}

/** `<runDir>/init-report.{json,txt}`: written by train-step at set-up, again by the evaluator's step-0 pass with losses. */
export function writeInitReport(runDir: string, r: InitReport): void {
  writeReport(path.join(runDir, 'init-report'), r, formatInit(r));
}
