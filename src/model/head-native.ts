// The chunked head's training pass (head-loss.ts headLossOps, the same source TF.js runs) as one ONNX Runtime
// graph: the frozen head is an initializer of the session, the hidden states and the extra rows are fed each call,
// and only the loss, dh [N, D] and dExtra [n, D] come back; the [M, V] logits never leave the graph.
import * as tf from '@tensorflow/tfjs';
import { headChunk, scoredTargets, type HeadColumns, type HeadColumnsOf } from './head.ts';
import { headLossOps, type HeadLossResult } from './head-loss.ts';
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
  const r = headLossOps(g, hs, t, gcols, g.feedScalar(weight), o.chunk ?? headChunk(N, V0, D));
  g.output('loss', r.loss);
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
