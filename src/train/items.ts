// The items a train node passes on: TrainSnapshot ('train-state') and the step record
// ('step-event', declared with the step in step.ts). Each kind is a name and a description;
// nodes/_kinds.ts registers it with the framework and its type. Type-only imports: the loader
// reads these kinds without loading TensorFlow.js.
import type { AdapterContents } from '../adapter/peft.ts';
import type { PackCacheInfo } from '../data/items.ts';
import type { NativeOptions } from '../model/native-run.ts';
import type { InitReport, LossAtTargets } from '../tokenizer/init.ts';
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import type { CheckpointContents } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import type { EvalMetrics } from './evaluate.ts';
import type { AdamWState } from './optimizer.ts';
import type { StepRecord } from './step.ts';
import type { TokenSetup } from './trainer.ts';

// Values, not the trainer: a snapshot never changes once made, so its edge fans out freely (two
// evaluators, an evaluator and a sink side by side) and a reader may lag the train loop.
export const TRAIN_STATE_KIND = {
  name: 'train-state',
  description: 'an immutable snapshot of training after an update (and at start and end): step, trainable weights, optimizer state, RNG and data position',
  fields: {
    step: 'number: updates done',
    reason: "'start' | 'step' | 'end' | 'interrupt' | 'diverged'",
    diverged: "{step, message, lastGood?}? : with 'diverged', why the watchdog stopped training and the last good checkpoint",
    result: 'step-event? : the update just made',
    consumed: 'number: train batches read',
    weights: 'AdapterContents? : the trainable tensors as typed arrays (LoRA A/B, new token rows; full matrices in full mode), at the steps a downstream node asks for',
    optimizer: 'AdamWState? : the AdamW moments, when a checkpoint sink downstream asks for them',
    state: '{step, totalSteps, rng, data, configHash, config, watchdog}? : what a checkpoint keeps besides weights and moments',
    run: 'TrainRun: what stays the same for the whole run (config, new tokens, engine, counts)',
    metrics: 'EvalMetrics? : set by the evaluator on the snapshots it passes on (loss, ppl, newToken {loss, acc}, ...)',
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

/** What a checkpoint holds besides the adapter and the optimizer moments (trainer_state.json, less its format). */
export type SnapshotState = Omit<CheckpointContents['state'], 'evalLoss'>;

/**
 * What stays the same over a train node's run, made once and shared by every snapshot it hands on:
 * enough for a reader to rebuild the trainable model around the frozen weights (src/train/eval-model.ts).
 */
export type TrainRun = Readonly<{
  /** The train node's id in this process (run folder and node name): where an evaluator posts its losses (eval-board.ts). */
  id: string;
  cfg: TrainConfig;
  /** New token ids, strings and initial rows (the rows a 'frozen' embedding keeps). */
  tokens: TokenSetup;
  seed: number;
  /** The TF.js backend the frozen weights live on, or 'native' (src/model/backend.ts). */
  backend: string;
  /** Set on the native engine: evaluation runs as ONNX Runtime graphs too. */
  native?: NativeOptions;
  /** The engine the updates run on and why (src/model/backend.ts engineLine). */
  engine?: string;
  trainable: { lora: number; total: number };
  /** Bytes of the optimizer state (AdamW moments). */
  optimizerBytes: number;
  baseVocabSize: number;
  /**
   * The init report of the new rows (src/tokenizer/init.ts), with a loss hook the loss where each new
   * token is the target: a function of the run's starting rows, which never change.
   */
  describeInit?: (lossAtTargets?: LossAtTargets) => Promise<InitReport>;
}>;

/**
 * item: 'train-state' — training after an update, or at its start or end, as values. The weights
 * (and, for a checkpoint, the optimizer moments and state) are in the snapshots a downstream node
 * asked for: every `every` updates, at the start with `atStart`, and always at the end or on an
 * interrupt. A node that adds to a snapshot (the evaluator's metrics) passes on a new object.
 */
export type TrainSnapshot = Readonly<{
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
  /** The trainable tensors after `step` updates, copied out of the trainer (absent where nobody asked). */
  weights?: AdapterContents;
  /** The AdamW moments after `step` updates, where a checkpoint sink asked. */
  optimizer?: AdamWState;
  /** Step, schedule, RNG, data position and watchdog, with `optimizer`. */
  state?: SnapshotState;
  run: TrainRun;
  /** Set by the evaluator on the snapshots it evaluated. */
  metrics?: EvalMetrics;
  /** base_model_name_or_path for the adapter. */
  baseModel: string;
  tokenizer: TokenizerArtifact;
  /** Absolute folder of the checkpoints. */
  checkpointRoot: string;
  /** Whether the train batches came from the pack cache or were packed by this run (when the packer says). */
  packCache?: PackCacheInfo;
}>;

/** What a node downstream of a train node asks of its snapshots (NodeDef.asks). */
export interface SnapshotAsk {
  /** Weights every N updates. */
  every?: number;
  /** Weights at the start of a fresh run. */
  atStart?: boolean;
  /** The optimizer state too, at those steps (a checkpoint). */
  optimizer?: boolean;
}
