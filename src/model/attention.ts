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
  // Each scope frees its temporaries (projections, RoPE halves, scores) before the next one allocates.
  const { qh, kh, vh, norms } = tidy(() => {
    let q = linear(model, layer.q, x, ctx, rec).reshape([N, nh, D]) as tf.Tensor3D; // [N, nh, D]
    let k = linear(model, layer.k, x, ctx, rec).reshape([N, nkv, D]) as tf.Tensor3D; // [N, nkv, D]
    const v = linear(model, layer.v, x, ctx, rec); // [N, nkv·D]
    let norms: Partial<AttentionSaved> = {};
    if (layer.qNorm !== null && layer.kNorm !== null) {
      const qn = rmsNorm(q, layer.qNorm, eps, save); // per head, over D, before RoPE (Qwen3)
      const kn = rmsNorm(k, layer.kNorm, eps, save);
      [q, k] = [qn.y, kn.y];
      if (save) norms = { qNorm: qn.saved!.x, qNormR: qn.saved!.r, kNorm: kn.saved!.x, kNormR: kn.saved!.r };
    }
    // The D^-0.5 score scale goes on q: fewer elements than the [.., T, Tk] scores.
    q = tf.mul(applyRope(q, ctx.rope), D ** -0.5);
    k = applyRope(k, ctx.rope);
    return {
      qh: q.reshape([B, T, nkv, g, D]).transpose([0, 2, 3, 1, 4]).reshape([B, nkv, g * T, D]) as tf.Tensor4D, // [B, nkv, g·T, D]
      kh: k.reshape([B, T, nkv, D]).transpose([0, 2, 1, 3]) as tf.Tensor4D, // [B, nkv, T, D]
      vh: v.reshape([B, T, nkv, D]).transpose([0, 2, 1, 3]) as tf.Tensor4D, // [B, nkv, T, D]
      norms,
    };
  });
  let keys = kh;
  let values = vh;
  if (ctx.cache) [keys, values] = ctx.cache.append(layerIndex, kh, vh); // [B, nkv, Tk, D] each
  const Tk = keys.shape[2];
  const p = tidy(() => {
    const scores = bmm(qh, tf.transpose(keys, [0, 1, 3, 2])).reshape([B, nkv, g, T, Tk]); // [B, nkv, g, T, Tk]
    return tf.softmax(tf.add(scores, ctx.mask)).reshape([B, nkv, g * T, Tk]) as tf.Tensor4D; // softmax in float32
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
  const { dqh, dkh, dvh } = tidy(() => {
    const dO = linearBackward(model, layer.o, dy, rec, grads) // [N, nh·D]
      .reshape([B, T, nkv, g, D])
      .transpose([0, 2, 3, 1, 4])
      .reshape([B, nkv, g * T, D]) as tf.Tensor4D; // [B, nkv, g·T, D]
    const dvh = bmm(tf.transpose(s.p, [0, 1, 3, 2]), dO); // [B, nkv, T, g·T]·[B, nkv, g·T, D] → [B, nkv, T, D]
    const dP = bmm(dO, tf.transpose(s.vh, [0, 1, 3, 2])); // [B, nkv, g·T, D]·[B, nkv, D, T]
    const dS = tf.mul(s.p, tf.sub(dP, tf.sum(tf.mul(dP, s.p), -1, true))); // softmax backward, [B, nkv, g·T, T]
    return {
      dqh: bmm(dS, s.kh), // [B, nkv, g·T, D]
      dkh: bmm(tf.transpose(dS, [0, 1, 3, 2]), s.qh), // [B, nkv, T, g·T]·[B, nkv, g·T, D] → [B, nkv, T, D]
      dvh,
    };
  });
  const { dq, dk, dv } = tidy(() => {
    let dq = tf.mul(dqh.reshape([B, nkv, g, T, D]).transpose([0, 3, 1, 2, 4]).reshape([N, nh, D]), D ** -0.5) as tf.Tensor3D;
    let dk = dkh.transpose([0, 2, 1, 3]).reshape([N, nkv, D]) as tf.Tensor3D;
    dq = applyRopeBackward(dq, ctx.rope);
    dk = applyRopeBackward(dk, ctx.rope);
    if (layer.qNorm !== null && layer.kNorm !== null) {
      dq = rmsNormBackward({ x: s.qNorm!, r: s.qNormR! }, layer.qNorm, dq);
      dk = rmsNormBackward({ x: s.kNorm!, r: s.kNormR! }, layer.kNorm, dk);
    }
    return { dq: dq.reshape([N, nh * D]) as tf.Tensor2D, dk: dk.reshape([N, nkv * D]) as tf.Tensor2D, dv: dvh.transpose([0, 2, 1, 3]).reshape([N, nkv * D]) as tf.Tensor2D };
  });
  tf.dispose([dqh, dkh, dvh]);
  const dx = tf.add(linearBackward(model, layer.q, dq, rec, grads), linearBackward(model, layer.k, dk, rec, grads));
  return tf.add(dx, linearBackward(model, layer.v, dv, rec, grads)) as tf.Tensor2D;
}
