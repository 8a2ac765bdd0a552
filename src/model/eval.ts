// Held-out loss of a model on a text: windows of at most maxLen tokens, each after the first starting on the
// last token of the one before (as context only), so that every token but the first is predicted exactly
// once: loss = mean next-token cross-entropy over them (what `pipe eval` prints). Two tokenizers of the
// same text then score the same bytes (all of them, when the first token is a BOS), which bits per byte
// needs to compare them; consecutive windows would leave each window's first token unscored, a number
// of bytes that depends on how the tokenizer cut the text.
import * as tf from '@tensorflow/tfjs';
import { ModelInputInvalid } from '../errors.ts';
import { headScores } from './head.ts';
import { shiftLabels } from './loss.ts';
import { forward } from './llama.ts';
import { headScoresNative } from './eval-native.ts';
import type { NativeOptions } from './native-run.ts';
import type { LlamaModel } from './weights.ts';

export const DEFAULT_EVAL_MAX_LEN = 1024;

/** What evaluateText needs of a tokenizer (src/tokenizer's LoadedTokenizer is one): the model library knows no tokenizer. */
export interface TokenEncoder {
  encode(text: string, opts: { addSpecialTokens: boolean }): Int32Array;
}

export interface EvalOptions {
  /** Window length in tokens (default 1024). */
  maxLen?: number;
  /**
   * Each window after the first repeats the last token of the one before as its context (default
   * true): every token but the first is predicted. false: consecutive windows, whose first tokens
   * are context only and never predicted (how the reference implementation's goldens are cut).
   */
  overlap?: boolean;
  /** Tokens per forward call; equal-length windows are batched up to this (default max(maxLen, 2048)). */
  batchTokens?: number;
  /** Vocabulary columns per head chunk (default: src/model/head.ts headChunk). */
  headChunk?: number;
  /**
   * UTF-8 bytes each id spells (src/tokenizer/bytes.ts): with it the result has bits per byte over the
   * bytes of the predicted tokens (a window's first token is context only, so its bytes are not counted).
   */
  byteLengths?: ArrayLike<number>;
}

export interface EvalResult {
  /** Predicted tokens (every token but the first, with overlapping windows). */
  tokens: number;
  /** Mean cross-entropy in nats. */
  loss: number;
  ppl: number;
  /** With opts.byteLengths: UTF-8 bytes of the predicted tokens, and the loss in bits per byte over them. */
  bytes?: number;
  bitsPerByte?: number;
}

/**
 * Bits per byte: a total loss in nats over the UTF-8 bytes it scored. Unlike a mean per token it
 * does not depend on how the tokenizer cuts the text. NaN when no byte was scored.
 */
export function bitsPerByte(totalNats: number, bytes: number): number {
  return bytes > 0 ? totalNats / Math.LN2 / bytes : NaN;
}

/**
 * Window [start, end) bounds over n tokens. With `overlap` (default) a window starts on the last
 * token of the one before, so tokens 1..n-1 are each predicted once; without, windows are
 * consecutive and one shorter than 2 predicts nothing and is dropped.
 */
export function evalWindows(n: number, maxLen: number, overlap = true): Array<[number, number]> {
  if (!(Number.isInteger(maxLen) && maxLen >= 2)) throw new ModelInputInvalid(`max-len must be an integer >= 2, got ${maxLen}`);
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n; ) {
    const e = Math.min(n, s + maxLen);
    if (e - s >= 2) out.push([s, e]);
    if (e >= n) break;
    s = overlap ? e - 1 : e;
  }
  return out;
}

/** The windows of `ids` as batches: consecutive windows of the same length (all but possibly the last) together. */
function* windowBatches(ids: Int32Array, opts: EvalOptions): Generator<{ inputIds: Int32Array; B: number; T: number; targets: Int32Array }> {
  const maxLen = opts.maxLen ?? DEFAULT_EVAL_MAX_LEN;
  const windows = evalWindows(ids.length, maxLen, opts.overlap ?? true);
  const perBatch = Math.max(1, Math.floor((opts.batchTokens ?? Math.max(maxLen, 2048)) / maxLen));
  for (let i = 0; i < windows.length; ) {
    const T = windows[i][1] - windows[i][0];
    let B = 1;
    while (B < perBatch && i + B < windows.length && windows[i + B][1] - windows[i + B][0] === T) B++;
    const inputIds = new Int32Array(B * T); // [B*T]
    for (let b = 0; b < B; b++) inputIds.set(ids.subarray(windows[i + b][0], windows[i + b][1]), b * T);
    yield { inputIds, B, T, targets: shiftLabels(inputIds, B, T) };
    i += B;
  }
}

/** Sums over the batches' scored rows (float64 across windows). */
class Sums {
  sum = 0;
  count = 0;
  bytes = 0;
  constructor(private readonly byteLengths?: ArrayLike<number>) {}
  add(b: { B: number; T: number; targets: Int32Array }, nll: Float32Array, rows: Int32Array): void {
    for (let k = 0; k < nll.length; k++) this.sum += nll[k];
    if (this.byteLengths) for (const r of rows) this.bytes += this.byteLengths[b.targets[r]];
    this.count += b.B * (b.T - 1);
  }
  result(): EvalResult {
    const loss = this.count === 0 ? NaN : this.sum / this.count;
    const out: EvalResult = { tokens: this.count, loss, ppl: Math.exp(loss) };
    return this.byteLengths ? { ...out, bytes: this.bytes, bitsPerByte: bitsPerByte(this.sum, this.bytes) } : out;
  }
}

export function evaluateIds(model: LlamaModel, ids: Int32Array, opts: EvalOptions = {}): EvalResult {
  const sums = new Sums(opts.byteLengths);
  for (const b of windowBatches(ids, opts)) {
    // Hidden states first, then the chunked head: no [B*T, V] logits at once.
    const hidden = forward(model, { inputIds: b.inputIds, B: b.B, T: b.T, output: 'hidden' }); // [B, T, H]
    const h2 = hidden.reshape([b.B * b.T, hidden.shape[2]]) as tf.Tensor2D; // [B*T, H]
    const { nll, rows } = headScores(h2, b.targets, model.tokens.headColumns(), opts.headChunk);
    tf.dispose([hidden, h2]);
    sums.add(b, nll, rows);
  }
  return sums.result();
}

/** evaluateIds on the native engine: each batch's forward and chunked head one ONNX Runtime graph (eval-native.ts). */
export async function evaluateIdsNative(model: LlamaModel, ids: Int32Array, opts: EvalOptions = {}, native: NativeOptions = {}): Promise<EvalResult> {
  const sums = new Sums(opts.byteLengths);
  for (const b of windowBatches(ids, opts)) {
    const { nll, rows } = await headScoresNative(model, b, model.tokens.headColumns(), native, opts.headChunk);
    sums.add(b, nll, rows);
  }
  return sums.result();
}

/** Encodes `text` the way the model's tokenizer does by default (post-processor special tokens added). */
export function evaluateText(model: LlamaModel, tokenizer: TokenEncoder, text: string, opts: EvalOptions = {}): EvalResult & { ids: Int32Array } {
  const ids = tokenizer.encode(text, { addSpecialTokens: true });
  return { ...evaluateIds(model, ids, opts), ids };
}

/** evaluateText on the native engine. */
export async function evaluateTextNative(model: LlamaModel, tokenizer: TokenEncoder, text: string, opts: EvalOptions = {}, native: NativeOptions = {}): Promise<EvalResult & { ids: Int32Array }> {
  const ids = tokenizer.encode(text, { addSpecialTokens: true });
  return { ...(await evaluateIdsNative(model, ids, opts, native)), ids };
}
