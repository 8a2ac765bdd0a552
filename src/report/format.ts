// Plain-text figures and the end-of-run summary table the quickstart prints.
import { formatBytes } from '../train/memory-plan.ts';
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
 * (step 0) and after training, bits per byte (before: the base model with its own tokenizer, the
 * only before that tokenizer change does not flatter), new-token accuracy pooled and macro, trainable parameters, training memory,
 * adapter size and folder. `before` shows n/a when the evaluator did not run at step 0; the
 * last column of a run stopped early is headed by its step ('at step 20'), not 'after'.
 */
export function summaryLines(r: BranchRecord, title: string): string[] {
  const { before, after } = beforeAfter(r);
  const last = afterLabel(r);
  const w = Math.max(10, last.length);
  const row = (label: string, a: string, b: string) => `  ${label.padEnd(22)}${a.padStart(10)}  ${b.padStart(w)}`;
  const info = (label: string, v: string) => `  ${label.padEnd(22)}${v}`;
  const state = r.ended === 'end' ? '' : ` (${r.ended === 'interrupt' ? 'interrupted' : 'unfinished'})`;
  const seen = tokensSeen(r).length;
  const lines = [
    `${title}: ${r.mode}, ${fmtInt(r.steps)} updates in ${r.seconds.toFixed(1)} s${state}`,
    '',
    row('', 'before', last),
    row('eval loss', fmtLoss(before?.loss), fmtLoss(after?.loss)),
    row('bits per byte', fmtLoss(before?.baseOwn?.bitsPerByte), fmtLoss(after?.bitsPerByte)),
    row('new-token loss', fmtLoss(before?.newTokenLoss), fmtLoss(after?.newTokenLoss)),
    row('new-token accuracy', fmtPct(before?.newTokenAcc), fmtPct(after?.newTokenAcc)),
    row('… macro (per token)', fmtPct(before?.newTokenMacroAcc), fmtPct(after?.newTokenMacroAcc)),
    '',
    ...(before ? [info('before', 'step 0: base weights + initialised new rows, extended tokenizer; bits per byte: base model, own tokenizer')] : []),
    info('accuracy', `pooled over target positions; macro: mean over the ${seen} new tokens that occur as targets`),
    info('new tokens', newTokensLine(r)),
    info('trainable parameters', fmtTrainable(r)),
    ...(r.throughput ? [info('train tokens', `${fmtInt(r.throughput.tokens)} scored, ${fmtInt(r.throughput.tokensPerSec)} tokens/s`)] : []),
    ...(r.engine ? [info('engine', r.engine)] : []),
    info('training memory', fmtMemory(r.memory)),
    info('adapter size', r.adapter ? `${formatBytes(r.adapter.weightsBytes)} weights, ${formatBytes(r.adapter.folderBytes)} folder` : 'n/a (no adapter folder found)'),
    info('adapter', r.adapter?.dir ?? 'n/a'),
  ];
  // The adapter names its base model (pipe generate finds it); a chat template makes --chat the way in.
  if (r.adapter) lines.push(info('try it', `npx pipe generate --adapter ${r.adapter.dir} ${r.adapter.chat ? "--chat --user '...'" : "--prompt '...'"}`));
  return lines;
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
  const words = r.newTokens.length - nInter - nSpecial;
  const kinds = [`${words} words`, ...(nSpecial ? [`${nSpecial} special`] : [])].join(', ');
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
    row(`… macro (per token) ${last}`, (_, i) => fmtPct(ba[i].after?.newTokenMacroAcc)),
    row(`bits per byte ${last}`, (_, i) => fmtLoss(ba[i].after?.bitsPerByte)),
    ...(last === 'last evaluation' ? [row('last evaluation at step', (_, i) => String(ba[i].after?.step ?? 'n/a'))] : []),
    row('trainable parameters', (r) => fmtInt(r.trainable.total)),
    row('training memory', (r) => formatBytes(r.memory.total)),
    row('adapter weights', (r) => (r.adapter ? formatBytes(r.adapter.weightsBytes) : 'n/a')),
    row('wall time (shared thread)', (r) => `${r.seconds.toFixed(1)} s`),
  ];
}
