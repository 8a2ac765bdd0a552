// train-step: LoRA + trainable token rows on the main thread (TensorFlow.js).
//
// Inputs
//   batches    stream of PackedBatch (the packer's train output)
//   tokenizer  value TokenizerArtifact: the new tokens and their ids
// Outputs
//   events     stream of StepRecord, one per update (also logged to <runDir>/<node name>.log)
//   state      stream of TrainSnapshot: immutable snapshots after every update, at the start and at
//              the end; fan it out freely. The weights (and the optimizer state) are copied into the
//              snapshots the nodes downstream ask for (NodeDef.asks: the evaluator's every/atStart,
//              the checkpoint sink's every), src/train/snapshot.ts.
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
import { keepLinesAtomicSync } from '../src/io/atomic.ts';
import path from 'node:path';
import { z } from 'zod';
import { defineNode, firstValue, type MainContext } from '../src/pipeline/node.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { pathParam, runPath } from '../src/pipeline/schema.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import { stepOfLine, type StepRecord } from '../src/train/step.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import type { PackedBatch } from '../src/data/items.ts';
import { BACKEND_CHOICES, engineLine, setBackend, type BackendChoice, type BackendName } from '../src/model/backend.ts';
import { checkModelFolder } from '../src/model/weights.ts';
import { checkTokenizerFolder } from '../src/tokenizer/load.ts';
import { peekFirst } from '../src/util/peek.ts';
import { DataParallel } from '../src/train/parallel.ts';
import type { StepPlan } from '../src/train/step-memory.ts';
import { TrainConfig } from '../src/train/config.ts';
import { NATIVE_DEVICES } from '../src/model/native-run.ts';
import { PushQueue, trainLoop } from '../src/train/loop.ts';
import { progressLine, StepClock } from '../src/train/progress-line.ts';
import { timeOneUpdate } from '../src/train/estimate.ts';
import { setupTrainer } from '../src/train/setup.ts';
import { snapshotAsks, snapshotCadence, trainRun } from '../src/train/snapshot.ts';
import { listenEvals } from '../src/train/eval-board.ts';
import { writeInitReport } from '../src/tokenizer/report.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { setAsideFrom } from '../src/train/checkpoint.ts';
import { isShort, shortMessage, withDataPlan } from '../src/train/data-plan.ts';
import { emit } from './_events.ts';
import { beyondContext, dataPlan, memoryPlanName, planOnly, planStep, safeConfig } from './_train-plan.ts';
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
    state: stream(TRAIN_STATE, { description: 'immutable snapshots: step, weights and optimizer state where asked; fans out freely' }),
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
          await dataPlan(ctx, first, batches, planned && first ? () => timedUpdate(ctx, tokenizer, backend, planned, first) : undefined);
          return;
        }
        const checkpointRoot = path.join(ctx.runDir, p.checkpointDir);
        // This train node within this run: the key of its shared state and the id evaluators post their losses to.
        const id = `${ctx.runDir}/${ctx.name}`;
        const { trainer, skip, resumedFrom, parallel } = await startTrainer(ctx, tokenizer, backend, planned, {
          checkpointRoot, resume: p.resumeFrom ?? Boolean(ctx.resume), key: id,
        });
        trainer.engine = engine;
        const run = trainRun(trainer, { id, seed: ctx.seed, backend });
        // The evaluators' losses reach the watchdog as numbers (its collapse test), not through the graph.
        const unlisten = listenEvals(run.id, (step, loss) => trainer.watchdog.observeEval(step, loss));
        const downstream = ctx.downstream?.('state');
        const cadence = snapshotCadence(downstream && snapshotAsks(downstream));
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
        const packCache = first?.plan?.cache;
        const clock = new StepClock();
        try {
          yield* trainLoop({
            trainer, skip, signal: ctx.signal, batches: dataBatches, parallel, run, cadence,
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
          unlisten();
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
    model: p.model, tokenizer, cfg: trainConfig(p), seed: ctx.seed, init: p.init, backend,
    retrainTokens: p.retrainTokens, checkpointRoot: o.checkpointRoot, resume: o.resume,
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
