// Evaluation on the native engine: the forward (llama.ts hiddenOps: the layers and the final norm) and the chunked
// head's scores (head.ts headScoresOps: loss and top-1 per scored row) traced into ONE ONNX Runtime graph, the same
// source TF.js runs. Fed each call: the embedding output (the lookup stays on TF.js, the host), the RoPE tables, the
// mask, LoRA A/B, the extra head rows and the scored rows; back come only the per-row losses [M] and each chunk's best
// logit and its column [M] (folded into the top-1 in JS, as on TF.js): the [M, V] logits never leave the graph.
import * as tf from '@tensorflow/tfjs';
import { buildMask, segmentIds } from './attention.ts';
import { foldTop1, headChunk, headScoresOps, scoredTargets, type HeadColumns, type HeadColumnsOf, type HeadScores } from './head.ts';
import type { LayerContext } from './layer.ts';
import { defaultPositions, hiddenOps } from './llama.ts';
import { runGraph, type NativeOptions } from './native-run.ts';
import { GraphOps, type Sym } from './onnx-ops.ts';
import { ropeTables } from './rope.ts';
import type { LlamaModel } from './weights.ts';

/** A batch to score; arrays [B*T] row-major; targets −100 where nothing is scored. */
export interface ScoreBatch {
  inputIds: Int32Array;
  B: number;
  T: number;
  targets: Int32Array;
  positionIds?: Int32Array;
  documentIds?: Int32Array;
}

/**
 * The native engine's embedding output and attention context of a batch (TF.js tensors the graph feeds); `free`
 * releases them.
 */
export function hostInputs(model: LlamaModel, b: Omit<ScoreBatch, 'targets'>): { x0: tf.Tensor2D; ctx: LayerContext; free: () => void } {
  const { B, T } = b;
  const positions = b.positionIds ?? defaultPositions(B, T, 0);
  const rope = ropeTables(positions, model.invFreq);
  const mask = buildMask(B, T, 0, b.documentIds ?? segmentIds(positions, B, T));
  const x0 = tf.tidy(() => model.tokens.embed(tf.tensor1d(b.inputIds, 'int32'))) as tf.Tensor2D; // [N, H]
  return { x0, ctx: { B, T, rope, mask }, free: () => tf.dispose([x0, rope.cos, rope.sinSigned, mask]) };
}

/** A trainable head ('full' mode) changes every update: fed, never an initializer. */
export function graphColumns(g: GraphOps, model: LlamaModel, c: HeadColumns): HeadColumnsOf<Sym> {
  const trainsHead = (model.tokens as { trainsHead?: boolean }).trainsHead === true;
  return { head: trainsHead ? g.hosted(c.head) : g.frozen(c.head), masked: c.masked, extra: c.extra && g.hosted(c.extra), extraIds: c.extraIds };
}

/**
 * scoreBatch's figures on the native engine (to float rounding): per scored row the loss and the top-1 id. The column
 * chunk defaults to headChunk over all N rows (not the scored ones), so batches of one shape share a session.
 */
export async function headScoresNative(model: LlamaModel, b: ScoreBatch, cols: HeadColumns = model.tokens.headColumns(), native: NativeOptions = {}, chunk?: number): Promise<HeadScores> {
  const [V0, D] = cols.head.shape;
  const t = scoredTargets(b.targets, cols, V0 + cols.extraIds.filter((id) => id >= V0).length);
  const M = t.rows.length;
  if (M === 0) return { nll: new Float32Array(0), top1: new Int32Array(0), rows: t.rows };
  const host = hostInputs(model, b);
  try {
    const g = new GraphOps();
    const h = hiddenOps(g, model, g.hosted(host.x0), host.ctx); // [N, H]
    const chunks: Array<(col: number) => number> = [];
    const nll = headScoresOps(g, h, t, graphColumns(g, model, cols), chunk ?? headChunk(b.B * b.T, V0, D), (c) => {
      g.output(`max${chunks.length}`, c.max);
      g.output(`arg${chunks.length}`, c.arg);
      chunks.push(c.idOf);
    });
    g.output('nll', nll);
    const res = await runGraph(g, native);
    const best = new Float32Array(M).fill(-Infinity);
    const top1 = new Int32Array(M);
    chunks.forEach((idOf, k) => foldTop1(best, top1, res[`max${k}`].data, res[`arg${k}`].data as unknown as Int32Array, idOf));
    return { nll: res.nll.data, top1, rows: t.rows };
  } finally {
    host.free();
  }
}
