// One decoder layer, forward and backward by hand (llama-family-spec.md §3): x + attn(norm x), then + mlp(norm x).
//
// Why by hand and not TF.js autodiff: every product of the backward pass is written as a plain matMul after an
// explicit transpose (on wasm a transposed-operand matMul runs 10-20x slower, and autodiff emits exactly those),
// only what the backward needs is kept (`LayerSaved`), frozen weights get no gradient work at all, and
// recomputation is just running the forward again from the layer's input. The same forward serves inference
// (no record, optional KV cache) and training (a record for the backward). Written once against the op vocabulary
// (tensor-ops.ts: `o` is TF.js or the ONNX graph builder); decoderLayer / decoderLayerBackward / addGrad are the
// TF.js entry points.
import * as tf from '@tensorflow/tfjs';
import { attentionBackwardOps, attentionForwardOps, type AttentionSaved } from './attention.ts';
import type { KVCache } from './kv-cache.ts';
import { rmsNormBackwardOps, rmsNormOps, type NormSaved } from './norm.ts';
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

export interface LayerSaved<T = tf.Tensor> {
  norm1: NormSaved<T>;
  attn: AttentionSaved<T>;
  norm2: NormSaved<T>;
  /** Gate and up projections [N, I]. */
  g: T;
  u: T;
  lora: Map<string, LoraSaved<T>>;
}

/** Every tensor of a record (for dispose and memory accounting). */
export function savedTensors(s: LayerSaved): tf.Tensor[] {
  const out: tf.Tensor[] = [s.g, s.u, ...Object.values(s.norm1), ...Object.values(s.norm2), ...Object.values(s.attn)];
  for (const l of s.lora.values()) out.push(l.xd, l.t, ...(l.keep ? [l.keep] : []));
  return [...new Set(out.filter((t): t is tf.Tensor => t instanceof tf.Tensor))];
}

export function disposeSaved(s: LayerSaved): void {
  tf.dispose(savedTensors(s));
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

/**
 * x [N, H] → the layer's output [N, H]. With `save` (training), returns the record its backward needs; the output
 * and the record are the only tensors left behind.
 */
export function decoderLayerOps<T>(o: Ops<T>, model: LlamaModel, i: number, x: T, ctx: LayerContext, save = false): { y: T; saved?: LayerSaved<T> } {
  const l = model.layers[i];
  const eps = model.config.rmsNormEps;
  return o.tidy(() => {
    const lora = save ? new Map<string, LoraSaved<T>>() : undefined;
    const n1 = rmsNormOps(o, x, o.frozen(l.inputNorm), eps, save);
    const a = o.tidy(() => attentionForwardOps(o, model, i, n1.y, ctx, lora, save));
    const x2 = o.add(x, a.y); // [N, H]
    const n2 = rmsNormOps(o, x2, o.frozen(l.postNorm), eps, save);
    // Scopes inside the layer free each part's temporaries before the next part makes its own.
    const { g, u, y } = o.tidy(() => {
      const g = linear(o, model, l.gate, n2.y, ctx, lora); // [N, I]
      const u = linear(o, model, l.up, n2.y, ctx, lora); // [N, I]
      const m = o.tidy(() => o.mul(o.mul(g, o.sigmoid(g)), u)); // silu(g)·u
      return { g, u, y: o.add(x2, linear(o, model, l.down, m, ctx, lora)) };
    });
    if (!save) return { y };
    const saved: LayerSaved<T> = { norm1: n1.saved!, attn: a.saved!, norm2: n2.saved!, g: o.keep(g), u: o.keep(u), lora: lora! };
    return { y, saved };
  });
}

/** dy [N, H] → dx [N, H]; LoRA gradients go to `grads`. Does not dispose `saved`. */
export function decoderLayerBackwardOps<T>(o: Ops<T>, model: LlamaModel, i: number, saved: LayerSaved<T>, dy: T, ctx: LayerContext, grads: GradSink<T>): T {
  const l = model.layers[i];
  return o.tidy(() => {
    const { g, u, lora } = saved;
    // MLP: m = silu(g)·u, silu(g) = g·σ(g), silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
    // [N, I] tensors are the widest of the layer: each is freed as soon as it is used (at most ~5 live at once).
    const dn2 = o.tidy(() => {
      const dm = linearBackward(o, model, l.down, dy, lora, grads); // [N, I]
      const sg = o.sigmoid(g);
      const du = o.tidy(() => o.mul(dm, o.mul(g, sg))); // ∂/∂u = dm·silu(g)
      const dnUp = linearBackward(o, model, l.up, du, lora, grads);
      o.dispose(du);
      // silu'(g) = σ + g·σ·(1 − σ), one [N, I] product at a time.
      const slope = [(t: T) => o.sub(1, t), (t: T) => o.mul(sg, t), (t: T) => o.mul(g, t), (t: T) => o.add(sg, t)]
        .reduce((t: T, f) => {
          const next = f(t);
          if (t !== sg) o.dispose(t);
          return next;
        }, sg);
      o.dispose(sg);
      const dmu = o.mul(dm, u);
      o.dispose(dm);
      const dg = o.mul(dmu, slope);
      o.dispose([dmu, slope]);
      const dnGate = linearBackward(o, model, l.gate, dg, lora, grads);
      o.dispose(dg);
      return o.add(dnGate, dnUp);
    });
    const dx2 = o.add(dy, rmsNormBackwardOps(o, saved.norm2, o.frozen(l.postNorm), dn2)); // residual + norm path
    const dn1 = o.tidy(() => attentionBackwardOps(o, model, i, saved.attn, dx2, ctx, lora, grads));
    return o.add(dx2, rmsNormBackwardOps(o, saved.norm1, o.frozen(l.inputNorm), dn1));
  });
}

export function decoderLayer(model: LlamaModel, i: number, x: tf.Tensor2D, ctx: LayerContext, save = false): { y: tf.Tensor2D; saved?: LayerSaved } {
  return decoderLayerOps(tfOps, model, i, x, ctx, save) as { y: tf.Tensor2D; saved?: LayerSaved };
}

export function decoderLayerBackward(model: LlamaModel, i: number, saved: LayerSaved, dy: tf.Tensor2D, ctx: LayerContext, grads: GradSink): tf.Tensor2D {
  return decoderLayerBackwardOps(tfOps, model, i, saved, dy, ctx, grads) as tf.Tensor2D;
}
