// RMSNorm over the last axis: y = w · x · r, r = 1/sqrt(mean(x²) + eps) (no mean subtraction; the weight is used
// as stored, llama-family-spec.md §3.2), and its backward w.r.t. x (the weight is frozen). Written once against the
// op vocabulary (tensor-ops.ts); rmsNorm / rmsNormBackward are the TF.js entry points.
import type * as tf from '@tensorflow/tfjs';
import { tfOps, type Ops } from './tensor-ops.ts';

/** What the backward needs: the input and its per-row scale. */
export interface NormSaved<T = tf.Tensor> {
  /** [..., d] */
  x: T;
  /** [..., 1] */
  r: T;
}

/** With `save`, x and r are kept (o.keep) for the backward. */
export function rmsNormOps<T>(o: Ops<T>, x: T, w: T, eps: number, save = false): { y: T; saved?: NormSaved<T> } {
  const { y, r } = o.fused ? o.fused.rmsNorm(x, w, eps) : o.tidy(() => {
    const r = o.rsqrt(o.add(o.mean(o.square(x), -1, true), eps)); // [..., 1]
    return { y: o.mul(o.mul(x, r), w), r };
  });
  if (save) return { y, saved: { x: o.keep(x), r: o.keep(r) } };
  o.dispose(r);
  return { y };
}

/** dL/dx = r · (g − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ w and x̂ = x · r. */
export function rmsNormBackwardOps<T>(o: Ops<T>, s: NormSaved<T>, w: T, dy: T): T {
  return o.tidy(() => {
    const g = o.mul(dy, w);
    const xh = o.mul(s.x, s.r);
    return o.mul(s.r, o.sub(g, o.mul(xh, o.mean(o.mul(g, xh), -1, true))));
  });
}

export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number, save = false): { y: T; saved?: NormSaved } {
  return rmsNormOps(tfOps, x, w, eps, save) as { y: T; saved?: NormSaved };
}

export function rmsNormBackward<T extends tf.Tensor>(s: NormSaved, w: tf.Tensor1D, dy: T): T {
  return rmsNormBackwardOps(tfOps, s, w, dy) as T;
}
