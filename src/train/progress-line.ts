// The train node's live progress line (tqdm-style, as TRL and axolotl show it): step/total,
// loss, lr, tokens per second, elapsed and ETA. The progress display shows it in place of the
// node's item counts (ctx.status), and plain output prints it with the periodic lines.
import { fmtDuration } from '../util/duration.ts';
import type { StepRecord } from './step.ts';

/** Wall time of the updates made in this leg of the run (a resumed run starts its clock at its first update). */
export class StepClock {
  private readonly started = performance.now();
  private updates = 0;
  /** Counts one update; returns the time since the clock started. */
  tick(now = performance.now()): { elapsedMs: number; updates: number } {
    this.updates++;
    return { elapsedMs: now - this.started, updates: this.updates };
  }
}

export interface ProgressInput {
  record: Pick<StepRecord, 'step' | 'loss' | 'lr' | 'tokensPerSec'>;
  /** Updates the run will make (trainer.totalSteps: the data plan may lower it). */
  total: number;
  /** Wall time of this leg so far, and the updates made in it. */
  elapsedMs: number;
  updates: number;
}

/** E.g. `step 40/400  10%  loss 2.3456  lr 1.00e-3  1,234 tok/s  elapsed 1m 05s  eta 9m 45s`. */
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
    `${Math.round(r.tokensPerSec).toLocaleString('en-US')} tok/s`,
    `elapsed ${fmtDuration(p.elapsedMs)}`,
    `eta ${fmtDuration(eta)}`,
  ].join('  ');
}
