// One optimizer update: forward + chunked loss + backward per micro-batch (src/model/grad.ts), gradients summed
// with each scored token weighted 1/(all scored tokens of the update), clipped, checked by the watchdog, then
// AdamW. Synchronous; every tensor it makes is released before it returns (tf.memory().numTensors stays flat).
import * as tf from '@tensorflow/tfjs';
import type { RecordBatch } from 'apache-arrow';
import { batchArrays } from '../io/arrow.ts';
import { lossAndGrads, type TrainBatch } from '../model/grad.ts';
import { lossAndGradsNative } from '../model/grad-native.ts';
import { headScores } from '../model/head.ts';
import { forward } from '../model/llama.ts';
import type { GradSink } from '../model/layer.ts';
import { countTargets, shiftLabels } from '../model/loss.ts';
import { clipGradNorm } from './grads.ts';
import type { DataParallel } from './parallel.ts';
import { lrFactor } from './schedule.ts';
import type { Trainer } from './trainer.ts';

/** A packed batch as the model takes it; all arrays [B*T] row-major. */
export type StepBatch = TrainBatch;

/**
 * One optimizer update, the one record of a step: the loop hands it downstream in each snapshot
 * (TrainSnapshot.result), and the train node passes it on as the 'step-event' item and logs it
 * as the 'train-step' event. The update fills its own fields (StepUpdate); the loop adds the
 * throughput, which only it can measure.
 */
export interface StepRecord {
  step: number;
  loss: number;
  gradNorm: number;
  /** lr of the LoRA group (token rows: scaled by the same schedule). */
  lr: number;
  /** Scored tokens in the update. */
  tokens: number;
  /** Scored tokens per second of the update's own time: from asking for its batches to its end (the batch wait included; evaluations and checkpoints between updates not). */
  tokensPerSec: number;
}

/** What an update knows of itself: the step record without the loop's timing. */
export type StepUpdate = Omit<StepRecord, 'tokensPerSec'>;

export function stepBatch(batch: RecordBatch, T: number): StepBatch {
  const a = batchArrays(batch);
  const B = a.input_ids.length / T;
  return { B, T, inputIds: a.input_ids, targets: shiftLabels(a.labels, B, T), positionIds: a.position_ids, documentIds: a.document_ids };
}

/** Mean next-token loss of one batch, forward only (the chunked head: no [N, V] logits). NaN when nothing is scored. */
export function batchLoss(t: Trainer, b: StepBatch): number {
  const hidden = forward(t.model, { inputIds: b.inputIds, B: b.B, T: b.T, positionIds: b.positionIds, documentIds: b.documentIds, output: 'hidden' });
  const h = hidden.reshape([b.B * b.T, hidden.shape[2]]) as tf.Tensor2D; // [N, H]
  try {
    const { nll } = headScores(h, b.targets, t.model.tokens.headColumns());
    let sum = 0;
    for (let i = 0; i < nll.length; i++) sum += nll[i];
    return sum / nll.length;
  } finally {
    tf.dispose([hidden, h]);
  }
}

/**
 * Loss of `micro` (the mean over all their scored tokens) and its gradient for every trainable param, added to
 * `grads`. Draws one dropout seed per micro-batch from the trainer's RNG (also when dropout is off, so the stream
 * does not depend on the config or the data).
 */
export function updateGrads(t: Trainer, micro: StepBatch[], grads: GradSink): { loss: number; tokens: number } {
  const tokens = micro.reduce((n, b) => n + countTargets(b.targets), 0);
  let loss = 0;
  for (const b of micro) {
    const dropoutSeed = t.rng.nextU32();
    if (tokens === 0 || countTargets(b.targets) === 0) continue;
    loss += lossAndGrads(t.model, t.table, b, { weight: 1 / tokens, recompute: t.recompute, dropoutSeed }, grads).loss;
  }
  return { loss, tokens };
}

/** updateGrads on the native engine (t.native): each micro-batch's whole pass is one ONNX Runtime graph (grad-native.ts). */
export async function updateGradsNative(t: Trainer, micro: StepBatch[], grads: GradSink): Promise<{ loss: number; tokens: number }> {
  const tokens = micro.reduce((n, b) => n + countTargets(b.targets), 0);
  let loss = 0;
  for (const b of micro) {
    const dropoutSeed = t.rng.nextU32();
    if (tokens === 0 || countTargets(b.targets) === 0) continue;
    const o = { weight: 1 / tokens, recompute: t.recompute, dropoutSeed };
    loss += (await lossAndGradsNative(t.model, t.table, b, o, grads, t.native)).loss;
  }
  return { loss, tokens };
}

/** One update over `micro` batches (gradient accumulation) on this thread; throws TrainingDiverged before a bad update. */
export function trainStep(t: Trainer, micro: StepBatch[]): StepUpdate {
  const grads: GradSink = new Map();
  try {
    return applyUpdate(t, grads, updateGrads(t, micro, grads));
  } finally {
    tf.dispose([...grads.values()]);
  }
}

/** The same update with the rows shared across `dp`'s threads (src/train/parallel.ts), or on this thread without one. */
export async function trainStepParallel(t: Trainer, micro: StepBatch[], dp: DataParallel | null): Promise<StepUpdate> {
  if (dp === null && !t.native) return trainStep(t, micro);
  const grads: GradSink = new Map();
  try {
    return applyUpdate(t, grads, dp ? await dp.updateGrads(t, micro, grads) : await updateGradsNative(t, micro, grads));
  } finally {
    tf.dispose([...grads.values()]);
  }
}

/** Clip, check, AdamW: the update proper, from the summed gradients of all micro-batches. */
function applyUpdate(t: Trainer, grads: GradSink, { loss, tokens }: { loss: number; tokens: number }): StepUpdate {
  const factor = lrFactor(t.cfg.schedule, t.step, t.totalSteps);
  if (tokens === 0) return { step: t.step, loss: NaN, gradNorm: 0, lr: t.cfg.lr * factor, tokens: 0 }; // nothing scored: no update
  const { norm: gradNorm, coef } = clipGradNorm(grads, t.cfg.maxGradNorm);
  t.watchdog.check(t.step + 1, loss, gradNorm);
  t.opt.step(grads, factor, coef);
  t.step += 1;
  return { step: t.step, loss, gradNorm, lr: t.cfg.lr * factor, tokens };
}

/**
 * The fixed-width per-step log line: time | step | loss | grad norm | lr | tok/s | batch wait | tensors | heap.
 * The ISO time (always 24 characters) lets a slow stretch of a long run be matched with what else happened then.
 */
export function stepLine(r: StepRecord, waitMs: number, at: Date = new Date()): string {
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  return [
    at.toISOString(),
    `step ${String(r.step).padStart(6)}`,
    `loss ${r.loss.toFixed(4).padStart(8)}`,
    `gnorm ${r.gradNorm.toExponential(2).padStart(9)}`,
    `lr ${r.lr.toExponential(2).padStart(9)}`,
    `tok/s ${r.tokensPerSec.toFixed(0).padStart(7)}`,
    `wait ${waitMs.toFixed(0).padStart(5)} ms`,
    `tensors ${String(tf.memory().numTensors).padStart(6)}`,
    `heap ${heapMb.toFixed(0).padStart(5)} MB`,
  ].join(' | ');
}

/** The update a stepLine names (undefined for any other line). */
export function stepOfLine(line: string): number | undefined {
  const m = /\| step +(\d+) \|/.exec(line);
  return m ? Number(m[1]) : undefined;
}
