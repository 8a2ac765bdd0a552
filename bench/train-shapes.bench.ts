// Train step on real shapes: the native engine, wasm and PyTorch eager side by side (issues 14, 22). For each shape of
// --shapes (default: reference, reference-128k, SmolLM2-135M, Qwen2.5-0.5B, Llama-3.2-1B), each mode (default
// trainable-tokens) and each thread count n of --threads (default 2), at B=8 T=128 per update (--batch, --seq):
// - tokenpipe on each engine of --engines, in a child process of its own (bench/step-child.ts: the train node's
//   step). wasm: `threads: n` as the train node runs it (n > 1: DataParallel workers; 'full' mode: 1 thread).
//   native: ONE trainer whose pass is one ONNX Runtime graph with n intra-op threads. The native step has no
//   data-parallel form (DataParallel's workers run the wasm pass), so "2 workers x 1 ORT thread" cannot be measured:
//   intra-op threads are the native engine's only mode of using n cores.
// - PyTorch eager (bench/torch_step.py) with n threads, every BLAS pool pinned to n (bench/torch-env.ts), its sgemm
//   rate measured in the same child and printed; no ratio against a BLAS under 50 GFLOP/s.
// Beside each row: tok/s, peak RSS and the memory plan's prediction (bench/harness.ts predictedMemory; an engine whose
// plan says the shape cannot fit gets a row saying so instead of a run), and tokenpipe / PyTorch.
//
//   npm run bench -- train [--quick] [--shapes=reference,...] [--modes=trainable-tokens,...] [--steps=N] [--warmup=N]
//                          [--batch=8] [--seq=128] [--max-seconds=S] [--threads=2] [--engines=native,wasm]
//                          [--no-torch] [--torch-no-skip] [--torch-unset-coretype]
//
// Defaults: 3 steps after 2 warm-ups (the first update after one warm-up still runs 0.1-0.3 s slow at SmolLM2-135M
// on either side, the heap still growing; the median of 3 takes one noisy update), every child stopped after 300 s (a crash or a timeout is a row that says so,
// with what was measured before it; once a PyTorch run of a shape yields no rate at all, the shape's other PyTorch
// runs are skipped unless --torch-no-skip). --quick: 1 step without warm-up, 120 s per child. --torch-unset-coretype:
// the torch child runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (safety settings some machines set; the kernel
// that ran is reported either way). (--torch-threads is the old name of --threads.)
import { flag, list, num, type BenchOptions } from './options.ts';
import type { StepRun } from './children.ts';
import { stepFlops } from './flops.ts';
import { EMBEDDING_MODES, predictedMemory, setBackend, type EmbeddingMode } from './harness.ts';
import { measureMatmulRates } from './matmul-rate.ts';
import { LORA_RANK, NEW_TOKENS, prepareShape, TRAIN_SHAPES, TRAIN_WORKLOAD } from './real-shapes.ts';
import type { BenchOutput } from './run.ts';
import { runTokenpipe } from './tokenpipe-step.ts';
import { blasSafetyVars, torchRatio } from './torch-env.ts';
import { runTorchBest, torchInfo, type TorchRun } from './torch.ts';
import { printTable, toResults, type Engine, type Row } from './train-shapes-report.ts';

const log = (s: string) => process.stderr.write(s + '\n');

export default async function trainShapes(o: BenchOptions): Promise<BenchOutput> {
  const quick = flag(o, 'quick');
  const shapes = list(o, 'shapes', TRAIN_SHAPES, TRAIN_SHAPES);
  const modes = list(o, 'modes', EMBEDDING_MODES, ['trainable-tokens']);
  const steps = Math.max(1, num(o, 'steps', quick ? 1 : 3));
  const warmup = num(o, 'warmup', quick ? 0 : 2);
  const maxSeconds = num(o, 'max-seconds', quick ? 120 : 300);
  const B = Math.max(1, num(o, 'batch', TRAIN_WORKLOAD.B));
  const T = Math.max(2, num(o, 'seq', TRAIN_WORKLOAD.T));
  const accum = TRAIN_WORKLOAD.accum;
  const threadKey = o.threads === undefined && o['torch-threads'] !== undefined ? 'torch-threads' : 'threads';
  const threads = list(o, threadKey, ['1', '2', '3', '4', '8'], ['2']).map(Number);
  const engines = list(o, 'engines', ['native', 'wasm'], ['native', 'wasm']) as Engine[];
  const unsetCoreType = flag(o, 'torch-unset-coretype');
  const torch = flag(o, 'no-torch') ? null : torchInfo();
  const safety = blasSafetyVars(process.env, { unsetCoreType });
  log(torch ? `  PyTorch ${torch.version}, BLAS_INFO=${torch.blas} (${torch.blasLibrary ?? 'library unknown'})` : '  PyTorch: not run (no torch in /usr/bin/python3, or --no-torch)');
  if (torch && Object.keys(safety).length) log(`  the torch child keeps ${Object.entries(safety).map(([k, v]) => `${k}=${v}`).join(' ')} (--torch-unset-coretype drops them)`);

  await setBackend('wasm');
  const rates = measureMatmulRates();
  for (const r of rates) log(`  wasm matmul ${r.name}: ${r.gflops.toFixed(1)} GFLOP/s`);

  const keepGoing = flag(o, 'torch-no-skip');
  const torchHopeless = new Map<string, string>();
  const rows: Row[] = [];
  for (const shape of shapes) {
    const p = await prepareShape(shape, log);
    for (const mode of modes) {
      const flops = stepFlops(p.config, { B, T, accum, mode, newTokens: NEW_TOKENS, r: LORA_RANK });
      for (const n of threads) {
        const job = { model: p.dir, mode, B, T, accum, steps, warmup };
        const ours: Array<Omit<Row, 'torch' | 'ratio' | 'ratioNote'>> = [];
        for (const engine of engines) {
          const tpThreads = engine === 'wasm' && mode === 'full' ? 1 : n; // the train node's rule: 'full' mode trains on one thread on wasm
          const plan = predictedMemory(engine, p.config, mode, { newTokens: NEW_TOKENS, gradAccumulation: accum, B, T, threads: tpThreads });
          const tp = plan && !plan.fits ? doesNotFit(engine, plan.bytes, plan.limit) : await runTokenpipe({ ...job, threads: tpThreads, engine }, maxSeconds);
          const gflops = tp.measured && tp.secondsPerStep ? flops.total / tp.secondsPerStep / 1e9 : null;
          ours.push({ shape, engine, mode, B, T, accum, threads: n, tokenpipeThreads: tpThreads, gflopPerStep: flops.total / 1e9, tokenpipe: { ...tp, gflops }, plan: plan && { bytes: plan.bytes, of: plan.of, fits: plan.fits } });
          log(`  ${shape} ${mode} ${n}t: tokenpipe ${engine}${tpThreads !== n ? ` (${tpThreads} thread, as the node in full mode)` : ''} ${describe(tp)}`);
        }
        let tr: TorchRun | null = null;
        if (torch) {
          const hopeless = torchHopeless.get(shape);
          tr = hopeless ? skipped(hopeless) : await runTorchBest({ ...job, threads: n }, maxSeconds, { unsetCoreType });
          log(`  ${shape} ${mode} ${n}t: PyTorch ${describe(tr)}${tr.blas ? `, sgemm ${tr.blas.sgemmGflops.toFixed(1)} GFLOP/s` : ''}${tr.tried ? `; intra-op threads tried: ${tr.tried.map((t) => `${t.intraOp} → ${t.tokensPerSec?.toPrecision(3) ?? 'no rate'} tok/s`).join(', ')}` : ''}`);
          // No rate at all within the limit (not even a warm-up update or micro-batch): the shape's other
          // PyTorch runs would burn the same time for nothing.
          if (!hopeless && !keepGoing && tr.status === 'timed out' && tr.tokensPerSec === null) {
            torchHopeless.set(shape, `${mode}, ${n} thread(s) gave no rate within ${maxSeconds} s`);
          }
        }
        // A run stopped by the time limit after at least one timed update still has a measured rate.
        for (const r of ours) {
          const q = torchRatio(r.tokenpipe.measured ? r.tokenpipe.tokensPerSec : null, tr?.measured ? tr.tokensPerSec : null, tr?.blas?.sgemmGflops ?? null, safety);
          rows.push({ ...r, torch: tr, ratio: q.ratio, ratioNote: q.refused });
        }
      }
    }
  }
  printTable(rows, torch !== null, log);
  return {
    rows: toResults(rows, rates, torch !== null),
    details: { torch, torchBlasSafetyVars: safety, nativeThreads: 'intra-op only (no data-parallel native step)', matmul: rates, steps, warmup, maxSeconds, B, T, rows },
  };
}

function doesNotFit(engine: Engine, bytes: number, limit: number | null): StepRun {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  return {
    status: 'crashed', measured: false, secondsPerStep: null, tokensPerSec: null, peakRssBytes: null,
    note: `not run: ${engine}'s memory plan needs ${gib(bytes)}, over its ${limit === null ? 'limit' : gib(limit)} (the train node would refuse it)`, raw: null,
  };
}

function skipped(why: string): TorchRun {
  return { status: 'timed out', measured: false, secondsPerStep: null, tokensPerSec: null, peakRssBytes: null, note: `skipped: PyTorch ${why} (--torch-no-skip runs it anyway)`, raw: null, blas: null };
}

function describe(r: StepRun): string {
  const rate = r.tokensPerSec ? `${r.tokensPerSec.toPrecision(3)} tok/s (${r.secondsPerStep?.toPrecision(3)} s/step)` : 'no rate';
  return `${rate}${r.note ? ` — ${r.note}` : ''}`;
}
