// One optimizer update: forward + fused loss + backward per micro-batch, gradients averaged
// over scored tokens, clipped, checked by the watchdog, then AdamW. Synchronous; every tensor
// it makes is released before it returns (tf.memory().numTensors stays flat across steps).
import * as tf from '@tensorflow/tfjs';
import type { RecordBatch } from 'apache-arrow';
import { batchArrays } from '../io/arrow.ts';
import { forward } from '../model/llama.ts';
import { GradAccumulator, clipGradNorm, paramGrads } from './grads.ts';
import { countTargets, crossEntropy, shiftLabels } from '../model/loss.ts';
import { lrFactor } from './schedule.ts';
import type { Trainer } from './trainer.ts';

/** A packed batch as the model takes it; all arrays [B*T] row-major. */
export interface StepBatch {
  B: number;
  T: number;
  inputIds: Int32Array;
  /** Shifted labels: targets[t] = labels[t+1]; -100 = not scored. */
  targets: Int32Array;
  positionIds: Int32Array;
  documentIds: Int32Array;
}

export interface StepResult {
  step: number;
  loss: number;
  gradNorm: number;
  /** lr of the LoRA group (token rows: scaled by the same schedule). */
  lr: number;
  /** Scored tokens in the update. */
  tokens: number;
}

export function stepBatch(batch: RecordBatch, T: number): StepBatch {
  const a = batchArrays(batch);
  const B = a.input_ids.length / T;
  return { B, T, inputIds: a.input_ids, targets: shiftLabels(a.labels, B, T), positionIds: a.position_ids, documentIds: a.document_ids };
}

/** Mean next-token loss of one batch (a scalar in the caller's tidy scope). */
export function batchLoss(t: Trainer, b: StepBatch): tf.Scalar {
  const logits = forward(t.model, { inputIds: b.inputIds, B: b.B, T: b.T, positionIds: b.positionIds, documentIds: b.documentIds });
  return crossEntropy(logits.reshape([b.B * b.T, logits.shape[2]]) as tf.Tensor2D, b.targets, 'mean'); // [N, V] → scalar
}

/** One update over `micro` batches (gradient accumulation); throws TrainingDiverged before a bad update. */
export function trainStep(t: Trainer, micro: StepBatch[]): StepResult {
  const factor = lrFactor(t.cfg.schedule, t.step, t.cfg.steps);
  const acc = new GradAccumulator();
  let lossSum = 0;
  try {
    for (const b of micro) {
      const n = countTargets(b.targets);
      t.dropoutSeed = t.rng.nextU32(); // drawn even when unused, so the stream does not depend on the data
      if (n === 0) continue;
      tf.tidy(() => {
        const { value, grads } = paramGrads(() => batchLoss(t, b), t.params);
        acc.add(grads, n); // token-weighted: the update follows the mean over all scored tokens
        lossSum += value.dataSync()[0] * n;
      });
    }
    const tokens = acc.count;
    if (tokens === 0) return { step: t.step, loss: NaN, gradNorm: 0, lr: t.cfg.lr * factor, tokens: 0 }; // nothing scored: no update
    const grads = acc.take();
    try {
      return tf.tidy(() => {
        const { grads: clipped, norm } = clipGradNorm(grads, t.cfg.maxGradNorm);
        const loss = lossSum / tokens;
        const gradNorm = norm.dataSync()[0];
        t.watchdog.check(t.step + 1, loss, gradNorm);
        t.opt.step(clipped, factor);
        t.step += 1;
        return { step: t.step, loss, gradNorm, lr: t.cfg.lr * factor, tokens };
      });
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  } finally {
    t.dropoutSeed = undefined;
    acc.dispose();
  }
}

/** The fixed-width per-step log line: step | loss | grad norm | lr | tok/s | batch wait | tensors | heap. */
export function stepLine(r: StepResult, tokPerSec: number, waitMs: number): string {
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  return [
    `step ${String(r.step).padStart(6)}`,
    `loss ${r.loss.toFixed(4).padStart(8)}`,
    `gnorm ${r.gradNorm.toExponential(2).padStart(9)}`,
    `lr ${r.lr.toExponential(2).padStart(9)}`,
    `tok/s ${tokPerSec.toFixed(0).padStart(7)}`,
    `wait ${waitMs.toFixed(0).padStart(5)} ms`,
    `tensors ${String(tf.memory().numTensors).padStart(6)}`,
    `heap ${heapMb.toFixed(0).padStart(5)} MB`,
  ].join(' | ');
}
