// report.md: the branches side by side (eval loss, bits per byte, new-token loss and accuracy
// before and after, trainable parameters, training memory, adapter size, time), the loss-curve
// image, per-new-token accuracy across branches and each branch's per-token table. Every figure is read from the BranchRecords of the run.
import { beforeAfter, commonAfterLabel, tokensSeen, type BranchRecord } from './record.ts';
import { fmtInt, fmtLoss, fmtPct, formatBytes, newTokensLine } from './format.ts';
import { perTokenTable } from './per-token.ts';

export interface ReportInfo {
  title: string;
  runDir: string;
  /** The pipeline file the run was started from, when known. */
  pipelineFile?: string;
  /** File name of the loss-curve image next to report.md. */
  image: string;
}

/** Markdown table cell: pipes escaped, newlines folded. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const arrow = (a: string, b: string) => `${a} → ${b}`;

export function reportMarkdown(records: BranchRecord[], info: ReportInfo): string {
  const ba = records.map(beforeAfter);
  // A run stopped early has no "after": its last evaluation is named by its step.
  const last = commonAfterLabel(records);
  const head = `| | ${records.map((r) => cell(r.name)).join(' | ')} |`;
  const sep = `|---|${records.map(() => '---:').join('|')}|`;
  const row = (label: string, f: (r: BranchRecord, i: number) => string) => `| ${label} | ${records.map((r, i) => cell(f(r, i))).join(' | ')} |`;
  const lines = [
    `# ${info.title}`,
    '',
    `Run folder: \`${info.runDir}\`${info.pipelineFile ? `  \nPipeline: \`${info.pipelineFile}\`` : ''}`,
    '',
    'Every figure below was collected from the run itself (the evaluator\'s metrics, the trainer\'s',
    'parameters and optimizer state, the adapter files on disk); `report.json` holds the same numbers.',
    '',
    head,
    sep,
    row('embedding', (r) => r.mode),
    row('updates', (r) => `${fmtInt(r.steps)}${r.ended === 'end' ? '' : ` (${r.ended})`}`),
    row(`eval loss (before → ${last})`, (_, i) => arrow(fmtLoss(ba[i].before?.loss), fmtLoss(ba[i].after?.loss))),
    row(`new-token loss (before → ${last})`, (_, i) => arrow(fmtLoss(ba[i].before?.newTokenLoss), fmtLoss(ba[i].after?.newTokenLoss))),
    row(`bits per byte (base model, own tokenizer → ${last})`, (_, i) => arrow(fmtLoss(ba[i].before?.baseOwn?.bitsPerByte), fmtLoss(ba[i].after?.bitsPerByte))),
    row('bits per byte at step 0 (extended tokenizer)', (_, i) => fmtLoss(ba[i].before?.bitsPerByte)),
    row(`new-token accuracy, pooled (before → ${last})`, (_, i) => arrow(fmtPct(ba[i].before?.newTokenAcc), fmtPct(ba[i].after?.newTokenAcc))),
    row(`new-token accuracy, macro (before → ${last})`, (_, i) => arrow(fmtPct(ba[i].before?.newTokenMacroAcc), fmtPct(ba[i].after?.newTokenMacroAcc))),
    row('new tokens', (r) => newTokensLine(r).split(';')[0]),
    ...(last === 'last evaluation' ? [row('last evaluation at step', (_, i) => String(ba[i].after?.step ?? 'n/a'))] : []),
    row('trainable parameters', (r) => fmtInt(r.trainable.total)),
    row('… of which LoRA / token rows', (r) => `${fmtInt(r.trainable.lora)} / ${fmtInt(r.trainable.tokens)}`),
    row('training memory (params + grads + AdamW)', (r) => formatBytes(r.memory.total)),
    row('adapter size (adapter_model.safetensors)', (r) => (r.adapter ? formatBytes(r.adapter.weightsBytes) : 'n/a')),
    row(records.length > 1 ? 'wall time (branches share one thread)' : 'wall time', (r) => `${r.seconds.toFixed(1)} s`),
    row('scored train tokens', (r) => (r.throughput ? fmtInt(r.throughput.tokens) : 'n/a')),
    '',
    `![loss curves](${info.image})`,
    '',
    ...comparison(records),
    ...perToken(records),
    ...records.flatMap((r) => perTokenTable(r, records.length > 1)),
  ];
  return lines.join('\n') + '\n';
}

/** Ratios against the trainable-tokens branch, when there is one. */
function comparison(records: BranchRecord[]): string[] {
  const ref = records.find((r) => r.mode === 'trainable-tokens');
  const refAfter = ref && beforeAfter(ref).after;
  if (!ref || !refAfter || records.length < 2) return [];
  const out = ['## Against trainable-tokens', ''];
  for (const r of records) {
    if (r === ref) continue;
    const after = beforeAfter(r).after;
    if (!after) continue;
    const mem = r.memory.total / ref.memory.total;
    out.push(
      `- **${r.name}**: training memory ${mem.toFixed(mem < 10 ? 2 : 0)}× of trainable-tokens; ` +
        `new-token loss ${fmtLoss(after.newTokenLoss)} vs ${fmtLoss(refAfter.newTokenLoss)} ` +
        `(${signed(after.newTokenLoss - refAfter.newTokenLoss)}); new-token accuracy ${fmtPct(after.newTokenAcc)} vs ${fmtPct(refAfter.newTokenAcc)}.`,
    );
  }
  return [...out, ''];
}

const signed = (x: number) => (x >= 0 ? `+${x.toFixed(4)}` : x.toFixed(4));

function perToken(records: BranchRecord[]): string[] {
  const all = [...new Set(records.flatMap((r) => r.newTokens))];
  const tokens = [...new Set(records.flatMap(tokensSeen))];
  if (tokens.length === 0) return [];
  const finals = records.map((r) => beforeAfter(r).after?.perTokenAcc ?? {});
  return [
    '## Top-1 accuracy per new token (last evaluation)',
    '',
    `${tokens.length} of the ${all.length} new ids occur as targets in the eval split; the others (intermediate BPE merges, or words`,
    'the eval split lacks) are left out.',
    '',
    `| token | ${records.map((r) => cell(r.name)).join(' | ')} |`,
    `|---|${records.map(() => '---:').join('|')}|`,
    ...tokens.map((t) => `| \`${cell(JSON.stringify(t).slice(1, -1))}\` | ${finals.map((f) => fmtPct(f[t])).join(' | ')} |`),
    '',
  ];
}
