// The model an evaluator scores: the shared frozen weights (frozen-models.ts) with LoRA and token rows
// of its own, built as the trainer builds them (trainer.ts attachTrainable) and set from a snapshot's
// copy of the trainable tensors. Same weights, same code: the figures are those of the trainer's model
// at the snapshot's step, bit for bit on TF.js, whenever the evaluation runs.
import type { AdapterContents } from '../adapter/peft.ts';
import type { LoraSet } from '../model/lora.ts';
import type { TrainTokenTable } from '../model/tokens.ts';
import * as tf from '@tensorflow/tfjs';
import { AdapterMismatch } from '../errors.ts';
import { FrozenTokenTable, type LlamaModel } from '../model/weights.ts';
import { acquireFrozenModel, type SharedModel } from './frozen-models.ts';
import type { TrainRun } from './items.ts';
import { attachTrainable, loadWeights } from './trainer.ts';

export class EvalModel {
  private constructor(
    private readonly shared: SharedModel,
    readonly run: TrainRun,
    private readonly lora: LoraSet,
    readonly table: TrainTokenTable,
  ) {}

  /**
   * The frozen model of `baseModel` on the run's engine, with trainable parts shaped as the run's trainer has them.
   * In 'full' mode the whole token table is trainable: it is built from `weights` (a snapshot's), not from the frozen
   * table, which this model then never holds.
   */
  static async open(baseModel: string, run: TrainRun, weights: AdapterContents): Promise<EvalModel> {
    const full = run.cfg.embedding === 'full';
    const shared = await acquireFrozenModel(baseModel, run.backend, { tokens: !full });
    try {
      if (full) shared.model.tokens = baseRowsOf(weights, run.baseVocabSize);
      const { lora, table } = attachTrainable(shared.model, run.cfg, run.tokens, run.seed);
      return new EvalModel(shared, run, lora, table);
    } catch (e) {
      shared.release();
      throw e;
    }
  }

  /** The model with `weights` (a snapshot's) loaded: valid until the next call or close(). */
  at(weights: AdapterContents): LlamaModel {
    loadWeights({ cfg: this.run.cfg, lora: this.lora, table: this.table }, weights);
    return this.shared.model;
  }

  close(): void {
    this.shared.model.adapters = undefined;
    this.lora.dispose();
    this.table.dispose(); // its base table is borrowed: the frozen rows stay
    this.shared.release();
  }
}

/** The first V0 rows of a snapshot's full matrices as a frozen table, for a 'full' table to grow from (its rows are then set). */
function baseRowsOf(w: AdapterContents, V0: number): FrozenTokenTable {
  if (!w.fullRows) throw new AdapterMismatch("a 'full' run's snapshot carries no full embedding rows");
  const H = w.hiddenSize;
  const rows = (m: Float32Array) => tf.tensor2d(m.subarray(0, V0 * H), [V0, H]); // [V0, H]
  return new FrozenTokenTable(rows(w.fullRows.lmHead), w.tieWordEmbeddings ? null : rows(w.fullRows.embed));
}
