// Gradient utilities: gradients keyed by param name, global-norm clipping (as
// torch.nn.utils.clip_grad_norm_) and accumulation over micro-batches.
import * as tf from '@tensorflow/tfjs';
import type { Param } from '../model/params.ts';

/** Gradients keyed by Param.name. */
export type Grads = Map<string, tf.Tensor>;

/**
 * Loss and gradients of `f` for `params`, re-keyed by Param.name. Call inside tf.tidy; the
 * returned tensors belong to that scope.
 */
export function paramGrads(f: () => tf.Scalar, params: Param[]): { value: tf.Scalar; grads: Grads } {
  const { value, grads } = tf.variableGrads(f, params.map((p) => p.variable));
  const out: Grads = new Map();
  for (const p of params) {
    // A param that did not influence the loss gets no entry, as torch leaves its .grad None
    // and AdamW then skips it (no decay, no moment update, no step count).
    const g = grads[p.variable.name];
    if (g !== undefined) out.set(p.name, g);
  }
  return { value, grads: out };
}

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

/**
 * Sums weighted gradients of several micro-batches and hands back their weighted mean.
 * With weight = number of scored tokens and each micro-batch loss a per-token mean, the result
 * is the gradient of the mean loss over all tokens of the accumulated batch. The sums are kept
 * out of tidy scopes and owned here until `take()`.
 */
export class GradAccumulator {
  private sums: Grads = new Map();
  private weight = 0;

  get count(): number {
    return this.weight;
  }

  add(grads: Grads, weight = 1): void {
    for (const [name, g] of grads) {
      const prev = this.sums.get(name);
      const next = tf.keep(tf.tidy(() => (prev ? prev.add(g.mul(weight)) : g.mul(weight))));
      prev?.dispose();
      this.sums.set(name, next);
    }
    this.weight += weight;
  }

  /** Weighted mean of what was added; resets. The caller owns (and disposes) the result. */
  take(): Grads {
    const w = this.weight;
    const out: Grads = new Map();
    for (const [name, s] of this.sums) {
      out.set(name, tf.keep(tf.tidy(() => s.div(w))));
      s.dispose();
    }
    this.sums.clear();
    this.weight = 0;
    return out;
  }

  dispose(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.weight = 0;
  }
}
