// Gradients reaching the trainable token rows (row tables and full tables) agree with central
// finite differences, on the cpu and the wasm backend (wasm lacks tf.gather's gradient kernel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FrozenTokenTable } from '../src/model/weights.ts';
import { createTokenTable, type TokenTableInit } from '../src/model/tokens.ts';
import { paramGrads } from '../src/train/grads.ts';

const V0 = 10, H = 4, n = 2;
const det = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => 0.5 * Math.sin(seed * 3.7 + i * 0.9));
const ids = Int32Array.from([1, 10, 4, 11, 1, 7]);

function makeBase(tied: boolean) {
  const E = tf.tensor2d(det(V0 * H, 1), [V0, H]);
  const headT = tied ? (tf.transpose(E) as tf.Tensor2D) : (tf.transpose(tf.tensor2d(det(V0 * H, 2), [V0, H])) as tf.Tensor2D);
  if (tied) E.dispose();
  return new FrozenTokenTable(headT, tied ? null : E);
}

/** A smooth scalar that uses the table both ways: the looked-up rows feed the head. */
function lossOf(table: ReturnType<typeof createTokenTable>) {
  return () => tf.tidy(() => {
    const x = tf.tanh(table.embed(tf.tensor1d(ids, 'int32'))); // [N, H]
    const z = table.logits(x as tf.Tensor2D); // [N, V]
    return tf.add(tf.sum(tf.logSumExp(z, 1)), tf.sum(tf.square(x))) as tf.Scalar;
  });
}

function checkFiniteDifferences(table: ReturnType<typeof createTokenTable>) {
  const f = lossOf(table);
  for (const p of table.params()) {
    const analytic = tf.tidy(() => paramGrads(f, [p]).grads.get(p.name)!.dataSync());
    const base = p.variable.dataSync().slice();
    const eps = 1e-2;
    // Every entry for small tables; a spread of entries for the full [H, V] ones.
    const step = Math.max(1, Math.floor(base.length / 24));
    for (let i = 0; i < base.length; i += step) {
      const at = (d: number) => {
        const v = base.slice();
        v[i] += d;
        p.variable.assign(tf.tensor(v, p.variable.shape));
        return tf.tidy(() => f().dataSync()[0]);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      p.variable.assign(tf.tensor(base, p.variable.shape));
      assert.ok(Math.abs(fd - analytic[i]) < 2e-3 + 2e-2 * Math.abs(fd), `${p.name}[${i}]: analytic ${analytic[i]} vs fd ${fd}`);
    }
  }
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
