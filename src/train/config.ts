// The training section of a train-step node's params: one zod schema with defaults is both
// the type and the validation (anchors-pipeline-style §2.3 lesson 2).
import { z } from 'zod';
import { LoraConfig } from './lora.ts';
import { ScheduleConfig } from './schedule.ts';

export const WatchdogConfig = z.strictObject({
  /** Stop when the loss exceeds this multiple of its running average (EMA, beta 0.9). */
  explodeFactor: z.number().gt(1).default(4),
  /** Updates before the explosion test applies (early losses move fast). */
  minSteps: z.number().int().min(0).default(10),
});
export type WatchdogConfig = z.infer<typeof WatchdogConfig>;

export const TrainConfig = z.strictObject({
  /** 'trainable-tokens': only new (and named) rows train; 'full': whole embedding and head; 'frozen': LoRA only. */
  embedding: z.enum(['trainable-tokens', 'full', 'frozen']).default('trainable-tokens'),
  lora: LoraConfig.default(LoraConfig.parse({})),
  /** Total optimizer updates (the schedule decays over these). */
  steps: z.number().int().positive(),
  lr: z.number().positive().default(2e-4),
  /** Learning rate of token rows (and of the whole matrices in 'full' mode); default: lr. */
  tokenLr: z.number().positive().optional(),
  weightDecay: z.number().min(0).default(0),
  tokenWeightDecay: z.number().min(0).default(0),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  schedule: ScheduleConfig.default(ScheduleConfig.parse({})),
  /** Global-norm clipping; 0 turns it off. */
  maxGradNorm: z.number().min(0).default(1),
  /** Micro-batches per update. */
  gradAccumulation: z.number().int().positive().default(1),
  watchdog: WatchdogConfig.default(WatchdogConfig.parse({})),
});
export type TrainConfig = z.infer<typeof TrainConfig>;
