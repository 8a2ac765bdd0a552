// Stops training before a bad update is applied: a non-finite loss or gradient norm, or a loss
// that jumps far above its running average. The caller keeps the last good checkpoint.
import { TrainingDiverged } from '../errors.ts';
import type { WatchdogConfig } from './config.ts';

export class Watchdog {
  private ema: number | null = null;
  private seen = 0;

  constructor(private readonly cfg: WatchdogConfig) {}

  /** Throws TrainingDiverged for update `step` (1-based) if its numbers are bad. */
  check(step: number, loss: number, gradNorm: number): void {
    if (!Number.isFinite(loss)) throw new TrainingDiverged(step, `loss is ${loss}`);
    if (!Number.isFinite(gradNorm)) throw new TrainingDiverged(step, `gradient norm is ${gradNorm} (loss ${loss.toFixed(4)})`);
    if (this.ema !== null && this.seen >= this.cfg.minSteps && loss > this.cfg.explodeFactor * this.ema) {
      throw new TrainingDiverged(step, `loss ${loss.toFixed(4)} is over ${this.cfg.explodeFactor}x its running average ${this.ema.toFixed(4)}`);
    }
    this.ema = this.ema === null ? loss : 0.9 * this.ema + 0.1 * loss;
    this.seen++;
  }
}
