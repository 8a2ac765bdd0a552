// Plain-text figures and the end-of-run summary table the quickstart prints.
import { formatBytes } from '../train/memory-plan.ts';
import { beforeAfter, tokensSeen, type BranchRecord, type TrainingMemory } from './record.ts';

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
 * (step 0) and after training, new-token accuracy, trainable parameters, training memory,
 * adapter size and folder. `before` shows n/a when the evaluator did not run at step 0.
 */
export function summaryLines(r: BranchRecord, title: string): string[] {
  const { before, after } = beforeAfter(r);
  const row = (label: string, a: string, b: string) => `  ${label.padEnd(22)}${a.padStart(10)}  ${b.padStart(10)}`;
  const info = (label: string, v: string) => `  ${label.padEnd(22)}${v}`;
  const state = r.ended === 'end' ? '' : ` (${r.ended === 'interrupt' ? 'interrupted' : 'unfinished'})`;
  const lines = [
    `${title}: ${r.mode}, ${fmtInt(r.steps)} updates in ${r.seconds.toFixed(1)} s${state}`,
    '',
    row('', 'before', 'after'),
    row('eval loss', fmtLoss(before?.loss), fmtLoss(after?.loss)),
    row('new-token loss', fmtLoss(before?.newTokenLoss), fmtLoss(after?.newTokenLoss)),
    row('new-token accuracy', fmtPct(before?.newTokenAcc), fmtPct(after?.newTokenAcc)),
    '',
    info('new tokens', newTokensLine(r)),
    info('trainable parameters', fmtTrainable(r)),
    ...(r.throughput ? [info('train tokens', `${fmtInt(r.throughput.tokens)} scored, ${fmtInt(r.throughput.tokensPerSec)} tokens/s`)] : []),
    info('training memory', fmtMemory(r.memory)),
    info('adapter size', r.adapter ? `${formatBytes(r.adapter.weightsBytes)} weights, ${formatBytes(r.adapter.folderBytes)} folder` : 'n/a (no adapter folder found)'),
    info('adapter', r.adapter?.dir ?? 'n/a'),
  ];
  if (r.adapter) lines.push(info('try it', `npx pipe generate --model ${r.baseModel} --adapter ${r.adapter.dir} --prompt '...'`));
  return lines;
}

/** Count of new ids and the ones the eval split uses (the rest: intermediate BPE merges, or unseen). */
function newTokensLine(r: BranchRecord): string {
  const seen = tokensSeen(r);
  const shown = seen.slice(0, 8).map((t) => JSON.stringify(t).slice(1, -1)).join(' ');
  return `${r.newTokens.length} ids; ${seen.length} occur as targets in the eval split: ${shown}${seen.length > 8 ? ' …' : ''}`;
}

/** Branches side by side as fixed-width lines (what the ablation report prints at the end). */
export function compareLines(records: BranchRecord[], title: string): string[] {
  const w = Math.max(18, ...records.map((r) => r.name.length + 2));
  const ba = records.map(beforeAfter);
  const row = (label: string, f: (r: BranchRecord, i: number) => string) => `  ${label.padEnd(26)}${records.map((r, i) => f(r, i).padStart(w)).join('')}`;
  return [
    title,
    '',
    row('', (r) => r.name),
    row('eval loss before', (_, i) => fmtLoss(ba[i].before?.loss)),
    row('eval loss after', (_, i) => fmtLoss(ba[i].after?.loss)),
    row('new-token loss before', (_, i) => fmtLoss(ba[i].before?.newTokenLoss)),
    row('new-token loss after', (_, i) => fmtLoss(ba[i].after?.newTokenLoss)),
    row('new-token accuracy after', (_, i) => fmtPct(ba[i].after?.newTokenAcc)),
    row('trainable parameters', (r) => fmtInt(r.trainable.total)),
    row('training memory', (r) => formatBytes(r.memory.total)),
    row('adapter weights', (r) => (r.adapter ? formatBytes(r.adapter.weightsBytes) : 'n/a')),
    row('wall time (shared thread)', (r) => `${r.seconds.toFixed(1)} s`),
  ];
}
