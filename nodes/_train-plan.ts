// train-step's plans, before any weight is loaded: the step's memory plan (threads, recomputation, or a
// refusal), the --dry-run data plan and estimate, and the context-length check. ('_' in front: not a
// node; see src/pipeline/registry.ts.)
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicSync } from '../src/io/atomic.ts';
import type { MainContext } from '../src/pipeline/node.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import type { PackedBatch } from '../src/data/items.ts';
import { backendMemoryLimit, type BackendName } from '../src/model/backend.ts';
import { loadModelConfig, type ModelConfig } from '../src/model/config.ts';
import { ContextExceeded, MemoryPlanExceeded } from '../src/errors.ts';
import { formatStepPlan, planRefusal, stepPlan, type StepPlan } from '../src/train/step-memory.ts';
import { formatNativePlan, nativePlanRefusal, nativeStepPlan } from '../src/train/step-memory-native.ts';
import type { TrainConfig } from '../src/train/config.ts';
import { estimateLines, estimateRun, type timeOneUpdate } from '../src/train/estimate.ts';
import { formatMemoryPlans, memoryPlan } from '../src/train/memory-plan.ts';
import { isShort, planLines, planOf, shortMessage } from '../src/train/data-plan.ts';
import { emit } from './_events.ts';

/** The params the plans read (train-step's, which extend TrainConfig). */
export type PlanParams = TrainConfig & {
  model: string;
  retrainTokens: string[];
  allowBeyondContext: boolean;
  threads: 'auto' | number;
};

type TrainContext = MainContext<PlanParams>;

/** What the memory plans take from the params, the model's config and the tokenizer. */
function planInput(p: PlanParams, c: ModelConfig, tokenizer: TokenizerArtifact) {
  const inside = tokenizer.newTokenIds.filter((id) => id < c.vocabSize).length;
  return {
    shape: c,
    lora: p.lora,
    newTokens: tokenizer.newTokenIds.filter((id) => id >= c.vocabSize).length,
    extraEmbedRows: inside + p.retrainTokens.length,
    extraHeadRows: inside + p.retrainTokens.length,
    gradAccumulation: p.gradAccumulation,
  };
}

/**
 * The step's memory plan for B x T micro-batches, before any weight is loaded: how many threads (each holds the
 * frozen model), whether to recompute, and a refusal (MemoryPlanExceeded, exit 2) when even the leanest option
 * does not fit. Written to memory-plan.txt and sent as a 'memory-plan' event (--dry-run prints it).
 */
export function planStep(ctx: TrainContext, tokenizer: TokenizerArtifact, backend: BackendName, B: number, T: number): { plan: StepPlan; threads: number } {
  const p = ctx.params;
  const c = loadModelConfig(p.model);
  // The same refusal as at load (checkGraph), for batches whose length no upstream param declared.
  if (T > c.maxPositionEmbeddings && !p.allowBeyondContext) throw new ContextExceeded(`${ctx.name}: the batches' ${beyondContext(T, c)}`);
  // The native engine runs its graphs on ONNX Runtime's own threads: one trainer, no data-parallel workers.
  const cpu = backend === 'wasm' || backend === 'cpu';
  const most = cpu && p.embedding !== 'full' ? (p.threads === 'auto' ? os.availableParallelism() : p.threads) : 1;
  const base = planInput(p, c, tokenizer);
  // A thread's share is at most one micro-batch's rows at a time.
  const rowsOf = (threads: number) => Math.min(B, Math.ceil((B * p.gradAccumulation) / threads));
  const planFor = (threads: number) => {
    const input = { ...base, B: rowsOf(threads), T, recompute: p.recompute, limit: backendMemoryLimit(backend, os.totalmem() / threads) };
    return backend === 'native' ? nativeStepPlan(input, p.embedding) : stepPlan(input, p.embedding);
  };
  let threads = most;
  let plan = planFor(threads);
  // 'auto' threads: as many as fit in the machine's memory side by side.
  while (p.threads === 'auto' && threads > 1 && (!plan.fits || threads * plan.heap > 0.8 * os.totalmem())) plan = planFor(--threads);
  const rows = rowsOf(threads);
  const stepLines = plan.native ? formatNativePlan(plan, { node: ctx.name, B: rows, T }) : formatStepPlan(plan, { node: ctx.name, backend, B: rows, T, threads });
  const lines = [...formatMemoryPlans(base, p.embedding), '', ...stepLines];
  writeFileAtomicSync(planFile(ctx), lines.join('\n') + '\n', { fsync: false });
  emit(ctx, { type: 'memory-plan', node: ctx.name, mode: p.embedding, lines, plan: memoryPlan(base, p.embedding), step: plan, threads });
  if (!plan.fits) {
    const what = { node: ctx.name, backend, B, T, gradAccumulation: p.gradAccumulation };
    throw new MemoryPlanExceeded(plan.native ? nativePlanRefusal(plan, what) : planRefusal(plan, what));
  }
  return { plan, threads };
}

export function safeConfig(dir: string): ModelConfig | null {
  try {
    return loadModelConfig(dir);
  } catch {
    return null; // reported by the model param's own check
  }
}

export function beyondContext(T: number, c: ModelConfig): string {
  return `seqLen ${T} is longer than the model's context (max_position_embeddings ${c.maxPositionEmbeddings} in ${c.source}): ` +
    `positions past it were never trained. Lower seqLen to ${c.maxPositionEmbeddings} or less, or set allowBeyondContext: true on the train node to train past the context anyway`;
}

/** --dry-run with no batch to plan a step from: trainable counts and bytes for the chosen mode next to the other two. */
export function planOnly(ctx: TrainContext, tokenizer: TokenizerArtifact): void {
  const p = ctx.params;
  const input = planInput(p, loadModelConfig(p.model), tokenizer);
  const lines = formatMemoryPlans(input, p.embedding);
  writeFileAtomicSync(planFile(ctx), lines.join('\n') + '\n', { fsync: false });
  emit(ctx, { type: 'memory-plan', node: ctx.name, mode: p.embedding, lines, plan: memoryPlan(input, p.embedding) });
}

/** memory-plan.txt for the node named 'train', <node>.memory-plan.txt for others (an ablation plans several). */
function planFile(ctx: TrainContext): string {
  return path.join(ctx.runDir, memoryPlanName(ctx.name));
}

export function memoryPlanName(node: string): string {
  return node === 'train' ? 'memory-plan.txt' : `${node}.memory-plan.txt`;
}

/**
 * --dry-run: train batches per epoch, updates and epochs, from the first batch's plan (waits for packing); with a
 * timed update, the tokens and the wall time those updates take.
 */
export async function dataPlan(ctx: TrainContext, first: PackedBatch | undefined, batches: AsyncIterable<PackedBatch>, timeUpdate: (() => ReturnType<typeof timeOneUpdate>) | undefined): Promise<void> {
  const p = ctx.params;
  const d = await planOf(first, p.steps, p.gradAccumulation, batches);
  const lines = d ? planLines(d) : ['  train batches per epoch  unknown (the batches do not come from a batch-packer)'];
  // Timed once the packing is done (planOf waits for it): packer workers on the same cores made the update 4x slower.
  const timed = await timeUpdate?.();
  // Without a packer's plan the data is assumed to last for all the steps.
  const estimate = first && timed ? estimateRun(first, p.gradAccumulation, d?.updates ?? p.steps, timed) : undefined;
  if (estimate) lines.push(...estimateLines(estimate));
  if (d && isShort(d)) lines.push(`  warning: ${shortMessage(ctx.name, d)}`);
  emit(ctx, { type: 'data-plan', node: ctx.name, lines, ...(d ?? {}), estimate });
}
