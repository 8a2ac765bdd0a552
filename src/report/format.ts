// Plain-text figures and the end-of-run summary table the quickstart prints.
import { wordOfToken } from '../tokenizer/forms.ts';
import { formatBytes } from '../train/memory-plan.ts';
import { pathFrom, pipeCommand, shellWord } from './pipe-command.ts';
import type { PackCacheInfo } from '../data/items.ts';
import { afterLabel, beforeAfter, commonAfterLabel, tokensSeen, type BranchRecord, type TrainingMemory } from './record.ts';

export { formatBytes };

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtLoss = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4));
export const fmtPct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(1)} %`);

export function fmtMemory(m: TrainingMemory): string {
  const parts = [`params ${formatBytes(m.params)}`, `grads ${formatBytes(m.grads)}`, `AdamW ${formatBytes(m.optimizer)}`];
  return `${formatBytes(m.total)} (${parts.join(', ')})`;
}

export function fmtTrainable(r: BranchRecord): string {
  const rows = r.mode === 'full' ? 'embedding' : `${r.newTokens.length} new token rows`;
  return `${fmtInt(r.trainable.total)} (LoRA ${fmtInt(r.trainable.lora)} + ${rows} ${fmtInt(r.trainable.tokens)})`;
}

/**
 * The summary of one train branch as fixed-width lines: eval loss and new-token loss before
 * (step 0) and after training, bits per byte (step 0 and after through the extended tokenizer, and beside them the
 * base model with its own tokenizer, the only before that tokenizer change does not flatter), new-token accuracy pooled and macro, trainable parameters, training memory,
 * adapter size and folder. `before` shows n/a when the evaluator did not run at step 0; the
 * last column of a run stopped early is headed by its step ('at step 20'), not 'after'.
 * `o.pipe`/`o.cwd`: how the "try it" line spells `pipe` and where it is run from (default: this process).
 */
export function summaryLines(r: BranchRecord, title: string, o: { pipe?: string; cwd?: string } = {}): string[] {
  const { before, after } = beforeAfter(r);
  const last = afterLabel(r);
  const w = Math.max(10, last.length);
  const row = (label: string, a: string, b: string) => `  ${label.padEnd(22)}${a.padStart(10)}  ${b.padStart(w)}`.trimEnd();
  const info = (label: string, v: string) => `  ${label.padEnd(22)}${v}`;
  const state = r.ended === 'end' ? '' : ` (${r.ended === 'interrupt' ? 'interrupted' : r.ended === 'diverged' ? `diverged at step ${r.diverged?.step ?? r.steps}` : 'unfinished'})`;
  const seen = new Set(tokensSeen(r).map(wordOfToken)).size;
  const lines = [
    `${title}: ${r.mode}, ${fmtInt(r.steps)} updates in ${r.seconds.toFixed(1)} s${state}`,
    '',
    row('', 'before', last),
    row('eval loss', fmtLoss(before?.loss), fmtLoss(after?.loss)),
    // Both columns through the extended tokenizer; the base model's own-tokenizer figure beside them, so a run
    // worse than its start cannot look better than it is by comparison with the base model alone.
    row('bits per byte', fmtLoss(before?.bitsPerByte), fmtLoss(after?.bitsPerByte)),
    row('… base, own tokenizer', fmtLoss(before?.baseOwn?.bitsPerByte), ''),
    row('new-token loss', fmtLoss(before?.newTokenLoss), fmtLoss(after?.newTokenLoss)),
    row('new-token accuracy', fmtPct(before?.newTokenAcc), fmtPct(after?.newTokenAcc)),
    row('… macro (per word)', fmtPct(before?.newTokenMacroAcc), fmtPct(after?.newTokenMacroAcc)),
    '',
    ...(before ? [info('before', 'step 0: base weights + initialised new rows, extended tokenizer; "base, own tokenizer": the base model reading the text with its own tokenizer')] : []),
    info('accuracy', `pooled over target positions; macro: mean over the ${seen} words (a word's forms pooled) that occur as targets`),
    info('new tokens', newTokensLine(r)),
    info('trainable parameters', fmtTrainable(r)),
    ...(r.throughput ? [info('train tokens', fmtThroughput(r.throughput, r.seconds))] : []),
    ...(r.packCache ? [info('pack cache', fmtPackCache(r.packCache))] : []),
    ...(r.engine ? [info('engine', r.engine)] : []),
    info('training memory', fmtMemory(r.memory)),
    ...(r.diverged ? [info('diverged', r.diverged.message), info('last good checkpoint', r.diverged.lastGood ?? 'none (no checkpoint before the divergence)')] : []),
    info('adapter size', r.adapter ? `${formatBytes(r.adapter.weightsBytes)} weights, ${formatBytes(r.adapter.folderBytes)} folder` : 'n/a (no adapter folder found)'),
    info('adapter', r.adapter?.dir ?? (r.diverged ? 'none: training diverged, no final adapter was written' : 'n/a')),
  ];
  // The adapter names its base model (pipe generate finds it); a chat template makes --chat the way in.
  // `pipe` spelled as it runs from where the user is (pipe-command.ts): npx only works in the clone.
  if (r.adapter) {
    const adapter = shellWord(pathFrom(o.cwd ?? process.cwd(), r.adapter.dir));
    lines.push(info('try it', `${o.pipe ?? pipeCommand()} generate --adapter ${adapter} ${r.adapter.chat ? "--chat --user '...'" : "--prompt '...'"}`));
  }
  return lines;
}

/**
 * `15,530 scored; 1,452 tokens/s during updates (the progress line's figure), 1,063 over the
 * 14.6 s wall time`: the second counts evaluations, checkpoints and start-up too.
 */
export function fmtThroughput(t: NonNullable<BranchRecord['throughput']>, seconds: number): string {
  const wall = `${fmtInt(t.wallTokensPerSec)} tokens/s over the ${seconds.toFixed(1)} s wall time (with evaluations and checkpoints)`;
  return `${fmtInt(t.tokens)} scored; ${t.tokensPerSec === undefined ? '' : `${fmtInt(t.tokensPerSec)} tokens/s during updates, `}${wall}`;
}

/** Whether the train batches were reused or packed by this run, and where they are. */
export function fmtPackCache(c: PackCacheInfo): string {
  if (c.status === 'hit') return `hit: batches reused from ${c.dir}`;
  if (c.status === 'built') return `built: batches packed by this run into ${c.dir}`;
  return `off: batches packed by this run into ${c.dir}`;
}

/**
 * The new tokens as words, special tokens and merge intermediates (which only build a word, so
 * they are counted apart: their rows are in the adapter, but they are not vocabulary anyone asked
 * for), and the ones the eval split uses.
 */
export function newTokensLine(r: BranchRecord): string {
  const seen = tokensSeen(r);
  const shown = seen.slice(0, 8).map((t) => JSON.stringify(t).slice(1, -1)).join(' ');
  const nInter = r.intermediates?.length ?? 0;
  const nSpecial = r.special?.length ?? 0;
  const apart = new Set([...(r.intermediates ?? []), ...(r.special ?? [])]);
  const forms = r.newTokens.filter((t) => !apart.has(t));
  const words = new Set(forms.map(wordOfToken)).size;
  // Surface forms of one word (' zintrapolate', 'Zintrapolate') are tokens of their own, counted under the word.
  const wordCount = forms.length === words ? `${words} words` : `${words} words in ${forms.length} forms`;
  const kinds = [wordCount, ...(nSpecial ? [`${nSpecial} special`] : [])].join(', ');
  const count = nInter ? `${kinds} (+${nInter} intermediate merge tokens)` : `${r.newTokens.length} ids (${kinds})`;
  return `${count}; ${seen.length} occur as targets in the eval split: ${shown}${seen.length > 8 ? ' …' : ''}`;
}

/** Branches side by side as fixed-width lines (what the ablation report prints at the end). */
export function compareLines(records: BranchRecord[], title: string): string[] {
  const w = Math.max(18, ...records.map((r) => r.name.length + 2));
  const ba = records.map(beforeAfter);
  const last = commonAfterLabel(records);
  const row = (label: string, f: (r: BranchRecord, i: number) => string) => `  ${label.padEnd(26)}${records.map((r, i) => f(r, i).padStart(w)).join('')}`;
  return [
    title,
    '',
    row('', (r) => r.name),
    row('eval loss before', (_, i) => fmtLoss(ba[i].before?.loss)),
    row(`eval loss ${last}`, (_, i) => fmtLoss(ba[i].after?.loss)),
    row('new-token loss before', (_, i) => fmtLoss(ba[i].before?.newTokenLoss)),
    row(`new-token loss ${last}`, (_, i) => fmtLoss(ba[i].after?.newTokenLoss)),
    row(`new-token accuracy ${last}`, (_, i) => fmtPct(ba[i].after?.newTokenAcc)),
    row(`… macro (per word) ${last}`, (_, i) => fmtPct(ba[i].after?.newTokenMacroAcc)),
    row(`bits per byte ${last}`, (_, i) => fmtLoss(ba[i].after?.bitsPerByte)),
    ...(last === 'last evaluation' ? [row('last evaluation at step', (_, i) => String(ba[i].after?.step ?? 'n/a'))] : []),
    row('trainable parameters', (r) => fmtInt(r.trainable.total)),
    row('training memory', (r) => formatBytes(r.memory.total)),
    row('adapter weights', (r) => (r.adapter ? formatBytes(r.adapter.weightsBytes) : 'n/a')),
    row('wall time (shared thread)', (r) => `${r.seconds.toFixed(1)} s`),
  ];
}
