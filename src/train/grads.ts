// Gradients keyed by param name, and global-norm clipping as torch.nn.utils.clip_grad_norm_. (Accumulation over
// micro-batches needs no helper: each micro-batch adds its gradients, weighted 1/(scored tokens of the update), to
// one sink: step.ts.)
import * as tf from '@tensorflow/tfjs';

/** Gradients keyed by Param.name. */
export type Grads = Map<string, tf.Tensor>;

/**
 * Global L2 norm over all gradients, and the coefficient that scales them to at most `maxNorm`. Same
 * arithmetic as torch's clip_grad_norm_: norm of the per-tensor norms, coef = maxNorm / (norm + 1e-6)
 * clamped to 1 (the optimizer multiplies each gradient by it, one parameter at a time, so no clipped copy
 * of every gradient exists at once). `maxNorm <= 0` turns clipping off: coef 1, the norm still reported.
 */
export function clipGradNorm(grads: Grads, maxNorm: number): { norm: number; coef: number } {
  const norm = tf.tidy(() => {
    const norms = [...grads.values()].map((g) => tf.norm(g));
    return norms.length === 0 ? tf.scalar(0) : tf.norm(tf.stack(norms));
  });
  const n = norm.dataSync()[0];
  norm.dispose();
  if (!(maxNorm > 0)) return { norm: n, coef: 1 };
  // float32 like torch: the coefficient is computed and clamped in single precision.
  return { norm: n, coef: Math.min(Math.fround(maxNorm / Math.fround(n + 1e-6)), 1) };
}
