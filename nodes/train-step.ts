// train-step: LoRA + trainable token rows on the main thread (TensorFlow.js).
//
// Inputs
//   batches    stream of PackedBatch (the packer's train output)
//   tokenizer  value TokenizerArtifact: the new tokens and their ids
// Outputs
//   events     stream of StepRecord, one per update (also logged to <runDir>/<node name>.log)
//   state      stream of TrainSnapshot: the live trainer after every update and at the end.
//              Chain it (evaluator → checkpoint-sink); the loop waits for each to be taken.
// Before loading the model, the first batch's shape (B x T) and the model's config give the
// step's memory plan (src/train/step-memory.ts): written to <runDir>/memory-plan.txt, used to
// choose recomputation ('auto'), and a run that cannot fit is refused (exit 2) with what to change.
// On the CPU backends `threads` worker threads share each update's rows (src/train/parallel.ts).
// With --resume the newest complete checkpoint is restored (weights, moments, step, schedule,
// RNG, data position). With --dry-run the memory plan and the data plan (train batches per
// epoch, updates, epochs: src/train/data-plan.ts) are computed and reported, with an estimate of
// the run's tokens and wall time from one update timed on a throwaway trainer (src/train/estimate.ts).
// While training, the node's progress line (step/total, loss, lr, tok/s, ETA) goes to ctx.status.
import { mkdirSync } from 'node:fs';
import { appendSync } from '../src/io/append.ts';
import os from 'node:os';
import { keepLinesAtomicSync, writeFileAtomicSync } from '../src/io/atomic.ts';
import path from 'node:path';
import { z } from 'zod';
import { defineNode, firstValue, type MainContext } from '../src/pipeline/node.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { pathParam, runPath } from '../src/pipeline/schema.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import { stepOfLine, type StepRecord } from '../src/train/step.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import type { PackedBatch } from '../src/data/items.ts';
import { BACKEND_CHOICES, backendMemoryLimit, engineLine, setBackend, type BackendChoice, type BackendName } from '../src/model/backend.ts';
import { loadModelConfig, type ModelConfig } from '../src/model/config.ts';
import { checkModelFolder } from '../src/model/weights.ts';
import { checkTokenizerFolder } from '../src/tokenizer/load.ts';
import { ContextExceeded, MemoryPlanExceeded } from '../src/errors.ts';
import { peekFirst } from '../src/util/peek.ts';
import { DataParallel } from '../src/train/parallel.ts';
import { formatStepPlan, planRefusal, stepPlan, type StepPlan } from '../src/train/step-memory.ts';
import { formatNativePlan, nativePlanRefusal, nativeStepPlan } from '../src/train/step-memory-native.ts';
import { TrainConfig } from '../src/train/config.ts';
import { NATIVE_DEVICES } from '../src/model/native-run.ts';
import { PushQueue, trainLoop } from '../src/train/loop.ts';
import { progressLine, StepClock } from '../src/train/progress-line.ts';
import { estimateLines, estimateRun, timeOneUpdate } from '../src/train/estimate.ts';
import { formatMemoryPlans, memoryPlan } from '../src/train/memory-plan.ts';
import { setupTrainer } from '../src/train/setup.ts';
import { writeInitReport } from '../src/tokenizer/report.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { setAsideFrom } from '../src/train/checkpoint.ts';
import { isShort, planLines, planOf, shortMessage, withDataPlan } from '../src/train/data-plan.ts';
import { emit } from './_events.ts';
import { BATCH, STEP_EVENT, TOKENIZER, TRAIN_STATE } from './_kinds.ts';

/** Checked before the run starts: the model (config and weight files) and its tokenizer load. */
async function modelAndTokenizer(dir: string): Promise<void> {
  await checkModelFolder(dir);
  checkTokenizerFolder(dir);
}

const Params = TrainConfig.extend({
  model: pathParam({ mustExist: 'dir', check: modelAndTokenizer }).describe('base model folder (Hugging Face Llama family)'),
  device: z.enum(NATIVE_DEVICES).default('cpu').describe("native engine only: ONNX Runtime's execution provider (cpu, webgpu, cuda); a GPU one leaves what it cannot run to the CPU"),
  backend: z.enum(BACKEND_CHOICES).optional().describe("engine: native or a TF.js backend (default: the pipeline's settings.backend)"),
  init: z.string().default('subtoken-mean').describe('new-row init: subtoken-mean, mean, zero, random, copy:<token>'),
  retrainTokens: z.array(z.string()).default([]).describe("existing tokens also retrained ('trainable-tokens' mode)"),
  checkpointDir: runPath({ default: 'checkpoints', kind: 'dir' }).describe('checkpoint folder under the run folder'),
  resumeFrom: z.string().optional().describe('a checkpoint folder to resume from (default with --resume: the newest one)'),
  allowBeyondContext: z.boolean().default(false)
    .describe("train on sequences longer than the model's max_position_embeddings (refused otherwise: positions past the context were never trained)"),
  threads: z.union([z.literal('auto'), z.number().int().min(1)]).default('auto')
    .describe("threads sharing each update's rows on the CPU backends (each holds the frozen model): 'auto' = one per core while they fit in memory; 1 on a GPU, in 'full' mode and on the native engine (ONNX Runtime's own threads)"),
}).strict();
type Params = z.infer<typeof Params>;

type TrainContext = MainContext<Params>;

export default defineNode({
  name: 'train-step',
  description: 'Trains LoRA adapters and the new tokens\' rows (trainable-tokens, full or frozen embedding) with AdamW.',
  params: Params,
  inputs: {
    batches: stream(BATCH, { description: 'train batches' }),
    tokenizer: value(TOKENIZER, { description: 'the extended tokenizer' }),
  },
  outputs: {
    events: stream(STEP_EVENT, { description: 'one per optimizer update' }),
    state: stream(TRAIN_STATE, { description: 'live trainer after each update; chain evaluator → checkpoint-sink' }),
  },
  placement: 'main',
  checkGraph(p, graph) {
    // Any node upstream of the batches with a seqLen (the batch-packer, or a user's packer) sets T.
    const c = safeConfig(p.model);
    if (!c || p.allowBeyondContext) return [];
    return graph.upstream('batches')
      .filter((u) => typeof (u.params as { seqLen?: unknown } | null)?.seqLen === 'number')
      .filter((u) => (u.params as { seqLen: number }).seqLen > c.maxPositionEmbeddings)
      .map((u) => ({ node: u.name, at: ['seqLen'], message: beyondContext((u.params as { seqLen: number }).seqLen, c) }));
  },
  runFiles: (name) => [`${name}.log`, memoryPlanName(name), 'init-report.json', 'init-report.txt', '.dry-run-no-checkpoints'],
  run(inputs, ctxIn) {
    const ctx = ctxIn as TrainContext;
    const p = ctx.params;
    const events = new PushQueue<StepRecord>();
    // One log per train node (an ablation runs several): <runDir>/<node name>.log, train.log for 'train'.
    const logFile = path.join(ctx.runDir, `${ctx.name}.log`);
    const state = async function* (): AsyncGenerator<TrainSnapshot> {
      try {
        const tokenizer = await firstValue(inputs.tokenizer, 'train-step', 'tokenizer');
        const choice = (p.backend ?? ctx.backend) as BackendChoice;
        const backendLines: string[] = [];
        const backend = await setBackend(choice, { log: (l) => backendLines.push(l) });
        const engine = engineLine(choice, backend, backendLines);
        // The first batch's shape is the step's; the loop still gets that batch first.
        const { first, all: batches } = await peekFirst(inputs.batches);
        const planned = first && planStep(ctx, tokenizer, backend, first.batch.numRows, first.seqLen);
        if (ctx.dryRun) {
          if (!planned) planOnly(ctx, tokenizer);
          await dataPlan(ctx, first, planned && first ? () => timedUpdate(ctx, tokenizer, backend, planned, first) : undefined);
          return;
        }
        const checkpointRoot = path.join(ctx.runDir, p.checkpointDir);
        const { trainer, skip, resumedFrom, parallel } = await startTrainer(ctx, tokenizer, backend, planned, {
          checkpointRoot, resume: p.resumeFrom ?? Boolean(ctx.resume), key: `${ctx.runDir}/${ctx.name}`,
        });
        trainer.engine = engine;
        emit(ctx, { type: 'train-start', node: ctx.name, backend, engine, step: trainer.step, resumedFrom, skip, params: trainer.params.length, threads: planned?.threads ?? 1, recompute: trainer.recompute });
        mkdirSync(ctx.runDir, { recursive: true });
        // The updates after the checkpoint are made again: their lines from earlier legs go, so each step is logged once.
        if (ctx.resume || p.resumeFrom) keepLinesAtomicSync(logFile, (l) => (stepOfLine(l) ?? 0) <= trainer.step);
        if (!resumedFrom && trainer.describeInit) {
          const r = await trainer.describeInit();
          writeInitReport(ctx.runDir, r);
        }
        // With epochs set on the packer and too few batches, the run makes fewer updates than
        // steps: say so, and let the schedule decay over the updates that will happen.
        const dataBatches = withDataPlan(batches, {
          steps: p.steps, gradAccumulation: p.gradAccumulation,
          onPlan(d) {
            if (!isShort(d)) return;
            trainer.totalSteps = d.updates;
            emit(ctx, { type: 'warning', node: ctx.name, message: shortMessage(ctx.name, d) }); // the numbers are in the data-plan event too
          },
          onEnd() {
            // Any other source that runs dry (a custom node, an empty split) is said too.
            if (ctx.signal.aborted || trainer.step >= trainer.totalSteps) return;
            emit(ctx, { type: 'warning', node: ctx.name, message: `${ctx.name}: the train batches ran out after ${trainer.step} of ${trainer.totalSteps} updates` });
          },
        });
        // Known before the first batch arrives: the summary says whether the batches were reused or packed now.
        const packCache = await first?.plan?.cache;
        const clock = new StepClock();
        try {
          yield* trainLoop({
            trainer, skip, signal: ctx.signal, batches: dataBatches, parallel,
            base: { baseModel: p.model, tokenizer, checkpointRoot, ...(packCache ? { packCache } : {}) },
            onStep(r, line) {
              ctx.status(progressLine({ record: r, total: trainer.totalSteps, ...clock.tick(r) }));
              events.push(r);
              emit(ctx, { type: 'train-step', node: ctx.name, ...r, line });
              appendSync(logFile, line + '\n');
            },
            async onDiverged(e) {
              // The weights after update firstBad - 1 already gave firstBad's loss: checkpoints from there on are set aside.
              const last = await setAsideFrom(checkpointRoot, e.firstBad - 1);
              const lastGood = last ? path.relative(ctx.runDir, last.dir) : 'none (no checkpoint before the divergence)';
              const allow = e.setting ? ` If this is expected, raise ${ctx.name}.${e.setting} (or set ${ctx.name}.watchdog: off).` : '';
              e.message = `training stopped at step ${e.step}: ${e.detail}.${allow} No final adapter is written; last good checkpoint: ${lastGood}`;
              emit(ctx, { type: 'train-diverged', node: ctx.name, step: e.step, message: e.message, checkpoint: last?.dir });
              events.end(); // no more step records: the summary's reader of them may finish
              return last?.dir;
            },
          });
        } finally {
          await parallel?.close();
          disposeTrainer(trainer);
        }
      } finally {
        events.end();
      }
    };
    return { events, state: state() };
  },
});

/** The trainer as the plan wants it: recomputation chosen, and the threads that share each update's rows. */
async function startTrainer(
  ctx: TrainContext, tokenizer: TokenizerArtifact, backend: BackendName, planned: { plan: StepPlan; threads: number } | undefined,
  o: { checkpointRoot: string; resume: boolean | string; key: string },
) {
  const p = ctx.params;
  const setup = await setupTrainer({
    model: p.model, tokenizer, cfg: trainConfig(p), seed: ctx.seed, init: p.init,
    retrainTokens: p.retrainTokens, checkpointRoot: o.checkpointRoot, resume: o.resume, frozen: backend === 'native' ? 'disk' : 'host',
  });
  const trainer = setup.trainer;
  if (backend === 'native') trainer.native = { device: p.device };
  trainer.recompute = planned ? planned.plan.recompute : p.recompute === 'always';
  let parallel: DataParallel | null = null;
  if (planned && planned.threads > 1) {
    parallel = await DataParallel.start(planned.threads, {
      key: o.key, modelDir: p.model, backend, cfg: trainer.cfg, tokens: trainer.tokens, seed: ctx.seed,
    }).catch((e) => {
      disposeTrainer(trainer);
      throw e;
    });
  }
  return { ...setup, parallel };
}

/**
 * --dry-run: one real update, timed, on a throwaway trainer set up as the run would set it up (same plan, threads
 * and recomputation). Its checkpoint folder is one that does not exist, so nothing under the run folder changes.
 */
async function timedUpdate(ctx: TrainContext, tokenizer: TokenizerArtifact, backend: BackendName, planned: { plan: StepPlan; threads: number }, first: PackedBatch) {
  const { trainer, parallel } = await startTrainer(ctx, tokenizer, backend, planned, {
    checkpointRoot: path.join(ctx.runDir, '.dry-run-no-checkpoints'), resume: false, key: `${ctx.runDir}/${ctx.name}/dry-run`,
  });
  try {
    return await timeOneUpdate(trainer, first, parallel);
  } finally {
    await parallel?.close();
    disposeTrainer(trainer);
  }
}

/**
 * The training fields of the params (the rest are node wiring). Params is TrainConfig extended,
 * so the loader already validated them: pick them, parse nothing twice. (The trainer's config
 * hash covers exactly these fields, so a resume check never sees the node's wiring.)
 */
function trainConfig(p: Params): TrainConfig {
  const keys = Object.keys(TrainConfig.shape);
  return Object.fromEntries(Object.entries(p).filter(([k]) => keys.includes(k))) as TrainConfig;
}

/** What the memory plans take from the params, the model's config and the tokenizer. */
function planInput(p: Params, c: ModelConfig, tokenizer: TokenizerArtifact) {
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
function planStep(ctx: TrainContext, tokenizer: TokenizerArtifact, backend: BackendName, B: number, T: number): { plan: StepPlan; threads: number } {
  const p = ctx.params;
  const c = loadModelConfig(p.model);
  // The same refusal as at load (checkGraph), for batches whose length no upstream param declared.
  if (T > c.maxPositionEmbeddings && !p.allowBeyondContext) throw new ContextExceeded(`${ctx.name}: the batches' ${beyondContext(T, c)}`);
  // The native engine runs its graphs on ONNX Runtime's own threads: one trainer, no data-parallel workers.
  const cpu = backend === 'wasm' || backend === 'cpu';
  const most = cpu && p.embedding !== 'full' ? (p.threads === 'auto' ? os.availableParallelism() : p.threads) : 1;
  const planFor = (threads: number) => {
    // A thread's share is at most one micro-batch's rows at a time.
    const rows = Math.min(B, Math.ceil((B * p.gradAccumulation) / threads));
    const input = { ...planInput(p, c, tokenizer), B: rows, T, recompute: p.recompute, limit: backendMemoryLimit(backend, os.totalmem() / threads) };
    return backend === 'native' ? nativeStepPlan(input, p.embedding) : stepPlan(input, p.embedding);
  };
  let threads = most;
  let plan = planFor(threads);
  // 'auto' threads: as many as fit in the machine's memory side by side.
  while (p.threads === 'auto' && threads > 1 && (!plan.fits || threads * plan.heap > 0.8 * os.totalmem())) plan = planFor(--threads);
  const rows = Math.min(B, Math.ceil((B * p.gradAccumulation) / threads));
  const stepLines = plan.native ? formatNativePlan(plan, { node: ctx.name, B: rows, T }) : formatStepPlan(plan, { node: ctx.name, backend, B: rows, T, threads });
  const lines = [...formatMemoryPlans(planInput(p, c, tokenizer), p.embedding), '', ...stepLines];
  writeFileAtomicSync(planFile(ctx), lines.join('\n') + '\n', { fsync: false });
  emit(ctx, { type: 'memory-plan', node: ctx.name, mode: p.embedding, lines, plan: memoryPlan(planInput(p, c, tokenizer), p.embedding), step: plan, threads });
  if (!plan.fits) {
    const what = { node: ctx.name, backend, B, T, gradAccumulation: p.gradAccumulation };
    throw new MemoryPlanExceeded(plan.native ? nativePlanRefusal(plan, what) : planRefusal(plan, what));
  }
  return { plan, threads };
}

function safeConfig(dir: string): ModelConfig | null {
  try {
    return loadModelConfig(dir);
  } catch {
    return null; // reported by the model param's own check
  }
}

function beyondContext(T: number, c: ModelConfig): string {
  return `seqLen ${T} is longer than the model's context (max_position_embeddings ${c.maxPositionEmbeddings} in ${c.source}): ` +
    `positions past it were never trained. Lower seqLen to ${c.maxPositionEmbeddings} or less, or set allowBeyondContext: true on the train node to train past the context anyway`;
}

/** --dry-run with no batch to plan a step from: trainable counts and bytes for the chosen mode next to the other two. */
function planOnly(ctx: TrainContext, tokenizer: TokenizerArtifact): void {
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

function memoryPlanName(node: string): string {
  return node === 'train' ? 'memory-plan.txt' : `${node}.memory-plan.txt`;
}

/**
 * --dry-run: train batches per epoch, updates and epochs, from the first batch's plan (waits for packing); with a
 * timed update, the tokens and the wall time those updates take.
 */
async function dataPlan(ctx: TrainContext, first: PackedBatch | undefined, timeUpdate: (() => ReturnType<typeof timeOneUpdate>) | undefined): Promise<void> {
  const p = ctx.params;
  const d = await planOf(first, p.steps, p.gradAccumulation);
  const lines = d ? planLines(d) : ['  train batches per epoch  unknown (the batches do not come from a batch-packer)'];
  // Timed once the packing is done (planOf waits for it): packer workers on the same cores made the update 4x slower.
  const timed = await timeUpdate?.();
  // Without a packer's plan the data is assumed to last for all the steps.
  const estimate = first && timed ? estimateRun(first, p.gradAccumulation, d?.updates ?? p.steps, timed) : undefined;
  if (estimate) lines.push(...estimateLines(estimate));
  if (d && isShort(d)) lines.push(`  warning: ${shortMessage(ctx.name, d)}`);
  emit(ctx, { type: 'data-plan', node: ctx.name, lines, ...(d ?? {}), estimate });
}
