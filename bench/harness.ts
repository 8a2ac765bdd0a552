// The benches' only door into tokenpipe's training internals: every import of src/train (and of the
// modules being moved between src/ folders) lives here, so a move is fixed in this one file.
// What the benches need: a trainer on a model folder for one embedding mode, random and packed batches,
// one update, and the memory plan's predicted peak when there is one.
import path from 'node:path';
import { readIpcFile } from '../src/io/arrow.ts';
import { setBackend } from '../src/model/backend.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { loadModel } from '../src/model/weights.ts';
import { TrainConfig } from '../src/train/config.ts';
import { EMBEDDING_MODES, memoryPlan, type EmbeddingMode } from '../src/train/memory-plan.ts';
import { stepBatch, trainStep, type StepBatch } from '../src/train/step.ts';
import { createTrainer, disposeTrainer, type Trainer } from '../src/train/trainer.ts';

export { EMBEDDING_MODES, setBackend, type EmbeddingMode, type StepBatch };

/** LoRA r=8 alpha=16 on q_proj, v_proj (TrainConfig's defaults, spelled out because the benches promise them). */
export const BENCH_LORA = { r: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] as const };

export interface BenchTrainer {
  trainer: Trainer;
  config: ModelConfig;
  /** Rows of the embedding with the new tokens appended: ids are drawn below this. */
  vocabSize: number;
  dispose(): void;
}

/** Loads `dir` and sets it up for `mode` with `newTokens` rows appended after the vocabulary (zero rows). */
export async function openTrainer(dir: string, mode: EmbeddingMode, opts: { newTokens: number; gradAccumulation: number; seed?: number }): Promise<BenchTrainer> {
  const model = await loadModel(dir);
  const V0 = model.tokens.vocabSize;
  const H = model.config.hiddenSize;
  const n = opts.newTokens;
  const cfg = TrainConfig.parse({
    embedding: mode, steps: 1_000_000, lr: 1e-3, lora: BENCH_LORA, gradAccumulation: opts.gradAccumulation, schedule: { kind: 'constant' },
  });
  const ids = Array.from({ length: n }, (_, i) => V0 + i);
  const rows = new Float32Array(n * H);
  const trainer = createTrainer(model, cfg, { newTokenIds: ids, newTokens: ids.map((i) => `<t${i}>`), embedRows: rows, headRows: rows }, opts.seed ?? 1);
  return { trainer, config: model.config, vocabSize: V0 + n, dispose: () => disposeTrainer(trainer) };
}

/** One optimizer update over the micro-batches; loss and scored tokens. */
export function update(t: BenchTrainer, micro: StepBatch[]): { loss: number; tokens: number } {
  const r = trainStep(t.trainer, micro);
  return { loss: r.loss, tokens: r.tokens };
}

/** B rows of T random ids below V (seeded LCG), each row one document scored at every position but its last. */
export function randomBatch(V: number, B: number, T: number, seed: number): StepBatch {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const N = B * T;
  const inputIds = Int32Array.from({ length: N }, () => Math.floor(rnd() * V));
  const targets = new Int32Array(N);
  for (let i = 0; i < N; i++) targets[i] = (i + 1) % T === 0 ? -100 : inputIds[i + 1];
  const positionIds = Int32Array.from({ length: N }, (_, i) => i % T);
  const documentIds = Int32Array.from({ length: N }, (_, i) => Math.floor(i / T));
  return { B, T, inputIds, targets, positionIds, documentIds };
}

/** The first `n` train batches of a batch-packer cache folder (manifest.json + Arrow IPC shards), as steps take them. */
export async function packedBatches(cacheDir: string, n: number): Promise<StepBatch[]> {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(path.join(cacheDir, 'manifest.json'), 'utf8'));
  const out: StepBatch[] = [];
  for (const shard of manifest.splits.train.shards as Array<{ file: string }>) {
    for (const b of await readIpcFile(path.join(cacheDir, shard.file))) {
      if (out.length === n) return out;
      out.push(stepBatch(b, manifest.seqLen));
    }
  }
  return out;
}

function planOf(c: ModelConfig, mode: EmbeddingMode, newTokens: number, gradAccumulation: number) {
  return memoryPlan({ shape: c, lora: TrainConfig.parse({ steps: 1, lora: BENCH_LORA }).lora, newTokens, gradAccumulation }, mode);
}

/** The memory plan's total today: trainable params + grads + AdamW moments (+ accumulator). */
export function planBytes(c: ModelConfig, mode: EmbeddingMode, newTokens: number, gradAccumulation: number): number {
  return planOf(c, mode, newTokens, gradAccumulation).bytes.total;
}

/**
 * The memory plan's predicted peak bytes of one update, or null while the plan has no peak (today it
 * counts trainable params, grads and AdamW moments only). The one call the memory bench makes.
 */
export function predictedPeakBytes(c: ModelConfig, mode: EmbeddingMode, newTokens: number, gradAccumulation: number): number | null {
  const peak = (planOf(c, mode, newTokens, gradAccumulation).bytes as Record<string, unknown>).peak;
  return typeof peak === 'number' ? peak : null;
}
