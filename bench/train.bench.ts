// Train-step speed and memory on the committed base model (fixtures/base: Llama, hidden 128,
// 4 layers, vocab 4096), one figure per embedding mode: tokens/s of full updates (forward,
// fused loss, backward, AdamW) on the wasm backend, and the bytes of trainable parameters,
// gradients and AdamW moments from the memory plan (the test train-dry-run checks that plan
// against what a real trainer allocates). Sizes: TRAIN_BENCH_B, TRAIN_BENCH_T, TRAIN_BENCH_STEPS.
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { setBackend } from '../src/model/backend.ts';
import { loadModelConfig } from '../src/model/config.ts';
import { loadModel } from '../src/model/weights.ts';
import { TrainConfig } from '../src/train/config.ts';
import { memoryPlan } from '../src/train/memory-plan.ts';
import { EMBEDDING_MODES, type EmbeddingMode } from '../src/model/modes.ts';
import { trainStep, type StepBatch } from '../src/train/step.ts';
import { createTrainer, disposeTrainer } from '../src/train/trainer.ts';
import type { BenchResult } from './run.ts';

const MODEL = path.join(import.meta.dirname, '..', 'fixtures', 'base');
const B = Number(process.env.TRAIN_BENCH_B ?? 8);
const T = Number(process.env.TRAIN_BENCH_T ?? 128);
const STEPS = Number(process.env.TRAIN_BENCH_STEPS ?? 4);
const NEW = 16; // new tokens appended after the base vocabulary

function batch(V: number, seed: number): StepBatch {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const N = B * T;
  const inputIds = Int32Array.from({ length: N }, () => Math.floor(rnd() * V));
  const targets = new Int32Array(N);
  for (let i = 0; i < N; i++) targets[i] = (i + 1) % T === 0 ? -100 : inputIds[i + 1];
  const positionIds = Int32Array.from({ length: N }, (_, i) => i % T);
  const documentIds = Int32Array.from({ length: N }, (_, i) => Math.floor(i / T));
  return { B, T, inputIds, targets, positionIds, documentIds };
}

async function tokensPerSec(mode: EmbeddingMode): Promise<number> {
  const model = await loadModel(MODEL);
  const V0 = model.tokens.vocabSize;
  const H = model.config.hiddenSize;
  const cfg = TrainConfig.parse({ embedding: mode, steps: STEPS + 1, lr: 1e-3 });
  const ids = Array.from({ length: NEW }, (_, i) => V0 + i);
  const trainer = createTrainer(model, cfg, { newTokenIds: ids, newTokens: ids.map((i) => `<t${i}>`), embedRows: new Float32Array(NEW * H) }, 1);
  try {
    trainStep(trainer, [batch(V0 + NEW, 0)]); // warm-up: kernels compiled, buffers sized
    const t0 = performance.now();
    for (let i = 1; i <= STEPS; i++) trainStep(trainer, [batch(V0 + NEW, i)]);
    return (B * T * STEPS) / ((performance.now() - t0) / 1000);
  } finally {
    disposeTrainer(trainer);
  }
}

export default async function (): Promise<BenchResult[]> {
  await setBackend('wasm');
  const shape = loadModelConfig(MODEL); // a ModelConfig is a ModelShape (a Pick of it)
  const rows: BenchResult[] = [];
  for (const mode of EMBEDDING_MODES) {
    const plan = memoryPlan({ shape, lora: TrainConfig.parse({ steps: 1 }).lora, newTokens: NEW, extraEmbedRows: 0, extraHeadRows: 0, gradAccumulation: 1 }, mode);
    rows.push({ name: `${mode} train step`, value: Math.round(await tokensPerSec(mode)), unit: 'tok/s', note: `wasm, B=${B} T=${T}, LoRA r=8 q,v, ${NEW} new tokens` });
    rows.push({ name: `${mode} training memory`, value: plan.bytes.total, unit: 'bytes', note: 'trainable params + grads + AdamW moments' });
  }
  rows.push({ name: 'tensors alive after benchmark', value: tf.memory().numTensors, unit: 'tensors' });
  return rows;
}
