// The whole pass (grad.ts passOps: layers, final norm, chunked head, their hand-written backward) as ONE ONNX
// Runtime graph: the same source TF.js runs, traced by the graph builder. Frozen weights are initializers of the
// session; fed each call are the embedding output, the RoPE tables, the mask, LoRA A/B, the extra head rows, the
// dropout masks and the scored rows; back come only the loss, the LoRA gradients, dL/d(embedding output) and the
// extra rows' gradient. The token table's lookup and its backward (a gather and a one-hot product) stay on TF.js.
import * as tf from '@tensorflow/tfjs';
import { passOps, type GradTokenTable, type PassOptions, type PassResult, type TrainBatch } from './grad.ts';
import { traceHead } from './head-native.ts';
import { addGrad, type GradSink } from './layer.ts';
import { runGraph, type NativeOptions } from './native-run.ts';
import { GraphOps, type Sym } from './onnx-ops.ts';
import type { LlamaModel } from './weights.ts';

/**
 * lossAndGrads on the native engine: same arguments and results (to float rounding), every embedding mode ('full':
 * the trainable head is fed each call and its gradient [V, D] comes back). Recomputation does not apply: ORT plans
 * the graph's memory itself.
 */
export async function lossAndGradsNative(
  model: LlamaModel, table: GradTokenTable, b: TrainBatch, opts: PassOptions, grads: GradSink, native: NativeOptions = {},
): Promise<PassResult> {
  const g = new GraphOps();
  const sink: GradSink<Sym> = new Map();
  const x0 = tf.tidy(() => table.embed(tf.tensor1d(b.inputIds, 'int32'))); // [N, H], fed to the graph
  let count = 0;
  try {
    const pass = passOps(g, model, table, b, { ...opts, recompute: false }, sink, () => g.hosted(x0));
    let next = pass.next();
    while (!next.done) {
      const answer = traceHead(g, next.value, table.trainsHead);
      count = answer.count;
      next = pass.next(answer);
    }
    const { head, dE } = next.value;
    g.output('loss', head.loss as Sym);
    g.output('dE', dE);
    if (head.dExtra) g.output('dExtra', head.dExtra);
    if (head.dHead) g.output('dHead', head.dHead);
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
    const dHead = head.dHead ? tf.tensor2d(res.dHead.data, shapeOf(head.dHead) as [number, number]) : undefined;
    try {
      table.backward(b.inputIds, dEt, { dExtra, dHead }, grads);
    } finally {
      tf.dispose([dEt, ...(dExtra ? [dExtra] : []), ...(dHead ? [dHead] : [])]);
    }
    return { loss: res.loss.data[0], count };
  } finally {
    x0.dispose();
  }
}
