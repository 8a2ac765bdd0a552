// `pipe run --dry-run`'s estimate of a run: tokens it will read and its wall time, from one real
// update timed (after warm-up ones) on a throwaway trainer (the plan's shape, threads and recomputation), so the
// estimate includes what the memory plan chose. Nothing it does is written anywhere.
import type { PackedBatch } from '../data/items.ts';
import { fmtDuration } from '../util/duration.ts';
import type { DataParallel } from './parallel.ts';
import { stepBatch, trainStepParallel } from './step.ts';
import type { Trainer } from './trainer.ts';

export interface RunEstimate {
  updates: number;
  /** Rows x sequence length of one micro-batch (the first batch's), and micro-batches per update. */
  rows: number;
  seqLen: number;
  gradAccumulation: number;
  /** Tokens the updates read: updates x rows x seqLen x gradAccumulation (padding included). */
  tokens: number;
  /** Wall time of the one timed update, and that times the updates. */
  updateMs: number;
  wallMs: number;
  /** Untimed updates before the timed one. */
  warmUps: number;
}

/** Updates run at most before the timed one, and the time after which no more are. */
const WARM_UP = { updates: 4, ms: 5000 };

/**
 * One full update (forward, backward, AdamW) of `t` on the first batch, repeated per micro-batch, timed after
 * warm-up updates: on the CPU backends the JIT warms up over several updates (on the fixture model 0.95, 0.39,
 * 0.29, 0.18, 0.16 s), so a first update alone would mislead by 6x. The warm-up stops after 5 s, so a model whose
 * update takes long (where the warm-up is a small share) pays for one untimed update only.
 */
export async function timeOneUpdate(t: Trainer, first: PackedBatch, dp: DataParallel | null): Promise<{ updateMs: number; warmUps: number }> {
  const b = stepBatch(first.batch, first.seqLen);
  const micro = Array.from({ length: t.cfg.gradAccumulation }, () => b);
  let warmUps = 0;
  for (let spent = 0; warmUps < WARM_UP.updates && (warmUps === 0 || spent < WARM_UP.ms); warmUps++) {
    const t0 = performance.now();
    await trainStepParallel(t, micro, dp);
    spent += performance.now() - t0;
  }
  const t0 = performance.now();
  await trainStepParallel(t, micro, dp);
  return { updateMs: performance.now() - t0, warmUps };
}

export function estimateRun(first: PackedBatch, gradAccumulation: number, updates: number, timed: { updateMs: number; warmUps: number }): RunEstimate {
  const { updateMs, warmUps } = timed;
  const rows = first.batch.numRows;
  const seqLen = first.seqLen;
  return { updates, rows, seqLen, gradAccumulation, tokens: updates * rows * seqLen * gradAccumulation, updateMs, warmUps, wallMs: updates * updateMs };
}

/** The lines --dry-run prints under the data plan (same column as planLines). */
export function estimateLines(e: RunEstimate): string[] {
  const perUpdate = `${e.rows} x ${e.seqLen}${e.gradAccumulation > 1 ? ` x ${e.gradAccumulation} micro-batches` : ''}`;
  return [
    `  tokens                   ${e.tokens.toLocaleString('en-US')} (${e.updates} updates x ${perUpdate})`,
    // Evaluation, checkpoints and the backend's warm-up come on top.
    `  estimated wall time      ${fmtDuration(e.wallMs)} (one timed update: ${(e.updateMs / 1000).toFixed(2)} s x ${e.updates} updates, after ${e.warmUps} warm-up${e.warmUps === 1 ? '' : 's'}; evaluation and checkpoints not included)`,
  ];
}
