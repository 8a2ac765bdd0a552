// The events of training, evaluation and checkpoints. Declared here as plain types; nodes/_events.ts
// joins them into the one union of a run's events. A 'train-step' event is the step record itself
// (step.ts) with the log line: the same record the loop hands on and the 'step-event' item carries.
import type { EmbeddingMode } from '../model/modes.ts';
import type { EvalMetrics } from './evaluate.ts';
import type { TrainSnapshot } from './items.ts';
import type { DataPlan } from './data-plan.ts';
import type { RunEstimate } from './estimate.ts';
import type { MemoryPlan } from './memory-plan.ts';
import type { StepPlan } from './step-memory.ts';
import type { StepRecord } from './step.ts';

export type TrainEvent =
  /** Training starts: `threads` share each update's rows, `recompute` says whether layers are recomputed. */
  | { type: 'train-start'; backend: string; engine: string; step: number; resumedFrom?: string; skip: number; params: number; threads: number; recompute: boolean }
  | ({ type: 'train-step'; line: string } & StepRecord)
  /** The watchdog stopped training; `checkpoint` is the last good one. */
  | { type: 'train-diverged'; step: number; message: string; checkpoint?: string }
  /**
   * The memory plan of the chosen mode and its printed comparison with the other modes (pipe run
   * --dry-run prints `lines`); with a first batch to plan from, also the update's plan (`step`) and
   * the threads it allows.
   */
  | { type: 'memory-plan'; mode: EmbeddingMode; lines: string[]; plan: MemoryPlan; step?: StepPlan; threads?: number }
  /** How many updates and epochs the data gives, and the estimated tokens and wall time (`pipe run --dry-run` prints `lines`); the plan's fields when the packer sent one. */
  | ({ type: 'data-plan'; lines: string[]; estimate?: RunEstimate } & Partial<DataPlan>)
  /** One evaluation: the metrics.jsonl line without the per-token table. */
  | ({ type: 'eval'; step: number; final: boolean; time?: string; perToken?: undefined } & Omit<EvalMetrics, 'perToken'>)
  | { type: 'checkpoint'; step: number; dir: string; reason: TrainSnapshot['reason'] }
  /** The final adapter folder is written. */
  | { type: 'adapter'; step: number; dir: string };
