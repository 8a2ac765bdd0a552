// The chunked head's training pass (head-loss.ts headLossOps, the same source TF.js runs) as one ONNX Runtime
// graph: the frozen head is an initializer of the session, the hidden states and the extra rows are fed each call,
// and only the loss, dh [N, D] and dExtra [n, D] come back; the [M, V] logits never leave the graph.
import * as tf from '@tensorflow/tfjs';
import type { HeadAnswer, HeadRequest } from './grad.ts';
import { headChunk, scoredTargets, type HeadColumns, type HeadColumnsOf } from './head.ts';
import { headLossFullOps, headLossOps, type HeadLossResult } from './head-loss.ts';
import { runGraph, type NativeOptions } from './native-run.ts';
import { GraphOps, type Sym } from './onnx-ops.ts';

/**
 * headLossAndGrad on the native engine: same arguments, same results (to float rounding), tensors returned as
 * TF.js tensors the caller owns. The column chunk defaults to headChunk over all N rows, so the graph (and its
 * session) does not change with the number of scored rows.
 */
export async function headLossNative(h: tf.Tensor2D, targets: Int32Array, cols: HeadColumns, weight: number, o: NativeOptions & { chunk?: number } = {}): Promise<HeadLossResult> {
  const [N, D] = h.shape;
  const V0 = cols.head.shape[0];
  const V = V0 + cols.extraIds.filter((id) => id >= V0).length;
  const t = scoredTargets(targets, cols, V);
  const M = t.rows.length;
  if (M === 0) return { loss: 0, count: 0, dh: tf.zeros([N, D]), dExtra: cols.extra ? tf.zerosLike(cols.extra) : null };
  const g = new GraphOps();
  const head = cols.head;
  const gcols: HeadColumnsOf<Sym> = {
    head: g.frozenTensor({ id: `tf:${head.id}`, shape: head.shape, read: () => head.dataSync() as Float32Array }),
    masked: cols.masked,
    extra: cols.extra ? g.feed(cols.extra.dataSync() as Float32Array, cols.extra.shape, 'float32') : null,
    extraIds: cols.extraIds,
  };
  const hs = g.feed(h.dataSync() as Float32Array, [N, D], 'float32');
  const r = traceHead(g, { h: hs, targets, cols: gcols, weight, chunk: o.chunk }, false);
  g.output('loss', r.loss as Sym);
  g.output('dh', r.dh);
  if (r.dExtra) g.output('dExtra', r.dExtra);
  const out = await runGraph(g, o);
  return {
    loss: out.loss.data[0],
    count: M,
    dh: tf.tensor2d(out.dh.data, [N, D]),
    dExtra: r.dExtra ? tf.tensor2d(out.dExtra.data, cols.extra!.shape) : null,
  };
}

/**
 * The head's loss and gradients traced into `g` (the one-pass head, or with `trainsHead` the two-pass one), for a
 * batch with at least one scored target. The column chunk follows N, not the scored rows, so batches with different
 * counts share one session.
 */
export function traceHead(g: GraphOps, r: HeadRequest<Sym>, trainsHead: boolean): HeadAnswer<Sym> {
  const [N, D] = g.shape(r.h);
  const V0 = g.shape(r.cols.head)[0];
  const t = scoredTargets(r.targets, r.cols, V0 + r.cols.extraIds.filter((id) => id >= V0).length);
  const count = t.rows.length;
  // internal: the step skips batches without a scored target before it gets here.
  if (count === 0) throw new Error('the native head needs at least one scored target (the step skips batches without one)');
  const width = r.chunk ?? headChunk(N, V0, D);
  if (trainsHead) {
    const out = headLossFullOps(g, r.h, t, r.cols.head, g.feedScalar(r.weight), width);
    return { loss: out.loss, count, dh: out.dh, dExtra: null, dHead: out.dHead };
  }
  const out = headLossOps(g, r.h, t, r.cols, g.feedScalar(r.weight), width);
  return { loss: out.loss, count, dh: out.dh, dExtra: out.dExtra };
}
