// The one bounded-parallel map of the project. Every stage that runs per-item work
// concurrently (worker nodes on the pool, tokenizer/packer/evaluator helpers) goes through
// here, so the queueing logic exists once. It lives in src/util, the bottom layer, because both
// the framework (src/pipeline) and the library (src/data) use it and neither may import the other.
//
// Why not RxJS mergeMap(f, n): it caps running inners but buffers the rest of the source in
// an unbounded array, and from(asyncIterable) drains its iterator as fast as it yields
// (anchors-pipeline-style.md §1.2). Here the source is *pulled*: `it.next()` is called only when both the
// in-flight count and the finished-but-unconsumed count have room, so a slow consumer slows
// the source. Items held by one stage: at most concurrency + highWaterMark - 1.

import { Wakeup } from './wakeup.ts';

export interface ParallelOptions {
  /** Items being processed at once (fn promises pending). */
  concurrency: number;
  /** Finished results waiting for the consumer before the source is paused. */
  highWaterMark?: number;
  /** Yield results in input order (default) or as they finish. */
  ordered?: boolean;
}

/** Live counters of one stage, for queue-depth metrics. */
export interface ParallelStats {
  pulled: number;
  inFlight: number;
  finished: number;
}

/** `fn` may return this to drop the item from the output (used for rejected items). */
export const SKIP: unique symbol = Symbol('tokenpipe.skip');

export function boundedParallel<I, O>(
  source: AsyncIterable<I>,
  fn: (x: I, index: number) => Promise<O | typeof SKIP>,
  opts: ParallelOptions,
  stats: ParallelStats = { pulled: 0, inFlight: 0, finished: 0 },
): AsyncIterable<O> {
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const highWaterMark = Math.max(1, Math.floor(opts.highWaterMark ?? concurrency));
  const ordered = opts.ordered ?? true;
  return {
    [Symbol.asyncIterator]: () => run(source, fn, concurrency, highWaterMark, ordered, stats),
  };
}

async function* run<I, O>(
  source: AsyncIterable<I>,
  fn: (x: I, index: number) => Promise<O | typeof SKIP>,
  concurrency: number,
  highWaterMark: number,
  ordered: boolean,
  stats: ParallelStats,
): AsyncGenerator<O> {
  const it = source[Symbol.asyncIterator]();
  // ordered: results by index, emitted at `nextOut`; unordered: a FIFO of finished results.
  const byIndex = new Map<number, O | typeof SKIP>();
  const fifo: Array<O | typeof SKIP> = [];
  let nextIndex = 0;
  let nextOut = 0;
  let pulling = false;
  let sourceDone = false;
  let failure: { error: unknown } | null = null;
  const wakeup = new Wakeup();
  const notify = () => wakeup.notify();

  const pull = () => {
    // One pull at a time: async iterators need not support concurrent next() calls.
    if (pulling || sourceDone || failure) return;
    if (stats.inFlight >= concurrency || stats.finished >= highWaterMark) return;
    pulling = true;
    it.next().then(
      (r) => {
        pulling = false;
        if (r.done) sourceDone = true;
        else start(r.value);
        notify();
        pull();
      },
      (error) => {
        pulling = false;
        sourceDone = true;
        failure ??= { error };
        notify();
      },
    );
  };

  const start = (value: I) => {
    const index = nextIndex++;
    stats.pulled++;
    stats.inFlight++;
    let p: Promise<O | typeof SKIP>;
    try {
      p = Promise.resolve(fn(value, index));
    } catch (error) {
      p = Promise.reject(error);
    }
    p.then(
      (out) => {
        stats.inFlight--;
        stats.finished++;
        if (ordered) byIndex.set(index, out);
        else fifo.push(out);
        notify();
      },
      (error) => {
        stats.inFlight--;
        failure ??= { error };
        notify();
      },
    );
  };

  const takeReady = (): { value: O | typeof SKIP } | null => {
    if (ordered) {
      if (!byIndex.has(nextOut)) return null;
      const value = byIndex.get(nextOut)!;
      byIndex.delete(nextOut);
      nextOut++;
      return { value };
    }
    return fifo.length > 0 ? { value: fifo.shift()! } : null;
  };

  try {
    pull();
    while (true) {
      // Set by callbacks; TS cannot see that, hence the cast.
      const failed = failure as { error: unknown } | null;
      if (failed) throw failed.error;
      const ready = takeReady();
      if (ready) {
        stats.finished--;
        pull();
        if (ready.value !== SKIP) yield ready.value as O;
        continue;
      }
      if (sourceDone && !pulling && stats.inFlight === 0) return;
      await wakeup.wait();
    }
  } finally {
    // Stop the source when the consumer leaves early or a task failed. In-flight tasks
    // settle on their own; their results are dropped.
    // A pull still pending means the source is busy: ask it to stop without waiting on it.
    sourceDone = true;
    const closing = it.return?.();
    if (!pulling) await closing;
    else closing?.catch(() => {});
  }
}
