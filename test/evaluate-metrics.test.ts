// Eval metrics: the loss equals the training loss on the same batches (token-weighted), and the
// per-new-token loss, top-1 accuracy and emission counts equal a direct computation from logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { evaluate } from '../src/train/evaluate.ts';
import { batchLoss } from '../src/train/step.ts';
import { countTargets } from '../src/model/loss.ts';
import { forward } from '../src/model/llama.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer, useBackend } from './fixtures/train/setup.ts';

test('evaluate agrees with the training loss and with per-position numbers from the logits', async () => {
  await useBackend('cpu');
  const t = await fixtureTrainer('untied');
  const batches = [fixtureBatch(t, 8, 0), fixtureBatch(t, 8, 1)];
  const m = evaluate(t.model, batches, t.tokens.newTokenIds, t.tokens.newTokens);
  let sum = 0, n = 0;
  for (const b of batches) {
    const k = countTargets(b.targets);
    sum += batchLoss(t, b) * k;
    n += k;
  }
  assert.equal(m.tokens, n);
  assert.ok(Math.abs(m.loss - sum / n) < 1e-5 * (sum / n), `${m.loss} vs ${sum / n}`);
  assert.ok(Math.abs(m.ppl - Math.exp(m.loss)) < 1e-9);

  // Direct: per position, log-softmax and argmax in float64 from the logits.
  const V = t.table.vocabSize;
  const stats = new Map<number, { count: number; loss: number; right: number; predicted: number }>();
  for (const id of t.tokens.newTokenIds) stats.set(id, { count: 0, loss: 0, right: 0, predicted: 0 });
  for (const b of batches) {
    const z = tf.tidy(() => forward(t.model, { inputIds: b.inputIds, B: b.B, T: b.T, positionIds: b.positionIds, documentIds: b.documentIds }).dataSync());
    for (let i = 0; i < b.B * b.T; i++) {
      const target = b.targets[i];
      if (target === -100) continue;
      const row = z.subarray(i * V, (i + 1) * V);
      let max = -Infinity, arg = 0;
      row.forEach((v, j) => { if (v > max) { max = v; arg = j; } });
      let s = 0;
      row.forEach((v) => (s += Math.exp(v - max)));
      const nll = max + Math.log(s) - row[target];
      if (stats.has(arg)) stats.get(arg)!.predicted++;
      const st = stats.get(target);
      if (!st) continue;
      st.count++;
      st.loss += nll;
      if (arg === target) st.right++;
    }
  }
  let newCount = 0, newLoss = 0;
  t.tokens.newTokenIds.forEach((id, k) => {
    const st = stats.get(id)!;
    const got = m.perToken[t.tokens.newTokens[k]];
    assert.equal(got.count, st.count);
    assert.ok(st.count > 0, 'the fixture batches target every new token');
    assert.ok(Math.abs(got.loss - st.loss / st.count) < 1e-4, `${got.loss} vs ${st.loss / st.count}`);
    assert.equal(got.acc, st.right / st.count);
    assert.equal(got.predicted, st.predicted);
    assert.equal(got.emissionRate, st.predicted / st.count);
    newCount += st.count;
    newLoss += st.loss;
  });
  assert.equal(m.newToken.count, newCount);
  assert.ok(Math.abs(m.newToken.loss - newLoss / newCount) < 1e-4);
  disposeTrainer(t);
});
