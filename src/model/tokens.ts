// Token tables with trainable or replaced rows (for training, and for an adapter applied at
// inference): they replace the model's frozen TokenTable (weights.ts) so the forward pass never
// knows which rows train.
//
// RowTokenTable ('trainable-tokens' and 'frozen'): the base V0 rows stay frozen and untouched; a
// small [n, H] matrix holds (a) the rows of ids appended after the base vocabulary and (b) the
// rows of existing ids retrained in place. No per-step V×H copy (PEFT's index_copy does one):
//   embed:  rows_of(ids) = base(ids)·keep + onehot(pos(ids))·R       (pos = -1 for untouched ids)
//   head:   the frozen columns with the replaced ones masked, plus R as extra columns (src/model/head.ts)
// Gradients: dR = onehot(pos(ids))ᵀ·dE from the lookup (built transposed in JS: a plain matMul) plus
// the head's gradient of its extra columns; a tied table's R gets both. Row order inside R is
// canonical: retrained existing ids first (as listed), then appended ids ascending.
// In 'frozen' mode R is a constant (the new rows still need values) and nothing here trains.
//
// FullTokenTable ('full', tokens-full.ts): the whole embedding and head are variables, like
// PEFT modules_to_save.
import * as tf from '@tensorflow/tfjs';
import { AdapterMismatch } from '../errors.ts';
import type { GradTokenTable } from './grad.ts';
import type { HeadColumns } from './head.ts';
import { addGrad, type GradSink } from './layer.ts';
import { FrozenTokenTable, gatherRows } from './weights.ts';
import type { EmbeddingMode } from './modes.ts';
import type { Param } from './params.ts';
import { FullTokenTable } from './tokens-full.ts';

/** Absolute rows for a list of ids, [n, H] row-major in list order. */
export interface IdRows {
  ids: number[];
  rows: Float32Array;
}

export interface TokenTableInit {
  mode: EmbeddingMode;
  /** Initial rows of the ids appended after the base vocabulary (V0, V0+1, ...), [n, H]. */
  appendedEmbed: Float32Array;
  /** Same for an untied head (required then); ignored when tied. */
  appendedHead?: Float32Array;
  /** Existing ids (< V0) whose rows are replaced: trainable in 'trainable-tokens', constants in 'frozen'. */
  replaceEmbed?: number[];
  /** Existing ids retrained in an untied head; a tied head always follows the embedding. */
  replaceHead?: number[];
  /**
   * Starting rows of some replaced ids (new tokens whose ids fall inside the checkpoint's matrix: Qwen pads its
   * vocabulary past the tokenizer). Other replaced ids start as copies of their base rows (PEFT init_weights=True).
   */
  presetEmbed?: IdRows;
  presetHead?: IdRows;
}

export interface TrainTokenTable extends GradTokenTable {
  readonly mode: EmbeddingMode;
  readonly baseVocabSize: number;
  readonly tied: boolean;
  params(): Param[];
  /** Rows for the adapter: 'trainable-tokens'/'frozen' give ids + rows, 'full' whole [V, H] matrices. */
  exportRows(): { embed: IdRows; lmHead?: IdRows } | { embedFull: Float32Array; headFull: Float32Array };
  /** Overwrite trainable rows from a checkpoint or adapter (same ids in any order). */
  importRows(r: { embed?: IdRows; lmHead?: IdRows; embedFull?: Float32Array; headFull?: Float32Array }): void;
}

/** Builds the table for `init.mode`. Takes ownership of `base` (disposed with the table). */
export function createTokenTable(base: FrozenTokenTable, init: TokenTableInit): TrainTokenTable {
  const H = base.hiddenSize;
  const n = init.appendedEmbed.length / H;
  if (!Number.isInteger(n)) throw new AdapterMismatch(`appended embedding rows: ${init.appendedEmbed.length} values is not a multiple of H=${H}`);
  if (!base.tied && n > 0 && init.appendedHead?.length !== n * H) {
    throw new AdapterMismatch(`untied head: appended head rows must be [${n}, ${H}]`);
  }
  if (init.mode === 'full') return new FullTokenTable(base, init, n);
  return new RowTokenTable(base, init, n);
}


/**
 * float32 one-hot [N, depth]; -1 gives a zero row. Built in int32 then cast: tfjs-backend-wasm
 * 4.22 writes int bit patterns for dtype 'float32'. tf.oneHot refuses depth 1, so pad to 2.
 */
function oneHotF32(idx: tf.Tensor1D, depth: number): tf.Tensor2D {
  const oh = tf.oneHot(idx, Math.max(2, depth)).cast('float32') as tf.Tensor2D;
  return depth >= 2 ? oh : oh.slice([0, 0], [-1, depth]);
}

/** One [n, H] row matrix plus the lookups that place it. */
class RowSet {
  readonly ids: number[];
  readonly rows: tf.Tensor2D;
  readonly nEx: number;
  readonly nNew: number;
  /** [V] int32: position in `rows`, or -1 (and the same in JS, for building gradients). */
  readonly pos: tf.Tensor1D;
  readonly posJs: Int32Array;

  constructor(existing: number[], existingRows: tf.Tensor2D, appended: Float32Array, V0: number, trainable: boolean) {
    const H = existingRows.shape[1];
    this.nEx = existing.length;
    this.nNew = appended.length / H;
    this.ids = [...existing, ...Array.from({ length: this.nNew }, (_, k) => V0 + k)];
    const V = V0 + this.nNew;
    const pos = new Int32Array(V).fill(-1);
    this.ids.forEach((id, k) => (pos[id] = k));
    this.posJs = pos;
    this.pos = tf.tensor1d(pos, 'int32');
    const init = tf.tidy(() => tf.concat([existingRows, tf.tensor2d(appended, [this.nNew, H])], 0)); // [n, H]
    this.rows = trainable ? tf.variable(init, true) : init;
    if (trainable) init.dispose();
  }

  get n(): number {
    return this.ids.length;
  }

  dispose(): void {
    tf.dispose([this.rows, this.pos]);
  }
}

function checkExisting(ids: number[] | undefined, V0: number, what: string): number[] {
  const out = [...new Set(ids ?? [])];
  for (const id of out) {
    if (!Number.isInteger(id) || id < 0 || id >= V0) throw new AdapterMismatch(`${what}: id ${id} is not an existing token id in [0, ${V0})`);
  }
  return out;
}

/** [k, H] starting rows of existing `ids`: the table's rows, or the preset ones where given. */
function startRows(table: tf.Tensor2D, ids: number[], preset: IdRows | undefined): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = gatherRows(table, ids); // [k, H]
    const at = new Map((preset?.ids ?? []).map((id, k) => [id, k]));
    if (!ids.some((id) => at.has(id))) return rows;
    const H = table.shape[1];
    const data = rows.dataSync().slice() as Float32Array;
    ids.forEach((id, i) => at.has(id) && data.set(preset!.rows.subarray(at.get(id)! * H, (at.get(id)! + 1) * H), i * H));
    return tf.tensor2d(data, [ids.length, H]);
  });
}

class RowTokenTable implements TrainTokenTable {
  readonly mode: EmbeddingMode;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly baseVocabSize: number;
  readonly tied: boolean;
  private readonly embedSet: RowSet;
  private readonly headSet: RowSet;

  constructor(private readonly base: FrozenTokenTable, readonly initIn: TokenTableInit, n: number) {
    const V0 = base.vocabSize;
    this.mode = initIn.mode;
    this.baseVocabSize = V0;
    this.vocabSize = V0 + n;
    this.hiddenSize = base.hiddenSize;
    this.tied = base.tied;
    const trainable = initIn.mode === 'trainable-tokens';
    const ex = checkExisting(initIn.replaceEmbed, V0, 'replaceEmbed');
    // PEFT init_weights=True: a retrained row starts as a copy of the base row (or its preset).
    const exRows = startRows(base.rows ?? base.head, ex, initIn.presetEmbed);
    this.embedSet = new RowSet(ex, exRows, initIn.appendedEmbed, V0, trainable);
    exRows.dispose();
    if (this.tied) {
      this.headSet = this.embedSet;
    } else {
      const exH = checkExisting(initIn.replaceHead, V0, 'replaceHead');
      const exHRows = startRows(base.head, exH, initIn.presetHead);
      this.headSet = new RowSet(exH, exHRows, initIn.appendedHead ?? new Float32Array(0), V0, trainable);
      exHRows.dispose();
    }
  }

  embed(ids: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const s = this.embedSet;
      const baseRows = this.base.embed(tf.minimum(ids, tf.scalar(this.baseVocabSize - 1, 'int32'))); // [N, H]; appended ids masked below
      if (s.n === 0) return baseRows;
      const pos = tf.gather(s.pos, ids); // [N] int32, -1 = base row
      const keep = tf.less(pos, 0).cast('float32').expandDims(1); // [N, 1]
      return tf.add(tf.mul(baseRows, keep), tf.matMul(oneHotF32(pos, s.n), s.rows)) as tf.Tensor2D; // [N, H]
    });
  }

  readonly trainsHead = false;

  headColumns(): HeadColumns {
    const s = this.headSet;
    return { head: this.base.head, masked: s.ids.slice(0, s.nEx), extra: s.n > 0 ? s.rows : null, extraIds: s.ids };
  }

  backward(ids: Int32Array, dE: tf.Tensor2D, head: { dExtra: tf.Tensor2D | null }, grads: GradSink): void {
    if (this.mode !== 'trainable-tokens') return;
    const s = this.embedSet;
    if (s.n > 0) {
      const N = ids.length;
      const hotT = new Float32Array(s.n * N); // [n, N]: onehot(pos(ids))ᵀ
      for (let i = 0; i < N; i++) if (s.posJs[ids[i]] >= 0) hotT[s.posJs[ids[i]] * N + i] = 1;
      tf.tidy(() => addGrad(grads, 'tokens.embed', tf.matMul(tf.tensor2d(hotT, [s.n, N]), dE))); // [n, N]·[N, H]
    }
    if (head.dExtra !== null && this.headSet.n > 0) addGrad(grads, this.tied ? 'tokens.embed' : 'tokens.lm_head', head.dExtra);
  }

  params(): Param[] {
    if (this.mode !== 'trainable-tokens') return [];
    const out: Param[] = [];
    if (this.embedSet.n > 0) out.push({ name: 'tokens.embed', variable: this.embedSet.rows as tf.Variable });
    if (!this.tied && this.headSet.n > 0) out.push({ name: 'tokens.lm_head', variable: this.headSet.rows as tf.Variable });
    return out;
  }

  exportRows(): { embed: IdRows; lmHead?: IdRows } {
    const rows = (s: RowSet): IdRows => ({ ids: s.ids.slice(), rows: s.rows.dataSync() as Float32Array });
    return this.tied ? { embed: rows(this.embedSet) } : { embed: rows(this.embedSet), lmHead: rows(this.headSet) };
  }

  importRows(r: { embed?: IdRows; lmHead?: IdRows }): void {
    const load = (s: RowSet, given: IdRows | undefined, what: string) => {
      if (!given) throw new AdapterMismatch(`${what} rows are missing`);
      const H = this.hiddenSize;
      const where = new Map(given.ids.map((id, k) => [id, k]));
      if (given.ids.length !== s.n || s.ids.some((id) => !where.has(id)) || given.rows.length !== s.n * H) {
        throw new AdapterMismatch(`${what} rows are for ids [${given.ids}], this run trains [${s.ids}]`);
      }
      const out = new Float32Array(s.n * H);
      s.ids.forEach((id, k) => out.set(given.rows.subarray(where.get(id)! * H, (where.get(id)! + 1) * H), k * H));
      tf.tidy(() => (s.rows as tf.Variable).assign(tf.tensor2d(out, [s.n, H])));
    };
    if (!(this.embedSet.rows instanceof tf.Variable)) throw new AdapterMismatch(`'${this.mode}' mode has no trainable rows to load`);
    load(this.embedSet, r.embed, 'embedding');
    if (!this.tied) load(this.headSet, r.lmHead, 'lm_head');
  }

  dispose(): void {
    this.embedSet.dispose();
    if (!this.tied) this.headSet.dispose();
    this.base.dispose();
  }
}
