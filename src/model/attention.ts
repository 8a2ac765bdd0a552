// Self-attention of one layer (llama-family-spec.md §3.4) and the additive mask shared by all layers.
// GQA without repeat_kv: the g = nh/nkv query heads of a kv head are stacked along the query axis
// ([B, nkv, g·T, D]) so one batched matMul against that kv head's keys serves them all, with no copy of k or v.
import * as tf from '@tensorflow/tfjs';
import type { KVCache } from './kv-cache.ts';
import { linear, rmsNorm } from './ops.ts';
import { applyRope, type RopeTables } from './rope.ts';
import type { LayerWeights, LlamaModel } from './weights.ts';

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

export interface AttentionContext {
  B: number;
  T: number;
  rope: RopeTables;
  /** [B, 1, 1, T, Tk] additive. */
  mask: tf.Tensor;
  cache?: KVCache;
}

/** x: input-normed hidden states [N = B·T, H] → attention output after o_proj, [N, H]. */
export function attention(model: LlamaModel, layerIndex: number, x: tf.Tensor2D, ctx: AttentionContext): tf.Tensor2D {
  const layer: LayerWeights = model.layers[layerIndex];
  const { numHeads: nh, numKvHeads: nkv, headDim: D, rmsNormEps: eps } = model.config;
  const { B, T } = ctx;
  const N = B * T;
  const g = nh / nkv;
  let q = linear(model, layer.q, x).reshape([N, nh, D]) as tf.Tensor3D; // [N, nh, D]
  let k = linear(model, layer.k, x).reshape([N, nkv, D]) as tf.Tensor3D; // [N, nkv, D]
  const v = linear(model, layer.v, x); // [N, nkv·D]
  if (layer.qNorm !== null && layer.kNorm !== null) {
    q = rmsNorm(q, layer.qNorm, eps); // per head, over D, before RoPE (Qwen3)
    k = rmsNorm(k, layer.kNorm, eps);
  }
  // The D^-0.5 score scale goes on q: fewer elements than the [.., T, Tk] scores.
  q = tf.mul(applyRope(q, ctx.rope), D ** -0.5);
  k = applyRope(k, ctx.rope);
  const qh = q.reshape([B, T, nkv, g, D]).transpose([0, 2, 3, 1, 4]).reshape([B, nkv, g * T, D]); // [B, nkv, g·T, D]
  let kT = k.reshape([B, T, nkv, D]).transpose([0, 2, 3, 1]) as tf.Tensor4D; // [B, nkv, D, T]
  let vh = v.reshape([B, T, nkv, D]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // [B, nkv, T, D]
  if (ctx.cache) [kT, vh] = ctx.cache.append(layerIndex, kT, vh); // [B, nkv, D, Tk], [B, nkv, Tk, D]
  const Tk = kT.shape[3];
  const scores = tf.matMul(qh, kT).reshape([B, nkv, g, T, Tk]); // [B, nkv, g, T, Tk]
  const probs = tf.softmax(tf.add(scores, ctx.mask)).reshape([B, nkv, g * T, Tk]); // softmax in float32
  const o = tf
    .matMul(probs, vh) // [B, nkv, g·T, D]
    .reshape([B, nkv, g, T, D])
    .transpose([0, 3, 1, 2, 4]) // [B, T, nkv, g, D]
    .reshape([N, nh * D]) as tf.Tensor2D; // head j = kv·g + gi, HF's order
  return linear(model, layer.o, o);
}
