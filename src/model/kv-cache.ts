// Keys and values of the tokens seen so far, per layer, for incremental decoding. Keys are stored already
// transposed ([B, nkv, D, T]) so q·kᵀ is a plain matMul; both are post-RoPE, as in HF (spec §3.4).
import * as tf from '@tensorflow/tfjs';

export class KVCache {
  private keysT: (tf.Tensor4D | null)[];
  private values: (tf.Tensor4D | null)[];
  /** Tokens already in the cache (the next token's default position). */
  length = 0;

  constructor(readonly numLayers: number) {
    this.keysT = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /**
   * Appends this step's keys [B, nkv, D, T] and values [B, nkv, T, D] for one layer and returns the full ones
   * ([B, nkv, D, past+T], [B, nkv, past+T, D]). The stored tensors are kept out of any surrounding tidy.
   */
  append(layer: number, kT: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const oldK = this.keysT[layer];
    const oldV = this.values[layer];
    // Concat copies the whole cache each step; fine for the short generations this serves.
    const k2 = tf.keep(oldK ? tf.concat([oldK, kT], 3) : tf.clone(kT));
    const v2 = tf.keep(oldV ? tf.concat([oldV, v], 2) : tf.clone(v));
    oldK?.dispose();
    oldV?.dispose();
    this.keysT[layer] = k2;
    this.values[layer] = v2;
    return [k2, v2];
  }

  /** Called once per forward, after every layer appended its T new tokens. */
  advance(T: number): void {
    this.length += T;
  }

  dispose(): void {
    for (const t of [...this.keysT, ...this.values]) t?.dispose();
    this.keysT.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}
