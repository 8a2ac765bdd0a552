// The tokenpipe side of the train and memory benches: bench/step-child.ts for one shape + mode in a
// process of its own, read back into a StepRun. A crash or a timeout keeps whatever the child reported
// before it (load, finished updates, the memory high-water at the crash).
import { nodeArgs, runChild, type StepRun } from './children.ts';
import { median } from './stats.ts';

export interface TokenpipeJob {
  model: string;
  mode: string;
  B: number;
  T: number;
  accum: number;
  steps: number;
  warmup: number;
  /** Threads sharing each update, as train-step `threads` (1: plain step; n > 1: DataParallel). */
  threads?: number;
  /** wasm (default) or native: each pass one ONNX Runtime graph (see step-child.ts). */
  engine?: 'wasm' | 'native';
  /** A batch-packer cache folder to take the batches from (see step-child.ts). */
  packed?: string;
}

type Event = { event: string; seconds?: number; warmup?: boolean; secondsPerStep?: number; peakTensorBytes?: number; maxRssBytes?: number; wasmHeapBytes?: number | null };

export async function runTokenpipe(job: TokenpipeJob, maxSeconds: number): Promise<StepRun> {
  const [cmd, args] = nodeArgs('bench/step-child.ts', [
    '--model', job.model, '--mode', job.mode, '--batch', String(job.B), '--seq', String(job.T), '--accum', String(job.accum),
    '--steps', String(job.steps), '--warmup', String(job.warmup), '--threads', String(job.threads ?? 1), '--engine', job.engine ?? 'wasm', ...(job.packed ? ['--packed', job.packed] : []),
  ]);
  const r = await runChild(cmd, args, maxSeconds);
  const events = r.events as Event[];
  const tokens = job.B * job.T * job.accum;
  const last = events.at(-1);
  const memory = { peakRssBytes: last?.maxRssBytes ?? null, peakTensorBytes: last?.peakTensorBytes ?? null };
  const done = events.find((e) => e.event === 'done');
  if (r.status === 'ok' && done?.secondsPerStep) {
    return { status: 'ok', measured: true, secondsPerStep: done.secondsPerStep, tokensPerSec: tokens / done.secondsPerStep, ...memory, raw: events };
  }
  const steps = events.filter((e) => e.event === 'step');
  const measured = steps.filter((e) => !e.warmup).map((e) => e.seconds!);
  let est: number | null = null;
  let how = '';
  if (measured.length > 0) [est, how] = [median(measured), `${measured.length} of ${job.steps} steps`];
  else if (steps.length > 0) [est, how] = [steps[0].seconds!, 'the warm-up step only'];
  const loaded = events.some((e) => e.event === 'loaded');
  const why = r.status === 'crashed' ? `crashed: ${r.reason}` : `${r.status} (${r.reason})`;
  const where = loaded ? (steps.length ? `after ${steps.length} update(s)` : 'in the first update') : 'while loading the model';
  return {
    status: r.status, measured: measured.length > 0, secondsPerStep: est, tokensPerSec: est ? tokens / est : null, ...memory,
    note: est ? `${why} ${where}; rate from ${how}` : `${why} ${where}`, raw: { events, stderrTail: r.stderr.split('\n').slice(-8) },
  };
}
