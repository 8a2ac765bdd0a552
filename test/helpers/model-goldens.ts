// Goldens written by tools/make-fixtures.py from the float64 PyTorch reference (tools/reference.py).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const VARIANTS = ['llama', 'llama3-tied', 'llama-headdim-bias', 'llama-rope-params', 'mistral', 'qwen2', 'qwen3'] as const;
export type Variant = (typeof VARIANTS)[number];
/** Variants with a (cut) real tokenizer, one per family: Llama-2/Mistral, Llama-3, Qwen (2 and 3). */
export const TOKENIZER_VARIANTS = ['llama', 'llama3-tied', 'qwen2', 'qwen3'] as const;

export interface GoldenCase {
  name: 'batch' | 'packed' | 'offset';
  B: number;
  T: number;
  input_ids: number[];
  position_ids: number[];
  /** Document lengths per row. */
  documents: number[][];
  /** Columns of the vocabulary the logits were kept for. */
  cols: number[];
  /** [B*T, cols] row-major. */
  logits: number[];
  /** log-sum-exp over the whole vocabulary, [B*T]. */
  lse: number[];
  labels?: number[];
  loss?: { mean: number; sum: number; count: number };
}

export interface Golden {
  variant: string;
  model: string;
  cases: GoldenCase[];
  greedy: { prompt: string | null; prompt_ids: number[]; new_ids: number[]; eos: number[]; max_new_tokens: number; text?: string };
  eval?: { text: string; ids: number[]; windows: Record<string, { tokens: number; loss: number }> };
}

export function readGolden(v: string): Golden {
  return JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'goldens', `${v}.json`), 'utf8')) as Golden;
}

export function modelDir(v: string): string {
  return path.join(ROOT, 'fixtures', 'models', v);
}

/** Largest |Δ| between logits [B*T, V] and a golden case (kept columns and every row's log-sum-exp). */
export function goldenDiff(logits: Float32Array, V: number, c: GoldenCase): number {
  let worst = 0;
  const N = c.B * c.T;
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[n * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[n * V + j] - max);
    worst = Math.max(worst, Math.abs(max + Math.log(s) - c.lse[n]));
    c.cols.forEach((col, k) => {
      worst = Math.max(worst, Math.abs(logits[n * V + col] - c.logits[n * c.cols.length + k]));
    });
  }
  return worst;
}
