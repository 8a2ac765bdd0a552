// The step memory plan (src/train/step-memory.ts) predicts the peak tensor bytes of a real training update within
// 10%, on shapes that move its terms apart (MLP-, attention- and head-dominated; GQA; tied and untied; LoRA on q/v or
// every linear; with and without recomputation; trainable-tokens and full), and recomputation lowers the peak.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { TrainConfig } from '../src/train/config.ts';
import { stepPlan } from '../src/train/step-memory.ts';
import { trainStep } from '../src/train/step.ts';
import { modelShape } from '../src/model/lora.ts';
import { createTrainer, disposeTrainer } from '../src/train/trainer.ts';
import { randomBatch, randomModel, type RandomShape } from './helpers/random-model.ts';

const shapes: Array<RandomShape & { B: number; T: number }> = [
  { V: 8000, D: 128, L: 3, heads: 4, kvHeads: 2, F: 344, tied: false, B: 4, T: 64 },
  { V: 3000, D: 192, L: 4, heads: 6, kvHeads: 2, F: 512, tied: true, B: 2, T: 128 },
  { V: 5000, D: 96, L: 2, heads: 3, kvHeads: 1, F: 256, tied: false, B: 1, T: 256 },
];

for (const [i, s] of shapes.entries()) {
  test(`predicted peak within 10% of the measured one (shape ${i})`, async () => {
    await setBackend('wasm');
    const seen: Record<string, number> = {};
    for (const embedding of ['trainable-tokens', 'full'] as const) {
      for (const recompute of ['never', 'always'] as const) {
        const targets = i === 1 ? 'all-linear' : (['q_proj', 'v_proj'] as const);
        const cfg = TrainConfig.parse({ steps: 3, embedding, recompute, lora: { targetModules: targets } });
        const n = 3;
        const t = createTrainer(randomModel(s), cfg, {
          newTokenIds: Array.from({ length: n }, (_, k) => s.V + k), newTokens: Array.from({ length: n }, (_, k) => `<${k}>`),
          embedRows: new Float32Array(n * s.D).fill(0.01), headRows: s.tied ? undefined : new Float32Array(n * s.D).fill(0.01),
        }, 0);
        const b = randomBatch(s.V, s.B, s.T, i);
        trainStep(t, [b]);
        const measured = (await tf.profile(() => void trainStep(t, [b]))).peakBytes;
        const plan = stepPlan({ shape: modelShape(t.model), lora: cfg.lora, newTokens: n, B: s.B, T: s.T, recompute, limit: null }, embedding);
        const predicted = recompute === 'always' ? plan.bytes.peak.recompute : plan.bytes.peak.kept;
        const ratio = predicted / measured;
        assert.ok(Math.abs(ratio - 1) <= 0.1, `${embedding}, recompute ${recompute}: predicted ${predicted} bytes, measured ${measured} (${ratio.toFixed(3)})`);
        seen[`${embedding}/${recompute}`] = measured;
        disposeTrainer(t);
      }
    }
    assert.ok(seen['trainable-tokens/always'] < seen['trainable-tokens/never'], 'recomputation lowers the peak');
  });
}
