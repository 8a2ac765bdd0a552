// The items a train node passes on: TrainSnapshot ('train-state') and the step record
// ('step-event', declared with the step in step.ts). Each kind is a name and a description;
// nodes/_kinds.ts registers it with the framework and its type. Type-only imports: the loader
// reads these kinds without loading TensorFlow.js.
import type { PackCacheInfo } from '../data/items.ts';
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import type { EvalMetrics } from './evaluate.ts';
import type { StepRecord } from './step.ts';
import type { Trainer } from './trainer.ts';

// Linear: the snapshot is a view of the live trainer, valid until the loop is asked for the next
// one. With one reader per edge, the loop waits for the whole chain; a fan-out would let it run
// ahead of the slower branch, which would then evaluate or save a later step than it names.
export const TRAIN_STATE_KIND = {
  name: 'train-state',
  description: 'the live trainer after an update (and at start and end); one reader per edge: evaluate, report and checkpoint it in one chain',
  linear: true,
  fields: {
    trainer: 'Trainer: the live model, optimizer and token table (read it before the next item is asked for)',
    step: 'number: updates done',
    reason: "'start' | 'step' | 'end' | 'interrupt' | 'diverged'",
    diverged: "{step, message, lastGood?}? : with 'diverged', why the watchdog stopped training and the last good checkpoint",
    result: 'step-event? : the update just made',
    consumed: 'number: train batches read',
    metrics: 'EvalMetrics? : set by the evaluator (loss, ppl, newToken {loss, acc}, ...)',
    baseModel: 'string: base model folder',
    tokenizer: 'tokenizer: the extended tokenizer',
    checkpointRoot: 'string: folder of the checkpoints',
  },
};
export const STEP_EVENT_KIND = {
  name: 'step-event',
  description: 'one optimizer update: step, loss, grad norm, lr, scored tokens, tokens/s',
  fields: { step: 'number', loss: 'number', gradNorm: 'number', lr: 'number', tokens: 'number: scored tokens', tokensPerSec: 'number' },
};

/**
 * item: 'train-state' — the live trainer after an update, or at the end of training. A snapshot
 * is never changed once yielded: a node that adds to it (the evaluator's metrics) passes on a
 * new object.
 */
export type TrainSnapshot = Readonly<{
  trainer: Trainer;
  step: number;
  /**
   * 'start': before the first update of a fresh run (the starting point, for a baseline
   * evaluation); 'step': after an update; 'end': training finished; 'interrupt': stopped early (SIGINT);
   * 'diverged': the watchdog stopped training (the next update was not applied; the run then fails with
   * TrainingDiverged): no checkpoint or adapter is written from it.
   */
  reason: 'start' | 'step' | 'end' | 'interrupt' | 'diverged';
  /** With 'diverged': the step the watchdog stopped at, its message, and the last good checkpoint folder (absolute). */
  diverged?: { step: number; message: string; lastGood?: string };
  result?: StepRecord;
  /** Train batches consumed by completed updates: where a resumed run picks up. */
  consumed: number;
  /** Set by the evaluator on the snapshots it evaluated. */
  metrics?: EvalMetrics;
  /** base_model_name_or_path for the adapter. */
  baseModel: string;
  tokenizer: TokenizerArtifact;
  /** Absolute folder of the run's checkpoints. */
  checkpointRoot: string;
  /** Whether the train batches came from the pack cache or were packed by this run (when the packer says). */
  packCache?: PackCacheInfo;
}>;
