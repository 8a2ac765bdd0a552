// The PyTorch side of the train bench: bench/torch_step.py on the same folder, mode and sizes, run by
// /usr/bin/python3 when it has torch, every BLAS thread pool pinned to the compared thread count, and its sgemm
// rate and kernel read back from the child's first line (bench/torch-env.ts says what a ratio needs).
// A run stopped by the time limit still yields a rate from its progress lines when one update (or, with
// gradient accumulation, one micro-batch) finished.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runChild, type ChildResult, type StepRun } from './children.ts';
import { torchChildEnv, torchIntraOpChoices } from './torch-env.ts';
import { median } from './stats.ts';

export const PYTHON = '/usr/bin/python3';

export interface TorchInfo {
  version: string;
  blas: string;
  blasLibrary: string | null;
  config: string;
}

/** torch's version and BLAS, or null when /usr/bin/python3 has no torch. */
export function torchInfo(): TorchInfo | null {
  if (!existsSync(PYTHON)) return null;
  const code =
    'import json, os, torch\n' +
    "lib = '/usr/lib/x86_64-linux-gnu/libblas.so.3'\n" +
    'cfg = torch.__config__.show()\n' +
    "blas = next((s.split('=', 1)[1] for s in cfg.replace(',', ' ').split() if s.startswith('BLAS_INFO=')), 'unknown')\n" +
    "print(json.dumps({'version': torch.__version__, 'blas': blas, 'blasLibrary': os.path.realpath(lib) if os.path.exists(lib) else None, 'config': cfg}))";
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout) as TorchInfo;
}

export interface TorchJob {
  model: string;
  mode: string;
  B: number;
  T: number;
  accum: number;
  threads: number;
  steps: number;
  warmup: number;
}

/** The child's first JSON line (torch_step.py blas_report): its sgemm rate, kernel and thread environment. */
export interface TorchBlas {
  sgemmGflops: number;
  kernel: unknown;
  env: Record<string, string | null>;
}

export type TorchRun = StepRun & {
  blas: TorchBlas | null;
  /** torch's intra-op threads of this run; with runTorchBest, every layout tried and its rate. */
  intraOp?: number;
  tried?: Array<{ intraOp: number; tokensPerSec: number | null; note?: string }>;
};

export interface TorchExec {
  /** Interpreter and script (tests put a stand-in here); default /usr/bin/python3 bench/torch_step.py. */
  python?: string;
  script?: string;
  /** Drop OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in the child (bench/torch-env.ts). */
  unsetCoreType?: boolean;
  /** torch's intra-op threads (torch.set_num_threads, OMP_NUM_THREADS); default job.threads. The BLAS keeps job.threads. */
  intraOp?: number;
}

export async function runTorch(job: TorchJob, maxSeconds: number, exec: TorchExec = {}): Promise<TorchRun> {
  const r = await runTorchChild(job, maxSeconds, exec);
  const b = r.events.find((e) => e.event === 'blas') as { sgemm_gflops?: number; kernel?: unknown; env?: Record<string, string | null> } | undefined;
  const blas = b?.sgemm_gflops === undefined ? null : { sgemmGflops: b.sgemm_gflops, kernel: b.kernel ?? null, env: b.env ?? {} };
  return { ...stepRunOf(job, r), blas, intraOp: exec.intraOp ?? job.threads };
}

/** PyTorch at each of its thread layouts for job.threads (torchIntraOpChoices), the fastest kept: the strongest baseline. */
export async function runTorchBest(job: TorchJob, maxSeconds: number, exec: TorchExec = {}): Promise<TorchRun> {
  const runs: TorchRun[] = [];
  for (const intraOp of torchIntraOpChoices(job.threads)) runs.push(await runTorch(job, maxSeconds, { ...exec, intraOp }));
  const rate = (r: TorchRun) => (r.measured ? r.tokensPerSec ?? 0 : 0);
  const best = runs.reduce((a, r) => (rate(r) > rate(a) ? r : a));
  return { ...best, tried: runs.map((r) => ({ intraOp: r.intraOp!, tokensPerSec: r.measured ? r.tokensPerSec : null, ...(r.note ? { note: r.note } : {}) })) };
}

function runTorchChild(job: TorchJob, maxSeconds: number, exec: TorchExec) {
  const args = [
    exec.script ?? path.join(ROOT, 'bench', 'torch_step.py'), '--model', job.model, '--mode', job.mode, '--batch', String(job.B), '--seq', String(job.T),
    '--accum', String(job.accum), '--threads', String(exec.intraOp ?? job.threads), '--steps', String(job.steps), '--warmup', String(job.warmup),
  ];
  // torch.set_num_threads does not bound OpenBLAS's (or OpenMP's, MKL's) own threads: all are pinned to the compared count.
  return runChild(exec.python ?? PYTHON, args, maxSeconds, undefined, torchChildEnv(job.threads, process.env, { unsetCoreType: exec.unsetCoreType, intraOp: exec.intraOp }));
}

function stepRunOf(job: TorchJob, r: ChildResult): StepRun {
  const tokens = job.B * job.T * job.accum;
  const final = r.events.filter((e) => e.event === undefined).at(-1) as { seconds_per_step?: number; peak_rss_bytes?: number } | undefined;
  if (r.status === 'ok' && final?.seconds_per_step) {
    return { status: 'ok', measured: true, secondsPerStep: final.seconds_per_step, tokensPerSec: tokens / final.seconds_per_step, peakRssBytes: final.peak_rss_bytes ?? null, raw: final };
  }
  // Stopped or crashed: fall back on the progress lines.
  const steps = [...r.stderr.matchAll(/^step (\d+)\/\d+: ([\d.]+) s/gm)].map((m) => ({ k: Number(m[1]), s: Number(m[2]) }));
  const measured = steps.filter((x) => x.k > job.warmup).map((x) => x.s);
  const micros = [...r.stderr.matchAll(/^micro (\d+)\/(\d+) of step \d+: ([\d.]+) s/gm)].map((m) => ({ m: Number(m[1]), of: Number(m[2]), s: Number(m[3]) }));
  let est: number | null = null;
  let how = '';
  if (measured.length > 0) [est, how] = [median(measured), `${measured.length} of ${job.steps} steps`];
  else if (steps.length > 0) [est, how] = [steps[0].s, 'the warm-up step only'];
  else if (micros.length > 0) {
    const last = micros.at(-1)!;
    [est, how] = [(last.s / last.m) * last.of, `${last.m}/${last.of} micro-batches of the first update, scaled to ${last.of}`];
  }
  const why = r.status === 'crashed' ? `crashed: ${r.reason}` : `${r.status} (${r.reason})`;
  return {
    status: r.status, measured: measured.length > 0, secondsPerStep: est, tokensPerSec: est ? tokens / est : null, peakRssBytes: null,
    note: est ? `${why}; rate from ${how}` : why, raw: { stderrTail: r.stderr.split('\n').slice(-5) },
  };
}
