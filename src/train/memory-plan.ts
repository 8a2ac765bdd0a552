// What training will hold in memory beyond the frozen model: trainable parameters, their
// gradients and AdamW's two moments (all float32), for each embedding mode. `pipe run --dry-run`
// prints this for the chosen mode next to the other two, so the cost of `full` is visible
// before anyone runs it.
import { EMBEDDING_MODES, type EmbeddingMode } from '../model/modes.ts';
import { loraTargets, type LoraConfig, type ModelShape } from '../model/lora.ts';

export interface PlanInput {
  /** Dimensions of the base model; vocabSize = rows in the base checkpoint, before new tokens. */
  shape: ModelShape;
  lora: LoraConfig;
  /** Tokens appended after the base vocabulary. */
  newTokens: number;
  /** Existing tokens also retrained in the embedding (trainable-tokens mode). */
  extraEmbedRows?: number;
  /** Existing tokens also retrained in an untied head (trainable-tokens mode). */
  extraHeadRows?: number;
  /** Micro-batches per update (they add into the one set of gradients: no extra copy). */
  gradAccumulation?: number;
}

export interface MemoryPlan {
  mode: EmbeddingMode;
  counts: { lora: number; embedRows: number; headRows: number; trainable: number };
  bytes: { params: number; grads: number; optimizer: number; total: number };
}

const F32 = 4;

export function memoryPlan(input: PlanInput, mode: EmbeddingMode): MemoryPlan {
  const { shape, lora } = input;
  const D = shape.hiddenSize;
  const untied = !shape.tieWordEmbeddings;
  const loraCount = lora ? loraTargets(shape, lora).reduce((n, t) => n + lora.r * (t.inF + t.outF), 0) : 0;
  let embedRows = 0;
  let headRows = 0;
  if (mode === 'trainable-tokens') {
    embedRows = input.newTokens + (input.extraEmbedRows ?? 0);
    headRows = untied ? input.newTokens + (input.extraHeadRows ?? 0) : 0;
  } else if (mode === 'full') {
    embedRows = shape.vocabSize + input.newTokens;
    headRows = untied ? embedRows : 0;
  }
  const trainable = loraCount + (embedRows + headRows) * D;
  const params = trainable * F32;
  const grads = trainable * F32;
  const optimizer = 2 * trainable * F32;
  return {
    mode,
    counts: { lora: loraCount, embedRows, headRows, trainable },
    bytes: { params, grads, optimizer, total: params + grads + optimizer },
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Fixed-width table of all three modes, the chosen one marked with '*'. */
export function formatMemoryPlans(input: PlanInput, chosen: EmbeddingMode): string[] {
  const cols = ['mode', 'trainable', 'params', 'grads', 'adamw', 'total'];
  const rows = EMBEDDING_MODES.map((m) => {
    const p = memoryPlan(input, m);
    return [
      `${m === chosen ? '*' : ' '}${m}`,
      p.counts.trainable.toLocaleString('en-US'),
      formatBytes(p.bytes.params),
      formatBytes(p.bytes.grads),
      formatBytes(p.bytes.optimizer),
      formatBytes(p.bytes.total),
    ];
  });
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ');
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)];
}
