// One data-parallel training thread (src/train/parallel.ts): its own TF.js instance (wasm or cpu) holding its own copy
// of the frozen model, set up once like the main thread's trainer; per update it takes the current trainable values
// and a share of the update's rows, and returns the gradients of those rows (weighted 1/(scored tokens of the whole
// update), so the main thread only sums) and their loss.
import * as tf from '@tensorflow/tfjs';
import { lossAndGrads } from '../model/grad.ts';
import type { GradSink } from '../model/layer.ts';
import { setBackend, type BackendChoice } from '../model/backend.ts';
import { loadModel } from '../model/weights.ts';
import type { TrainConfig } from './config.ts';
import type { StepBatch } from './step.ts';
import { createTrainer, type TokenSetup, type Trainer } from './trainer.ts';

export interface WorkerSetup {
  /** Identifies the run: a thread sets itself up again when it changes. */
  key: string;
  modelDir: string;
  backend: BackendChoice;
  cfg: TrainConfig;
  tokens: TokenSetup;
  seed: number;
}

/** Rows of one micro-batch, with that micro-batch's dropout seed and where the rows start in it. */
export interface WorkerPart {
  batch: StepBatch;
  dropoutSeed: number;
  rowOffset: number;
}

export interface WorkerTask {
  setup: WorkerSetup;
  /** Current value of every trainable param, by Param name. */
  params: Record<string, Float32Array>;
  parts: WorkerPart[];
  /** Each scored token's weight: 1/(scored tokens of the whole update). */
  weight: number;
  recompute: boolean;
  /** Only set the thread up (load the model); no rows. */
  warm?: boolean;
}

export interface WorkerReply {
  loss: number;
  grads: Record<string, Float32Array>;
}

let current: { key: string; trainer: Trainer } | null = null;

async function trainerFor(s: WorkerSetup): Promise<Trainer> {
  if (current?.key === s.key) return current.trainer;
  await setBackend(s.backend);
  const model = await loadModel(s.modelDir);
  current = { key: s.key, trainer: createTrainer(model, s.cfg, s.tokens, s.seed) };
  return current.trainer;
}

export async function run(task: WorkerTask): Promise<WorkerReply> {
  const t = await trainerFor(task.setup);
  if (task.warm) return { loss: 0, grads: {} };
  for (const p of t.params) {
    const v = task.params[p.name];
    // internal: the main thread sends every param at its own size.
    if (!v || v.length !== p.variable.size) throw new Error(`data-parallel worker: no value of the right size for param ${p.name}`);
    tf.tidy(() => p.variable.assign(tf.tensor(v, p.variable.shape)));
  }
  const sink: GradSink = new Map();
  let loss = 0;
  try {
    for (const part of task.parts) {
      loss += lossAndGrads(t.model, t.table, part.batch, { weight: task.weight, recompute: task.recompute, dropoutSeed: part.dropoutSeed, rowOffset: part.rowOffset }, sink).loss;
    }
    const grads: Record<string, Float32Array> = {};
    for (const [name, g] of sink) grads[name] = g.dataSync() as Float32Array;
    return { loss, grads };
  } finally {
    tf.dispose([...sink.values()]);
  }
}
