// Loss curves as a hand-written SVG: two panels side by side, (1) train loss per update (thin)
// with eval loss at each evaluation (thick, dots), (2) eval loss at positions whose target is a
// new token. One colour per branch. No dependencies: plain strings, text escaped for XML.
import type { BranchRecord } from './record.ts';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const W = 480; // one panel
const H = 340;
const M = { left: 56, right: 16, top: 36, bottom: 44 };

interface Series {
  color: string;
  points: Array<[number, number]>;
  /** 'thin': a faint polyline; 'main': a thick polyline with dots. */
  style: 'thin' | 'main';
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** About `n` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const num = (x: number) => (Math.round(x * 100) / 100).toString();

function panel(title: string, series: Series[], xMax: number, x0: number): string {
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let lo = ys.length ? Math.min(...ys) : 0;
  let hi = ys.length ? Math.max(...ys) : 1;
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  [lo, hi] = [lo - pad, hi + pad];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => x0 + M.left + (xMax > 0 ? (x / xMax) * pw : 0);
  const sy = (y: number) => M.top + (1 - (y - lo) / (hi - lo)) * ph;
  const parts: string[] = [
    `<text x="${num(x0 + W / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${num(x0 + M.left)}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (const t of niceTicks(lo, hi)) {
    parts.push(`<line x1="${num(x0 + M.left)}" x2="${num(x0 + M.left + pw)}" y1="${num(sy(t))}" y2="${num(sy(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${num(x0 + M.left - 6)}" y="${num(sy(t) + 4)}" text-anchor="end" font-size="11">${num(t)}</text>`);
  }
  for (const t of niceTicks(0, xMax)) {
    parts.push(`<text x="${num(sx(t))}" y="${num(M.top + ph + 16)}" text-anchor="middle" font-size="11">${num(t)}</text>`);
  }
  parts.push(`<text x="${num(x0 + M.left + pw / 2)}" y="${H - 8}" text-anchor="middle" font-size="12">update</text>`);
  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    const d = pts.map(([x, y]) => `${num(sx(x))},${num(sy(y))}`).join(' ');
    if (s.style === 'thin') {
      parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-opacity="0.35" stroke-width="1"/>`);
    } else {
      parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
      for (const [x, y] of pts) parts.push(`<circle cx="${num(sx(x))}" cy="${num(sy(y))}" r="3.5" fill="${s.color}"/>`);
    }
  }
  return parts.join('\n');
}

/** The whole image for any number of branches. */
export function lossCurveSvg(records: BranchRecord[]): string {
  const xMax = Math.max(1, ...records.map((r) => r.steps));
  const color = (i: number) => COLORS[i % COLORS.length];
  const left: Series[] = records.flatMap((r, i) => [
    { color: color(i), style: 'thin' as const, points: r.trainLoss.map((p) => [p.step, p.loss] as [number, number]) },
    { color: color(i), style: 'main' as const, points: r.evals.map((e) => [e.step, e.loss] as [number, number]) },
  ]);
  const right: Series[] = records.map((r, i) => ({ color: color(i), style: 'main', points: r.evals.map((e) => [e.step, e.newTokenLoss] as [number, number]) }));
  const legendY = H + 8;
  let x = M.left;
  const legend = records.map((r, i) => {
    const label = r.name === r.mode ? r.name : `${r.name} (${r.mode})`;
    const item = `<line x1="${x}" x2="${x + 24}" y1="${legendY}" y2="${legendY}" stroke="${color(i)}" stroke-width="3"/>` +
      `<text x="${x + 30}" y="${legendY + 4}" font-size="12">${escapeXml(label)}</text>`;
    x += 30 + Math.ceil(label.length * 7.5) + 24; // ~7 px per character at 12 px sans-serif
    return item;
  });
  const note = `<text x="${M.left}" y="${legendY + 24}" font-size="11" fill="#555">thin: train loss per update; thick: eval loss at each evaluation (held-out split)</text>`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 40}" viewBox="0 0 ${2 * W} ${H + 40}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel('loss', left, xMax, 0),
    panel('new-token loss (eval)', right, xMax, W),
    ...legend,
    note,
    `</svg>`,
    '',
  ].join('\n');
}
