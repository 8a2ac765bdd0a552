// The two building blocks every layer repeats: a linear (with the LoRA hook) and RMSNorm.
import * as tf from '@tensorflow/tfjs';
import type { Linear, LlamaModel } from './weights.ts';

/** x: [N, in] → [N, out]. Bias is fused into the matMul kernel; the model's linearHook (LoRA) sees every call. */
export function linear(model: LlamaModel, lin: Linear, x: tf.Tensor2D): tf.Tensor2D {
  const y = (lin.bias === null ? tf.matMul(x, lin.wT) : tf.fused.matMul({ a: x, b: lin.wT, bias: lin.bias })) as tf.Tensor2D;
  return model.linearHook ? model.linearHook(lin.name, x, y) : y;
}

/** RMSNorm over the last axis: w · x / sqrt(mean(x²) + eps) (no mean subtraction, weight used as-is). */
export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  const ms = tf.mean(tf.square(x), -1, true); // [..., 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w) as T;
}
