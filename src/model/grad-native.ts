// The whole pass (grad.ts passOps: layers, final norm, chunked head, their hand-written backward) as ONE ONNX
// Runtime graph: the same source TF.js runs, traced by the graph builder. Frozen weights are initializers of the
// session; fed each call are the embedding output, the RoPE tables, the mask, LoRA A/B, the extra head rows, the
// dropout masks and the scored rows; back come only the loss, the LoRA gradients, dL/d(embedding output) and the
// extra rows' gradient. The token table's lookup and its backward (a gather and a one-hot product) stay on TF.js.
import * as tf from '@tensorflow/tfjs';
import { passOps, type GradTokenTable, type PassOptions, type PassResult, type TrainBatch } from './grad.ts';
import { headChunk, scoredTargets } from './head.ts';
import { headLossOps } from './head-loss.ts';
import { addGrad, type GradSink } from './layer.ts';
import { runGraph, type NativeOptions } from './native-run.ts';
import { GraphOps, type Sym } from './onnx-ops.ts';
import type { LlamaModel } from './weights.ts';

/**
 * lossAndGrads on the native engine: same arguments and results (to float rounding). 'full' mode (a trainable head)
 * is not in the graph yet: callers keep it on TF.js (`nativePassSupported`). Recomputation does not apply: ORT
 * plans the graph's memory itself.
 */
export async function lossAndGradsNative(
  model: LlamaModel, table: GradTokenTable, b: TrainBatch, opts: PassOptions, grads: GradSink, native: NativeOptions = {},
): Promise<PassResult> {
  if (!nativePassSupported(table)) throw new Error('the native pass does not train a whole head (full mode) yet');
  const g = new GraphOps();
  const sink: GradSink<Sym> = new Map();
  const x0 = tf.tidy(() => table.embed(tf.tensor1d(b.inputIds, 'int32'))); // [N, H], fed to the graph
  let count = 0;
  try {
    const pass = passOps(g, model, table, b, { ...opts, recompute: false }, sink, () => g.hosted(x0));
    let next = pass.next();
    while (!next.done) {
      const r = next.value;
      const [N, D] = g.shape(r.h);
      const V0 = g.shape(r.cols.head)[0];
      const t = scoredTargets(r.targets, r.cols, V0 + r.cols.extraIds.filter((id) => id >= V0).length);
      count = t.rows.length;
      if (count === 0) throw new Error('lossAndGradsNative: no scored target in the batch (the step skips such batches)');
      // The chunk follows N, not the scored rows, so batches with different counts share one session.
      const out = headLossOps(g, r.h, t, r.cols, g.feedScalar(r.weight), r.chunk ?? headChunk(N, V0, D));
      next = pass.next({ loss: out.loss, count, dh: out.dh, dExtra: out.dExtra });
    }
    const { head, dE } = next.value;
    g.output('loss', head.loss as Sym);
    g.output('dE', dE);
    if (head.dExtra) g.output('dExtra', head.dExtra);
    const names = [...sink.keys()];
    names.forEach((name, k) => g.output(`grad${k}`, sink.get(name)!));
    const res = await runGraph(g, native);
    const shapeOf = (s: Sym) => s.shape;
    names.forEach((name, k) => {
      const t = tf.tensor(res[`grad${k}`].data, shapeOf(sink.get(name)!));
      addGrad(grads, name, t);
      t.dispose();
    });
    const dEt = tf.tensor2d(res.dE.data, shapeOf(dE) as [number, number]);
    const dExtra = head.dExtra ? tf.tensor2d(res.dExtra.data, shapeOf(head.dExtra) as [number, number]) : null;
    try {
      table.backward(b.inputIds, dEt, { dExtra }, grads);
    } finally {
      tf.dispose([dEt, ...(dExtra ? [dExtra] : [])]);
    }
    return { loss: res.loss.data[0], count };
  } finally {
    x0.dispose();
  }
}

/** Whether the whole pass runs on the native engine for this table ('full' mode's trainable head does not yet). */
export function nativePassSupported(table: GradTokenTable): boolean {
  return !table.trainsHead;
}
