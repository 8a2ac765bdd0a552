// The loss of a packed batch and its gradients w.r.t. every trainable tensor, by hand (src/model/layer.ts says why):
//   embed → L decoder layers (each keeps its record, or only its input when recomputing) → final norm
//   → chunked head + cross-entropy (loss and dL/dh in one pass) → back through the norm and the layers → table.
// With `recompute`, a layer's record is rebuilt from its input right before its backward and dropped right after:
// L inputs [N, H] plus one layer's record live at once, instead of L records.
import * as tf from '@tensorflow/tfjs';
import { buildMask, segmentIds } from './attention.ts';
import type { HeadColumns } from './head.ts';
import { headLossAndGrad, headLossAndGradFull, type HeadLossResult } from './head-loss.ts';
import { decoderLayer, decoderLayerBackward, disposeSaved, type GradSink, type LayerContext, type LayerSaved } from './layer.ts';
import { rmsNorm, rmsNormBackward } from './norm.ts';
import { tidy } from './scope.ts';
import { ropeTables } from './rope.ts';
import type { LlamaModel, TokenTable } from './weights.ts';

/** A packed batch as the model takes it; every array [B*T] row-major. */
export interface TrainBatch {
  B: number;
  T: number;
  inputIds: Int32Array;
  /** Shifted labels: targets[t] = labels[t+1]; −100 = not scored. */
  targets: Int32Array;
  positionIds: Int32Array;
  documentIds: Int32Array;
}

/** A token table that trains: routes the gradients of its embedding output and of the head to its params. */
export interface GradTokenTable extends TokenTable {
  /** True when the base head itself is trainable ('full' mode): its gradient needs the two-pass head. */
  readonly trainsHead: boolean;
  /** dE [N, H] is dL/d(embed(ids)); head: the extra rows' and (trainsHead) the whole head's gradients. */
  backward(ids: Int32Array, dE: tf.Tensor2D, head: { dExtra: tf.Tensor2D | null; dHead?: tf.Tensor2D }, grads: GradSink): void;
}

export interface PassOptions {
  /** Each scored position's weight in the loss: 1/count for the batch mean, 1 for a sum. */
  weight: number;
  /** Rebuild each layer's record during the backward instead of keeping it. */
  recompute: boolean;
  /** LoRA dropout on, masks seeded from this. */
  dropoutSeed?: number;
  /** Row of the batch's first row within its micro-batch (the dropout masks are seeded per row). */
  rowOffset?: number;
  /** Head column chunk (default: headChunk). */
  headChunk?: number;
}

export interface PassResult {
  /** Σ weight · loss over scored positions. */
  loss: number;
  /** Scored positions. */
  count: number;
}

/** The head's loss and gradients, asked of whoever drives the pass (TF.js at once, the native engine by awaiting). */
export interface HeadRequest {
  h: tf.Tensor2D;
  targets: Int32Array;
  cols: HeadColumns;
  weight: number;
  chunk?: number;
}

type HeadAnswer = HeadLossResult & { dHead?: tf.Tensor2D };

/**
 * Adds dL/dp for every trainable tensor p of the model (LoRA factors, the table's params) to `grads` (kept
 * tensors, the caller disposes them). No tensor of the pass is left behind.
 */
export function lossAndGrads(model: LlamaModel, table: GradTokenTable, b: TrainBatch, o: PassOptions, grads: GradSink): PassResult {
  const pass = passSteps(model, table, b, o, grads);
  let next = pass.next();
  while (!next.done) next = pass.next(answered(pass, () => headOnTfjs(table, next.value as HeadRequest)));
  return next.value;
}

/** The head's answer; if it throws, the pass is thrown into first, so its finally frees what it holds. */
function answered<A>(pass: Generator<HeadRequest, PassResult, HeadAnswer>, f: () => A): A {
  try {
    return f();
  } catch (e) {
    pass.throw(e);
    throw e;
  }
}

/**
 * The same pass with the head on the native engine when `head` is given (its trainsHead mode stays on TF.js):
 * the layers run on TF.js, the head's loss and gradients come from `head`.
 */
export async function lossAndGradsAsync(
  model: LlamaModel, table: GradTokenTable, b: TrainBatch, o: PassOptions, grads: GradSink, head: (r: HeadRequest) => Promise<HeadLossResult>,
): Promise<PassResult> {
  const pass = passSteps(model, table, b, o, grads);
  let next = pass.next();
  while (!next.done) {
    const req = next.value;
    const answer = table.trainsHead ? answered(pass, () => headOnTfjs(table, req)) : await answered(pass, () => head(req).catch((e) => (pass.throw(e), Promise.reject(e))));
    next = pass.next(answer);
  }
  return next.value;
}

function headOnTfjs(table: GradTokenTable, r: HeadRequest): HeadAnswer {
  return table.trainsHead ? headLossAndGradFull(r.h, r.targets, r.cols.head, r.weight, r.chunk) : headLossAndGrad(r.h, r.targets, r.cols, r.weight, r.chunk);
}

/** The pass, written once: it yields when it needs the head's loss and gradients and resumes with them. */
function* passSteps(model: LlamaModel, table: GradTokenTable, b: TrainBatch, o: PassOptions, grads: GradSink): Generator<HeadRequest, PassResult, HeadAnswer> {
  const { B, T } = b;
  const eps = model.config.rmsNormEps;
  const rope = ropeTables(b.positionIds, model.invFreq);
  const mask = buildMask(B, T, 0, b.documentIds ?? segmentIds(b.positionIds, B, T));
  const ctx: LayerContext = { B, T, rope, mask, dropoutSeed: o.dropoutSeed, rowOffset: o.rowOffset };
  const L = model.layers.length;
  const inputs: tf.Tensor2D[] = []; // recompute: each layer's input [N, H]
  const records: LayerSaved[] = []; // otherwise: each layer's record (which holds its input)
  try {
    let x = tf.tidy(() => table.embed(tf.tensor1d(b.inputIds, 'int32'))); // [N, H]
    for (let i = 0; i < L; i++) {
      const { y, saved } = decoderLayer(model, i, x, ctx, !o.recompute);
      if (o.recompute) inputs.push(x);
      else {
        records.push(saved!);
        if (saved!.norm1.x !== x) x.dispose(); // the record keeps the input it needs
      }
      x = y;
    }
    const last = x;
    const fin = tidy(() => rmsNorm(last, model.norm, eps, true)); // [N, H]; fin.saved.x is x
    const cols: HeadColumns = table.headColumns();
    const head: HeadAnswer = yield { h: fin.y, targets: b.targets, cols, weight: o.weight, chunk: o.headChunk };
    let d = tf.tidy(() => rmsNormBackward(fin.saved!, model.norm, head.dh)) as tf.Tensor2D; // [N, H]
    tf.dispose([fin.y, fin.saved!.x, fin.saved!.r, head.dh]);
    for (let i = L - 1; i >= 0; i--) {
      let saved = records[i];
      if (o.recompute) {
        const again = decoderLayer(model, i, inputs[i], ctx, true);
        again.y.dispose();
        saved = again.saved!;
      }
      const dx = decoderLayerBackward(model, i, saved, d, ctx, grads);
      disposeSaved(saved);
      if (o.recompute) inputs[i].dispose();
      else records.pop();
      d.dispose();
      d = dx;
    }
    table.backward(b.inputIds, d, { dExtra: head.dExtra, dHead: head.dHead }, grads);
    tf.dispose([d, head.dExtra ?? [], head.dHead ?? []]);
    return { loss: head.loss, count: head.count };
  } finally {
    for (const r of records) disposeSaved(r);
    tf.dispose(inputs.filter((t) => !t.isDisposed));
    tf.dispose([rope.cos, rope.sinSigned, mask]);
  }
}
