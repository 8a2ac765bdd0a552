// Stops training before a bad update is applied (docs/watchdog.md). Tests, in order, on each
// update's loss (computed at the weights before the update) and gradient norm (before clipping):
//   non-finite   a NaN/Inf loss or gradient norm (always on, even with `watchdog: off`)
//   spike        loss over spikeFactor x the first update's loss, from update 1 on: a run that
//                blows up in its warm-up is caught before the explosion test's grace ends
//   explosion    loss over explodeFactor x its running average (EMA, beta 0.9), after minSteps
//   collapse     collapseSteps updates in a row that are dead (gradient norm 0, or a loss within
//                flatTolerance of the one before) while the model is worse than at the start:
//                the train loss over the first update's, or the last evaluation's loss over the
//                step-0 evaluation's. Training has stopped learning in a bad place. A run that
//                ends with two or more such updates (too short to reach collapseSteps) fails too.
// The caller keeps the last good checkpoint: the newest written before `firstBad - 1` (the
// weights after update firstBad - 1 already gave firstBad's bad loss).
import { TrainingDiverged } from '../errors.ts';
import type { WatchdogConfig } from './config.ts';

/** Gradient norms at or below this are zero: no learning signal reaches any trainable weight. */
const ZERO_GRAD = 1e-12;

/** What a checkpoint keeps, so a resumed leg judges against the same start. */
export interface WatchdogState {
  /** Loss of update 1 (at the step-0 weights). */
  first?: number;
  ema: number | null;
  seen: number;
  prevLoss?: number;
  /** Dead updates in a row, and the first of them. */
  dead: number;
  deadFrom?: number;
  /** The first update of the current stretch with a loss over the first update's. */
  worseFrom?: number;
  /** The last update's gradient norm. */
  lastGrad?: number;
  /** Eval loss at step 0, and the last one. */
  evalStart?: number;
  evalLast?: number;
}

export class Watchdog {
  private s: WatchdogState = { ema: null, seen: 0, dead: 0 };
  /**
   * Eval losses heard during this leg (src/train/eval-board.ts), judged with but not part of state(): when they
   * arrive depends on how far the evaluator lags, so a checkpoint takes them from the evaluations its sink saw.
   */
  private heard: { start?: number; last?: number } = {};

  constructor(private readonly cfg: WatchdogConfig) {}

  /** Throws TrainingDiverged for update `step` (1-based) if its numbers are bad. */
  check(step: number, loss: number, gradNorm: number): void {
    if (!Number.isFinite(loss)) throw new TrainingDiverged(step, `loss is ${loss}`);
    if (!Number.isFinite(gradNorm)) throw new TrainingDiverged(step, `gradient norm is ${gradNorm} (loss ${loss.toFixed(4)})`);
    const c = this.cfg;
    if (c === 'off') return;
    const s = this.s;
    const first = s.first ?? loss;
    if (loss > c.spikeFactor * first) {
      throw new TrainingDiverged(step, `loss ${fmt(loss)} is over ${c.spikeFactor}x the first update's loss ${fmt(first)}`, { setting: 'watchdog.spikeFactor' });
    }
    if (s.ema !== null && s.seen >= c.minSteps && loss > c.explodeFactor * s.ema) {
      throw new TrainingDiverged(step, `loss ${fmt(loss)} is over ${c.explodeFactor}x its running average ${fmt(s.ema)}`, { setting: 'watchdog.explodeFactor' });
    }
    const flat = s.prevLoss !== undefined && Math.abs(loss - s.prevLoss) <= c.flatTolerance * Math.abs(s.prevLoss);
    if (gradNorm <= ZERO_GRAD || flat) {
      if (s.dead === 0) s.deadFrom = step;
      s.dead++;
    } else {
      s.dead = 0;
      s.deadFrom = undefined;
    }
    const trainWorse = loss > first * (1 + c.flatTolerance);
    s.worseFrom = trainWorse ? s.worseFrom ?? step : undefined;
    s.first = first;
    s.prevLoss = loss;
    s.lastGrad = gradNorm;
    if (s.dead >= c.collapseSteps) this.collapsed(step, c, `collapsed: ${s.dead} updates in a row`);
    s.ema = s.ema === null ? loss : 0.9 * s.ema + 0.1 * loss;
    s.seen++;
  }

  /**
   * At the end of training: a run whose last updates are dead (two or more, fewer than collapseSteps) while
   * it is worse than its start ended collapsed, and fails like one stopped mid-way.
   */
  checkEnd(step: number): void {
    const c = this.cfg;
    if (c === 'off' || this.s.dead < 2) return;
    this.collapsed(step, c, `ended collapsed: its last ${this.s.dead} updates in a row`);
  }

  /** Throws when the run is worse than its start, by its last train loss or its evaluations. */
  private collapsed(step: number, c: Exclude<WatchdogConfig, 'off'>, what: string): void {
    const s = this.s;
    const loss = s.prevLoss!;
    const trainWorse = s.worseFrom !== undefined;
    const evalStart = this.heard.start ?? s.evalStart;
    const evalLast = this.heard.last ?? s.evalLast;
    const evalWorse = evalStart !== undefined && evalLast !== undefined && evalLast > evalStart * (1 + c.flatTolerance);
    if (!trainWorse && !evalWorse) return;
    const how = s.lastGrad !== undefined && s.lastGrad <= ZERO_GRAD ? 'gradient norm 0' : `loss flat at ${fmt(loss)}`;
    const worse = trainWorse ? `the train loss ${fmt(loss)} is over the first update's ${fmt(s.first!)}` : `the eval loss ${fmt(evalLast!)} is over step 0's ${fmt(evalStart!)}`;
    throw new TrainingDiverged(step, `${what} with no learning (${how}) since update ${s.deadFrom}, and ${worse}`,
      // The run went bad where it stopped learning, or earlier, where its loss rose over the start and stayed there.
      { setting: 'watchdog.collapseSteps', firstBad: Math.min(s.deadFrom!, s.worseFrom ?? step) });
  }

  /** An evaluation's loss at `step` (heard from the evaluator through eval-board.ts): step 0's is the reference. */
  observeEval(step: number, loss: number): void {
    if (!Number.isFinite(loss)) return;
    if (step === 0) this.heard.start = loss;
    else this.heard.last = loss;
  }

  state(): WatchdogState {
    return { ...this.s };
  }

  /** Continues from a checkpoint's state (absent in checkpoints from before it was kept: a fresh start). */
  restore(s: WatchdogState | undefined): void {
    if (s) this.s = { ...s };
  }
}

const fmt = (x: number) => (Math.abs(x) >= 1e5 ? x.toExponential(3) : x.toFixed(4));
