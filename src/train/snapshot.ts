// Snapshots: the trainer's state copied out as values (src/train/items.ts), at the steps the nodes
// downstream ask for. Copying the weights costs a read of every trainable tensor (and the moments, for a
// checkpoint), so a snapshot carries them only where someone will read them; every snapshot carries the
// step, its record and the data position.
import { countParams } from '../model/params.ts';
import type { SnapshotAsk, TrainRun, TrainSnapshot } from './items.ts';
import { adapterContents, trainerState, type Trainer } from './trainer.ts';

/** At which snapshots the weights, and the optimizer state, are copied out. */
export interface Cadence {
  weights(s: Pick<TrainSnapshot, 'step' | 'reason'>): boolean;
  optimizer(s: Pick<TrainSnapshot, 'step' | 'reason'>): boolean;
}

/**
 * The union of what the readers ask: weights every `every` updates, at the start with `atStart`, and always at
 * the end or an interrupt (where a sink writes its last checkpoint and an evaluator its final figures); the
 * optimizer state at those steps of a reader that asks for it. No asks known (a node run outside the executor):
 * everything, every time. A diverged run's snapshot carries neither: nothing is saved from it.
 */
export function snapshotCadence(asks: SnapshotAsk[] | undefined): Cadence {
  const wants = (a: SnapshotAsk, s: Pick<TrainSnapshot, 'step' | 'reason'>) =>
    s.reason === 'end' || s.reason === 'interrupt' || (s.reason === 'start' ? Boolean(a.atStart) : s.reason === 'step' && a.every !== undefined && s.step % a.every === 0);
  if (!asks) return { weights: (s) => s.reason !== 'diverged', optimizer: (s) => s.reason !== 'diverged' };
  return {
    weights: (s) => s.reason === 'end' || s.reason === 'interrupt' || asks.some((a) => wants(a, s)),
    optimizer: (s) => asks.some((a) => a.optimizer && wants(a, s)),
  };
}

/** The asks of the nodes downstream (MainContext.downstream: each node's NodeDef.asks), those that are snapshot asks. */
export function snapshotAsks(nodes: Array<{ asks?: unknown }>): SnapshotAsk[] {
  return nodes.map((n) => n.asks).filter((a): a is SnapshotAsk => typeof a === 'object' && a !== null);
}

/** What every snapshot of this run shares (made once, after setup). */
export function trainRun(t: Trainer, o: { id: string; seed: number; backend: string }): TrainRun {
  const total = countParams(t.params);
  return Object.freeze({
    id: o.id, cfg: t.cfg, tokens: t.tokens, seed: o.seed, backend: o.backend, engine: t.engine, baseVocabSize: t.table.baseVocabSize,
    trainable: { lora: countParams(t.lora.params()), total }, optimizerBytes: t.opt.stateBytes(),
    ...(t.native ? { native: t.native } : {}), ...(t.describeInit ? { describeInit: t.describeInit } : {}),
  });
}

/** The trainer after `t.step` updates, as a frozen value: weights and optimizer state copied out where `cadence` says. */
export function takeSnapshot(
  t: Trainer, cadence: Cadence,
  s: Omit<TrainSnapshot, 'weights' | 'optimizer' | 'state'>,
): TrainSnapshot {
  if (!cadence.weights(s)) return Object.freeze({ ...s });
  const weights = adapterContents(t, s.baseModel);
  // The optimizer state and the rest of what a checkpoint keeps go together: only a checkpoint reads either.
  const checkpoint = cadence.optimizer(s) ? { optimizer: t.opt.exportState(), state: trainerState(t, { consumed: s.consumed }) } : {};
  return Object.freeze({ ...s, weights, ...checkpoint });
}
