// The native engine's fused steps (src/model/onnx-fused.ts: ONNX Runtime's RotaryEmbedding and
// SimplifiedLayerNormalization, the MLP's elementwise backward in six passes) give what the spelled-out TF.js math
// gives (rope.ts, norm.ts, layer.ts) to float rounding: RoPE forward with the score scale and its transpose, at
// positions that restart mid-row (packed documents); RMSNorm over [N, H] and per head over [N, heads, D] (Qwen3),
// its inverse RMS included; the SwiGLU gradients. And the train graph uses them: one RotaryEmbedding per q and k,
// forward and backward, in every layer; one SimplifiedLayerNormalization per norm.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { passOps } from '../src/model/grad.ts';
import { traceHead } from '../src/model/head-native.ts';
import type { GradSink } from '../src/model/layer.ts';
import { runGraph } from '../src/model/native-run.ts';
import { rmsNormOps } from '../src/model/norm.ts';
import { GraphOps, type Sym } from '../src/model/onnx-ops.ts';
import { applyRopeBackwardOps, applyRopeOps, invFreq, ropeTables } from '../src/model/rope.ts';
import { tfOps } from '../src/model/tensor-ops.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer } from './fixtures/train/setup.ts';

const values = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(salt + i * 0.731) * 1.7);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs `build` on a fresh graph (outputs by name) and the same math on TF.js; returns both, by name. */
async function bothEngines(build: <T>(o: typeof tfOps | GraphOps, x: (t: tf.Tensor) => T) => Record<string, unknown>): Promise<Array<[string, Float32Array, Float32Array]>> {
  const g = new GraphOps();
  const syms = build(g, (t) => g.hosted(t)) as Record<string, Sym>;
  for (const [name, s] of Object.entries(syms)) g.output(name, s);
  const res = await runGraph(g);
  const eager = build(tfOps, (t) => t) as Record<string, tf.Tensor>;
  const out = Object.keys(syms).map((name): [string, Float32Array, Float32Array] => [name, res[name].data, eager[name].dataSync() as Float32Array]);
  tf.dispose(Object.values(eager));
  return out;
}

test('fused RoPE equals rope.ts: forward with the score scale and its transpose, positions restarting mid-row', async () => {
  await setBackend('native');
  const [N, heads, D] = [10, 3, 8];
  const positions = Int32Array.from([0, 1, 2, 3, 0, 1, 2, 0, 1, 517]); // two documents packed, then a far position
  const t = ropeTables(positions, invFreq({ type: 'default', theta: 10000 }, D));
  const x = tf.tensor3d(values(N * heads * D, 1), [N, heads, D]);
  try {
    const got = await bothEngines((o, h) => ({
      plain: applyRopeOps(o as typeof tfOps, h(x) as tf.Tensor, t),
      scaled: applyRopeOps(o as typeof tfOps, h(x) as tf.Tensor, t, D ** -0.5),
      back: applyRopeBackwardOps(o as typeof tfOps, h(x) as tf.Tensor, t, D ** -0.5),
    }));
    for (const [name, graph, eager] of got) assert.ok(maxDiff(graph, eager) < 1e-5, `${name}: ${maxDiff(graph, eager)}`);
    // The transpose really is one: <rope(a), b> = <a, ropeᵀ(b)>.
    const [, fwd] = got.find(([n]) => n === 'scaled')!;
    const [, back] = got.find(([n]) => n === 'back')!;
    const a = x.dataSync();
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < a.length; i++) [lhs, rhs] = [lhs + fwd[i] * a[i], rhs + a[i] * back[i]];
    assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.abs(lhs), `${lhs} vs ${rhs}`);
  } finally {
    tf.dispose([x, t.cos, t.sinSigned]);
  }
});

test('fused RMSNorm equals norm.ts over [N, H] and per head over [N, heads, D], the inverse RMS too', async () => {
  await setBackend('native');
  const cases: Array<[number[], number]> = [[[6, 16], 1e-5], [[6, 3, 8], 1e-6]];
  for (const [shape, eps] of cases) {
    const size = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(values(size, 2), shape);
    const w = tf.tensor1d(values(shape[shape.length - 1], 3));
    try {
      const got = await bothEngines((o, h) => {
        const r = rmsNormOps(o as typeof tfOps, h(x) as tf.Tensor, (o === tfOps ? w : (o as GraphOps).frozen(w)) as tf.Tensor, eps, true);
        return { y: r.y, r: r.saved!.r };
      });
      for (const [name, graph, eager] of got) assert.ok(maxDiff(graph, eager) < 1e-5, `[${shape}] ${name}: ${maxDiff(graph, eager)}`);
    } finally {
      tf.dispose([x, w]);
    }
  }
});

test('fused SwiGLU backward equals the spelled-out gradients', async () => {
  await setBackend('native');
  const shape = [5, 12];
  const [dm, gate, up] = [4, 5, 6].map((salt) => tf.tensor2d(values(60, salt), shape as [number, number]));
  try {
    const g = new GraphOps();
    const { dg, du } = g.fused.swigluBackward(g.hosted(dm), g.hosted(gate), g.hosted(up));
    g.output('dg', dg);
    g.output('du', du);
    const res = await runGraph(g);
    // dg = dm·u·σ(g)·(1 + g·(1 − σ(g))), du = dm·g·σ(g), in float64 from the same inputs.
    const [m, x, u] = [dm, gate, up].map((t) => t.dataSync());
    for (let i = 0; i < m.length; i++) {
      const s = 1 / (1 + Math.exp(-x[i]));
      assert.ok(Math.abs(res.dg.data[i] - m[i] * u[i] * s * (1 + x[i] * (1 - s))) < 1e-5, `dg[${i}]`);
      assert.ok(Math.abs(res.du.data[i] - m[i] * x[i] * s) < 1e-5, `du[${i}]`);
    }
  } finally {
    tf.dispose([dm, gate, up]);
  }
});

test('the train graph runs RoPE and every norm as fused nodes', async () => {
  await setBackend('native');
  const t = await fixtureTrainer('untied', { embedding: 'trainable-tokens' });
  try {
    const g = new GraphOps();
    const b = fixtureBatch(t);
    const x0 = tf.zeros([b.B * b.T, t.model.config.hiddenSize]);
    const pass = passOps(g, t.model, t.table, b, { weight: 1, recompute: false }, new Map() as GradSink<Sym>, () => g.hosted(x0));
    let next = pass.next();
    while (!next.done) next = pass.next(traceHead(g, next.value, t.table.trainsHead));
    x0.dispose();
    const count = (op: string) => g.nodes.filter((n) => n.op === op).length;
    const L = t.model.config.numLayers;
    assert.equal(count('RotaryEmbedding'), 4 * L, 'q and k, forward and backward, per layer');
    assert.equal(count('SimplifiedLayerNormalization'), 2 * L + 1, 'two norms per layer and the final one');
    const halfSwaps = g.nodes.filter((n) => n.op === 'Concat' && n.attrs?.some((a) => a.name === 'axis' && 'i' in a && a.i === 2));
    assert.equal(halfSwaps.length, 0, "no RoPE half swap left (a concat over [N, heads, D]'s last axis)");
    assert.equal(count('Sigmoid'), 2 * L, "the MLP's σ in the forward and the backward (ORT merges each pair)");
  } finally {
    disposeTrainer(t);
  }
});
