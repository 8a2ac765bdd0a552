// RMSNorm over the last axis: y = w · x · r, r = 1/sqrt(mean(x²) + eps) (no mean subtraction; the weight is used
// as stored, llama-family-spec.md §3.2), and its backward w.r.t. x (the weight is frozen).
import * as tf from '@tensorflow/tfjs';

/** What the backward needs: the input and its per-row scale. */
export interface NormSaved {
  /** [..., d] */
  x: tf.Tensor;
  /** [..., 1] */
  r: tf.Tensor;
}

/** With `save`, x and r are kept (tf.keep) for rmsNormBackward. */
export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number, save = false): { y: T; saved?: NormSaved } {
  const { y, r } = tf.tidy(() => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)); // [..., 1]
    return { y: tf.mul(tf.mul(x, r), w) as T, r };
  });
  if (save) return { y, saved: { x: tf.keep(x), r: tf.keep(r) } };
  r.dispose();
  return { y };
}

/** dL/dx = r · (g − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ w and x̂ = x · r. */
export function rmsNormBackward<T extends tf.Tensor>(s: NormSaved, w: tf.Tensor1D, dy: T): T {
  return tf.tidy(() => {
    const g = tf.mul(dy, w);
    const xh = tf.mul(s.x, s.r);
    return tf.mul(s.r, tf.sub(g, tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true)))) as T;
  });
}
