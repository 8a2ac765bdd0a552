// Building blocks every layer repeats: matMuls whose gradients stay fast on wasm, a linear (with the LoRA hook)
// and RMSNorm.
//
// Why the custom gradients: TF.js differentiates matMul(a, b) into matMul(dy, b, false, true) and
// matMul(a, dy, true, false). On the wasm backend those transposed forms run about 10x slower than a plain
// matMul after an explicit transpose (measured: [1024,576]·[1536,576]ᵀ 1.57 s vs 0.13 s), so the backward pass
// would dominate training. The gradients below transpose explicitly and multiply plainly.
import * as tf from '@tensorflow/tfjs';
import type { Linear, LlamaModel } from './weights.ts';

/**
 * x [N, in] · wT [in, out] for a frozen wT: only x gets a gradient (dx = dy · wTᵀ), and the weight gradient,
 * as costly as the forward, is never computed.
 */
export function frozenMatMul(x: tf.Tensor2D, wT: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad<tf.Tensor2D>((...args) => {
    const value = tf.matMul(args[0] as tf.Tensor2D, wT) as tf.Tensor2D;
    return { value, gradFunc: (dy: tf.Tensor2D) => tf.tidy(() => tf.matMul(dy, tf.transpose(wT)) as tf.Tensor2D) };
  });
  return f(x);
}

/** a [M, K] · b [K, N] where both may need gradients (e.g. LoRA factors): da = dy · bᵀ, db = aᵀ · dy. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad<tf.Tensor2D>((...args) => {
    const [x, y] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    save([x, y]);
    return {
      value: tf.matMul(x, y) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, [xs, ys]: tf.Tensor[]) =>
        tf.tidy(() => [tf.matMul(dy, tf.transpose(ys)), tf.matMul(tf.transpose(xs), dy)]),
    };
  });
  return f(a, b);
}

/** x: [N, in] → [N, out]. The model's linearHook (LoRA) sees every call with the frozen output. */
export function linear(model: LlamaModel, lin: Linear, x: tf.Tensor2D): tf.Tensor2D {
  let y = frozenMatMul(x, lin.wT);
  if (lin.bias !== null) y = tf.add(y, lin.bias);
  return model.linearHook ? model.linearHook(lin.name, x, y) : y;
}

/** RMSNorm over the last axis: w · x / sqrt(mean(x²) + eps) (no mean subtraction, weight used as-is). */
export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  const ms = tf.mean(tf.square(x), -1, true); // [..., 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w) as T;
}
