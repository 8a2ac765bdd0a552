// Held-out metrics of the current model over packed eval batches: loss and perplexity over every
// scored token, and for the new tokens, at the positions whose target is a new token: loss,
// top-1 accuracy, and how often the model emits each one compared with how often it should.
import * as tf from '@tensorflow/tfjs';
import { headScores } from '../model/head.ts';
import { forward } from '../model/llama.ts';
import type { LlamaModel } from '../model/weights.ts';
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

/** Per scored position of one batch: loss, top-1 id and the target, from the chunked head (no [N, V] logits). */
function scoreBatch(model: LlamaModel, b: StepBatch): { nll: Float32Array; top1: Int32Array; targets: Int32Array } {
  const hidden = forward(model, { inputIds: b.inputIds, B: b.B, T: b.T, positionIds: b.positionIds, documentIds: b.documentIds, output: 'hidden' });
  const h = hidden.reshape([b.B * b.T, hidden.shape[2]]) as tf.Tensor2D; // [N, H]
  try {
    const s = headScores(h, b.targets, model.tokens.headColumns());
    return { nll: s.nll, top1: s.top1, targets: Int32Array.from(s.rows, (r) => b.targets[r]) };
  } finally {
    tf.dispose([hidden, h]);
  }
}

export function evaluate(model: LlamaModel, batches: Iterable<StepBatch>, newTokenIds: number[], newTokens: string[]): EvalMetrics {
  const index = new Map(newTokenIds.map((id, k) => [id, k]));
  const n = newTokenIds.length;
  const count = new Float64Array(n), lossSum = new Float64Array(n), right = new Float64Array(n), predicted = new Float64Array(n);
  let tokens = 0;
  let total = 0;
  for (const b of batches) {
    const { nll, top1, targets } = scoreBatch(model, b);
    for (let i = 0; i < nll.length; i++) {
      const target = targets[i];
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
