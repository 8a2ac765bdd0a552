// 'full' embedding mode: the whole embedding and head are variables, like PEFT modules_to_save.
// The lookup gradient is a scatter-add written in JS (dense [V, H], as torch's would be); the
// head's gradient comes from the two-pass chunked head (src/model/head.ts).
import * as tf from '@tensorflow/tfjs';
import { AdapterMismatch } from '../errors.ts';
import type { HeadColumns } from './head.ts';
import { addGrad, type GradSink } from './layer.ts';
import { hostCopy, type FrozenTokenTable } from './weights.ts';
import type { Param } from './params.ts';
import { replaceRows } from './token-rows.ts';
import type { IdRows, TokenTableInit, TrainTokenTable } from './tokens.ts';

/** Adds the rows of dE [N, H] at ids into a dense [V, H] gradient, in JS: deterministic, any backend. */
function scatterAdd(V: number, ids: Int32Array, dE: tf.Tensor2D): tf.Tensor2D {
  const H = dE.shape[1];
  const g = new Float32Array(V * H);
  const d = dE.dataSync();
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * H;
    for (let c = 0; c < H; c++) g[row + c] += d[i * H + c];
  }
  return tf.tensor2d(g, [V, H]);
}

export class FullTokenTable implements TrainTokenTable {
  readonly mode = 'full' as const;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly baseVocabSize: number;
  readonly tied: boolean;
  /** Untied: embedding [V, H]. Null when tied. */
  private readonly embedRows: tf.Variable<tf.Rank.R2> | null;
  /** Head [V, H]; for a tied model also the embedding. */
  private readonly head: tf.Variable<tf.Rank.R2>;

  constructor(base: FrozenTokenTable, init: TokenTableInit, n: number) {
    if (init.replaceEmbed?.length || init.replaceHead?.length) {
      throw new AdapterMismatch("'full' mode trains every row; replaceEmbed/replaceHead do not apply");
    }
    const H = base.hiddenSize;
    this.baseVocabSize = base.vocabSize;
    this.vocabSize = base.vocabSize + n;
    this.hiddenSize = H;
    this.tied = base.tied;
    // [V0, H] base rows (new tokens inside a padded vocabulary preset) + the appended rows → one variable [V, H].
    const grown = (table: tf.Tensor2D, preset: IdRows | undefined, appended: Float32Array) =>
      tf.tidy(() => tf.variable(tf.concat([replaceRows(hostCopy(table), preset), tf.tensor2d(appended, [n, H])], 0) as tf.Tensor2D, true));
    this.head = grown(base.head, this.tied ? init.presetEmbed : init.presetHead, this.tied ? init.appendedEmbed : init.appendedHead!);
    this.embedRows = this.tied ? null : grown(base.rows!, init.presetEmbed, init.appendedEmbed);
    base.dispose(); // the variables now hold every row
  }

  embed(ids: tf.Tensor1D): tf.Tensor2D {
    return tf.gather(this.embedRows ?? this.head, ids, 0) as tf.Tensor2D; // [N, H]
  }

  readonly trainsHead = true;

  headColumns(): HeadColumns {
    return { head: this.head, masked: [], extra: null, extraIds: [] };
  }

  backward(ids: Int32Array, dE: tf.Tensor2D, head: { dHead?: tf.Tensor2D }, grads: GradSink): void {
    const V = this.vocabSize;
    // Tied: one [V, H] matrix is both the lookup table and the head; both gradients land on it.
    tf.tidy(() => addGrad(grads, 'tokens.embed_full', scatterAdd(V, ids, dE)));
    if (head.dHead) addGrad(grads, this.embedRows ? 'tokens.lm_head_full' : 'tokens.embed_full', head.dHead);
  }

  params(): Param[] {
    return this.embedRows
      ? [{ name: 'tokens.embed_full', variable: this.embedRows }, { name: 'tokens.lm_head_full', variable: this.head }]
      : [{ name: 'tokens.embed_full', variable: this.head }];
  }

  exportRows(): { embedFull: Float32Array; headFull: Float32Array } {
    const headFull = this.head.dataSync() as Float32Array;
    return { embedFull: this.embedRows ? (this.embedRows.dataSync() as Float32Array) : headFull, headFull };
  }

  importRows(r: { embedFull?: Float32Array; headFull?: Float32Array }): void {
    const [V, H] = [this.vocabSize, this.hiddenSize];
    for (const [what, a] of [['embedding', r.embedFull], ['lm_head', r.headFull]] as const) {
      if (a?.length !== V * H) throw new AdapterMismatch(`full ${what} must be [${V}, ${H}]`);
    }
    tf.tidy(() => {
      this.head.assign(tf.tensor2d(this.tied ? r.embedFull! : r.headFull!, [V, H]));
      this.embedRows?.assign(tf.tensor2d(r.embedFull!, [V, H]));
    });
  }

  dispose(): void {
    this.head.dispose();
    this.embedRows?.dispose();
  }
}
