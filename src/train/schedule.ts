// Learning-rate schedules, written to give the same multipliers as Hugging Face
// transformers' get_{constant,linear,cosine}_schedule_with_warmup (optimization.py), which
// wrap torch LambdaLR: the k-th optimizer update (k = 0, 1, ...) uses lr = baseLr * factor(k).
// So with warmup > 0 the very first update has lr 0, exactly as in a HF Trainer run.
import { z } from 'zod';

export const ScheduleConfig = z.strictObject({
  kind: z.enum(['constant', 'linear', 'cosine']).default('linear'),
  /** Updates with a linearly rising lr before the schedule proper. */
  warmupSteps: z.number().int().min(0).default(0),
  /** Cosine only: number of cosine periods over the decay; HF default 0.5 = one half-wave from 1 to 0. */
  numCycles: z.number().positive().default(0.5),
});
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;

/**
 * Multiplier of the base lr for optimizer update `step` (0-based), given the total number of
 * updates of the run (needed by linear and cosine decay).
 */
export function lrFactor(cfg: ScheduleConfig, step: number, totalSteps: number): number {
  const warmup = cfg.warmupSteps;
  if (step < warmup) return step / Math.max(1, warmup);
  switch (cfg.kind) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmup));
    case 'cosine': {
      const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cfg.numCycles * 2 * progress)));
    }
  }
}
