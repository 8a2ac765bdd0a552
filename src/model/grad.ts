// The loss of a packed batch and its gradients w.r.t. every trainable tensor, by hand (src/model/layer.ts says why):
//   embed → L decoder layers (each keeps its record, or only its input when recomputing) → final norm
//   → chunked head + cross-entropy (loss and dL/dh in one pass) → back through the norm and the layers → table.
// With `recompute`, a layer's record is rebuilt from its input right before its backward and dropped right after:
// L inputs [N, H] plus one layer's record live at once, instead of L records.
import * as tf from '@tensorflow/tfjs';
import { buildMask, segmentIds } from './attention.ts';
import type { HeadColumns, HeadColumnsOf } from './head.ts';
import { headLossAndGrad, headLossAndGradFull } from './head-loss.ts';
import { decoderLayerBackwardOps, decoderLayerOps, type GradSink, type LayerContext, type LayerSaved } from './layer.ts';
import { rmsNormBackwardOps, rmsNormOps } from './norm.ts';
import { ropeTables } from './rope.ts';
import { tfOps, type Ops } from './tensor-ops.ts';
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
  /** Called at each phase boundary of the pass (tests read the engine's live bytes there: docs/memory-plan.md). */
  probe?: PassProbe;
}

/**
 * A boundary of the pass, in order: 'embed' (embedding output made), 'forward' after layer i, 'head' just before
 * the head runs, 'dh' once it has answered, 'norm' after the final norm's backward, 'backward' after layer i's
 * backward (i from L−1 down), 'table' after the token table's backward (TF.js only). Everything between two
 * boundaries is one phase of the step memory plan (src/train/step-phases.ts passPhases).
 */
export type PassPoint = { at: 'embed' | 'head' | 'dh' | 'norm' | 'table' } | { at: 'forward' | 'backward'; layer: number };
export type PassProbe = (p: PassPoint) => void;

export interface PassResult {
  /** Σ weight · loss over scored positions. */
  loss: number;
  /** Scored positions. */
  count: number;
}

/** The head's loss and gradients, asked of whoever drives the pass (TF.js at once; the graph builder inline). */
export interface HeadRequest<T = tf.Tensor2D> {
  h: T;
  targets: Int32Array;
  cols: HeadColumnsOf<T>;
  weight: number;
  chunk?: number;
}

/** What the head answers: TF.js gives the loss as a number, a graph as a node. */
export interface HeadAnswer<T = tf.Tensor2D> {
  loss: number | T;
  count: number;
  dh: T;
  dExtra: T | null;
  dHead?: T;
}

/** Where a pass ends: the head's answer and dL/d(embedding output) [N, H], for the token table's backward. */
export interface PassEnd<T> {
  head: HeadAnswer<T>;
  dE: T;
}

/**
 * Adds dL/dp for every trainable tensor p of the model (LoRA factors, the table's params) to `grads` (kept
 * tensors, the caller disposes them). No tensor of the pass is left behind.
 */
export function lossAndGrads(model: LlamaModel, table: GradTokenTable, b: TrainBatch, o: PassOptions, grads: GradSink): PassResult {
  const pass = passOps(tfOps, model, table, b, o, grads as GradSink<tf.Tensor2D>, () => tf.tidy(() => table.embed(tf.tensor1d(b.inputIds, 'int32'))));
  let next = pass.next();
  while (!next.done) next = pass.next(answered(pass, () => headOnTfjs(table, next.value as HeadRequest)));
  const r = tableBackward(table, b, next.value as PassEnd<tf.Tensor2D>, grads);
  o.probe?.({ at: 'table' });
  return r;
}

/** The token table's part of the backward, on TF.js; frees the pass's last tensors. */
function tableBackward(table: GradTokenTable, b: TrainBatch, end: PassEnd<tf.Tensor2D>, grads: GradSink): PassResult {
  const { head, dE } = end;
  try {
    table.backward(b.inputIds, dE, { dExtra: head.dExtra, dHead: head.dHead }, grads);
  } finally {
    tf.dispose([dE, head.dExtra ?? [], head.dHead ?? []]);
  }
  return { loss: head.loss as number, count: head.count };
}

/** The head's answer; if it throws, the pass is thrown into first, so its finally frees what it holds. */
function answered<A, T>(pass: Generator<HeadRequest<T>, PassEnd<T>, HeadAnswer<T>>, f: () => A): A {
  try {
    return f();
  } catch (e) {
    pass.throw(e);
    throw e;
  }
}

function headOnTfjs(table: GradTokenTable, r: HeadRequest): HeadAnswer {
  return table.trainsHead ? headLossAndGradFull(r.h, r.targets, r.cols.head, r.weight, r.chunk) : headLossAndGrad(r.h, r.targets, r.cols, r.weight, r.chunk);
}

/** Every tensor of a layer record, once (the optional q/k norm parts left out when absent). */
export function recordParts<T>(s: LayerSaved<T>): T[] {
  const out: Array<T | undefined | null> = [s.g, s.u, ...Object.values(s.norm1), ...Object.values(s.norm2), ...(Object.values(s.attn) as Array<T | undefined>)];
  for (const l of s.lora.values()) out.push(l.xd, l.t, ...(l.keep ? [l.keep] : []));
  return [...new Set(out.filter((t): t is T => t !== undefined && t !== null))];
}

/**
 * The pass, written once against the op vocabulary: embedding output (from `embed`) → layers → final norm → it
 * yields for the head's loss and gradients and resumes with them → back through the norm and the layers. Returns the
 * head's answer and dL/d(embedding output); LoRA gradients go to `grads`. On TF.js every other tensor is freed.
 */
export function* passOps<T>(
  o: Ops<T>, model: LlamaModel, table: GradTokenTable, b: TrainBatch, opts: PassOptions, grads: GradSink<T>, embed: () => T,
): Generator<HeadRequest<T>, PassEnd<T>, HeadAnswer<T>> {
  const { B, T } = b;
  const eps = model.config.rmsNormEps;
  const rope = ropeTables(b.positionIds, model.invFreq);
  const mask = buildMask(B, T, 0, b.documentIds ?? segmentIds(b.positionIds, B, T));
  const ctx: LayerContext = { B, T, rope, mask, dropoutSeed: opts.dropoutSeed, rowOffset: opts.rowOffset };
  const L = model.layers.length;
  const inputs: T[] = []; // recompute: each layer's input [N, H]
  const records: Array<LayerSaved<T>> = []; // otherwise: each layer's record (which holds its input)
  const disposed = new Set<T>();
  try {
    let x = embed(); // [N, H]
    opts.probe?.({ at: 'embed' });
    for (let i = 0; i < L; i++) {
      const { y, saved } = decoderLayerOps(o, model, i, x, ctx, !opts.recompute);
      if (opts.recompute) inputs.push(x);
      else {
        records.push(saved!);
        if (saved!.norm1.x !== x) o.dispose(x); // the record keeps the input it needs
      }
      x = y;
      opts.probe?.({ at: 'forward', layer: i });
    }
    const last = x;
    const normW = o.frozen(model.norm);
    const fin = o.tidy(() => rmsNormOps(o, last, normW, eps, true)); // [N, H]; fin.saved.x is x
    const c: HeadColumns = table.headColumns();
    // A trainable head ('full' mode) changes every update: fed, not frozen.
    const cols: HeadColumnsOf<T> = { head: table.trainsHead ? o.hosted(c.head) : o.frozen(c.head), masked: c.masked, extra: c.extra && o.hosted(c.extra), extraIds: c.extraIds };
    opts.probe?.({ at: 'head' });
    const head: HeadAnswer<T> = yield { h: fin.y, targets: b.targets, cols, weight: opts.weight, chunk: opts.headChunk };
    opts.probe?.({ at: 'dh' });
    let d = o.tidy(() => rmsNormBackwardOps(o, fin.saved!, normW, head.dh)); // [N, H]
    o.dispose([fin.y, fin.saved!.x, fin.saved!.r, head.dh]);
    opts.probe?.({ at: 'norm' });
    for (let i = L - 1; i >= 0; i--) {
      let saved = records[i];
      if (opts.recompute) {
        const again = decoderLayerOps(o, model, i, inputs[i], ctx, true);
        o.dispose(again.y);
        saved = again.saved!;
      }
      const dx = decoderLayerBackwardOps(o, model, i, saved, d, ctx, grads);
      o.dispose(recordParts(saved));
      if (opts.recompute) {
        o.dispose(inputs[i]);
        disposed.add(inputs[i]);
      } else records.pop();
      o.dispose(d);
      d = dx;
      opts.probe?.({ at: 'backward', layer: i });
    }
    return { head, dE: d };
  } finally {
    for (const r of records) o.dispose(recordParts(r));
    o.dispose(inputs.filter((t) => !disposed.has(t)));
    tf.dispose([rope.cos, rope.sinSigned, mask]);
  }
}
