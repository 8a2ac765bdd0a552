// Held-out metrics of the current model over packed eval batches: loss and perplexity over every
// scored token, and for the new tokens, at the positions whose target is a new token: loss,
// top-1 accuracy, and how often the model emits each one compared with how often it should.
import * as tf from '@tensorflow/tfjs';
import { forward } from '../model/llama.ts';
import type { LlamaModel } from '../model/weights.ts';
import { IGNORE_INDEX } from '../model/loss.ts';
import type { StepBatch } from './step.ts';

export interface TokenMetrics {
  /** Positions whose target is this token. */
  count: number;
  /** Mean loss at those positions (NaN when count is 0). */
  loss: number;
  /** Top-1 accuracy at those positions. */
  acc: number;
  /** Scored positions where the model's top-1 prediction is this token. */
  predicted: number;
  /** predicted / count: 1 = emitted as often as it should be. */
  emissionRate: number;
}

export interface EvalMetrics {
  tokens: number;
  loss: number;
  ppl: number;
  /** Over all positions whose target is any new token. */
  newToken: { count: number; loss: number; acc: number };
  perToken: Record<string, TokenMetrics>;
}

/** Per-position numbers of one batch: loss and whether top-1 was right, for scored positions. */
function scoreBatch(model: LlamaModel, b: StepBatch): { nll: Float32Array; top1: Int32Array } {
  return tf.tidy(() => {
    const N = b.B * b.T;
    const logits = forward(model, { inputIds: b.inputIds, B: b.B, T: b.T, positionIds: b.positionIds, documentIds: b.documentIds }).reshape([N, -1]) as tf.Tensor2D; // [N, V]
    const safe = Int32Array.from(b.targets, (x) => (x === IGNORE_INDEX ? 0 : x));
    const pairs = new Int32Array(2 * N);
    for (let i = 0; i < N; i++) pairs.set([i, safe[i]], 2 * i);
    const picked = tf.gatherND(logits, tf.tensor2d(pairs, [N, 2], 'int32')); // [N]
    const nll = tf.sub(tf.logSumExp(logits, 1), picked); // [N]
    return { nll: nll.dataSync() as Float32Array, top1: tf.argMax(logits, 1).dataSync() as Int32Array };
  });
}

export function evaluate(model: LlamaModel, batches: Iterable<StepBatch>, newTokenIds: number[], newTokens: string[]): EvalMetrics {
  const index = new Map(newTokenIds.map((id, k) => [id, k]));
  const n = newTokenIds.length;
  const count = new Float64Array(n), lossSum = new Float64Array(n), right = new Float64Array(n), predicted = new Float64Array(n);
  let tokens = 0;
  let total = 0;
  for (const b of batches) {
    const { nll, top1 } = scoreBatch(model, b);
    for (let i = 0; i < nll.length; i++) {
      const target = b.targets[i];
      if (target === IGNORE_INDEX) continue;
      tokens++;
      total += nll[i];
      const p = index.get(top1[i]);
      if (p !== undefined) predicted[p]++;
      const k = index.get(target);
      if (k === undefined) continue;
      count[k]++;
      lossSum[k] += nll[i];
      if (top1[i] === target) right[k]++;
    }
  }
  const perToken: Record<string, TokenMetrics> = {};
  let newCount = 0, newLoss = 0, newRight = 0;
  for (let k = 0; k < n; k++) {
    perToken[newTokens[k]] = {
      count: count[k], loss: lossSum[k] / count[k], acc: right[k] / count[k], predicted: predicted[k], emissionRate: predicted[k] / count[k],
    };
    newCount += count[k];
    newLoss += lossSum[k];
    newRight += right[k];
  }
  const loss = total / tokens;
  return { tokens, loss, ppl: Math.exp(loss), newToken: { count: newCount, loss: newLoss / newCount, acc: newRight / newCount }, perToken };
}
