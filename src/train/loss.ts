// Causal-LM cross-entropy, fused (architecture.md §3): the forward is one log-sum-exp over the vocabulary plus a
// gather of the target logits, and the gradient is written directly as softmax − onehot, so autodiff never walks
// log/softmax/gather (tf.gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks) and labels never
// become a float [N, V] input. Semantics follow HF ForCausalLMLoss (spec §4): ignore index −100, token mean.
import * as tf from '@tensorflow/tfjs';
import { ModelInputInvalid } from '../errors.ts';

export const IGNORE_INDEX = -100;

/** HF shift: target[b, t] = labels[b, t+1]; the last position of each row has no target. [B*T] → [B*T]. */
export function shiftLabels(labels: Int32Array, B: number, T: number): Int32Array {
  if (labels.length !== B * T) throw new ModelInputInvalid(`labels has ${labels.length} entries, expected B*T = ${B * T}`);
  const out = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) out.set(labels.subarray(b * T + 1, (b + 1) * T), b * T);
  return out;
}

/** Targets that are scored (not −100). */
export function countTargets(targets: Int32Array): number {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== IGNORE_INDEX) n++;
  return n;
}

/**
 * Cross-entropy of logits [N, V] against targets [N] (already shifted; −100 = ignored).
 * 'mean' divides by the number of scored targets (NaN when there are none, as PyTorch gives);
 * 'sum' does not, for accumulation over micro-batches (divide by the global count yourself).
 * Differentiable with respect to `logits` on every backend.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: Int32Array, reduction: 'mean' | 'sum' = 'mean'): tf.Scalar {
  const [N, V] = logits.shape;
  if (targets.length !== N) throw new ModelInputInvalid(`targets has ${targets.length} entries, logits has ${N} rows`);
  const rows: number[] = [];
  const pairs: number[] = [];
  const onehotIds = new Int32Array(N).fill(-1); // −1: tf.oneHot gives an all-zero row
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    if (!(t >= 0 && t < V)) throw new ModelInputInvalid(`targets[${i}] = ${t} is outside [0, ${V}) and is not ${IGNORE_INDEX}`);
    rows.push(i);
    pairs.push(i, t);
    onehotIds[i] = t;
  }
  const count = rows.length;
  if (count === 0) return tf.tidy(() => tf.mul(tf.sum(logits), 0).add(reduction === 'mean' ? NaN : 0));
  const scale = reduction === 'mean' ? 1 / count : 1;
  const weights = new Float32Array(N); // per-row weight of the softmax term: scale on scored rows, 0 elsewhere
  for (const r of rows) weights[r] = scale;

  const fused = tf.customGrad<tf.Scalar>((...args) => {
    const z = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const lse = tf.logSumExp(z, 1); // [N]
    save([z, lse]);
    const value = tf.tidy(() => {
      const picked = tf.gatherND(z, tf.tensor2d(pairs, [count, 2], 'int32')); // [count] target logits
      const lseScored = tf.gather(lse, tf.tensor1d(rows, 'int32')); // [count]
      return tf.mul(tf.sum(tf.sub(lseScored, picked)), scale) as tf.Scalar;
    });
    const gradFunc = (dy: tf.Scalar, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [zs, lseS] = saved;
        // d loss / d z = (softmax(z) − onehot(target)) · weight, times the upstream dy (a scalar).
        const probs = tf.exp(tf.sub(zs, lseS.reshape([N, 1]))); // [N, V]
        const w = tf.mul(tf.tensor2d(weights, [N, 1]), dy); // [N, 1]
        // int32 then cast: tfjs-backend-wasm 4.22's OneHot ignores dtype 'float32' and writes int bit patterns.
        const onehot = tf.oneHot(tf.tensor1d(onehotIds, 'int32'), V).cast('float32'); // [N, V], zero rows where ignored
        return tf.sub(tf.mul(probs, w), tf.mul(onehot, tf.mul(dy, scale)));
      });
    return { value, gradFunc };
  });
  return fused(logits);
}
