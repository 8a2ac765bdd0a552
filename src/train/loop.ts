// The training loop, top to bottom: get batch → step → log → hand a snapshot downstream.
// It is an async generator of snapshots (snapshot.ts): values copied out of the trainer, with the
// weights (and the optimizer state) at the steps the readers asked for, so any number of readers
// may take them at their own pace: the edge's buffer, pulled by the slowest, is the backpressure.
// The items it hands on are declared in items.ts (TrainSnapshot) and step.ts (StepRecord).
import type { PackedBatch } from '../data/items.ts';
import { TrainingDiverged } from '../errors.ts';
import type { TrainRun, TrainSnapshot } from './items.ts';
import { takeSnapshot, type Cadence } from './snapshot.ts';
import type { DataParallel } from './parallel.ts';
import type { Trainer } from './trainer.ts';
import { stepBatch, stepLine, trainStepParallel, type StepBatch, type StepRecord, type StepUpdate } from './step.ts';

export interface LoopOptions {
  trainer: Trainer;
  batches: AsyncIterable<PackedBatch>;
  /** Batches to skip first (a resumed run's `consumed`). */
  skip: number;
  signal: AbortSignal;
  base: Pick<TrainSnapshot, 'baseModel' | 'tokenizer' | 'checkpointRoot' | 'packCache'>;
  /** What every snapshot shares (snapshot.ts trainRun). */
  run: TrainRun;
  /** At which snapshots the weights and the optimizer state are copied out. */
  cadence: Cadence;
  /** Called after each update with its record and the fixed-width log line. */
  onStep(r: StepRecord, line: string): void;
  /**
   * Called when the watchdog stops training, before the 'diverged' snapshot is handed on (then the error
   * propagates): returns the last good checkpoint's folder, if any, for the snapshot.
   */
  onDiverged?(e: TrainingDiverged): Promise<string | undefined> | string | undefined;
  /** Worker threads sharing each update's rows (CPU backends), or none. */
  parallel?: DataParallel | null;
}

/** The trainer as it stands, as a snapshot with these fields (the loop's one way to make one). */
type Snap = (s: Pick<TrainSnapshot, 'reason' | 'consumed' | 'result' | 'diverged'>) => TrainSnapshot;

export async function* trainLoop(o: LoopOptions): AsyncGenerator<TrainSnapshot> {
  const t = o.trainer;
  const it = o.batches[Symbol.asyncIterator]();
  let consumed = 0;
  // The packed stream is deterministic for a seed, so skipping what the checkpoint consumed
  // lands on the same next batch an uninterrupted run would see.
  while (consumed < o.skip && !(await it.next()).done) consumed++;
  // A fresh run shows its starting point once, so the evaluator can measure "before training".
  const snap: Snap = (s) => takeSnapshot(t, o.cadence, { ...o.base, run: o.run, step: t.step, ...s });
  if (t.step === 0 && o.skip === 0) yield snap({ reason: 'start', consumed: 0 });
  let micro: StepBatch[] = [];
  let waitFrom = performance.now();
  while (t.step < t.totalSteps && !o.signal.aborted) {
    const r = await it.next();
    if (r.done) break;
    consumed++;
    micro.push(stepBatch(r.value.batch, r.value.seqLen));
    if (micro.length < t.cfg.gradAccumulation) continue;
    const waitMs = performance.now() - waitFrom;
    let update: StepUpdate;
    try {
      update = await trainStepParallel(t, micro, o.parallel ?? null);
    } catch (e) {
      if (!(e instanceof TrainingDiverged)) throw e;
      return yield* diverged(o, snap, e, consumed - micro.length);
    }
    micro = [];
    // The update's own time: from asking for its first batch to its end. What ran downstream
    // while the loop was suspended at the last yield (an evaluation, a checkpoint) is not in it.
    const result: StepRecord = { ...update, tokensPerSec: (update.tokens / (performance.now() - waitFrom)) * 1000 };
    o.onStep(result, stepLine(result, waitMs));
    // A step is one long synchronous stretch and buffered batches resolve as microtasks: give
    // timers and signal handlers (progress display, Ctrl-C) a turn between steps.
    await new Promise((resolve) => setImmediate(resolve));
    yield snap({ reason: 'step', result, consumed });
    waitFrom = performance.now();
  }
  // A partial accumulation is not an update: a resumed run reads those batches again.
  const reason = t.step >= t.totalSteps ? 'end' : o.signal.aborted ? 'interrupt' : 'end';
  if (reason === 'end') {
    try {
      t.watchdog.checkEnd(t.step); // a run too short to reach collapseSteps may still end collapsed
    } catch (e) {
      if (!(e instanceof TrainingDiverged)) throw e;
      return yield* diverged(o, snap, e, consumed - micro.length);
    }
  }
  yield snap({ reason, consumed: consumed - micro.length });
}

/**
 * The watchdog stopped training: the readers see the failure first (the summary names it and the last good
 * checkpoint; the sink writes no adapter), then the error ends the run once that snapshot is taken.
 */
async function* diverged(o: LoopOptions, snap: Snap, e: TrainingDiverged, consumed: number): AsyncGenerator<TrainSnapshot, never> {
  const lastGood = await o.onDiverged?.(e);
  yield snap({ reason: 'diverged', consumed, diverged: { step: e.step, message: e.message, lastGood } });
  throw e;
}

/** An unbounded queue read as an AsyncIterable (for small items such as step events). */
export class PushQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiting: Array<(r: IteratorResult<T>) => void> = [];
  private ended = false;

  push(item: T): void {
    const w = this.waiting.shift();
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void {
    this.ended = true;
    for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiting.push(resolve));
      },
    };
  }
}
