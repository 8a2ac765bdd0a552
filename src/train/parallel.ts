// Data-parallel updates for the CPU backends (wasm, cpu): the main thread and `threads − 1` worker threads
// (step-worker.ts, each with its own TF.js instance and copy of the frozen model) compute the gradients of a share of
// the update's rows at the same time; the main thread sums them and applies AdamW once. Rows are independent (packed
// rows attend only within themselves), every scored token is weighted 1/(scored tokens of the update) everywhere and
// dropout masks are seeded per row, so the result equals the single-thread update up to float summation order.
// A share never holds more rows of one micro-batch than the micro-batch itself: memory per thread stays as planned.
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import * as tf from '@tensorflow/tfjs';
import { lossAndGrads } from '../model/grad.ts';
import { addGrad, type GradSink } from '../model/layer.ts';
import { countTargets } from '../model/loss.ts';
import type { StepBatch } from './step.ts';
import type { Trainer } from './trainer.ts';
import type { WorkerPart, WorkerReply, WorkerSetup, WorkerTask } from './step-worker.ts';

const ENTRY = fileURLToPath(new URL('./step-worker-entry.mjs', import.meta.url));

/** Rows [r0, r1) of a batch as a batch of their own. */
export function rowsOf(b: StepBatch, r0: number, r1: number): StepBatch {
  const T = b.T;
  const cut = (a: Int32Array) => a.slice(r0 * T, r1 * T);
  return { B: r1 - r0, T, inputIds: cut(b.inputIds), targets: cut(b.targets), positionIds: cut(b.positionIds), documentIds: cut(b.documentIds) };
}

/**
 * Splits the rows of `micro` (with their dropout seeds) into `k` shares of about equal scored tokens, each a list of
 * parts: consecutive rows of one micro-batch. A row goes to the share its middle token falls in.
 */
export function shareRows(micro: StepBatch[], seeds: number[], k: number): WorkerPart[][] {
  const scored = micro.map((b) => Array.from({ length: b.B }, (_, r) => countTargets(b.targets.subarray(r * b.T, (r + 1) * b.T))));
  const total = scored.flat().reduce((a, n) => a + n, 0);
  const shares: WorkerPart[][] = Array.from({ length: k }, () => []);
  let before = 0;
  micro.forEach((b, m) => {
    let start = 0;
    let share = -1;
    const close = (end: number) => {
      if (end > start) shares[share].push({ batch: rowsOf(b, start, end), dropoutSeed: seeds[m], rowOffset: start });
      start = end;
    };
    for (let r = 0; r < b.B; r++) {
      const s = total === 0 ? 0 : Math.min(k - 1, Math.floor((k * (before + scored[m][r] / 2)) / total));
      before += scored[m][r];
      if (s !== share) {
        if (share >= 0) close(r);
        share = s;
      }
    }
    close(b.B);
  });
  return shares;
}

export class DataParallel {
  private constructor(
    readonly threads: number,
    private readonly setup: WorkerSetup,
    private readonly pool: Piscina,
  ) {}

  /** Starts `threads − 1` workers and has each load the model (in parallel with each other). */
  static async start(threads: number, setup: WorkerSetup): Promise<DataParallel> {
    const workers = threads - 1;
    const pool = new Piscina({ filename: ENTRY, minThreads: workers, maxThreads: workers, idleTimeout: 3_600_000 });
    const dp = new DataParallel(threads, setup, pool);
    try {
      await Promise.all(Array.from({ length: workers }, () => pool.run({ setup, params: {}, parts: [], weight: 0, recompute: false, warm: true })));
    } catch (e) {
      await pool.destroy();
      throw e;
    }
    return dp;
  }

  /** Like updateGrads (step.ts), with the rows shared between this thread and the workers. */
  async updateGrads(t: Trainer, micro: StepBatch[], grads: GradSink): Promise<{ loss: number; tokens: number }> {
    const tokens = micro.reduce((n, b) => n + countTargets(b.targets), 0);
    const seeds = micro.map(() => t.rng.nextU32()); // one per micro-batch, in order, as the single-thread step draws them
    if (tokens === 0) return { loss: 0, tokens };
    const weight = 1 / tokens;
    const [mine, ...theirs] = shareRows(micro, seeds, this.threads);
    const params: Record<string, Float32Array> = {};
    for (const p of t.params) params[p.name] = p.variable.dataSync() as Float32Array;
    const replies = theirs.map((parts) => this.pool.run({ setup: this.setup, params, parts, weight, recompute: t.recompute } satisfies WorkerTask) as Promise<WorkerReply>);
    let loss = 0;
    let failed: { error: unknown } | null = null;
    try {
      // This thread's share runs while the workers run theirs.
      for (const part of mine) {
        loss += lossAndGrads(t.model, t.table, part.batch, { weight, recompute: t.recompute, dropoutSeed: part.dropoutSeed, rowOffset: part.rowOffset }, grads).loss;
      }
    } catch (error) {
      failed = { error };
    }
    // Even when this share failed, the workers finish before the caller frees or retries anything.
    const results = await Promise.allSettled(replies);
    if (failed) throw failed.error;
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
      loss += r.value.loss;
      for (const [name, g] of Object.entries(r.value.grads)) {
        const shape = t.params.find((p) => p.name === name)?.variable.shape;
        // internal: the worker returns gradients for the params it was sent.
        if (!shape) throw new Error(`data-parallel worker returned a gradient for unknown param ${name}`);
        tf.tidy(() => addGrad(grads, name, tf.tensor(g, shape)));
      }
    }
    return { loss, tokens };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
