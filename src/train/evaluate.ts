// Held-out metrics of the current model over packed eval batches: loss and perplexity over every
// scored token, bits per byte over the bytes those tokens spell, and for the new tokens, at the
// positions whose target is a new token: loss, top-1 accuracy (pooled over positions, and the
// mean over the new tokens that occur as targets), and how often the model emits each one
// compared with how often it should.
import { wordOfToken } from '../tokenizer/forms.ts';
import * as tf from '@tensorflow/tfjs';
import { bitsPerByte } from '../model/eval.ts';
import { headScores, type HeadColumns } from '../model/head.ts';
import { forward } from '../model/llama.ts';
import { headScoresNative } from '../model/eval-native.ts';
import type { NativeOptions } from '../model/native-run.ts';
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
  /**
   * With a byte table: the UTF-8 bytes the scored target tokens spell (src/tokenizer/bytes.ts) and
   * the summed loss in bits over them. For packed batches the scored text is the decoded targets,
   * so a base and an extended tokenizer scoring the same text count the same bytes.
   */
  bytes?: number;
  bitsPerByte?: number;
  /**
   * Over all positions whose target is any new token (pooled: frequent tokens weigh more), and
   * macroAcc, the mean accuracy over the words that occur as targets (each word counts once, the
   * surface forms of a word pooled: ' zintrapolate', 'Zintrapolate', … are one word).
   */
  newToken: { count: number; loss: number; acc: number; macroAcc?: number };
  perToken: Record<string, TokenMetrics>;
  /**
   * The base model with its own tokenizer on the same eval text (the evaluator adds it to the
   * step-0 evaluation, src/train/base-eval.ts): what the trained adapter is compared with on bits per byte.
   */
  baseOwn?: { tokens: number; loss: number; bytes: number; bitsPerByte: number };
}

export interface EvaluateOptions {
  /** UTF-8 bytes per id: adds bytes and bitsPerByte. */
  byteLengths?: ArrayLike<number>;
  /** Head columns to score against (default: the model's own; the base eval passes the base head alone). */
  columns?: HeadColumns;
}

/**
 * Mean accuracy over the words whose tokens occur as targets (count > 0), each word's forms pooled
 * (forms.ts: 'Ġzintrapolate' and 'Zintrapolate' are one word; a special token is its own); NaN
 * when none occurs.
 */
export function macroAccuracy(perToken: Record<string, Pick<TokenMetrics, 'count' | 'acc'>>): number {
  const words = new Map<string, { count: number; right: number }>();
  for (const [token, m] of Object.entries(perToken)) {
    if (!(m.count > 0)) continue;
    const w = wordOfToken(token);
    const acc = words.get(w) ?? { count: 0, right: 0 };
    acc.count += m.count;
    acc.right += m.acc * m.count;
    words.set(w, acc);
  }
  if (words.size === 0) return NaN;
  let sum = 0;
  for (const w of words.values()) sum += w.right / w.count;
  return sum / words.size;
}

/** Per scored position of one batch: loss, top-1 id and the target, from the chunked head (no [N, V] logits). */
export function scoreBatch(model: LlamaModel, b: StepBatch, cols: HeadColumns = model.tokens.headColumns()): { nll: Float32Array; top1: Int32Array; targets: Int32Array } {
  const hidden = forward(model, { inputIds: b.inputIds, B: b.B, T: b.T, positionIds: b.positionIds, documentIds: b.documentIds, output: 'hidden' });
  const h = hidden.reshape([b.B * b.T, hidden.shape[2]]) as tf.Tensor2D; // [N, H]
  try {
    const s = headScores(h, b.targets, cols);
    return { nll: s.nll, top1: s.top1, targets: Int32Array.from(s.rows, (r) => b.targets[r]) };
  } finally {
    tf.dispose([hidden, h]);
  }
}

export function evaluate(model: LlamaModel, batches: Iterable<StepBatch>, newTokenIds: number[], newTokens: string[], opts: EvaluateOptions = {}): EvalMetrics {
  const tally = new Tally(newTokenIds, opts.byteLengths);
  for (const b of batches) tally.add(scoreBatch(model, b, opts.columns));
  return tally.metrics(newTokens);
}

/**
 * evaluate on the engine the trainer runs: with `native` (the native engine's options), each batch's forward and
 * chunked head is one ONNX Runtime graph (src/model/eval-native.ts; figures equal to float rounding); without, the
 * TF.js path above, unchanged.
 */
export async function evaluateOn(
  model: LlamaModel, batches: Iterable<StepBatch>, newTokenIds: number[], newTokens: string[], opts: EvaluateOptions & { native?: NativeOptions } = {},
): Promise<EvalMetrics> {
  if (!opts.native) return evaluate(model, batches, newTokenIds, newTokens, opts);
  const tally = new Tally(newTokenIds, opts.byteLengths);
  for (const b of batches) {
    const s = await headScoresNative(model, b, opts.columns, opts.native);
    tally.add({ nll: s.nll, top1: s.top1, targets: Int32Array.from(s.rows, (r) => b.targets[r]) });
  }
  return tally.metrics(newTokens);
}

/** The running sums of an evaluation, batch by batch (float64 across batches). */
class Tally {
  private readonly index: Map<number, number>;
  private readonly count: Float64Array;
  private readonly lossSum: Float64Array;
  private readonly right: Float64Array;
  private readonly predicted: Float64Array;
  private tokens = 0;
  private total = 0;
  private bytes = 0;

  constructor(newTokenIds: number[], private readonly byteLengths?: ArrayLike<number>) {
    this.index = new Map(newTokenIds.map((id, k) => [id, k]));
    const n = newTokenIds.length;
    this.count = new Float64Array(n);
    this.lossSum = new Float64Array(n);
    this.right = new Float64Array(n);
    this.predicted = new Float64Array(n);
  }

  add({ nll, top1, targets }: { nll: Float32Array; top1: Int32Array; targets: Int32Array }): void {
    const { index, byteLengths } = this;
    for (let i = 0; i < nll.length; i++) {
      const target = targets[i];
      this.tokens++;
      this.total += nll[i];
      if (byteLengths) this.bytes += byteLengths[target];
      const p = index.get(top1[i]);
      if (p !== undefined) this.predicted[p]++;
      const k = index.get(target);
      if (k === undefined) continue;
      this.count[k]++;
      this.lossSum[k] += nll[i];
      if (top1[i] === target) this.right[k]++;
    }
  }

  metrics(newTokens: string[]): EvalMetrics {
    const { count, lossSum, right, predicted, tokens, total, bytes } = this;
    const perToken: Record<string, TokenMetrics> = {};
    let newCount = 0, newLoss = 0, newRight = 0;
    for (let k = 0; k < count.length; k++) {
      perToken[newTokens[k]] = {
        count: count[k], loss: lossSum[k] / count[k], acc: right[k] / count[k], predicted: predicted[k], emissionRate: predicted[k] / count[k],
      };
      newCount += count[k];
      newLoss += lossSum[k];
      newRight += right[k];
    }
    const loss = total / tokens;
    const newToken = { count: newCount, loss: newLoss / newCount, acc: newRight / newCount, macroAcc: macroAccuracy(perToken) };
    const out: EvalMetrics = { tokens, loss, ppl: Math.exp(loss), newToken, perToken };
    return this.byteLengths ? { ...out, bytes, bitsPerByte: bitsPerByte(total, bytes) } : out;
  }
}
