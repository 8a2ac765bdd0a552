// Rotary position embedding, HF "rotate half" pairing: dimension j turns with j + D/2 (llama-family-spec.md §3.3).
// Frequencies and angles are computed in float64 in JS and rounded once to float32, so large positions lose
// no precision before the cos/sin (HF computes them in float32; the difference is far below 1e-4).
import * as tf from '@tensorflow/tfjs';
import type { RopeConfig } from './config.ts';
import { tfOps, type Ops } from './tensor-ops.ts';

/** inv_freq[j] for j < D/2, with linear / llama3 scaling applied. */
export function invFreq(rope: RopeConfig, headDim: number): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.pow(rope.theta, (2 * j) / headDim);
  if (rope.type === 'linear') {
    for (let j = 0; j < half; j++) inv[j] /= rope.factor;
  } else if (rope.type === 'llama3') {
    const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositionEmbeddings: old } = rope;
    const lowWavelen = old / low;
    const highWavelen = old / high;
    for (let j = 0; j < half; j++) {
      const wavelen = (2 * Math.PI) / inv[j];
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) {
        inv[j] /= factor;
      } else {
        // Between the two bands: blend, continuous at both edges.
        const s = (old / wavelen - low) / (high - low);
        inv[j] = ((1 - s) * inv[j]) / factor + s * inv[j];
      }
    }
  }
  return inv;
}

/** cos and sign-folded sin for N positions: [N, 1, D] each, broadcast over heads. Caller disposes. */
export interface RopeTables {
  cos: tf.Tensor3D;
  /** [-sin, +sin] halves, so that rope(x) = x·cos + swapHalves(x)·sinSigned. */
  sinSigned: tf.Tensor3D;
}

export function ropeTables(positions: Int32Array, inv: Float64Array): RopeTables {
  const half = inv.length;
  const D = 2 * half;
  const N = positions.length;
  const cos = new Float32Array(N * D);
  const sin = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    const p = positions[n];
    const row = n * D;
    for (let j = 0; j < half; j++) {
      const a = p * inv[j];
      const c = Math.cos(a);
      const s = Math.sin(a);
      cos[row + j] = c;
      cos[row + half + j] = c;
      sin[row + j] = -s;
      sin[row + half + j] = s;
    }
  }
  return { cos: tf.tensor3d(cos, [N, 1, D]), sinSigned: tf.tensor3d(sin, [N, 1, D]) };
}

/** [N, heads, D] with its two halves exchanged. Two slices and a concat: the wasm Reverse kernel over a [.., 2, D/2] view measured about 2x slower. */
function swapHalves<T>(o: Ops<T>, x: T): T {
  const half = o.shape(x)[2] / 2;
  return o.concat([o.slice(x, [0, 0, half], [-1, -1, half]), o.slice(x, [0, 0, 0], [-1, -1, half])], 2); // [N, heads, D]
}

/** x: [N, heads, D] → same shape, rotated, then · scale. */
export function applyRopeOps<T>(o: Ops<T>, x: T, t: RopeTables, scale = 1): T {
  if (o.fused) return o.fused.rope(x, t, scale, false);
  const y = o.tidy(() => o.add(o.mul(x, o.hosted(t.cos)), o.mul(swapHalves(o, x), o.hosted(t.sinSigned))));
  return scale === 1 ? y : o.mul(y, scale);
}

/**
 * The transpose of applyRopeOps (its gradient): rope(x) = x·cos + P(x)·sin with P the half swap, so
 * dx = dy·cos + Pᵀ(dy·sin), and Pᵀ = P (swapping the halves twice is the identity). The scale goes on dy first.
 */
export function applyRopeBackwardOps<T>(o: Ops<T>, dy: T, t: RopeTables, scale = 1): T {
  if (o.fused) return o.fused.rope(dy, t, scale, true);
  const d = scale === 1 ? dy : o.mul(dy, scale);
  return o.tidy(() => o.add(o.mul(d, o.hosted(t.cos)), swapHalves(o, o.mul(d, o.hosted(t.sinSigned)))));
}

export function applyRope(x: tf.Tensor3D, t: RopeTables): tf.Tensor3D {
  return applyRopeOps(tfOps, x, t) as tf.Tensor3D;
}

export function applyRopeBackward(dy: tf.Tensor3D, t: RopeTables): tf.Tensor3D {
  return applyRopeBackwardOps(tfOps, dy, t) as tf.Tensor3D;
}
