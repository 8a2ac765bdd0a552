// Self-attention of one layer (llama-family-spec.md §3.4) and the additive mask shared by all layers.
// GQA without repeat_kv: the g = nh/nkv query heads of a kv head are stacked along the query axis
// ([B, nkv, g·T, D]) so one batched matMul against that kv head's keys serves them all, with no copy of k or v.
// Written once against the op vocabulary (tensor-ops.ts), for TF.js and the ONNX graph alike.
import * as tf from '@tensorflow/tfjs';
import { linear, linearBackward, type GradSink, type LayerContext, type LoraSaved } from './linear.ts';
import { rmsNormBackwardOps, rmsNormOps, type NormSaved } from './norm.ts';
import { applyRopeBackwardOps, applyRopeOps } from './rope.ts';
import type { Ops } from './tensor-ops.ts';
import type { LlamaModel } from './weights.ts';

/** Large enough that exp() underflows to exactly 0 in float32, finite so no inf arithmetic can make a NaN. */
const MASKED = -1e9;

/**
 * Segment id per token from position ids [B*T]: a new segment starts wherever p[t] ≠ p[t-1] + 1 (the rule HF's
 * mask path uses for packed rows, llama-family-spec.md §4). Row starts always begin a segment.
 */
export function segmentIds(positions: Int32Array, B: number, T: number): Int32Array {
  const seg = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (t > 0 && positions[i] !== positions[i - 1] + 1) s++;
      seg[i] = s;
    }
  }
  return seg;
}

/**
 * Additive mask [B, 1, 1, T, past+T]: 0 where query t (absolute index past+t) may see key j — j ≤ past+t and,
 * with `documents`, the same document — else MASKED. Built once per forward in JS, shared by every layer.
 */
export function buildMask(B: number, T: number, past: number, documents: Int32Array | null): tf.Tensor {
  const Tk = past + T;
  const m = new Float32Array(B * T * Tk).fill(MASKED);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * Tk;
      const qi = past + t;
      if (documents === null) {
        m.fill(0, row, row + qi + 1);
      } else {
        const d = documents[b * T + t];
        for (let j = 0; j <= qi; j++) if (documents[b * T + j] === d) m[row + j] = 0;
      }
    }
  }
  return tf.tensor(m, [B, 1, 1, T, Tk]);
}

/** What the attention backward needs (all kept). */
export interface AttentionSaved<T = tf.Tensor> {
  /** Rotated, scaled queries [B, nkv, g·T, D]. */
  qh: T;
  /** Rotated keys [B, nkv, T, D]. */
  kh: T;
  /** Values [B, nkv, T, D]. */
  vh: T;
  /** Softmax probabilities [B, nkv, g·T, T]. */
  p: T;
  /** Qwen3 q/k norms (inputs [N, heads, D]); absent otherwise. */
  qNorm?: NormSaved<T>['x'];
  qNormR?: NormSaved<T>['r'];
  kNorm?: NormSaved<T>['x'];
  kNormR?: NormSaved<T>['r'];
}

type LoraRec<T> = Map<string, LoraSaved<T>>;

/** x: input-normed hidden states [N = B·T, H] → attention output after o_proj, [N, H]. */
export function attentionForwardOps<T>(o: Ops<T>, model: LlamaModel, layerIndex: number, x: T, ctx: LayerContext, rec?: LoraRec<T>, save = false): { y: T; saved?: AttentionSaved<T> } {
  const layer = model.layers[layerIndex];
  const { numHeads: nh, numKvHeads: nkv, headDim: D, rmsNormEps: eps } = model.config;
  const { B, T } = ctx;
  const N = B * T;
  const g = nh / nkv;
  // Each scope frees its temporaries (projection, norm, RoPE halves, scores) before the next one allocates.
  let norms: Partial<AttentionSaved<T>> = {};
  /** One of q or k: projection [N, heads·D] → [per-head norm] → RoPE (· scale) → [B, nkv, rows, D]. */
  const rotated = (lin: typeof layer.q, heads: number, norm: tf.Tensor1D | null, scale: number, key: 'q' | 'k'): T =>
    o.tidy(() => {
      let t = o.reshape(linear(o, model, lin, x, ctx, rec), [N, heads, D]); // [N, heads, D]
      if (norm !== null) {
        const n = rmsNormOps(o, t, o.frozen(norm), eps, save); // per head, over D, before RoPE (Qwen3)
        t = n.y;
        if (save) norms = { ...norms, [`${key}Norm`]: n.saved!.x, [`${key}NormR`]: n.saved!.r };
      }
      t = applyRopeOps(o, t, ctx.rope, scale);
      return key === 'q'
        ? o.reshape(o.transpose(o.reshape(t, [B, T, nkv, g, D]), [0, 2, 3, 1, 4]), [B, nkv, g * T, D]) // [B, nkv, g·T, D]
        : o.transpose(o.reshape(t, [B, T, nkv, D]), [0, 2, 1, 3]); // [B, nkv, T, D]
    });
  // The D^-0.5 score scale goes on q: fewer elements than the [.., T, Tk] scores.
  const qh = rotated(layer.q, nh, layer.qNorm, D ** -0.5, 'q');
  const kh = rotated(layer.k, nkv, layer.kNorm, 1, 'k');
  const vh = o.tidy(() => o.transpose(o.reshape(linear(o, model, layer.v, x, ctx, rec), [B, T, nkv, D]), [0, 2, 1, 3])); // [B, nkv, T, D]
  let keys = kh;
  let values = vh;
  // The KV cache (inference): tensors of this engine, TF.js's or the graph's.
  if (ctx.cache) [keys, values] = (ctx.cache as { append(l: number, k: T, v: T): [T, T] }).append(layerIndex, kh, vh); // [B, nkv, Tk, D] each
  // Tk as -1: a graph's past length varies between decoding steps (one session serves them all).
  const p = o.tidy(() => {
    // Three [B, nkv, g·T, Tk] tensors in a row (scores, masked, probs): each freed once the next exists.
    const scores = o.tidy(() => o.reshape(o.bmm(qh, o.transpose(keys, [0, 1, 3, 2])), [B, nkv, g, T, -1])); // [B, nkv, g, T, Tk]
    const masked = o.add(scores, o.hosted(ctx.mask));
    o.dispose(scores);
    return o.reshape(o.softmax(masked), [B, nkv, g * T, -1]); // [B, nkv, g·T, Tk], softmax in float32
  });
  const y = o.tidy(() => {
    const out = o.reshape(
      o.transpose(o.reshape(o.bmm(p, values), [B, nkv, g, T, D]), [0, 3, 1, 2, 4]), // [B, nkv, g·T, D] → [B, T, nkv, g, D]
      [N, nh * D],
    ); // head j = kv·g + gi, HF's order
    return linear(o, model, layer.o, out, ctx, rec);
  });
  if (!save) {
    o.dispose([qh, kh, vh, p, ...(Object.values(norms) as T[])]);
    return { y };
  }
  return { y, saved: { qh: o.keep(qh), kh: o.keep(kh), vh: o.keep(vh), p: o.keep(p), ...norms } };
}

/** dy [N, H] (gradient of the o_proj output) → gradient w.r.t. the attention input x [N, H]. */
export function attentionBackwardOps<T>(o: Ops<T>, model: LlamaModel, layerIndex: number, s: AttentionSaved<T>, dy: T, ctx: LayerContext, rec: LoraRec<T>, grads: GradSink<T>): T {
  const layer = model.layers[layerIndex];
  const { numHeads: nh, numKvHeads: nkv, headDim: D } = model.config;
  const { B, T } = ctx;
  const N = B * T;
  const g = nh / nkv;
  // [B, nkv, g·T, T] tensors (probs, their gradient) are the widest here: each is freed as soon as it is used.
  const { dqh, dkh, dvh } = o.tidy(() => {
    const dO = o.reshape(
      o.transpose(o.reshape(linearBackward(o, model, layer.o, dy, rec, grads), [B, T, nkv, g, D]), [0, 2, 3, 1, 4]), // [N, nh·D] → [B, nkv, g, T, D]
      [B, nkv, g * T, D],
    ); // [B, nkv, g·T, D]
    const dvh = o.tidy(() => o.bmm(o.transpose(s.p, [0, 1, 3, 2]), dO)); // [B, nkv, T, g·T]·[B, nkv, g·T, D] → [B, nkv, T, D]
    const dP = o.tidy(() => o.bmm(dO, o.transpose(s.vh, [0, 1, 3, 2]))); // [B, nkv, g·T, D]·[B, nkv, D, T]
    o.dispose(dO);
    const rowDot = o.tidy(() => o.sum(o.mul(dP, s.p), -1, true)); // [B, nkv, g·T, 1]
    const centred = o.sub(dP, rowDot);
    o.dispose(dP);
    const dS = o.mul(s.p, centred); // softmax backward, [B, nkv, g·T, T]
    o.dispose(centred);
    const dqh = o.bmm(dS, s.kh); // [B, nkv, g·T, D]
    const dkh = o.tidy(() => o.bmm(o.transpose(dS, [0, 1, 3, 2]), s.qh)); // [B, nkv, T, g·T]·[B, nkv, g·T, D] → [B, nkv, T, D]
    return { dqh, dkh, dvh };
  });
  /** One of dq/dk: back through the head layout, the score scale, RoPE and the per-head norm → [N, heads·D]. */
  const unrotate = (d: T, heads: number, scale: number, norm: tf.Tensor1D | null, saved: NormSaved<T> | null): T =>
    o.tidy(() => {
      let t = heads === nh
        ? o.reshape(o.transpose(o.reshape(d, [B, nkv, g, T, D]), [0, 3, 1, 2, 4]), [N, nh, D]) // [B, nkv, g·T, D] → [N, nh, D]
        : o.reshape(o.transpose(d, [0, 2, 1, 3]), [N, nkv, D]); // [B, nkv, T, D] → [N, nkv, D]
      t = applyRopeBackwardOps(o, t, ctx.rope, scale);
      if (norm !== null) t = rmsNormBackwardOps(o, saved!, o.frozen(norm), t);
      return o.reshape(t, [N, heads * D]);
    });
  const qkNorm = layer.qNorm !== null && layer.kNorm !== null;
  // Each gradient is consumed (and freed) before the next one is unrolled.
  const parts: Array<[typeof layer.q, () => T, T]> = [
    [layer.q, () => unrotate(dqh, nh, D ** -0.5, layer.qNorm, qkNorm ? { x: s.qNorm!, r: s.qNormR! } : null), dqh],
    [layer.k, () => unrotate(dkh, nkv, 1, layer.kNorm, qkNorm ? { x: s.kNorm!, r: s.kNormR! } : null), dkh],
    [layer.v, () => o.tidy(() => o.reshape(o.transpose(dvh, [0, 2, 1, 3]), [N, nkv * D])), dvh],
  ];
  let dx: T | null = null;
  for (const [lin, make, source] of parts) {
    const d = make();
    o.dispose(source);
    const part = linearBackward(o, model, lin, d, rec, grads);
    o.dispose(d);
    const sum: T = dx === null ? part : o.add(dx, part);
    if (dx !== null) o.dispose([dx, part]);
    dx = sum;
  }
  return dx!;
}
