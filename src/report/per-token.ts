// report.md's per-token table of one branch: for every new token that occurs as a target in the
// eval split, its positions, loss before and after, top-1 accuracy and emission rate, worst first.
// Pooled accuracy hides a token the model never gets right behind a frequent one it always gets
// right ('<|im_end|>'); this table shows each one.
import { beforeAfter, type BranchRecord, type TokenFigures } from './record.ts';
import { fmtInt, fmtLoss, fmtPct } from './format.ts';

const code = (t: string) => `\`${JSON.stringify(t).slice(1, -1).replace(/\|/g, '\\|')}\``;

/** Worst first: lowest accuracy, then highest loss; ties by count (frequent first), then name. */
export function worstFirst(perToken: Record<string, TokenFigures>): Array<[string, TokenFigures]> {
  const loss = (x: number) => (Number.isFinite(x) ? x : Infinity);
  return Object.entries(perToken).sort(([a, x], [b, y]) => x.acc - y.acc || loss(y.loss) - loss(x.loss) || y.count - x.count || (a < b ? -1 : a > b ? 1 : 0));
}

export function perTokenTable(r: BranchRecord, named: boolean): string[] {
  const { before, after } = beforeAfter(r);
  const last = after ?? r.evals.at(-1);
  if (!last?.perToken) return [];
  const rows = worstFirst(last.perToken);
  if (rows.length === 0) return [];
  const prior = before?.perToken ?? {};
  const inter = r.intermediates?.length ?? 0;
  return [
    `## Per new token${named ? `: ${r.name}` : ''} (step ${last.step}, worst first)`,
    '',
    `The ${rows.length} new tokens that occur as targets in the eval split${inter ? ` (the ${inter} intermediate merge tokens never do: they only build words)` : ''}.`,
    'Emission rate: positions where the model predicts the token over positions where it is the target (1 = as often as it should).',
    '',
    '| token | targets | loss before | loss after | accuracy | emission rate |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(([t, m]) => `| ${code(t)} | ${fmtInt(m.count)} | ${fmtLoss(prior[t]?.loss)} | ${fmtLoss(m.loss)} | ${fmtPct(m.acc)} | ${Number.isFinite(m.emissionRate) ? m.emissionRate.toFixed(2) : 'n/a'} |`),
    '',
  ];
}
