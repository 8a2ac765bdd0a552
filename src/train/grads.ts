// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_. (Accumulation over micro-batches needs no
// helper: each micro-batch adds its gradients, weighted 1/(scored tokens of the update), to one sink: step.ts.)
import * as tf from '@tensorflow/tfjs';
import type { Grads } from './params.ts';

/**
 * Global L2 norm over all gradients, and the gradients scaled so that norm is at most
 * `maxNorm`. Same arithmetic as torch's clip_grad_norm_: norm of the per-tensor norms,
 * coef = maxNorm / (norm + 1e-6) clamped to 1, every gradient multiplied by coef.
 * `maxNorm <= 0` turns clipping off (the norm is still returned, for the log line).
 * Returned tensors belong to the caller's tidy scope.
 */
export function clipGradNorm(grads: Grads, maxNorm: number): { grads: Grads; norm: tf.Scalar } {
  const norms = [...grads.values()].map((g) => tf.norm(g));
  const norm = (norms.length === 0 ? tf.scalar(0) : tf.norm(tf.stack(norms))) as tf.Scalar;
  if (!(maxNorm > 0)) return { grads, norm };
  const coef = tf.minimum(tf.scalar(maxNorm).div(norm.add(1e-6)), 1);
  const clipped: Grads = new Map();
  for (const [name, g] of grads) clipped.set(name, g.mul(coef));
  return { grads: clipped, norm };
}
