// The real-shape benches' workload per shape (issues 10 and 14): B=8 T=128 per update, except
// Qwen2.5-0.5B at B=1 T=512 with 8 micro-batches per update (8 sequences, like the others); LoRA r=8 on
// q_proj, v_proj and 16 new token rows everywhere. The model folders come from tools/random-model.ts.
import { loadModelConfig, type ModelConfig } from '../src/model/config.ts';
import { ensureRandomModel, REAL_SHAPES, type ShapeName } from '../tools/random-model.ts';

export { REAL_SHAPES, type ShapeName };

/** The train bench's shapes (issue 22): the real ones plus Llama-3.2-1B, which only engines without wasm's 4 GiB heap can fit. */
export const TRAIN_SHAPES: ShapeName[] = [...REAL_SHAPES, 'llama-3.2-1b'];

/** The train bench's workload on every shape (issue 22): one micro-batch of B=8 rows of T=128 tokens per update. */
export const TRAIN_WORKLOAD: Workload = { B: 8, T: 128, accum: 1 };

export const NEW_TOKENS = 16;
export const LORA_RANK = 8;

export interface Workload {
  B: number;
  T: number;
  /** Micro-batches per optimizer update. */
  accum: number;
}

export function workloadOf(shape: ShapeName): Workload {
  return shape === 'qwen2.5-0.5b' ? { B: 1, T: 512, accum: 8 } : { B: 8, T: 128, accum: 1 };
}

export interface PreparedShape {
  shape: ShapeName;
  dir: string;
  config: ModelConfig;
  work: Workload;
  /** Seconds spent generating the folder; 0 when the cached one was reused. */
  generatedSeconds: number;
}

/** The shape's folder (generated on first use, seed 0) and its config. */
export async function prepareShape(shape: ShapeName, log: (s: string) => void): Promise<PreparedShape> {
  const t0 = performance.now();
  const { dir, reused } = await ensureRandomModel(shape, { seed: 0 });
  const generatedSeconds = reused ? 0 : (performance.now() - t0) / 1000;
  if (!reused) log(`  generated ${dir} in ${generatedSeconds.toFixed(1)} s`);
  return { shape, dir, config: loadModelConfig(dir), work: workloadOf(shape), generatedSeconds };
}

export const fmtBytes = (n: number | null | undefined) => (n == null ? 'n/a' : n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(0)} MiB`);
export const fmt = (n: number | null | undefined, digits = 3) => (n == null || !Number.isFinite(n) ? 'n/a' : n.toPrecision(digits));
