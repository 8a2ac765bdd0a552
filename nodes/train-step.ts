// train-step: LoRA + trainable token rows on the main thread (TensorFlow.js).
//
// Inputs
//   batches    stream of PackedBatch (the packer's train output)
//   tokenizer  value TokenizerArtifact: the new tokens and their ids
// Outputs
//   events     stream of StepRecord, one per update (also logged to <runDir>/<node name>.log)
//   state      stream of TrainSnapshot: the live trainer after every update and at the end.
//              Chain it (evaluator → checkpoint-sink); the loop waits for each to be taken.
// With --resume the newest complete checkpoint is restored (weights, moments, step, schedule,
// RNG, data position). With --dry-run only the memory plan is computed and reported.
import { appendFileSync, mkdirSync } from 'node:fs';
import { writeFileAtomicSync } from '../src/io/atomic.ts';
import path from 'node:path';
import { z } from 'zod';
import { defineNode, firstValue, type MainContext } from '../src/pipeline/node.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { pathParam } from '../src/pipeline/schema.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import type { StepRecord } from '../src/train/step.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import { BACKEND_CHOICES, setBackend, type BackendChoice } from '../src/model/backend.ts';
import { loadModelConfig } from '../src/model/config.ts';
import { TrainConfig } from '../src/train/config.ts';
import { PushQueue, trainLoop } from '../src/train/loop.ts';
import { formatMemoryPlans, memoryPlan } from '../src/train/memory-plan.ts';
import { setupTrainer } from '../src/train/setup.ts';
import { writeInitReport } from '../src/tokenizer/report.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { latestCheckpoint } from '../src/train/checkpoint.ts';
import { emit } from './_events.ts';
import { BATCH, STEP_EVENT, TOKENIZER, TRAIN_STATE } from './_kinds.ts';

const Params = TrainConfig.extend({
  model: pathParam().describe('base model folder (Hugging Face Llama family)'),
  backend: z.enum(BACKEND_CHOICES).optional().describe("TF.js backend (default: the pipeline's settings.backend)"),
  init: z.string().default('subtoken-mean').describe('new-row init: subtoken-mean, mean, zero, random, copy:<token>'),
  retrainTokens: z.array(z.string()).default([]).describe("existing tokens also retrained ('trainable-tokens' mode)"),
  checkpointDir: z.string().default('checkpoints').describe('checkpoint folder under the run folder'),
  resumeFrom: z.string().optional().describe('a checkpoint folder to resume from (default with --resume: the newest one)'),
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
  run(inputs, ctxIn) {
    const ctx = ctxIn as TrainContext;
    const p = ctx.params;
    const events = new PushQueue<StepRecord>();
    // One log per train node (an ablation runs several): <runDir>/<node name>.log, train.log for 'train'.
    const logFile = path.join(ctx.runDir, `${ctx.name}.log`);
    const state = async function* (): AsyncGenerator<TrainSnapshot> {
      try {
        const tokenizer = await firstValue(inputs.tokenizer, 'train-step', 'tokenizer');
        if (ctx.dryRun) return planOnly(ctx, tokenizer);
        const backend = await setBackend((p.backend ?? ctx.backend) as BackendChoice);
        const checkpointRoot = path.join(ctx.runDir, p.checkpointDir);
        const { trainer, skip, resumedFrom } = await setupTrainer({
          model: p.model, tokenizer, cfg: trainConfig(p), seed: ctx.seed, init: p.init,
          retrainTokens: p.retrainTokens, checkpointRoot, resume: p.resumeFrom ?? Boolean(ctx.resume),
        });
        emit(ctx, { type: 'train-start', node: ctx.name, backend, step: trainer.step, resumedFrom, skip, params: trainer.params.length });
        mkdirSync(ctx.runDir, { recursive: true });
        if (!resumedFrom && trainer.describeInit) {
          const r = await trainer.describeInit();
          writeInitReport(ctx.runDir, r);
        }
        try {
          yield* trainLoop({
            trainer, skip, signal: ctx.signal, batches: inputs.batches,
            base: { baseModel: p.model, tokenizer, checkpointRoot },
            onStep(r, line) {
              events.push(r);
              emit(ctx, { type: 'train-step', node: ctx.name, ...r, line });
              appendFileSync(logFile, line + '\n');
            },
            async onDiverged(e) {
              const last = await latestCheckpoint(checkpointRoot);
              e.message += `; the last good checkpoint is ${last ? last.dir : '(none written yet)'}`;
              emit(ctx, { type: 'train-diverged', node: ctx.name, step: e.step, message: e.message, checkpoint: last?.dir });
            },
          });
        } finally {
          disposeTrainer(trainer);
        }
      } finally {
        events.end();
      }
    };
    return { events, state: state() };
  },
});

/**
 * The training fields of the params (the rest are node wiring). Params is TrainConfig extended,
 * so the loader already validated them: pick them, parse nothing twice. (The trainer's config
 * hash covers exactly these fields, so a resume check never sees the node's wiring.)
 */
function trainConfig(p: Params): TrainConfig {
  const keys = Object.keys(TrainConfig.shape);
  return Object.fromEntries(Object.entries(p).filter(([k]) => keys.includes(k))) as TrainConfig;
}

/** --dry-run: trainable counts and bytes for the chosen mode next to the other two. */
function planOnly(ctx: TrainContext, tokenizer: TokenizerArtifact): void {
  const p = ctx.params;
  const c = loadModelConfig(p.model);
  const input = {
    shape: { vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, numLayers: c.numLayers, numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, tieWordEmbeddings: c.tieWordEmbeddings },
    lora: p.lora,
    newTokens: tokenizer.newTokenIds.filter((id) => id >= c.vocabSize).length,
    extraEmbedRows: tokenizer.newTokenIds.filter((id) => id < c.vocabSize).length + p.retrainTokens.length,
    extraHeadRows: tokenizer.newTokenIds.filter((id) => id < c.vocabSize).length + p.retrainTokens.length,
    gradAccumulation: p.gradAccumulation,
  };
  const lines = formatMemoryPlans(input, p.embedding);
  writeFileAtomicSync(path.join(ctx.runDir, 'memory-plan.txt'), lines.join('\n') + '\n', { fsync: false });
  emit(ctx, { type: 'memory-plan', node: ctx.name, mode: p.embedding, lines, plan: memoryPlan(input, p.embedding) });
}
