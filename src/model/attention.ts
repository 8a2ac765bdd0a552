// Self-attention of one layer (llama-family-spec.md §3.4) and the additive mask shared by all layers.
// GQA without repeat_kv: the g = nh/nkv query heads of a kv head are stacked along the query axis
// ([B, nkv, g·T, D]) so one batched matMul against that kv head's keys serves them all, with no copy of k or v.
import * as tf from '@tensorflow/tfjs';
import { linear, linearBackward, type GradSink, type LayerContext } from './layer.ts';
import { bmm } from './ops.ts';
import { tidy } from './scope.ts';
import { rmsNorm, rmsNormBackward, type NormSaved } from './norm.ts';
import { applyRope, applyRopeBackward } from './rope.ts';
import type { LlamaModel } from './weights.ts';

/** Large enough that exp() underflows to exactly 0 in float32, finite so no inf arithmetic can make a NaN. */
const MASKED = -1e9;

/**
 * Segment id per token from position ids [B*T]: a new segment starts wherever p[t] ≠ p[t-1] + 1 (the rule HF's
 * mask path uses for packed rows, spec §4). Row starts always begin a segment.
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
export interface AttentionSaved {
  /** Rotated, scaled queries [B, nkv, g·T, D]. */
  qh: tf.Tensor4D;
  /** Rotated keys [B, nkv, T, D]. */
  kh: tf.Tensor4D;
  /** Values [B, nkv, T, D]. */
  vh: tf.Tensor4D;
  /** Softmax probabilities [B, nkv, g·T, T]. */
  p: tf.Tensor4D;
  /** Qwen3 q/k norms (inputs [N, heads, D]); absent otherwise. */
  qNorm?: NormSaved['x'];
  qNormR?: NormSaved['r'];
  kNorm?: NormSaved['x'];
  kNormR?: NormSaved['r'];
}

type LoraRec = Parameters<typeof linear>[4];

/** x: input-normed hidden states [N = B·T, H] → attention output after o_proj, [N, H]. */
export function attentionForward(model: LlamaModel, layerIndex: number, x: tf.Tensor2D, ctx: LayerContext, rec?: LoraRec, save = false): { y: tf.Tensor2D; saved?: AttentionSaved } {
  const layer = model.layers[layerIndex];
  const { numHeads: nh, numKvHeads: nkv, headDim: D, rmsNormEps: eps } = model.config;
  const { B, T } = ctx;
  const N = B * T;
  const g = nh / nkv;
  // Each scope frees its temporaries (projection, norm, RoPE halves, scores) before the next one allocates.
  let norms: Partial<AttentionSaved> = {};
  /** One of q or k: projection [N, heads·D] → [per-head norm] → RoPE (· scale) → [B, nkv, rows, D]. */
  const rotated = (lin: typeof layer.q, heads: number, norm: tf.Tensor1D | null, scale: number, key: 'q' | 'k'): tf.Tensor4D =>
    tidy(() => {
      let t = linear(model, lin, x, ctx, rec).reshape([N, heads, D]) as tf.Tensor3D; // [N, heads, D]
      if (norm !== null) {
        const n = rmsNorm(t, norm, eps, save); // per head, over D, before RoPE (Qwen3)
        t = n.y;
        if (save) norms = { ...norms, [`${key}Norm`]: n.saved!.x, [`${key}NormR`]: n.saved!.r };
      }
      t = applyRope(t, ctx.rope);
      if (scale !== 1) t = tf.mul(t, scale);
      return key === 'q'
        ? (t.reshape([B, T, nkv, g, D]).transpose([0, 2, 3, 1, 4]).reshape([B, nkv, g * T, D]) as tf.Tensor4D) // [B, nkv, g·T, D]
        : (t.reshape([B, T, nkv, D]).transpose([0, 2, 1, 3]) as tf.Tensor4D); // [B, nkv, T, D]
    });
  // The D^-0.5 score scale goes on q: fewer elements than the [.., T, Tk] scores.
  const qh = rotated(layer.q, nh, layer.qNorm, D ** -0.5, 'q');
  const kh = rotated(layer.k, nkv, layer.kNorm, 1, 'k');
  const vh = tidy(() => linear(model, layer.v, x, ctx, rec).reshape([B, T, nkv, D]).transpose([0, 2, 1, 3]) as tf.Tensor4D); // [B, nkv, T, D]
  let keys = kh;
  let values = vh;
  if (ctx.cache) [keys, values] = ctx.cache.append(layerIndex, kh, vh); // [B, nkv, Tk, D] each
  const Tk = keys.shape[2];
  const p = tidy(() => {
    // Three [B, nkv, g·T, Tk] tensors in a row (scores, masked, probs): each freed once the next exists.
    const scores = tf.tidy(() => bmm(qh, tf.transpose(keys, [0, 1, 3, 2])).reshape([B, nkv, g, T, Tk])); // [B, nkv, g, T, Tk]
    const masked = tf.add(scores, ctx.mask);
    scores.dispose();
    return tf.softmax(masked).reshape([B, nkv, g * T, Tk]) as tf.Tensor4D; // softmax in float32
  });
  const y = tidy(() => {
    const o = bmm(p, values) // [B, nkv, g·T, D]
      .reshape([B, nkv, g, T, D])
      .transpose([0, 3, 1, 2, 4]) // [B, T, nkv, g, D]
      .reshape([N, nh * D]) as tf.Tensor2D; // head j = kv·g + gi, HF's order
    return linear(model, layer.o, o, ctx, rec);
  });
  if (!save) {
    tf.dispose([qh, kh, vh, p, ...Object.values(norms)]);
    return { y };
  }
  return { y, saved: { qh: tf.keep(qh), kh: tf.keep(kh), vh: tf.keep(vh), p: tf.keep(p), ...norms } };
}

/** dy [N, H] (gradient of the o_proj output) → gradient w.r.t. the attention input x [N, H]. */
export function attentionBackward(model: LlamaModel, layerIndex: number, s: AttentionSaved, dy: tf.Tensor2D, ctx: LayerContext, rec: NonNullable<LoraRec>, grads: GradSink): tf.Tensor2D {
  const layer = model.layers[layerIndex];
  const { numHeads: nh, numKvHeads: nkv, headDim: D } = model.config;
  const { B, T } = ctx;
  const N = B * T;
  const g = nh / nkv;
  // [B, nkv, g·T, T] tensors (probs, their gradient) are the widest here: each is freed as soon as it is used.
  const { dqh, dkh, dvh } = tidy(() => {
    const dO = linearBackward(model, layer.o, dy, rec, grads) // [N, nh·D]
      .reshape([B, T, nkv, g, D])
      .transpose([0, 2, 3, 1, 4])
      .reshape([B, nkv, g * T, D]) as tf.Tensor4D; // [B, nkv, g·T, D]
    const dvh = tf.tidy(() => bmm(tf.transpose(s.p, [0, 1, 3, 2]), dO)) as tf.Tensor4D; // [B, nkv, T, g·T]·[B, nkv, g·T, D] → [B, nkv, T, D]
    const dP = tf.tidy(() => bmm(dO, tf.transpose(s.vh, [0, 1, 3, 2]))); // [B, nkv, g·T, D]·[B, nkv, D, T]
    dO.dispose();
    const rowDot = tf.tidy(() => tf.sum(tf.mul(dP, s.p), -1, true)); // [B, nkv, g·T, 1]
    const centred = tf.sub(dP, rowDot);
    dP.dispose();
    const dS = tf.mul(s.p, centred); // softmax backward, [B, nkv, g·T, T]
    centred.dispose();
    const dqh = bmm(dS, s.kh) as tf.Tensor4D; // [B, nkv, g·T, D]
    const dkh = tf.tidy(() => bmm(tf.transpose(dS, [0, 1, 3, 2]), s.qh)) as tf.Tensor4D; // [B, nkv, T, g·T]·[B, nkv, g·T, D] → [B, nkv, T, D]
    return { dqh, dkh, dvh };
  });
  /** One of dq/dk: back through the head layout, the score scale, RoPE and the per-head norm → [N, heads·D]. */
  const unrotate = (d: tf.Tensor4D, heads: number, scale: number, norm: tf.Tensor1D | null, saved: NormSaved | null): tf.Tensor2D =>
    tf.tidy(() => {
      let t = (heads === nh
        ? d.reshape([B, nkv, g, T, D]).transpose([0, 3, 1, 2, 4]).reshape([N, nh, D]) // [B, nkv, g·T, D] → [N, nh, D]
        : d.transpose([0, 2, 1, 3]).reshape([N, nkv, D])) as tf.Tensor3D; // [B, nkv, T, D] → [N, nkv, D]
      if (scale !== 1) t = tf.mul(t, scale);
      t = applyRopeBackward(t, ctx.rope);
      if (norm !== null) t = rmsNormBackward(saved!, norm, t);
      return t.reshape([N, heads * D]) as tf.Tensor2D;
    });
  const qkNorm = layer.qNorm !== null && layer.kNorm !== null;
  // Each gradient is consumed (and freed) before the next one is unrolled.
  const parts: Array<[typeof layer.q, () => tf.Tensor2D, tf.Tensor]> = [
    [layer.q, () => unrotate(dqh, nh, D ** -0.5, layer.qNorm, qkNorm ? { x: s.qNorm!, r: s.qNormR! } : null), dqh],
    [layer.k, () => unrotate(dkh, nkv, 1, layer.kNorm, qkNorm ? { x: s.kNorm!, r: s.kNormR! } : null), dkh],
    [layer.v, () => tf.tidy(() => dvh.transpose([0, 2, 1, 3]).reshape([N, nkv * D]) as tf.Tensor2D), dvh],
  ];
  let dx: tf.Tensor2D | null = null;
  for (const [lin, make, source] of parts) {
    const d = make();
    source.dispose();
    const part = linearBackward(model, lin, d, rec, grads);
    d.dispose();
    const sum: tf.Tensor2D = dx === null ? part : (tf.add(dx, part) as tf.Tensor2D);
    if (dx !== null) tf.dispose([dx, part]);
    dx = sum;
  }
  return dx!;
}
