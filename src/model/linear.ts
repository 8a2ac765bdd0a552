// One linear layer with its optional LoRA adapter, forward and backward, on the op vocabulary
// (tensor-ops.ts), and the gradient sink they write to. Its own file so that attention.ts and
// layer.ts both build on it without importing each other; layer.ts re-exports it all.
import * as tf from '@tensorflow/tfjs';
import type { KVCache } from './kv-cache.ts';
import type { RopeTables } from './rope.ts';
import { tfOps, type Ops } from './tensor-ops.ts';
import type { Linear, LlamaModel } from './weights.ts';

/** LoRA of one linear, as the forward and backward use it. */
export interface LinearLora {
  /** [in, r] */
  A: tf.Tensor2D;
  /** [r, out] */
  B: tf.Tensor2D;
  scaling: number;
  dropout: number;
  /** Position among all of the model's adapters: seeds its dropout mask. */
  index: number;
}

/** The adapters of a model's linears, by HF module path ('model.layers.0.self_attn.q_proj'). */
export interface ModelAdapters {
  get(name: string): LinearLora | undefined;
}

export interface LayerContext {
  B: number;
  T: number;
  rope: RopeTables;
  /** Additive [B, 1, 1, T, Tk]. */
  mask: tf.Tensor;
  /** Inference: the KV cache (TF.js's KVCache, or the native engine's past keys/values, generate-native.ts). */
  cache?: KVCache | KVAppend;
  /** Set in a training forward: LoRA dropout is on, each adapter's mask seeded from this. */
  dropoutSeed?: number;
  /** Row of this batch's first row in the micro-batch the seed belongs to (a data-parallel share), default 0. */
  rowOffset?: number;
}

/** A KV cache as attention uses it: this step's keys/values [B, nkv, T, D] in, the whole ones [B, nkv, past+T, D] out. */
export interface KVAppend {
  append(layer: number, k: unknown, v: unknown): [unknown, unknown];
}

/** LoRA dropout of one forward: masks are drawn per row, so a micro-batch split across threads gets the same ones. */
export interface DropoutRows {
  seed: number;
  /** Rows and tokens per row of x [B·T, in]. */
  B: number;
  T: number;
  rowOffset: number;
}

/** What the backward of one linear needs: the adapter's (dropped-out) input and its rank-r activation. */
export interface LoraSaved<T = tf.Tensor> {
  /** x after dropout [N, in] (x itself without dropout). */
  xd: T;
  /** xd·A [N, r]. */
  t: T;
  /** The dropout multiplier keep/(1−p) [N, in], or null. */
  keep: T | null;
}

/**
 * The adapter's output scaling·(dropout(x)·A)·B for x [N, in] → [N, out], and what its backward needs. `dropout`
 * turns dropout on: tf.randomUniform with an explicit seed is computed in JS, so the mask is the same on every
 * backend and engine, when the layer is recomputed, and (one seed per row) however the rows are split across threads.
 */
export function loraForwardOps<T>(o: Ops<T>, lora: LinearLora, x: T, dropout?: DropoutRows): { y: T; saved: LoraSaved<T> } {
  let xd = x;
  let keep: T | null = null;
  if (lora.dropout > 0 && dropout !== undefined) {
    const seeds = Array.from({ length: dropout.B }, (_, b) => (dropout.seed + lora.index * 0x9e3779b1 + (dropout.rowOffset + b) * 0x85ebca6b) >>> 0);
    keep = o.dropoutKeep(seeds, dropout.T, o.shape(x)[1], lora.dropout); // [B·T, in]
    xd = o.mul(x, keep);
  }
  const t = o.matMul(xd, o.hosted(lora.A)); // [N, r]
  return { y: o.mul(o.matMul(t, o.hosted(lora.B)), lora.scaling), saved: { xd, t, keep } };
}

export function loraForward(lora: LinearLora, x: tf.Tensor2D, dropout?: DropoutRows): { y: tf.Tensor2D; saved: LoraSaved } {
  return loraForwardOps(tfOps, lora, x, dropout) as { y: tf.Tensor2D; saved: LoraSaved };
}

/**
 * x [N, in] → x·Wᵀ + b (+ the LoRA adapter's output). With `rec`, what the backward needs is kept there
 * (o.keep: the record outlives the caller's tidy).
 */
export function linear<T>(o: Ops<T>, model: LlamaModel, lin: Linear, x: T, ctx: LayerContext, rec?: Map<string, LoraSaved<T>>): T {
  return o.tidy(() => {
    let y = o.linear(x, o.frozen(lin.w)); // [N, out]
    if (lin.bias !== null) y = o.add(y, o.frozen(lin.bias));
    const lora = model.adapters?.get(lin.name);
    if (!lora) return y;
    const drop = ctx.dropoutSeed === undefined ? undefined : { seed: ctx.dropoutSeed, B: ctx.B, T: ctx.T, rowOffset: ctx.rowOffset ?? 0 };
    const d = loraForwardOps(o, lora, x, drop);
    if (rec) rec.set(lin.name, { xd: o.keep(d.saved.xd), t: o.keep(d.saved.t), keep: d.saved.keep && o.keep(d.saved.keep) });
    return o.add(y, d.y);
  });
}

/** Name of a LoRA factor's gradient (and of its trainable param): 'lora.<module path>.A' / '.B'. */
export const loraGradName = (path: string, w: 'A' | 'B'): string => `lora.${path}.${w}`;

/** Gradients by name, summed when a name comes twice (a tied table's rows get both uses). */
export type GradSink<T = tf.Tensor> = Map<string, T>;

/** The sink owns what it holds: `g` stays the caller's (a clone shares its data, no copy). */
export function addGradOps<T>(o: Ops<T>, sink: GradSink<T>, name: string, g: T): void {
  const prev = sink.get(name);
  sink.set(name, o.keep(prev !== undefined ? o.add(prev, g) : o.clone(g)));
  if (prev !== undefined) o.dispose(prev);
}

export function addGrad(sink: GradSink, name: string, g: tf.Tensor): void {
  addGradOps(tfOps, sink, name, g);
}

/** dy [N, out] → dx [N, in]; the adapter's dA [in, r] and dB [r, out] go to `grads` (loraGradName). */
export function linearBackward<T>(o: Ops<T>, model: LlamaModel, lin: Linear, dy: T, rec: Map<string, LoraSaved<T>>, grads: GradSink<T>): T {
  return o.tidy(() => {
    const dx = o.linearBackward(dy, o.frozen(lin.w)); // [N, out]·[out, in]: the weight itself gets no gradient
    const lora = model.adapters?.get(lin.name);
    const s = rec.get(lin.name);
    if (!lora || !s) return dx;
    const dyB = o.matMul(dy, o.transpose(o.hosted(lora.B))); // [N, out]·[out, r] → [N, r]
    addGradOps(o, grads, loraGradName(lin.name, 'B'), o.mul(o.matMul(o.transpose(s.t), dy), lora.scaling)); // [r, N]·[N, out]
    addGradOps(o, grads, loraGradName(lin.name, 'A'), o.mul(o.matMul(o.transpose(s.xd), dyB), lora.scaling)); // [in, N]·[N, r]
    let dxl = o.mul(o.matMul(dyB, o.transpose(o.hosted(lora.A))), lora.scaling); // [N, r]·[r, in]
    if (s.keep) dxl = o.mul(dxl, s.keep);
    return o.add(dx, dxl);
  });
}
