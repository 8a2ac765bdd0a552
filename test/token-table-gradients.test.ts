// Gradients the token tables route to their params (row tables and full tables: the lookup's gradient plus the
// chunked head's) agree with central finite differences of the loss, on the cpu and the wasm backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { headLossAndGrad, headLossAndGradFull } from '../src/model/head-loss.ts';
import { headScores } from '../src/model/head.ts';
import type { GradSink } from '../src/model/layer.ts';
import { FrozenTokenTable } from '../src/model/weights.ts';
import { createTokenTable, type TokenTableInit } from '../src/model/tokens.ts';

const V0 = 10, H = 4, n = 2;
const det = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => 0.5 * Math.sin(seed * 3.7 + i * 0.9));
const ids = Int32Array.from([1, 10, 4, 11, 1, 7]);
/** Targets: a new id, replaced ids (7 in the embedding, 4 in an untied head), base ids, one ignored position. */
const targets = Int32Array.from([10, 7, -100, 4, 11, 2]);

function makeBase(tied: boolean) {
  const E = tf.tensor2d(det(V0 * H, 1), [V0, H]);
  return tied ? new FrozenTokenTable(E, null) : new FrozenTokenTable(tf.tensor2d(det(V0 * H, 2), [V0, H]), E);
}

type Table = ReturnType<typeof createTokenTable>;

/** A smooth scalar that uses the table both ways: x = tanh(looked-up rows) feeds the head; plus Σ x². */
function lossOf(table: Table): number {
  return tf.tidy(() => {
    const x = tf.tanh(table.embed(tf.tensor1d(ids, 'int32'))) as tf.Tensor2D; // [N, H]
    const nll = headScores(x, targets, table.headColumns(), 4).nll.reduce((a, b) => a + b, 0);
    return nll + tf.sum(tf.square(x)).dataSync()[0];
  });
}

/** The same loss's gradients, routed by the table: dx = head's dh + 2x, dE = dx·(1 − x²). */
function gradsOf(table: Table): GradSink {
  const grads: GradSink = new Map();
  tf.tidy(() => {
    const x = tf.tanh(table.embed(tf.tensor1d(ids, 'int32'))) as tf.Tensor2D;
    const cols = table.headColumns();
    const head = table.trainsHead ? headLossAndGradFull(x, targets, cols.head, 1, 4) : headLossAndGrad(x, targets, cols, 1, 4);
    const dE = tf.mul(tf.add(head.dh, tf.mul(x, 2)), tf.sub(1, tf.square(x))) as tf.Tensor2D;
    table.backward(ids, dE, { dExtra: head.dExtra, dHead: (head as { dHead?: tf.Tensor2D }).dHead }, grads);
  });
  return grads;
}

function checkFiniteDifferences(table: Table) {
  const sink = gradsOf(table);
  for (const p of table.params()) {
    const analytic = sink.get(p.name)!.dataSync();
    const base = p.variable.dataSync().slice();
    const eps = 1e-2;
    // Every entry for small tables; a spread of entries for the full [V, H] ones.
    const step = Math.max(1, Math.floor(base.length / 24));
    for (let i = 0; i < base.length; i += step) {
      const at = (d: number) => {
        const v = base.slice();
        v[i] += d;
        p.variable.assign(tf.tensor(v, p.variable.shape));
        return lossOf(table);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      p.variable.assign(tf.tensor(base, p.variable.shape));
      assert.ok(Math.abs(fd - analytic[i]) < 2e-3 + 2e-2 * Math.abs(fd), `${p.name}[${i}]: analytic ${analytic[i]} vs fd ${fd}`);
    }
  }
  assert.ok([...sink.values()].some((g) => g.dataSync().some((v) => Math.abs(v) > 1e-3)), 'gradients are not trivially zero');
  tf.dispose([...sink.values()]);
}

for (const backend of ['cpu', 'wasm']) {
  for (const tied of [false, true]) {
    const rows = (): TokenTableInit => ({
      mode: 'trainable-tokens', appendedEmbed: det(n * H, 5), appendedHead: tied ? undefined : det(n * H, 6),
      replaceEmbed: [7], replaceHead: tied ? undefined : [4],
    });
    test(`row table gradients match finite differences (${tied ? 'tied' : 'untied'}, ${backend})`, async () => {
      await tf.setBackend(backend);
      const t = createTokenTable(makeBase(tied), rows());
      assert.equal(t.params().length, tied ? 1 : 2);
      checkFiniteDifferences(t);
      t.dispose();
    });
    test(`full table gradients match finite differences (${tied ? 'tied' : 'untied'}, ${backend})`, async () => {
      await tf.setBackend(backend);
      const t = createTokenTable(makeBase(tied), { mode: 'full', appendedEmbed: det(n * H, 5), appendedHead: tied ? undefined : det(n * H, 6) });
      checkFiniteDifferences(t);
      t.dispose();
    });
  }
}
