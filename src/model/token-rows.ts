// Replacing some rows of an embedding or head table, shared by both token tables (tokens.ts and
// tokens-full.ts): its own file so that neither has to import the other's code.
import * as tf from '@tensorflow/tfjs';
import type { IdRows } from './tokens.ts';

/** table [V, H] with rows `r.ids` replaced by `r.rows`: slices and a concat, exact, no [V, H] scatter matrix. */
export function replaceRows(table: tf.Tensor2D, r: IdRows | undefined): tf.Tensor2D {
  if (!r || r.ids.length === 0) return tf.clone(table);
  const [V, H] = table.shape;
  const order = r.ids.map((id, k) => [id, k] as const).sort((a, b) => a[0] - b[0]);
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    let at = 0;
    for (const [id, k] of order) {
      if (id > at) parts.push(tf.slice(table, [at, 0], [id - at, H]));
      parts.push(tf.tensor2d(r.rows.subarray(k * H, (k + 1) * H), [1, H]));
      at = id + 1;
    }
    if (at < V) parts.push(tf.slice(table, [at, 0], [V - at, H]));
    return tf.concat(parts, 0) as tf.Tensor2D;
  });
}
