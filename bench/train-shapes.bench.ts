// Train step on real shapes, side by side with PyTorch at the same thread count (issue 14). For each shape of
// bench/real-shapes.ts, each embedding mode and each thread count n of --threads: the tokenpipe update as the train
// node runs it with `threads: n` (bench/harness.ts: trainStepParallel; n = 1 the plain step, n > 1 DataParallel; in
// 'full' mode the node keeps 1 thread whatever n is, and so does this bench) on the wasm backend in a child process
// of its own (seconds/step as the median of --steps updates after --warmup, tok/s, achieved GFLOP/s from
// bench/flops.ts, peak RSS and tensor bytes), then bench/torch_step.py on the same folder with n threads when
// /usr/bin/python3 has torch, and tokenpipe(n) / PyTorch(n). The wasm matmul rate is measured first, in this
// process, as the yardstick for the GFLOP/s (one thread's rate: a 2-thread update can exceed it).
//
//   npm run bench -- train [--quick] [--shapes=reference,...] [--modes=trainable-tokens,...] [--steps=N]
//                          [--warmup=N] [--max-seconds=S] [--threads=1,2] [--engines=wasm,native] [--no-torch] [--torch-no-skip]
//
// --engines (default wasm,native): native runs the train node's step on backend native (each micro-batch's pass one
// ONNX Runtime graph with n intra-op threads, one trainer); PyTorch runs once per thread count for both.
//
// Defaults: threads 1 and 2, 2 steps after 1 warm-up, every child stopped after 300 s (a crash or a timeout is a
// row that says so, with what was measured before it; once a PyTorch run of a shape yields no rate at all, the
// shape's other PyTorch runs are skipped unless --torch-no-skip). --quick: trainable-tokens only, 1 step without
// warm-up, 120 s per child, 2 threads only. (--torch-threads is the old name of --threads.)
import { flag, list, num, type BenchOptions } from './options.ts';
import type { StepRun } from './children.ts';
import { stepFlops } from './flops.ts';
import { EMBEDDING_MODES, setBackend, type EmbeddingMode } from './harness.ts';
import { measureMatmulRates } from './matmul-rate.ts';
import { fmt, fmtBytes, LORA_RANK, NEW_TOKENS, prepareShape, REAL_SHAPES } from './real-shapes.ts';
import type { BenchOutput, BenchResult } from './run.ts';
import { runTokenpipe } from './tokenpipe-step.ts';
import { runTorch, torchInfo } from './torch.ts';

interface Row {
  shape: string;
  engine: 'wasm' | 'native';
  mode: EmbeddingMode;
  B: number;
  T: number;
  accum: number;
  /** Threads of both sides (tokenpipe: as train-step `threads`, 1 in 'full' mode). */
  threads: number;
  tokenpipeThreads: number;
  gflopPerStep: number;
  tokenpipe: StepRun & { gflops: number | null };
  torch: StepRun | null;
  /** tokenpipe tok/s over PyTorch tok/s, same thread count. */
  ratio: number | null;
}

const log = (s: string) => process.stderr.write(s + '\n');

export default async function trainShapes(o: BenchOptions): Promise<BenchOutput> {
  const quick = flag(o, 'quick');
  const shapes = list(o, 'shapes', REAL_SHAPES, REAL_SHAPES);
  const modes = list(o, 'modes', EMBEDDING_MODES, quick ? ['trainable-tokens'] : EMBEDDING_MODES);
  const steps = Math.max(1, num(o, 'steps', quick ? 1 : 2));
  const warmup = num(o, 'warmup', quick ? 0 : 1);
  const maxSeconds = num(o, 'max-seconds', quick ? 120 : 300);
  const threadKey = o.threads === undefined && o['torch-threads'] !== undefined ? 'torch-threads' : 'threads';
  const threads = list(o, threadKey, ['1', '2', '3', '4', '8'], quick ? ['2'] : ['1', '2']).map(Number);
  const engines = list(o, 'engines', ['wasm', 'native'], ['wasm', 'native']) as Array<'wasm' | 'native'>;
  const torch = flag(o, 'no-torch') ? null : torchInfo();
  log(torch ? `  PyTorch ${torch.version}, BLAS_INFO=${torch.blas} (${torch.blasLibrary ?? 'library unknown'})` : '  PyTorch: not run (no torch in /usr/bin/python3, or --no-torch)');

  await setBackend('wasm');
  const rates = measureMatmulRates();
  for (const r of rates) log(`  wasm matmul ${r.name}: ${r.gflops.toFixed(1)} GFLOP/s`);

  const keepGoing = flag(o, 'torch-no-skip');
  const torchHopeless = new Map<string, string>();
  const rows: Row[] = [];
  for (const shape of shapes) {
    const p = await prepareShape(shape, log);
    const { B, T, accum } = p.work;
    for (const mode of modes) {
      const flops = stepFlops(p.config, { B, T, accum, mode, newTokens: NEW_TOKENS, r: LORA_RANK });
      for (const n of threads) {
        const tpThreads = mode === 'full' ? 1 : n; // the train node's rule: 'full' mode trains on one thread
        const job = { model: p.dir, mode, B, T, accum, steps, warmup };
        const ours: Array<{ engine: 'wasm' | 'native'; tp: StepRun; tokenpipe: StepRun & { gflops: number | null } }> = [];
        for (const engine of engines) {
          const tp = await runTokenpipe({ ...job, threads: engine === 'native' ? n : tpThreads, engine }, maxSeconds);
          ours.push({ engine, tp, tokenpipe: { ...tp, gflops: tp.measured && tp.secondsPerStep ? flops.total / tp.secondsPerStep / 1e9 : null } });
          log(`  ${shape} ${mode} ${n}t: tokenpipe ${engine}${engine === 'wasm' && tpThreads !== n ? ` (${tpThreads} thread, as the node in full mode)` : ''} ${describe(tp)}`);
        }
        let tr: StepRun | null = null;
        if (torch) {
          const hopeless = torchHopeless.get(shape);
          tr = hopeless ? skipped(hopeless) : await runTorch({ ...job, threads: n }, maxSeconds);
          log(`  ${shape} ${mode} ${n}t: PyTorch ${describe(tr)}`);
          // No rate at all within the limit (not even a warm-up update or micro-batch): the shape's other
          // PyTorch runs would burn the same time for nothing (Qwen2.5-0.5B on a reference BLAS).
          if (!hopeless && !keepGoing && tr.status === 'timed out' && tr.tokensPerSec === null) {
            torchHopeless.set(shape, `${mode}, ${n} thread(s) gave no rate within ${maxSeconds} s`);
          }
        }
        // A run stopped by the time limit after at least one timed update still has a measured rate.
        const tt = tr?.measured ? tr.tokensPerSec : null;
        for (const { engine, tp, tokenpipe } of ours) {
          const ratio = tp.measured && tp.tokensPerSec && tt ? tp.tokensPerSec / tt : null;
          rows.push({ shape, engine, mode, B, T, accum, threads: n, tokenpipeThreads: engine === 'native' ? n : tpThreads, gflopPerStep: flops.total / 1e9, tokenpipe, torch: tr, ratio });
        }
      }
    }
  }
  printTable(rows, torch !== null);
  return { rows: toResults(rows, rates, torch !== null), details: { torch, matmul: rates, steps, warmup, maxSeconds, rows } };
}

function skipped(why: string): StepRun {
  return { status: 'timed out', measured: false, secondsPerStep: null, tokensPerSec: null, peakRssBytes: null, note: `skipped: PyTorch ${why} (--torch-no-skip runs it anyway)`, raw: null };
}

function describe(r: StepRun): string {
  const rate = r.tokensPerSec ? `${fmt(r.tokensPerSec)} tok/s (${fmt(r.secondsPerStep)} s/step)` : 'no rate';
  return `${rate}${r.note ? ` — ${r.note}` : ''}`;
}

function toResults(rows: Row[], rates: ReturnType<typeof measureMatmulRates>, withTorch: boolean): BenchResult[] {
  const out: BenchResult[] = rates.map((r) => ({ name: `wasm matmul ${r.name}`, value: r.gflops, unit: 'GFLOP/s' }));
  for (const r of rows) {
    const what = `${r.shape} ${r.mode} ${r.threads}t${r.engine === 'native' ? ' native' : ''}`;
    const size = r.accum > 1 ? `B=${r.B} T=${r.T} x${r.accum} accum` : `B=${r.B} T=${r.T}`;
    const tp = r.tokenpipe;
    const mem = `peak RSS ${fmtBytes(tp.peakRssBytes)}, tensors (main thread) ${fmtBytes(tp.peakTensorBytes)}`;
    const thr = r.engine === 'native' ? `native: the pass one ONNX Runtime graph (${r.threads} intra-op threads)` : r.tokenpipeThreads === 1 ? '1 thread, trainStep' : `${r.tokenpipeThreads} threads, DataParallel`;
    const rate = `${size}, ${thr}, ${fmt(tp.secondsPerStep)} s/step, ${fmt(tp.gflops)} GFLOP/s of ${fmt(r.gflopPerStep)} GFLOP, ${mem}`;
    out.push({
      name: `${what}: tokenpipe`, value: tp.measured ? tp.tokensPerSec : null, unit: 'tok/s',
      note: tp.status === 'ok' ? rate : tp.measured ? `${rate}; ${tp.note}` : `${tp.note}; ${mem}`,
    });
    const t = r.torch;
    if (withTorch && t) {
      // One PyTorch run serves every engine's row of its shape, mode and thread count: listed once.
      if (rows.findIndex((q) => q.torch === t) === rows.indexOf(r)) out.push({
        name: `${r.shape} ${r.mode} ${r.threads}t: PyTorch`, value: t.measured ? t.tokensPerSec : null, unit: 'tok/s',
        note: t.status === 'ok'
          ? `${fmt(t.secondsPerStep)} s/step, peak RSS ${fmtBytes(t.peakRssBytes)}`
          : `${t.secondsPerStep ? `${fmt(t.secondsPerStep)} s/step; ` : ''}${t.note}${!t.measured && t.tokensPerSec ? ` (~${fmt(t.tokensPerSec)} tok/s)` : ''}`,
      });
      out.push({ name: `${what}: tokenpipe / PyTorch`, value: r.ratio, unit: 'x', note: r.ratio === null ? 'no timed update on one side' : `same thread count (${r.threads})${r.tokenpipeThreads !== r.threads ? '; tokenpipe on 1 thread in full mode, as the train node' : ''}` });
    }
  }
  return out;
}

function printTable(rows: Row[], withTorch: boolean): void {
  const head = ['shape', 'engine', 'mode', 'threads', 's/step', 'tok/s', 'GFLOP/s', 'peak RSS', ...(withTorch ? ['torch tok/s', 'ratio'] : [])];
  // Plain: every timed update ran; '*': fewer ran before the limit (see notes); '~': warm-up or estimate only.
  const cell = (r: StepRun) => (r.status === 'ok' ? fmt(r.tokensPerSec) : r.measured ? `${fmt(r.tokensPerSec)}*` : r.tokensPerSec ? `~${fmt(r.tokensPerSec)}` : r.status);
  const body = rows.map((r) => [
    r.shape, r.engine, r.mode, r.tokenpipeThreads === r.threads ? String(r.threads) : `${r.threads} (tp 1)`,
    r.tokenpipe.secondsPerStep ? fmt(r.tokenpipe.secondsPerStep) : r.tokenpipe.status, cell(r.tokenpipe), fmt(r.tokenpipe.gflops),
    fmtBytes(r.tokenpipe.peakRssBytes), ...(withTorch ? [r.torch ? cell(r.torch) : 'n/a', r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`] : []),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i < 3 ? s.padEnd(w[i]) : s.padStart(w[i]))).join(' | ');
  log(
    '\ntrain step on real shapes: tokenpipe (wasm, the train node\'s step at that thread count) vs PyTorch (same threads); ratio = tokenpipe / PyTorch tok/s\n' +
      '(* = stopped early, rate from the updates that ran; ~ = warm-up or estimate only)\n' +
      `${line(head)}\n${w.map((n) => '-'.repeat(n)).join('-+-')}`,
  );
  for (const b of body) log(line(b));
  for (const r of rows) {
    if (r.tokenpipe.note) log(`  ${r.shape} ${r.mode} ${r.threads}t tokenpipe ${r.engine}: ${r.tokenpipe.note}`);
    if (r.torch?.note) log(`  ${r.shape} ${r.mode} ${r.threads}t PyTorch: ${r.torch.note}`);
  }
}
