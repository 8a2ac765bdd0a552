// The training token tables compute exactly what PEFT's row replacement computes: the
// embedding and the logits of a model whose matrix has the listed rows swapped for the trained
// ones and the new rows appended (reference built by hand as full matrices here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FrozenTokenTable, tableLogits } from '../src/model/weights.ts';
import { createTokenTable } from '../src/model/tokens.ts';

const V0 = 12, H = 5, n = 3;
const det = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
const E = det(V0 * H, 1); // base embedding [V0, H]
const W = det(V0 * H, 2); // base head [V0, H]
const ids = Int32Array.from([0, 3, 12, 7, 14, 3, 13, 11]);
const h = det(ids.length * H, 3); // [N, H]

function base(tied: boolean): FrozenTokenTable {
  return new FrozenTokenTable(tf.tensor2d(tied ? E : W, [V0, H]), tied ? null : tf.tensor2d(E, [V0, H]));
}

/** Full [V, H] matrix: base rows, rows of `replaced` ids overwritten, `appended` rows added. */
function reference(baseRows: Float32Array, replaced: Map<number, Float32Array>, appended: Float32Array): Float32Array {
  const M = new Float32Array((V0 + n) * H);
  M.set(baseRows);
  M.set(appended, V0 * H);
  for (const [id, row] of replaced) M.set(row, id * H);
  return M;
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

function matmulT(x: Float32Array, M: Float32Array, rows: number): Float32Array {
  const N = x.length / H;
  const out = new Float32Array(N * rows);
  for (let i = 0; i < N; i++) for (let v = 0; v < rows; v++) {
    let s = 0;
    for (let k = 0; k < H; k++) s += x[i * H + k] * M[v * H + k];
    out[i * rows + v] = s;
  }
  return out;
}

for (const backend of ['cpu', 'wasm']) {
  test(`untied: retrained rows 3 (embed) and 7, 3 (head) plus 3 appended rows (${backend})`, async () => {
    await tf.setBackend(backend);
    const newE = det(n * H, 4), newW = det(n * H, 5);
    const table = createTokenTable(base(false), { mode: 'trainable-tokens', appendedEmbed: newE, appendedHead: newW, replaceEmbed: [3], replaceHead: [7, 3] });
    assert.equal(table.vocabSize, V0 + n);
    // Move the retrained rows away from their init so replacement is visible.
    const exp = table.exportRows() as any;
    assert.deepEqual(exp.embed.ids, [3, 12, 13, 14]);
    assert.deepEqual(exp.lmHead.ids, [7, 3, 12, 13, 14]);
    close(exp.embed.rows.subarray(0, H), E.subarray(3 * H, 4 * H), 'init copies the base row');
    const e3 = det(H, 6), w7 = det(H, 7), w3 = det(H, 8);
    exp.embed.rows.set(e3, 0);
    exp.lmHead.rows.set(w7, 0);
    exp.lmHead.rows.set(w3, H);
    table.importRows({ embed: exp.embed, lmHead: exp.lmHead });
    const refE = reference(E, new Map([[3, e3]]), newE);
    const refW = reference(W, new Map([[7, w7], [3, w3]]), newW);
    const emb = tf.tidy(() => table.embed(tf.tensor1d(ids, 'int32')).dataSync());
    const want = new Float32Array(ids.length * H);
    ids.forEach((id, i) => want.set(refE.subarray(id * H, (id + 1) * H), i * H));
    close(emb, want, 'embed');
    const logits = tf.tidy(() => tableLogits(table, tf.tensor2d(h, [ids.length, H])).dataSync());
    close(logits, matmulT(h, refW, V0 + n), 'logits');
    assert.equal(table.params().map((p) => p.name).join(), 'tokens.embed,tokens.lm_head');
    table.dispose();
  });

  test(`tied: one row set drives embedding and logits; full mode equals the same matrices (${backend})`, async () => {
    await tf.setBackend(backend);
    const newE = det(n * H, 9);
    const rowsT = createTokenTable(base(true), { mode: 'trainable-tokens', appendedEmbed: newE, replaceEmbed: [7] });
    const fullT = createTokenTable(base(true), { mode: 'full', appendedEmbed: newE });
    const refE = reference(E, new Map(), newE);
    for (const table of [rowsT, fullT]) {
      const emb = tf.tidy(() => table.embed(tf.tensor1d(ids, 'int32')).dataSync());
      const want = new Float32Array(ids.length * H);
      ids.forEach((id, i) => want.set(refE.subarray(id * H, (id + 1) * H), i * H));
      close(emb, want, `${table.mode} embed`);
      close(tf.tidy(() => tableLogits(table, tf.tensor2d(h, [ids.length, H])).dataSync()), matmulT(h, refE, V0 + n), `${table.mode} logits`);
    }
    assert.equal(rowsT.exportRows().hasOwnProperty('lmHead'), false);
    const full = fullT.exportRows() as { embedFull: Float32Array; headFull: Float32Array };
    close(full.embedFull, refE, 'full export');
    assert.deepEqual(fullT.params().map((p) => p.variable.shape), [[V0 + n, H]]); // one [V, H] matrix, as HF stores it
    rowsT.dispose();
    fullT.dispose();
  });
}

test('frozen mode: appended rows are used but nothing trains; bad ids are refused', async () => {
  await tf.setBackend('cpu');
  const t = createTokenTable(base(false), { mode: 'frozen', appendedEmbed: det(n * H, 1), appendedHead: det(n * H, 2) });
  assert.deepEqual(t.params(), []);
  assert.equal(t.vocabSize, V0 + n);
  t.dispose();
  assert.throws(() => createTokenTable(base(false), { mode: 'trainable-tokens', appendedEmbed: det(n * H, 1), appendedHead: det(n * H, 2), replaceEmbed: [V0] }), /not an existing token id/);
  assert.throws(() => createTokenTable(base(false), { mode: 'trainable-tokens', appendedEmbed: det(n * H, 1) }), /appended head rows/);
});

for (const backend of ['cpu', 'wasm']) {
  test(`a single new token and a single retrained row work (one-hot depth 1) (${backend})`, async () => {
    await tf.setBackend(backend);
    const one = det(H, 11);
    const t = createTokenTable(base(true), { mode: 'trainable-tokens', appendedEmbed: one });
    assert.equal(t.vocabSize, V0 + 1);
    close(tf.tidy(() => t.embed(tf.tensor1d([V0, 2], 'int32')).dataSync()), [...one, ...E.subarray(2 * H, 3 * H)], 'embed');
    t.dispose();
    const r = createTokenTable(base(false), { mode: 'trainable-tokens', appendedEmbed: new Float32Array(0), appendedHead: new Float32Array(0), replaceEmbed: [4] });
    close(tf.tidy(() => r.embed(tf.tensor1d([4], 'int32')).dataSync()), E.subarray(4 * H, 5 * H), 'retrained row starts as the base row');
    r.dispose();
  });
}
