// Keys and values of the tokens seen so far, per layer, for incremental decoding: [B, nkv, T, D] each,
// post-RoPE, as in HF (llama-family-spec.md §3.4).
import * as tf from '@tensorflow/tfjs';

export class KVCache {
  private keys: (tf.Tensor4D | null)[];
  private values: (tf.Tensor4D | null)[];
  /** Tokens already in the cache (the next token's default position). */
  length = 0;

  constructor(readonly numLayers: number) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /**
   * Appends this step's keys and values [B, nkv, T, D] for one layer and returns the full ones [B, nkv, past+T, D].
   * The stored tensors are kept out of any surrounding tidy.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    // Concat copies the whole cache each step; fine for the short generations this serves.
    const k2 = tf.keep(oldK ? tf.concat([oldK, k], 2) : tf.clone(k));
    const v2 = tf.keep(oldV ? tf.concat([oldV, v], 2) : tf.clone(v));
    oldK?.dispose();
    oldV?.dispose();
    this.keys[layer] = k2;
    this.values[layer] = v2;
    return [k2, v2];
  }

  /** Called once per forward, after every layer appended its T new tokens. */
  advance(T: number): void {
    this.length += T;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}
