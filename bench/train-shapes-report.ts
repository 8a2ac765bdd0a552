// The train-shapes bench's output: the table on stderr (one line per engine row, PyTorch and its sgemm rate beside
// it) and the rows of the JSON document. Kept apart from the measuring loop (train-shapes.bench.ts).
import type { StepRun } from './children.ts';
import type { MatmulRate } from './matmul-rate.ts';
import { fmt, fmtBytes } from './real-shapes.ts';
import type { BenchResult } from './run.ts';
import type { TorchRun } from './torch.ts';
import type { EmbeddingMode } from './harness.ts';

export type Engine = 'native' | 'wasm';

export interface Row {
  shape: string;
  engine: Engine;
  mode: EmbeddingMode;
  B: number;
  T: number;
  accum: number;
  /** Threads of the comparison (PyTorch's; native's intra-op threads). */
  threads: number;
  /** Threads tokenpipe used: wasm's train node keeps 1 in 'full' mode. */
  tokenpipeThreads: number;
  gflopPerStep: number;
  tokenpipe: StepRun & { gflops: number | null };
  /** The memory plan's prediction for this engine (null: the engine has no plan yet). */
  plan: { bytes: number; of: string; fits: boolean } | null;
  torch: TorchRun | null;
  /** tokenpipe tok/s over PyTorch tok/s at the same thread count, or null with ratioNote saying why. */
  ratio: number | null;
  ratioNote: string | null;
}

const notFit = (r: Row) => r.plan !== null && !r.plan.fits;

export function toResults(rows: Row[], rates: MatmulRate[], withTorch: boolean): BenchResult[] {
  const out: BenchResult[] = rates.map((r) => ({ name: `wasm matmul ${r.name}`, value: r.gflops, unit: 'GFLOP/s' }));
  for (const r of rows) {
    const what = `${r.shape} ${r.mode} ${r.threads}t ${r.engine}`;
    const tp = r.tokenpipe;
    const plan = r.plan ? `plan ${fmtBytes(r.plan.bytes)} (${r.plan.of})` : 'plan n/a (no native memory plan yet)';
    const mem = `peak RSS ${fmtBytes(tp.peakRssBytes)}, ${plan}`;
    const thr = r.engine === 'native' ? `one ONNX Runtime graph, ${r.threads} intra-op threads` : r.tokenpipeThreads === 1 ? '1 thread, trainStep' : `${r.tokenpipeThreads} threads, DataParallel`;
    const rate = `B=${r.B} T=${r.T}, ${thr}, ${fmt(tp.secondsPerStep)} s/step, ${fmt(tp.gflops)} GFLOP/s of ${fmt(r.gflopPerStep)} GFLOP, ${mem}`;
    out.push({ name: `${what}: tokenpipe`, value: tp.measured ? tp.tokensPerSec : null, unit: 'tok/s', note: tp.status === 'ok' ? rate : tp.measured ? `${rate}; ${tp.note}` : `${tp.note}; ${mem}` });
    const t = r.torch;
    if (!withTorch || !t) continue;
    // One PyTorch run serves every engine's row of its shape, mode and thread count: listed once.
    if (rows.findIndex((q) => q.torch === t) === rows.indexOf(r)) {
      const tw = `${r.shape} ${r.mode} ${r.threads}t: PyTorch`;
      out.push({
        name: tw, value: t.measured ? t.tokensPerSec : null, unit: 'tok/s',
        note: t.status === 'ok' ? `${fmt(t.secondsPerStep)} s/step, peak RSS ${fmtBytes(t.peakRssBytes)}` : `${t.secondsPerStep ? `${fmt(t.secondsPerStep)} s/step; ` : ''}${t.note}${!t.measured && t.tokensPerSec ? ` (~${fmt(t.tokensPerSec)} tok/s)` : ''}`,
      });
      out.push({ name: `${tw} sgemm 1024³`, value: t.blas?.sgemmGflops ?? null, unit: 'GFLOP/s', note: t.blas ? `kernel: ${kernelOf(t)}; ${envOf(t)}` : 'not measured (the torch child printed no BLAS line)' });
    }
    out.push({ name: `${what} / PyTorch`, value: r.ratio, unit: 'x', note: r.ratio === null ? r.ratioNote ?? '' : `same thread count (${r.threads})${r.tokenpipeThreads !== r.threads ? '; wasm on 1 thread in full mode, as the train node' : ''}` });
  }
  return out;
}

/** The BLAS kernel the torch child reported (threadpoolctl's or OpenBLAS's own words). */
export function kernelOf(t: TorchRun): string {
  const k = t.blas?.kernel as { source?: string | null; pools?: Array<Record<string, unknown>> } | null | undefined;
  const pools = k?.pools ?? [];
  if (pools.length === 0) return 'unknown';
  return pools.map((p) => [p.internal_api, p.architecture, p.version, p.num_threads !== undefined ? `${p.num_threads} threads` : undefined].filter(Boolean).join(' ')).join('; ');
}

function envOf(t: TorchRun): string {
  return Object.entries(t.blas?.env ?? {}).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`).join(' ');
}

export function printTable(rows: Row[], withTorch: boolean, log: (s: string) => void): void {
  const head = ['shape', 'engine', 'mode', 'threads', 's/step', 'tok/s', 'peak RSS', 'plan', ...(withTorch ? ['torch tok/s', 'torch RSS', 'sgemm GF/s', 'engine/torch'] : [])];
  // Plain: every timed update ran; '*': fewer ran before the limit (see notes); '~': warm-up or estimate only.
  const cell = (r: StepRun) => (r.status === 'ok' ? fmt(r.tokensPerSec) : r.measured ? `${fmt(r.tokensPerSec)}*` : r.tokensPerSec ? `~${fmt(r.tokensPerSec)}` : r.status);
  const body = rows.map((r) => [
    r.shape, r.engine, r.mode, r.tokenpipeThreads === r.threads ? String(r.threads) : `${r.threads} (1)`,
    notFit(r) ? '-' : r.tokenpipe.secondsPerStep ? fmt(r.tokenpipe.secondsPerStep) : r.tokenpipe.status, notFit(r) ? 'no fit' : cell(r.tokenpipe),
    fmtBytes(r.tokenpipe.peakRssBytes), r.plan ? fmtBytes(r.plan.bytes) : 'n/a',
    ...(withTorch ? [r.torch ? cell(r.torch) : 'n/a', fmtBytes(r.torch?.peakRssBytes), fmt(r.torch?.blas?.sgemmGflops ?? null), r.ratio === null ? (r.ratioNote?.includes('sgemm ran at') ? 'refused' : 'n/a') : `${r.ratio.toFixed(2)}x`] : []),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i < 3 ? s.padEnd(w[i]) : s.padStart(w[i]))).join(' | ');
  log(
    '\ntrain step on real shapes: tokenpipe (native: one ORT graph, n intra-op threads; wasm: the train node\'s step, n DataParallel threads) vs PyTorch eager (n threads, BLAS pinned to n)\n' +
      'plan = the memory plan\'s prediction (wasm: its heap per thread; native: n/a until its plan exists); engine/torch = tok/s ratio, refused when torch\'s sgemm < 50 GFLOP/s\n' +
      '(* = stopped early, rate from the updates that ran; ~ = warm-up or estimate only)\n' +
      `${line(head)}\n${w.map((n) => '-'.repeat(n)).join('-+-')}`,
  );
  for (const b of body) log(line(b));
  const seen = new Set<TorchRun>();
  for (const r of rows) {
    if (r.tokenpipe.note) log(`  ${r.shape} ${r.mode} ${r.threads}t tokenpipe ${r.engine}: ${r.tokenpipe.note}`);
    if (r.torch && !seen.has(r.torch)) {
      seen.add(r.torch);
      if (r.torch.note) log(`  ${r.shape} ${r.mode} ${r.threads}t PyTorch: ${r.torch.note}`);
      if (r.torch.blas) log(`  ${r.shape} ${r.mode} ${r.threads}t PyTorch BLAS: sgemm ${r.torch.blas.sgemmGflops.toFixed(1)} GFLOP/s, kernel ${kernelOf(r.torch)}, ${envOf(r.torch)}`);
    }
    if (r.ratio === null && r.ratioNote?.includes('sgemm ran at') && rows.find((q) => q.torch === r.torch) === r) log(`  ${r.shape} ${r.mode} ${r.threads}t: ${r.ratioNote}`);
  }
}
