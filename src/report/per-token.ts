// report.md's per-token table of one branch: for every new token that occurs as a target in the
// eval split, its positions, loss before and after, top-1 accuracy and emission rate, worst first.
// Pooled accuracy hides a token the model never gets right behind a frequent one it always gets
// right ('<|im_end|>'); this table shows each one. The surface forms of one word (' zintrapolate',
// 'Zintrapolate' at a reply start, …) are listed under a line for the word, their figures pooled.
import { beforeAfter, type BranchRecord, type TokenFigures } from './record.ts';
import { fmtInt, fmtLoss, fmtPct } from './format.ts';
import { groupByWord, wordOfToken } from '../tokenizer/forms.ts';

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
  const tokens = worstFirst(last.perToken);
  if (tokens.length === 0) return [];
  const prior = before?.perToken ?? {};
  const inter = r.intermediates?.length ?? 0;
  // Words worst first by their pooled figures; a word of several forms gets a line of its own.
  const words = groupByWord(tokens, ([t]) => wordOfToken(t)).map((g) => ({ ...g, pooled: pool(g.items.map(([, m]) => m)) }));
  const order = worstFirst(Object.fromEntries(words.map((g, i) => [String(i).padStart(6, '0'), g.pooled]))).map(([k]) => words[Number(k)]);
  const row = (label: string, m: TokenFigures, lossBefore: number | undefined) =>
    `| ${label} | ${fmtInt(m.count)} | ${fmtLoss(lossBefore)} | ${fmtLoss(m.loss)} | ${fmtPct(m.acc)} | ${Number.isFinite(m.emissionRate) ? m.emissionRate.toFixed(2) : 'n/a'} |`;
  const lines = order.flatMap((g) => {
    const forms = g.items.map(([t, m]) => row(g.items.length > 1 ? `↳ ${code(t)}` : code(t), m, prior[t]?.loss));
    if (g.items.length === 1) return forms;
    const before = pool(g.items.map(([t]) => prior[t]).filter((m): m is TokenFigures => m !== undefined));
    return [row(`**${g.word}** (${g.items.length} forms)`, g.pooled, before.count > 0 ? before.loss : undefined), ...forms];
  });
  return [
    `## Per new token${named ? `: ${r.name}` : ''} (step ${last.step}, worst first)`,
    '',
    `The ${tokens.length} new tokens that occur as targets in the eval split${inter ? ` (the ${inter} intermediate merge tokens never do: they only build words)` : ''}; the forms of one word under a line for the word (figures pooled).`,
    'Emission rate: positions where the model predicts the token over positions where it is the target (1 = as often as it should).',
    '',
    '| token | targets | loss before | loss after | accuracy | emission rate |',
    '|---|---:|---:|---:|---:|---:|',
    ...lines,
    '',
  ];
}

/** Figures of several forms as one: positions summed, loss, accuracy and emission weighted by positions. */
function pool(ms: TokenFigures[]): TokenFigures {
  const count = ms.reduce((a, m) => a + m.count, 0);
  const sum = (f: (m: TokenFigures) => number) => ms.reduce((a, m) => a + (m.count > 0 ? f(m) * m.count : 0), 0);
  return { count, loss: sum((m) => m.loss) / count, acc: sum((m) => m.acc) / count, emissionRate: sum((m) => m.emissionRate) / count };
}
