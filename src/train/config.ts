// The training section of a train-step node's params: one zod schema with defaults is both
// the type and the validation (anchors-pipeline-style.md §2.3, lesson 2).
import { z } from 'zod';
import { EmbeddingMode } from '../model/modes.ts';
import { LoraConfig } from '../model/lora.ts';
import { ScheduleConfig } from './schedule.ts';

export const WatchdogChecks = z.strictObject({
  /** Stop when a loss exceeds this multiple of the first update's loss, from update 1 on (no grace). */
  spikeFactor: z.number().gt(1).default(4),
  /** Stop when the loss exceeds this multiple of its running average (EMA, beta 0.9). */
  explodeFactor: z.number().gt(1).default(4),
  /** Updates before the explosion test applies (early losses move fast). */
  minSteps: z.number().int().min(0).default(10),
  /** Dead updates in a row (gradient norm 0, or a flat loss) that stop a run worse than at its start. */
  collapseSteps: z.number().int().min(2).default(5),
  /** A loss within this fraction of the one before is flat; also the margin of "worse than at the start". */
  flatTolerance: z.number().min(0).lt(1).default(1e-4),
});
/** The watchdog's tests (docs/watchdog.md), or 'off': then only a NaN/Inf loss or gradient stops training. */
export const WatchdogConfig = z.union([z.literal('off'), WatchdogChecks]);
export type WatchdogConfig = z.infer<typeof WatchdogConfig>;

export const TrainConfig = z.strictObject({
  /** 'trainable-tokens': only new (and named) rows train; 'full': whole embedding and head; 'frozen': LoRA only. */
  embedding: EmbeddingMode.default('trainable-tokens').describe("'trainable-tokens': LoRA + only the new tokens' rows; 'full': LoRA + whole embedding and head (PEFT modules_to_save); 'frozen': LoRA only"),
  lora: LoraConfig.default(LoraConfig.parse({})).describe("{r, alpha, dropout, rslora, targetModules: 'all-linear' or a list of q_proj k_proj v_proj o_proj gate_proj up_proj down_proj}"),
  /** Total optimizer updates (the schedule decays over these). */
  steps: z.number().int().positive().describe('optimizer updates in all (the lr schedule decays over these)'),
  lr: z.number().positive().default(2e-4).describe('AdamW learning rate of the LoRA weights'),
  /** Learning rate of token rows (and of the whole matrices in 'full' mode); default: lr. */
  tokenLr: z.number().positive().optional().describe("learning rate of the token rows (whole matrices in 'full' mode); default: lr"),
  weightDecay: z.number().min(0).default(0).describe('decoupled weight decay of the LoRA weights'),
  tokenWeightDecay: z.number().min(0).default(0).describe('decoupled weight decay of the token rows'),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]).describe('AdamW [beta1, beta2]'),
  eps: z.number().positive().default(1e-8).describe('AdamW epsilon'),
  schedule: ScheduleConfig.default(ScheduleConfig.parse({})).describe("{kind: constant|linear|cosine, warmupSteps, numCycles (cosine)} as in HF get_*_schedule_with_warmup"),
  /** Global-norm clipping; 0 turns it off. */
  maxGradNorm: z.number().min(0).default(1).describe('global gradient-norm clipping; 0 turns it off'),
  /** Micro-batches per update. */
  gradAccumulation: z.number().int().positive().default(1).describe('micro-batches per update'),
  recompute: z.enum(['auto', 'always', 'never']).default('auto').describe("recompute each layer's activations in the backward pass instead of keeping them: 'auto' when the memory plan says the step would not fit otherwise"),
  watchdog: WatchdogConfig.default(WatchdogChecks.parse({})).describe(
    "{spikeFactor, explodeFactor, minSteps, collapseSteps, flatTolerance} or 'off' (docs/watchdog.md): stop on a NaN/Inf, a loss over spikeFactor x the first update's, over explodeFactor x its running average after minSteps, or collapseSteps updates in a row with gradient norm 0 or a flat loss while worse than at the start",
  ),
});
export type TrainConfig = z.infer<typeof TrainConfig>;
