// The chunked head (src/model/head.ts) equals a plain float64 computation over the whole vocabulary: loss, dL/dh,
// the extra rows' gradient (trainable new and replaced rows) and, for a trainable head, dL/dhead; whatever the
// chunk width (one column, uneven chunks, all of V at once), ignoring −100, on wasm and cpu, and on the native engine
// (the same source traced into one ONNX Runtime graph). Per-position scores (loss and top-1) come from the same chunked pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { headLossAndGrad, headLossAndGradFull } from '../src/model/head-loss.ts';
import { headScores, IGNORE_INDEX, type HeadColumns } from '../src/model/head.ts';
import { headLossNative } from '../src/model/head-native.ts';
import { sessionsBuilt } from '../src/model/native-run.ts';

const N = 7, D = 4, V0 = 9;
const val = (i: number, s: number) => Math.sin(i * 12.9898 + s) * 1.3;
const h = Float64Array.from({ length: N * D }, (_, i) => val(i, 1));
const W = Float64Array.from({ length: V0 * D }, (_, i) => val(i, 2)); // base head [V0, D]
const extraIds = [3, 9, 10]; // id 3 is replaced, 9 and 10 are appended
const R = Float64Array.from({ length: extraIds.length * D }, (_, i) => val(i, 3)); // [n, D]
const targets = Int32Array.from([2, IGNORE_INDEX, 3, 10, 9, IGNORE_INDEX, 0]);
const weight = 0.25;
const V = V0 + 2;

/** W' [V, D]: base rows, row 3 replaced, rows 9 and 10 appended. */
function effective(): Float64Array {
  const out = new Float64Array(V * D);
  out.set(W);
  extraIds.forEach((id, k) => out.set(R.subarray(k * D, (k + 1) * D), id * D));
  return out;
}

/** Float64 loss and gradients of Σ weight·(lse − z_target) over scored rows, z = h·W'ᵀ. */
function reference() {
  const Wp = effective();
  let loss = 0;
  const dh = new Float64Array(N * D), dW = new Float64Array(V * D);
  const nll: number[] = [], top1: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    const z = Array.from({ length: V }, (_, j) => { let s = 0; for (let d = 0; d < D; d++) s += h[i * D + d] * Wp[j * D + d]; return s; });
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
    loss += weight * (lse - z[t]);
    nll.push(lse - z[t]);
    top1.push(z.indexOf(m));
    for (let j = 0; j < V; j++) {
      const g = weight * (Math.exp(z[j] - lse) - (j === t ? 1 : 0));
      for (let d = 0; d < D; d++) {
        dh[i * D + d] += g * Wp[j * D + d];
        dW[j * D + d] += g * h[i * D + d];
      }
    }
  }
  const dR = Float64Array.from({ length: extraIds.length * D }, (_, x) => dW[extraIds[Math.floor(x / D)] * D + (x % D)]);
  return { loss, dh, dW, dR, nll, top1 };
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5) {
  assert.equal(got.length, want.length, what);
  const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol * scale, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

const ref = reference();

for (const backend of ['wasm', 'cpu', 'native'] as const) {
  test(`chunked loss, dh and extra-row gradient equal the whole-vocabulary computation on ${backend}`, async () => {
    await setBackend(backend);
    const lossAndGrad = backend === 'native'
      ? (...a: Parameters<typeof headLossAndGrad>) => headLossNative(a[0], a[1], a[2], a[3], { chunk: a[4] })
      : async (...a: Parameters<typeof headLossAndGrad>) => headLossAndGrad(...a);
    const before = tf.memory().numTensors;
    const ht = tf.tensor2d(Float32Array.from(h), [N, D]);
    const cols: HeadColumns = { head: tf.tensor2d(Float32Array.from(W), [V0, D]), masked: [3], extra: tf.tensor2d(Float32Array.from(R), [3, D]), extraIds };
    for (const chunk of [1, 4, 5, V0]) {
      const r = await lossAndGrad(ht, targets, cols, weight, chunk);
      assert.equal(r.count, 5);
      assert.ok(Math.abs(r.loss - ref.loss) <= 1e-5 * ref.loss, `chunk ${chunk}: loss ${r.loss} vs ${ref.loss}`);
      close(r.dh.dataSync(), ref.dh, `chunk ${chunk}: dh`);
      close(r.dExtra!.dataSync(), ref.dR, `chunk ${chunk}: dR`);
      const s = headScores(ht, targets, cols, chunk);
      close(s.nll, ref.nll, `chunk ${chunk}: per-position loss`);
      assert.deepEqual(Array.from(s.top1), ref.top1, `chunk ${chunk}: top-1`);
      assert.deepEqual(Array.from(s.rows), [0, 2, 3, 4, 6]);
      tf.dispose([r.dh, r.dExtra!]);
    }
    const none = await lossAndGrad(ht, new Int32Array(N).fill(IGNORE_INDEX), cols, weight);
    assert.equal(none.count, 0);
    assert.ok(none.dh.dataSync().every((x) => x === 0) && none.dExtra!.dataSync().every((x) => x === 0));
    tf.dispose([none.dh, none.dExtra!, ht, cols.head, cols.extra!]);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  });

  // 'full' mode's two-pass head runs on the native engine inside the whole pass (train-step-native-parity.test.ts).
  if (backend !== 'native') test(`a trainable head's two-pass gradient equals the whole-vocabulary computation on ${backend}`, async () => {
    await setBackend(backend);
    const ht = tf.tensor2d(Float32Array.from(h), [N, D]);
    const head = tf.tensor2d(Float32Array.from(effective()), [V, D]);
    for (const chunk of [2, 7, V]) {
      const r = headLossAndGradFull(ht, targets, head, weight, chunk);
      assert.ok(Math.abs(r.loss - ref.loss) <= 1e-5 * ref.loss, `chunk ${chunk}: loss`);
      close(r.dh.dataSync(), ref.dh, `chunk ${chunk}: dh`);
      close(r.dHead.dataSync(), ref.dW, `chunk ${chunk}: dHead`);
      tf.dispose([r.dh, r.dHead]);
    }
    tf.dispose([ht, head]);
  });
}

test('native: one session serves batches with different numbers of scored rows', async () => {
  await setBackend('native');
  const ht = tf.tensor2d(Float32Array.from(h), [N, D]);
  const cols: HeadColumns = { head: tf.tensor2d(Float32Array.from(W), [V0, D]), masked: [3], extra: tf.tensor2d(Float32Array.from(R), [3, D]), extraIds };
  const fewer = Int32Array.from(targets, (t, i) => (i === 0 ? IGNORE_INDEX : t)); // 4 scored rows instead of 5
  const first = await headLossNative(ht, targets, cols, weight, { chunk: 2 });
  const built = sessionsBuilt();
  const second = await headLossNative(ht, fewer, cols, 0.5, { chunk: 2 });
  assert.equal(sessionsBuilt(), built, 'the second batch reused the first one\'s session');
  assert.equal(second.count, 4);
  assert.ok(second.dh.dataSync().slice(0, D).every((x) => x === 0), 'the unscored row has no gradient');
  const rowLoss = (first.loss / weight) - (second.loss / 0.5); // row 0's nll
  assert.ok(Math.abs(rowLoss - ref.nll[0]) <= 1e-5 * Math.abs(ref.nll[0]) + 1e-6, `row 0: ${rowLoss} vs ${ref.nll[0]}`);
  tf.dispose([ht, cols.head, cols.extra!, first.dh, first.dExtra!, second.dh, second.dExtra!]);
});

test('a target outside the vocabulary is refused', async () => {
  await setBackend('cpu');
  const ht = tf.zeros([1, D]) as tf.Tensor2D;
  const cols: HeadColumns = { head: tf.zeros([V0, D]) as tf.Tensor2D, masked: [], extra: null, extraIds: [] };
  assert.throws(() => headLossAndGrad(ht, Int32Array.from([V0]), cols, 1), /targets\[0\] = 9 is outside \[0, 9\)/);
  tf.dispose([ht, cols.head]);
});
