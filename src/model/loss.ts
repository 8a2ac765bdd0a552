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
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    if (!(t >= 0 && t < V)) throw new ModelInputInvalid(`targets[${i}] = ${t} is outside [0, ${V}) and is not ${IGNORE_INDEX}`);
    rows.push(i);
    pairs.push(i, t);
  }
  const count = rows.length;
  if (count === 0) return tf.tidy(() => tf.mul(tf.sum(logits), 0).add(reduction === 'mean' ? NaN : 0));
  const scale = reduction === 'mean' ? 1 / count : 1;
  // Per-row log of the softmax weight: log(scale) on scored rows, −inf on ignored ones, so
  // exp(z − lse + logW) is the weighted softmax in one pass and exactly 0 where nothing is scored.
  const logW = new Float32Array(N).fill(-Infinity);
  for (const r of rows) logW[r] = Math.log(scale);

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
        // d loss / d z = (softmax(z) − onehot(target)) · scale · dy; the one-hot part is a scatter of count values.
        const shift = tf.sub(lseS, tf.tensor1d(logW)).reshape([N, 1]); // [N, 1]
        const soft = tf.mul(tf.exp(tf.sub(zs, shift)), dy); // [N, V]
        const hot = tf.scatterND(tf.tensor2d(pairs, [count, 2], 'int32'), tf.mul(tf.fill([count], scale), dy), [N, V]);
        return tf.sub(soft, hot);
      });
    return { value, gradFunc };
  });
  return fused(logits);
}
