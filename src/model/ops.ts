// Matrix products with frozen weights, written for the wasm backend's two fast-path rules (tfjs-backend-wasm 4.22,
// src/cc/batch_mat_mul_impl.cc):
//  1. Only matMul(a, b) with no transpose flag and a batch of 1 reaches XNNPACK (10-30 GFLOP/s); any transposed or
//     batched product falls back to a plain loop (~1 GFLOP/s). So every product here is plain, after an explicit
//     tf.transpose when needed.
//  2. XNNPACK packs the RIGHT operand and caches the packed copy until that tensor is disposed. A frozen weight used
//     as a right operand therefore lives twice in the heap for the whole run (measured: 64 MiB of weights → +69 MiB).
//     Frozen matrices are never a right operand here: they enter as a fresh temporary (a transpose, or a copy), which
//     is packed for one call and freed with it.
// Weights are kept as Hugging Face stores them, W [out, in]: one copy, no transpose at load.
import * as tf from '@tensorflow/tfjs';
import { onWasm } from './wasm-backend.ts';

/**
 * x [N, in] · Wᵀ for a frozen W [out, in] → [N, out], in whichever of two plain forms costs less:
 *  - x·(Wᵀ): Wᵀ is a temporary that XNNPACK transposes and packs for this one call (~ in·out of memory traffic);
 *  - (W·xᵀ)ᵀ: W is the left operand, read in place and never packed; only the activations are transposed
 *    (~ N·(in + out)). Measured 1.6-1.8x faster for [512, 896]·[896, 4864]; generation's one-row steps use it too.
 * The second wins when the weight outweighs the activations: in ≥ N.
 */
export function frozenLinear(x: tf.Tensor2D, W: tf.Tensor2D): tf.Tensor2D {
  const [N, inF] = x.shape;
  if (inF >= N) return tf.tidy(() => tf.transpose(tf.matMul(W, tf.transpose(x)))) as tf.Tensor2D; // [out, N] → [N, out]
  return tf.tidy(() => tf.matMul(x, tf.transpose(W))) as tf.Tensor2D;
}

/** dy [N, out] · W for a frozen W [out, in] → dx [N, in]: the gradient w.r.t. the input. */
export function frozenLinearBackward(dy: tf.Tensor2D, W: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(dy, tf.clone(W))) as tf.Tensor2D; // a copy (wasm's Identity copies), so W itself is never packed
}

/**
 * When a batched product is split into plain 2-D ones (see bmm): rows and multiply-adds per batch element from
 * which XNNPACK's set-up per call pays off. Measured on wasm (32 elements): [128,64]·[64,128] (a reference-shape
 * attention score) 32.1 ms batched vs 6.4 ms split; [64,64]·[64,64] 7.7 vs 2.2; [32,64]·[64,32] 1.9 vs 1.3;
 * [8,64]·[64,128] 2.0 vs 2.3; one-row generation products [1,64]·[64,512] 1.3 vs 6.4.
 */
const SPLIT_ROWS = 16;
const SPLIT_MACS = 2 ** 16;

/** Whether bmm on wasm splits a batched [M, K]·[K, N] product into one plain product per element (the memory plan asks too). */
export function bmmSplits(batch: number, M: number, K: number, N: number): boolean {
  return batch > 1 && M >= SPLIT_ROWS && M * K * N >= SPLIT_MACS;
}

/**
 * Batched a [..., M, K] · b [..., K, N]. The wasm backend sends any product with a batch > 1 to its plain loop
 * (~2 GFLOP/s); past a size, one XNNPACK product per batch element (slices are cheap heap copies, the results
 * one concat) is faster despite XNNPACK's set-up per call (5-6x for attention at T=128). Small products, and the
 * one-row products of generation, stay batched.
 */
export function bmm(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.rank - 1];
  const lead = a.shape.slice(0, -2);
  const batch = lead.reduce((x, y) => x * y, 1);
  if (!onWasm() || !bmmSplits(batch, M, K, N)) return tf.matMul(a, b);
  return tf.tidy(() => {
    const a3 = a.reshape([batch, M, K]);
    const b3 = b.reshape([batch, K, N]);
    // One element at a time, its slices freed right after: the result and its pieces are all that accumulate.
    const parts = Array.from({ length: batch }, (_, i) => tf.tidy(() => tf.matMul(a3.slice([i, 0, 0], [1, M, K]).reshape([M, K]), b3.slice([i, 0, 0], [1, K, N]).reshape([K, N]))));
    return tf.concat(parts, 0).reshape([...lead, M, N]);
  });
}
