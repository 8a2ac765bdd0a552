// The benches' only door into tokenpipe's training internals: every import of src/train (and of the
// modules being moved between src/ folders) lives here, so a move is fixed in this one file.
// What the benches need: a trainer on a model folder for one embedding mode, set up the way the train node
// (nodes/train-step.ts) sets it up for a thread count (step plan -> recompute; DataParallel when threads > 1),
// random and packed batches, one update through the node's own step (trainStepParallel), and the step plan.
import os from 'node:os';
import path from 'node:path';
import { readIpcFile } from '../src/io/arrow.ts';
import { backendMemoryLimit, setBackend, type BackendName } from '../src/model/backend.ts';
import { parseModelConfig, type ModelConfig } from '../src/model/config.ts';
import { EMBEDDING_MODES, type EmbeddingMode } from '../src/model/modes.ts';
import { frozenFor, loadModel } from '../src/model/weights.ts';
import { TrainConfig } from '../src/train/config.ts';
import { memoryPlan } from '../src/train/memory-plan.ts';
import { DataParallel } from '../src/train/parallel.ts';
import { formatStepPlan, stepPlan, type StepPlan } from '../src/train/step-memory.ts';
import { nativeStepPlan } from '../src/train/step-memory-native.ts';
import { stepBatch, trainStepParallel, type StepBatch, type StepUpdate } from '../src/train/step.ts';
import { createTrainer, disposeTrainer, type Trainer } from '../src/train/trainer.ts';

export { EMBEDDING_MODES, formatStepPlan, parseModelConfig, setBackend, type EmbeddingMode, type StepBatch, type StepPlan };

/** LoRA r=8 alpha=16 on q_proj, v_proj (TrainConfig's defaults, spelled out because the benches promise them). */
export const BENCH_LORA = { r: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] as const };

export interface BenchTrainer {
  trainer: Trainer;
  config: ModelConfig;
  /** Rows of the embedding with the new tokens appended: ids are drawn below this. */
  vocabSize: number;
  /** The step plan the train node would make for this run (it decides recomputation). */
  plan: StepPlan;
  /** Threads sharing each update (1: the plain step on this thread). */
  threads: number;
  /** One update through the train node's step: trainStepParallel with this run's DataParallel (none at 1 thread). */
  step(micro: StepBatch[]): Promise<StepUpdate>;
  dispose(): Promise<void>;
}

export interface OpenOptions {
  newTokens: number;
  gradAccumulation: number;
  /** Rows and tokens of one micro-batch (the plan is made from them, as the train node does from its first batch). */
  B: number;
  T: number;
  /** Threads sharing each update's rows, as train-step `threads: n` (default 1). */
  threads?: number;
  seed?: number;
  /** 'native': each pass one ONNX Runtime graph with `threads` intra-op threads, one trainer (as train-step on backend native). */
  engine?: 'wasm' | 'native';
}

/**
 * Loads `dir` and sets it up for `mode` with `newTokens` rows appended after the vocabulary (zero rows), the way
 * nodes/train-step.ts does on the wasm backend with `threads: n` and `recompute: auto`: the step plan of a thread's
 * rows picks recomputation, and n > 1 starts DataParallel (n − 1 workers, each loading the model).
 */
export async function openTrainer(dir: string, mode: EmbeddingMode, opts: OpenOptions): Promise<BenchTrainer> {
  const native = opts.engine === 'native';
  const threads = native ? 1 : opts.threads ?? 1;
  const model = await loadModel(dir, { frozen: frozenFor(opts.engine ?? 'wasm') });
  const V0 = model.tokens.vocabSize;
  const H = model.config.hiddenSize;
  const n = opts.newTokens;
  const cfg = TrainConfig.parse({
    embedding: mode, steps: 1_000_000, lr: 1e-3, lora: BENCH_LORA, gradAccumulation: opts.gradAccumulation, schedule: { kind: 'constant' },
  });
  const ids = Array.from({ length: n }, (_, i) => V0 + i);
  const rows = new Float32Array(n * H);
  const seed = opts.seed ?? 1;
  const trainer = createTrainer(model, cfg, { newTokenIds: ids, newTokens: ids.map((i) => `<t${i}>`), embedRows: rows, headRows: rows }, seed);
  const plan = benchStepPlan(model.config, mode, { ...opts, threads });
  trainer.recompute = plan.recompute;
  if (native) trainer.native = { threads: opts.threads ?? 1 };
  let dp: DataParallel | null = null;
  if (threads > 1) {
    try {
      dp = await DataParallel.start(threads, { key: `bench/${dir}/${mode}`, modelDir: dir, backend: 'wasm', cfg: trainer.cfg, tokens: trainer.tokens, seed });
    } catch (e) {
      disposeTrainer(trainer);
      throw e;
    }
  }
  const dispose = async () => {
    await dp?.close();
    disposeTrainer(trainer);
  };
  return { trainer, config: model.config, vocabSize: V0 + n, plan, threads, dispose, step: (micro) => trainStepParallel(trainer, micro, dp) };
}

/** One optimizer update over the micro-batches through the train node's step (trainStepParallel); loss and scored tokens. */
export async function update(t: BenchTrainer, micro: StepBatch[]): Promise<{ loss: number; tokens: number }> {
  const r = await t.step(micro);
  return { loss: r.loss, tokens: r.tokens };
}

/**
 * The step plan nodes/train-step.ts makes for `threads` threads and `recompute: auto` (default backend wasm): each
 * thread plans min(B, ceil(B·accum / threads)) rows of T tokens against the backend's limit (wasm: the 4 GiB heap;
 * cpu, tensorflow: totalMemory / threads, this machine's memory unless given).
 */
export function benchStepPlan(
  c: ModelConfig, mode: EmbeddingMode,
  o: { newTokens: number; gradAccumulation: number; B: number; T: number; threads?: number; backend?: BackendName; totalMemory?: number },
): StepPlan {
  const threads = o.threads ?? 1;
  const rows = Math.min(o.B, Math.ceil((o.B * o.gradAccumulation) / threads));
  const limit = backendMemoryLimit(o.backend ?? 'wasm', (o.totalMemory ?? os.totalmem()) / threads);
  return stepPlan({ ...planInput(c, o.newTokens, o.gradAccumulation), B: rows, T: o.T, recompute: 'auto', limit }, mode);
}

/**
 * What the memory plan predicts for one bench run of `engine`, and what that figure is a prediction of, or null where
 * the engine has no plan: wasm's step plan predicts its wasm heap (a fit check against the 4 GiB ceiling); the native
 * engine's (src/train/step-memory-native.ts) predicts the process's peak RSS against the machine's memory.
 */
export function predictedMemory(
  engine: 'wasm' | 'native', c: ModelConfig, mode: EmbeddingMode, o: { newTokens: number; gradAccumulation: number; B: number; T: number; threads: number },
): { bytes: number; of: string; fits: boolean; limit: number | null; plan: StepPlan } | null {
  if (engine === 'native') {
    // One trainer on ORT's own threads takes every row; the plan is the process's peak RSS against the machine's memory.
    const plan = nativeStepPlan({ ...planInput(c, o.newTokens, o.gradAccumulation), B: o.B, T: o.T, recompute: 'never', limit: backendMemoryLimit('native', os.totalmem()) }, mode);
    return { bytes: plan.heap, of: 'peak RSS', fits: plan.fits, limit: plan.limit, plan };
  }
  const plan = benchStepPlan(c, mode, { ...o, backend: 'wasm' });
  return { bytes: plan.heap, of: 'wasm heap per thread', fits: plan.fits, limit: plan.limit, plan };
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

function planInput(c: ModelConfig, newTokens: number, gradAccumulation: number) {
  return { shape: c, lora: TrainConfig.parse({ steps: 1, lora: BENCH_LORA }).lora, newTokens, extraEmbedRows: 0, extraHeadRows: 0, gradAccumulation };
}

/** The memory plan's total: trainable params + grads + AdamW moments (+ accumulator). */
export function planBytes(c: ModelConfig, mode: EmbeddingMode, newTokens: number, gradAccumulation: number): number {
  return memoryPlan(planInput(c, newTokens, gradAccumulation), mode).bytes.total;
}

