// 'full' embedding mode: the whole embedding and head are variables, like PEFT modules_to_save.
// The lookup gradient is a scatter-add written in JS (dense [V, H], as torch's would be), since
// tf.gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks.
import * as tf from '@tensorflow/tfjs';
import { AdapterMismatch } from '../errors.ts';
import type { FrozenTokenTable } from './weights.ts';
import type { Param } from './params.ts';
import type { TokenTableInit, TrainTokenTable } from './tokens.ts';

/**
 * tf.gather along `axis` of a [.., V, ..] table whose gradient is a scatter-add written in JS:
 * dense, deterministic, and available on every backend.
 */
function gatherScatterGrad(table: tf.Variable, ids: tf.Tensor1D, axis: 0 | 1): tf.Tensor {
  const idx = ids.dataSync();
  const f = tf.customGrad((...args) => ({
    value: tf.gather(args[0] as tf.Tensor, ids, axis),
    gradFunc: (dy: tf.Tensor) => {
      const t = args[0] as tf.Tensor;
      const g = new Float32Array(t.size);
      const d = dy.dataSync();
      const [R, C] = t.shape as [number, number];
      if (axis === 0) {
        // t [V, H], dy [N, H]
        for (let i = 0; i < idx.length; i++) for (let c = 0; c < C; c++) g[idx[i] * C + c] += d[i * C + c];
      } else {
        // t [H, V], dy [H, N]
        const N = idx.length;
        for (let r = 0; r < R; r++) for (let i = 0; i < N; i++) g[r * C + idx[i]] += d[r * N + i];
      }
      return tf.tensor(g, t.shape);
    },
  }));
  return f(table);
}

export class FullTokenTable implements TrainTokenTable {
  readonly mode = 'full' as const;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly baseVocabSize: number;
  readonly tied: boolean;
  /** Untied: embedding [V, H]. Null when tied. */
  private readonly embedRows: tf.Variable | null;
  /** Head transposed [H, V]; for a tied model also the embedding. */
  private readonly headT: tf.Variable;

  constructor(base: FrozenTokenTable, init: TokenTableInit, n: number) {
    if (init.replaceEmbed?.length || init.replaceHead?.length) {
      throw new AdapterMismatch("'full' mode trains every row; replaceEmbed/replaceHead do not apply");
    }
    const H = base.hiddenSize;
    this.baseVocabSize = base.vocabSize;
    this.vocabSize = base.vocabSize + n;
    this.hiddenSize = H;
    this.tied = base.tied;
    const appendedT = (rows: Float32Array) => tf.transpose(tf.tensor2d(rows, [n, H])); // [H, n]
    this.headT = tf.tidy(() =>
      tf.variable(tf.concat([base.headT, appendedT(this.tied ? init.appendedEmbed : init.appendedHead!)], 1), true),
    ); // [H, V]
    this.embedRows = this.tied
      ? null
      : tf.tidy(() => tf.variable(tf.concat([base.rows!, tf.tensor2d(init.appendedEmbed, [n, H])], 0), true)); // [V, H]
    base.dispose(); // the variables now hold every row
  }

  embed(ids: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() =>
      this.embedRows
        ? (gatherScatterGrad(this.embedRows, ids, 0) as tf.Tensor2D) // [N, H]
        : (tf.transpose(gatherScatterGrad(this.headT, ids, 1)) as tf.Tensor2D), // [H, N] -> [N, H]
    );
  }

  logits(h: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(h, this.headT); // [N, H] x [H, V]
  }

  params(): Param[] {
    return this.embedRows
      ? [{ name: 'tokens.embed_full', variable: this.embedRows }, { name: 'tokens.lm_head_full', variable: this.headT }]
      : [{ name: 'tokens.embed_full', variable: this.headT }];
  }

  exportRows(): { embedFull: Float32Array; headFull: Float32Array } {
    const head = tf.tidy(() => tf.transpose(this.headT)); // [V, H]
    const headFull = head.dataSync() as Float32Array;
    head.dispose();
    return { embedFull: this.embedRows ? (this.embedRows.dataSync() as Float32Array) : headFull, headFull };
  }

  importRows(r: { embedFull?: Float32Array; headFull?: Float32Array }): void {
    const [V, H] = [this.vocabSize, this.hiddenSize];
    for (const [what, a] of [['embedding', r.embedFull], ['lm_head', r.headFull]] as const) {
      if (a?.length !== V * H) throw new AdapterMismatch(`full ${what} must be [${V}, ${H}]`);
    }
    tf.tidy(() => {
      this.headT.assign(tf.transpose(tf.tensor2d(this.tied ? r.embedFull! : r.headFull!, [V, H])));
      this.embedRows?.assign(tf.tensor2d(r.embedFull!, [V, H]));
    });
  }

  dispose(): void {
    this.headT.dispose();
    this.embedRows?.dispose();
  }
}
