// One decoder layer, forward and backward by hand (llama-family-spec.md §3): x + attn(norm x), then + mlp(norm x).
//
// Why by hand and not TF.js autodiff: every product of the backward pass is written as a plain matMul after an
// explicit transpose (on wasm a transposed-operand matMul runs 10-20x slower, and autodiff emits exactly those),
// only what the backward needs is kept (`LayerSaved`), frozen weights get no gradient work at all, and
// recomputation is just running the forward again from the layer's input. The same forward serves inference
// (no record, optional KV cache) and training (a record for the backward).
import * as tf from '@tensorflow/tfjs';
import { attentionBackward, attentionForward, type AttentionSaved } from './attention.ts';
import { tidy } from './scope.ts';
import type { KVCache } from './kv-cache.ts';
import { rmsNorm, rmsNormBackward, type NormSaved } from './norm.ts';
import { frozenLinear, frozenLinearBackward } from './ops.ts';
import type { RopeTables } from './rope.ts';
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
  cache?: KVCache;
  /** Set in a training forward: LoRA dropout is on, each adapter's mask seeded from this. */
  dropoutSeed?: number;
  /** Row of this batch's first row in the micro-batch the seed belongs to (a data-parallel share), default 0. */
  rowOffset?: number;
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
export interface LoraSaved {
  /** x after dropout [N, in] (x itself without dropout). */
  xd: tf.Tensor2D;
  /** xd·A [N, r]. */
  t: tf.Tensor2D;
  /** The dropout multiplier keep/(1−p) [N, in], or null. */
  keep: tf.Tensor2D | null;
}

export interface LayerSaved {
  norm1: NormSaved;
  attn: AttentionSaved;
  norm2: NormSaved;
  /** Gate and up projections [N, I]. */
  g: tf.Tensor2D;
  u: tf.Tensor2D;
  lora: Map<string, LoraSaved>;
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
 * backend, when the layer is recomputed, and (one seed per row) however the rows are split across threads.
 */
export function loraForward(lora: LinearLora, x: tf.Tensor2D, dropout?: DropoutRows): { y: tf.Tensor2D; saved: LoraSaved } {
  let xd = x;
  let keep: tf.Tensor2D | null = null;
  if (lora.dropout > 0 && dropout !== undefined) {
    const inF = x.shape[1];
    keep = tf.tidy(() => {
      const rows = Array.from({ length: dropout.B }, (_, b) => {
        const seed = (dropout.seed + lora.index * 0x9e3779b1 + (dropout.rowOffset + b) * 0x85ebca6b) >>> 0;
        return tf.randomUniform([dropout.T, inF], 0, 1, 'float32', seed);
      });
      const u = rows.length === 1 ? rows[0] : tf.concat(rows, 0); // [B·T, in]
      return tf.mul(u.greaterEqual(lora.dropout).cast('float32'), 1 / (1 - lora.dropout)) as tf.Tensor2D;
    });
    xd = tf.mul(x, keep);
  }
  const t = tf.matMul(xd, lora.A) as tf.Tensor2D; // [N, r]
  return { y: tf.mul(tf.matMul(t, lora.B), lora.scaling) as tf.Tensor2D, saved: { xd, t, keep } };
}

/**
 * x [N, in] → x·Wᵀ + b (+ the LoRA adapter's output). With `rec`, what the backward needs is kept there
 * (tf.keep: the record outlives the caller's tidy).
 */
export function linear(model: LlamaModel, lin: Linear, x: tf.Tensor2D, ctx: LayerContext, rec?: Map<string, LoraSaved>): tf.Tensor2D {
  return tf.tidy(() => {
    let y = frozenLinear(x, lin.w); // [N, out]
    if (lin.bias !== null) y = tf.add(y, lin.bias);
    const lora = model.adapters?.get(lin.name);
    if (!lora) return y;
    const drop = ctx.dropoutSeed === undefined ? undefined : { seed: ctx.dropoutSeed, B: ctx.B, T: ctx.T, rowOffset: ctx.rowOffset ?? 0 };
    const d = loraForward(lora, x, drop);
    if (rec) rec.set(lin.name, { xd: tf.keep(d.saved.xd), t: tf.keep(d.saved.t), keep: d.saved.keep && tf.keep(d.saved.keep) });
    return tf.add(y, d.y) as tf.Tensor2D;
  });
}

/** Name of a LoRA factor's gradient (and of its trainable param): 'lora.<module path>.A' / '.B'. */
export const loraGradName = (path: string, w: 'A' | 'B'): string => `lora.${path}.${w}`;

/** Gradients by name, summed when a name comes twice (a tied table's rows get both uses). */
export type GradSink = Map<string, tf.Tensor>;

/** The sink owns what it holds: `g` stays the caller's (a clone shares its data, no copy). */
export function addGrad(sink: GradSink, name: string, g: tf.Tensor): void {
  const prev = sink.get(name);
  sink.set(name, tf.keep(prev ? tf.add(prev, g) : tf.clone(g)));
  prev?.dispose();
}

/** dy [N, out] → dx [N, in]; the adapter's dA [in, r] and dB [r, out] go to `grads` (loraGradName). */
export function linearBackward(model: LlamaModel, lin: Linear, dy: tf.Tensor2D, rec: Map<string, LoraSaved>, grads: GradSink): tf.Tensor2D {
  return tf.tidy(() => {
    const dx = frozenLinearBackward(dy, lin.w); // [N, out]·[out, in]: the weight itself gets no gradient
    const lora = model.adapters?.get(lin.name);
    const s = rec.get(lin.name);
    if (!lora || !s) return dx;
    const dyB = tf.matMul(dy, tf.transpose(lora.B)) as tf.Tensor2D; // [N, out]·[out, r] → [N, r]
    addGrad(grads, loraGradName(lin.name, 'B'), tf.mul(tf.matMul(tf.transpose(s.t), dy), lora.scaling)); // [r, N]·[N, out]
    addGrad(grads, loraGradName(lin.name, 'A'), tf.mul(tf.matMul(tf.transpose(s.xd), dyB), lora.scaling)); // [in, N]·[N, r]
    let dxl = tf.mul(tf.matMul(dyB, tf.transpose(lora.A)), lora.scaling) as tf.Tensor2D; // [N, r]·[r, in]
    if (s.keep) dxl = tf.mul(dxl, s.keep);
    return tf.add(dx, dxl) as tf.Tensor2D;
  });
}

/**
 * x [N, H] → the layer's output [N, H]. With `rec` (training), returns the record its backward needs; the output
 * and the record are the only tensors left behind.
 */
export function decoderLayer(model: LlamaModel, i: number, x: tf.Tensor2D, ctx: LayerContext, save = false): { y: tf.Tensor2D; saved?: LayerSaved } {
  const l = model.layers[i];
  const eps = model.config.rmsNormEps;
  return tidy(() => {
    const lora = save ? new Map<string, LoraSaved>() : undefined;
    const n1 = rmsNorm(x, l.inputNorm, eps, save);
    const a = tidy(() => attentionForward(model, i, n1.y, ctx, lora, save));
    const x2 = tf.add(x, a.y) as tf.Tensor2D; // [N, H]
    const n2 = rmsNorm(x2, l.postNorm, eps, save);
    // Scopes inside the layer free each part's temporaries before the next part makes its own.
    const { g, u, y } = tidy(() => {
      const g = linear(model, l.gate, n2.y, ctx, lora); // [N, I]
      const u = linear(model, l.up, n2.y, ctx, lora); // [N, I]
      const m = tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u)) as tf.Tensor2D; // silu(g)·u
      return { g, u, y: tf.add(x2, linear(model, l.down, m, ctx, lora)) as tf.Tensor2D };
    });
    if (!save) return { y };
    const saved: LayerSaved = { norm1: n1.saved!, attn: a.saved!, norm2: n2.saved!, g: tf.keep(g), u: tf.keep(u), lora: lora! };
    return { y, saved };
  });
}

/** dy [N, H] → dx [N, H]; LoRA gradients go to `grads`. Does not dispose `saved`. */
export function decoderLayerBackward(model: LlamaModel, i: number, saved: LayerSaved, dy: tf.Tensor2D, ctx: LayerContext, grads: GradSink): tf.Tensor2D {
  const l = model.layers[i];
  return tf.tidy(() => {
    const { g, u, lora } = saved;
    // MLP: m = silu(g)·u, silu(g) = g·σ(g), silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
    // [N, I] tensors are the widest of the layer: each is freed as soon as it is used (at most ~5 live at once).
    const dn2 = tf.tidy(() => {
      const dm = linearBackward(model, l.down, dy, lora, grads); // [N, I]
      const sg = tf.sigmoid(g);
      const du = tf.tidy(() => tf.mul(dm, tf.mul(g, sg))) as tf.Tensor2D; // ∂/∂u = dm·silu(g)
      const dnUp = linearBackward(model, l.up, du, lora, grads);
      du.dispose();
      // silu'(g) = σ + g·σ·(1 − σ), one [N, I] product at a time.
      const slope = [(t: tf.Tensor) => tf.sub(1, t), (t: tf.Tensor) => tf.mul(sg, t), (t: tf.Tensor) => tf.mul(g, t), (t: tf.Tensor) => tf.add(sg, t)]
        .reduce((t: tf.Tensor, f) => {
          const next = f(t);
          if (t !== sg) t.dispose();
          return next;
        }, sg);
      sg.dispose();
      const dmu = tf.mul(dm, u);
      dm.dispose();
      const dg = tf.mul(dmu, slope) as tf.Tensor2D;
      tf.dispose([dmu, slope]);
      const dnGate = linearBackward(model, l.gate, dg, lora, grads);
      dg.dispose();
      return tf.add(dnGate, dnUp) as tf.Tensor2D;
    });
    const dx2 = tf.add(dy, rmsNormBackward(saved.norm2, l.postNorm, dn2)) as tf.Tensor2D; // residual + norm path
    const dn1 = tf.tidy(() => attentionBackward(model, i, saved.attn, dx2, ctx, lora, grads));
    return tf.add(dx2, rmsNormBackward(saved.norm1, l.inputNorm, dn1)) as tf.Tensor2D;
  });
}
