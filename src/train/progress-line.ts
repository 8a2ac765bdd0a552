// The train node's live progress line (tqdm-style, as TRL and axolotl show it): step/total,
// loss, lr, tokens per second, elapsed and ETA. The progress display shows it in place of the
// node's item counts (ctx.status), and plain output prints it with the periodic lines.
// Its tokens/s is the throughput of this leg's updates so far (scored tokens over the time spent
// in updates, waiting for batches included, evaluations and checkpoints not): the figure the
// summary gives as "during updates", beside the one over the whole wall time.
import { fmtDuration } from '../util/duration.ts';
import type { StepRecord } from './step.ts';

/**
 * Scored tokens over the seconds spent in the updates: each update's time is its tokens over its
 * own rate, so this is not the mean of the rates (an update twice as slow weighs twice).
 */
export function updateThroughput(updates: Iterable<{ tokens: number; tokensPerSec: number }>): number {
  let tokens = 0;
  let secs = 0;
  for (const u of updates) {
    if (!(u.tokensPerSec > 0)) continue;
    tokens += u.tokens;
    secs += u.tokens / u.tokensPerSec;
  }
  return secs > 0 ? tokens / secs : NaN;
}

/** Wall time of the updates made in this leg of the run (a resumed run starts its clock at its first update). */
export class StepClock {
  private readonly started = performance.now();
  private updates = 0;
  private tokens = 0;
  private updateSecs = 0;
  /** Counts one update; returns the time since the clock started and this leg's update throughput. */
  tick(u: { tokens: number; tokensPerSec: number }, now = performance.now()): { elapsedMs: number; updates: number; tokensPerSec: number } {
    this.updates++;
    if (u.tokensPerSec > 0) {
      this.tokens += u.tokens;
      this.updateSecs += u.tokens / u.tokensPerSec;
    }
    return { elapsedMs: now - this.started, updates: this.updates, tokensPerSec: this.updateSecs > 0 ? this.tokens / this.updateSecs : NaN };
  }
}

export interface ProgressInput {
  record: Pick<StepRecord, 'step' | 'loss' | 'lr'>;
  /** This leg's update throughput so far (StepClock). */
  tokensPerSec: number;
  /** Updates the run will make (trainer.totalSteps: the data plan may lower it). */
  total: number;
  /** Wall time of this leg so far, and the updates made in it. */
  elapsedMs: number;
  updates: number;
}

/** E.g. `step 40/400  10%  loss 2.3456  lr 1.00e-3  1,234 tok/s in updates  elapsed 1m 05s  eta 9m 45s`. */
export function progressLine(p: ProgressInput): string {
  const { record: r, total } = p;
  const pct = total > 0 ? Math.floor((100 * r.step) / total) : 0;
  // Mean time per update of this leg: the first update's start-up cost spreads out as the run goes on.
  const eta = p.updates > 0 ? (p.elapsedMs / p.updates) * Math.max(0, total - r.step) : NaN;
  return [
    `step ${r.step}/${total}`,
    `${String(pct).padStart(3)}%`,
    `loss ${Number.isFinite(r.loss) ? r.loss.toFixed(4) : 'n/a'}`,
    `lr ${r.lr.toExponential(2)}`,
    `${Number.isFinite(p.tokensPerSec) ? Math.round(p.tokensPerSec).toLocaleString('en-US') : 'n/a'} tok/s in updates`,
    `elapsed ${fmtDuration(p.elapsedMs)}`,
    `eta ${fmtDuration(eta)}`,
  ].join('  ');
}
