// Train-step speed and memory on the committed base model (fixtures/base: Llama, hidden 128,
// 4 layers, vocab 4096), one figure per embedding mode: tokens/s of full updates (forward,
// fused loss, backward, AdamW) on the wasm backend, and the bytes of trainable parameters,
// gradients and AdamW moments from the memory plan (the test train-dry-run checks that plan
// against what a real trainer allocates). Sizes: TRAIN_BENCH_B, TRAIN_BENCH_T, TRAIN_BENCH_STEPS.
// Real model shapes and PyTorch beside them: train-shapes.bench.ts.
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { loadModelConfig } from '../src/model/config.ts';
import { EMBEDDING_MODES, openTrainer, planBytes, randomBatch, setBackend, update, type EmbeddingMode } from './harness.ts';
import type { BenchResult } from './run.ts';

const MODEL = path.join(import.meta.dirname, '..', 'fixtures', 'base');
const B = Number(process.env.TRAIN_BENCH_B ?? 8);
const T = Number(process.env.TRAIN_BENCH_T ?? 128);
const STEPS = Number(process.env.TRAIN_BENCH_STEPS ?? 4);
const NEW = 16; // new tokens appended after the base vocabulary

async function tokensPerSec(mode: EmbeddingMode): Promise<number> {
  const t = await openTrainer(MODEL, mode, { newTokens: NEW, gradAccumulation: 1, B, T });
  try {
    await update(t, [randomBatch(t.vocabSize, B, T, 0)]); // warm-up: kernels compiled, buffers sized
    const t0 = performance.now();
    for (let i = 1; i <= STEPS; i++) await update(t, [randomBatch(t.vocabSize, B, T, i)]);
    return (B * T * STEPS) / ((performance.now() - t0) / 1000);
  } finally {
    await t.dispose();
  }
}

export default async function (): Promise<BenchResult[]> {
  await setBackend('wasm');
  const config = loadModelConfig(MODEL);
  const rows: BenchResult[] = [];
  for (const mode of EMBEDDING_MODES) {
    rows.push({ name: `${mode} train step`, value: Math.round(await tokensPerSec(mode)), unit: 'tok/s', note: `wasm, B=${B} T=${T}, LoRA r=8 q,v, ${NEW} new tokens` });
    rows.push({ name: `${mode} training memory`, value: planBytes(config, mode, NEW, 1), unit: 'bytes', note: 'trainable params + grads + AdamW moments' });
  }
  rows.push({ name: 'tensors alive after benchmark', value: tf.memory().numTensors, unit: 'tensors' });
  return rows;
}
