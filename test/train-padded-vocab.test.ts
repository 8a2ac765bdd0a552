// New token ids that fall inside a padded vocabulary (Qwen: the matrix has more rows than the
// tokenizer has ids) take over those rows: their embedding and logit column use the new rows,
// they train as replaced rows, and the adapter stores them (in 'frozen' mode too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadModel, tableLogits } from '../src/model/weights.ts';
import { TrainConfig } from '../src/train/config.ts';
import { adapterContents, createTrainer, disposeTrainer } from '../src/train/trainer.ts';
import { trainStep } from '../src/train/step.ts';
import { fixtureBatch, useBackend } from './fixtures/train/setup.ts';

async function qwenTrainer(embedding: 'trainable-tokens' | 'frozen') {
  const model = await loadModel('fixtures/models/qwen3'); // 2138 rows, tokenizer ids end at 2073
  const H = model.config.hiddenSize;
  const rows = Float32Array.from({ length: 3 * H }, (_, i) => Math.cos(i * 0.3));
  const head = model.config.tieWordEmbeddings ? undefined : Float32Array.from(rows, (x) => -x);
  return { t: createTrainer(model, TrainConfig.parse({ steps: 5, embedding, lr: 1e-2 }), { newTokenIds: [2074, 2075, 2076], newTokens: ['a', 'b', 'c'], embedRows: rows, headRows: head }, 3), rows, head, H };
}

test('in-vocabulary new ids use the new rows for embedding and logits', async () => {
  await useBackend('cpu');
  const { t, rows, head, H } = await qwenTrainer('frozen');
  assert.equal(t.table.vocabSize, 2138);
  const emb = tf.tidy(() => t.table.embed(tf.tensor1d([2075], 'int32')).dataSync());
  assert.deepEqual(Array.from(emb), Array.from(rows.subarray(H, 2 * H)));
  const h = Float32Array.from({ length: H }, (_, i) => Math.sin(i));
  const z = tf.tidy(() => tableLogits(t.table, tf.tensor2d(h, [1, H])).dataSync());
  const col = head ?? rows;
  const want = h.reduce((s, x, i) => s + x * col[2 * H + i], 0);
  assert.ok(Math.abs(z[2076] - want) < 1e-4, `${z[2076]} vs ${want}`);
  const a = adapterContents(t, 'qwen');
  assert.deepEqual(a.tokenRows!.embed.ids, [2074, 2075, 2076]);
  assert.deepEqual(a.tokenRows!.embed.rows, rows);
  disposeTrainer(t);
});

test('in-vocabulary new rows train in trainable-tokens mode', async () => {
  await useBackend('cpu');
  const { t, rows } = await qwenTrainer('trainable-tokens');
  const b = fixtureBatch(t);
  // fixtureBatch puts ids from V0 = 2138 upward; move them onto the in-vocabulary new ids.
  for (const arr of [b.inputIds, b.targets]) arr.forEach((x, i) => { if (x >= 2138) arr[i] = 2074 + (x - 2138); });
  trainStep(t, [b]);
  const after = adapterContents(t, 'qwen').tokenRows!.embed.rows;
  assert.notDeepEqual(after, rows);
  disposeTrainer(t);
});
