// Evaluation and training never build [N, V] logits: every kernel output of `pipe eval`'s scoring, of the
// evaluator's metrics and of a training step stays below one logits chunk, on a vocabulary several chunks wide.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { evaluateIds } from '../src/model/eval.ts';
import { TrainConfig } from '../src/train/config.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { trainStep } from '../src/train/step.ts';
import { createTrainer, disposeTrainer } from '../src/train/trainer.ts';
import { randomBatch, randomModel } from './helpers/random-model.ts';

const V = 20000, D = 32, T = 64, B = 4;

/** The largest kernel output (elements) while `f` runs. */
async function largestOutput(f: () => void): Promise<number> {
  const info = await tf.profile(f);
  return Math.max(...info.kernels.flatMap((k) => k.outputShapes.map((s) => (s as number[]).reduce((a, b) => a * b, 1))));
}

test('eval, evaluator metrics and a training step stay within a logits chunk on a 20k vocabulary', async () => {
  await setBackend('wasm');
  const model = randomModel({ V, D, L: 2, heads: 4, kvHeads: 2, F: 64, tied: true });
  const N = B * T;
  const full = N * V; // what an unchunked [N, V] logits tensor would hold
  const ids = Int32Array.from({ length: N }, (_, i) => (i * 7919) % V);
  const evalLargest = await largestOutput(() => void evaluateIds(model, ids, { maxLen: T, batchTokens: N }));
  assert.ok(evalLargest < full / 2, `pipe eval made a ${evalLargest}-element tensor (full logits: ${full})`);
  const t = createTrainer(model, TrainConfig.parse({ steps: 2 }), { newTokenIds: [V], newTokens: ['<x>'], embedRows: new Float32Array(D) }, 0);
  const b = randomBatch(V, B, T);
  const metricsLargest = await largestOutput(() => void evaluate(t.model, [b], t.tokens.newTokenIds, t.tokens.newTokens));
  assert.ok(metricsLargest < full / 2, `the evaluator made a ${metricsLargest}-element tensor`);
  const stepLargest = await largestOutput(() => void trainStep(t, [b]));
  assert.ok(stepLargest < full / 2, `a training step made a ${stepLargest}-element tensor`);
  disposeTrainer(t);
});
