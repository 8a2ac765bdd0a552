// Steps against data: how many updates a train stream allows, and in how many passes.
//
// The packer knows its batches per pass and whether it repeats (src/data/items.ts PackPlan);
// the train node knows `steps` and `gradAccumulation`. Without `epochs` the packer repeats the
// data until the train node stops pulling, so `steps` are always reached (Hugging Face's
// max_steps). With `epochs` the data ends first when it is short: training then stops there,
// says so, and the lr schedule decays over the updates that will really happen rather than
// over `steps` (a cosine cut off at 40% never decays).
import type { PackedBatch, PackPlan } from '../data/items.ts';

export interface DataPlan {
  steps: number;
  gradAccumulation: number;
  /** Train batches in one pass over the data. */
  batchesPerEpoch: number;
  /** What the packer was told; null: it repeats until the steps are done. */
  epochs: number | null;
  /** Updates the run will make. */
  updates: number;
  /** Passes over the data those updates read (a fraction when the last pass is cut short). */
  passes: number;
}

export function planUpdates(steps: number, gradAccumulation: number, epochs: number | null, batchesPerEpoch: number): DataPlan {
  const available = epochs === null ? (batchesPerEpoch > 0 ? Infinity : 0) : epochs * batchesPerEpoch;
  // A partial accumulation at the end of the data is not an update.
  const updates = Math.min(steps, Math.floor(available / gradAccumulation));
  const passes = batchesPerEpoch > 0 ? (updates * gradAccumulation) / batchesPerEpoch : 0;
  return { steps, gradAccumulation, batchesPerEpoch, epochs, updates, passes };
}

/** True when the data ends before `steps` (only possible with `epochs` set, or no batches at all). */
export function isShort(d: DataPlan): boolean {
  return d.updates < d.steps;
}

/** The warning a short plan gets: both numbers, and what happens. */
export function shortMessage(node: string, d: DataPlan): string {
  const source = d.epochs === null ? 'the train split has no batches' : `epochs: ${d.epochs} over ${d.batchesPerEpoch} train batches${d.gradAccumulation > 1 ? ` (gradAccumulation ${d.gradAccumulation})` : ''}`;
  return `${node}: ${source} gives ${d.updates} updates, fewer than steps: ${d.steps}; training stops at the end of the data and the lr schedule decays over ${d.updates} updates (unset epochs to repeat the data until steps is reached)`;
}

/** What `pipe run --dry-run` prints: batches per epoch, updates and epochs. */
export function planLines(d: DataPlan): string[] {
  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
  const why = d.epochs === null ? 'the data repeats, reshuffled, until steps is reached' : isShort(d) ? `epochs: ${d.epochs}; the data ends before steps: ${d.steps}` : `epochs: ${d.epochs} allow ${d.epochs * d.batchesPerEpoch} batches`;
  return [
    `  train batches per epoch  ${d.batchesPerEpoch}`,
    `  updates                  ${d.updates} (steps ${d.steps}, gradAccumulation ${d.gradAccumulation})`,
    `  epochs                   ${fmt(d.passes)} (${why})`,
  ];
}

/**
 * The plan of a train stream from the first of its batches that carries the count of a pass (undefined when the
 * first carries no plan: not from a packer). A stream that repeats says its count from its second pass on:
 * `rest` is read up to there (--dry-run only: training reads the count off the first batch, or needs none).
 */
export async function planOf(first: PackedBatch | undefined, steps: number, gradAccumulation: number, rest?: AsyncIterable<PackedBatch>): Promise<DataPlan | undefined> {
  if (!first) return planUpdates(steps, gradAccumulation, null, 0);
  let plan: PackPlan | undefined = first.plan;
  if (!plan) return undefined;
  if (plan.batchesPerEpoch === undefined && rest) {
    for await (const b of rest) {
      if (b.plan?.batchesPerEpoch === undefined) continue;
      plan = b.plan;
      break;
    }
  }
  return plan.batchesPerEpoch === undefined ? undefined : planUpdates(steps, gradAccumulation, plan.epochs, plan.batchesPerEpoch);
}

/**
 * The train batches, unchanged, with the plan learnt before the first one goes on: when the
 * packer was given `epochs`, `onPlan` hears the updates the data allows (the packer holds its first
 * batch until packing is complete, so the schedule is right from the first update). `onEnd` hears when the stream
 * ended by itself, whatever the source.
 */
export async function* withDataPlan(
  batches: AsyncIterable<PackedBatch>,
  o: { steps: number; gradAccumulation: number; onPlan(d: DataPlan): void; onEnd(): void },
): AsyncGenerator<PackedBatch> {
  let first = true;
  for await (const b of batches) {
    if (first) {
      first = false;
      // Without epochs the stream repeats until steps: nothing to wait for.
      const d = b.plan && b.plan.epochs !== null ? await planOf(b, o.steps, o.gradAccumulation) : undefined;
      if (d) o.onPlan(d);
    }
    yield b;
  }
  o.onEnd();
}
