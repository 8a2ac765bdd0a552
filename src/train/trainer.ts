// A Trainer is the model set up for training: LoRA hooked into every targeted linear, the token
// table swapped for one with trainable rows, AdamW over both param groups, and the run's RNG.
// It also converts its state to and from adapters and checkpoints.
import { createHash } from 'node:crypto';
import type { InitReport, LossAtTargets } from '../tokenizer/init.ts';
import * as tf from '@tensorflow/tfjs';
import { AdapterMismatch, ResumeConfigMismatch } from '../errors.ts';
import type { AdapterContents, LoadedAdapter } from '../adapter/peft.ts';
import { disposeModel, type FrozenTokenTable, type LlamaModel } from '../model/weights.ts';
import type { LoadedCheckpoint } from './checkpoint.ts';
import type { SnapshotState } from './items.ts';
import type { TrainConfig } from './config.ts';
import { LoraSet, modelShape } from '../model/lora.ts';
import { AdamW, type ParamGroup } from './optimizer.ts';
import type { Param } from '../model/params.ts';
import type { NativeOptions } from '../model/native-run.ts';
import { Rng } from '../model/rng.ts';
import { createTokenTable, type TrainTokenTable } from '../model/tokens.ts';
import { Watchdog } from './watchdog.ts';

export interface TokenSetup {
  /**
   * Ids of the new tokens. Ids at or past the checkpoint's rows must run V0, V0+1, ... (appended);
   * ids below V0 (a padded vocabulary, e.g. Qwen) take over those rows.
   */
  newTokenIds: number[];
  newTokens: string[];
  /** Initial rows of the new tokens [n, H] in newTokenIds order (and of an untied head). */
  embedRows: Float32Array;
  headRows?: Float32Array;
  /** Existing ids also retrained ('trainable-tokens' mode). */
  retrainIds?: number[];
}

export interface Trainer {
  cfg: TrainConfig;
  model: LlamaModel;
  lora: LoraSet;
  table: TrainTokenTable;
  opt: AdamW;
  params: Param[];
  /** Draws dropout seeds; its state is checkpointed. */
  rng: Rng;
  watchdog: Watchdog;
  /** Optimizer updates done. */
  step: number;
  /**
   * Updates this run will make: cfg.steps, or fewer when the data has fewer batches and the
   * packer was told its number of epochs (src/train/data-plan.ts). The lr schedule decays over these.
   */
  totalSteps: number;
  tokens: TokenSetup;
  /** Rebuild each layer's activations in the backward instead of keeping them (train-step `recompute`). */
  recompute: boolean;
  /**
   * The init report of the new rows (src/tokenizer/init.ts): method, source pieces, norms, and
   * with a loss hook the loss where each new token is the target. Set by setupTrainer.
   */
  describeInit?: (lossAtTargets?: LossAtTargets) => Promise<InitReport>;
  /** The engine the updates run on and why it was chosen (src/model/backend.ts engineLine); set by the train node. */
  engine?: string;
  /** Set on the native engine: each micro-batch's pass runs as one ONNX Runtime graph (step.ts updateGradsNative). */
  native?: NativeOptions;
  /** Set when the frozen weights are shared (src/train/frozen-models.ts): gives them back instead of freeing them. */
  release?: () => void;
}

/** Sets `model` up for training. The model's token table is replaced (and owned by the trainer). */
export function createTrainer(model: LlamaModel, cfg: TrainConfig, tokens: TokenSetup, seed: number): Trainer {
  const { lora, table } = attachTrainable(model, cfg, tokens, seed);
  const groups: ParamGroup[] = [
    { name: 'lora', lr: cfg.lr, weightDecay: cfg.weightDecay, params: lora.params() },
    { name: 'tokens', lr: cfg.tokenLr ?? cfg.lr, weightDecay: cfg.tokenWeightDecay, params: table.params() },
  ].filter((g) => g.params.length > 0);
  return {
    cfg, model, lora, table, opt: new AdamW(groups, { betas: cfg.betas, eps: cfg.eps }),
    params: groups.flatMap((g) => g.params), rng: Rng.seeded(seed, 'dropout'), watchdog: new Watchdog(cfg.watchdog), step: 0, totalSteps: cfg.steps, tokens,
    recompute: cfg.recompute === 'always',
  };
}

/**
 * Hooks LoRA into `model`'s targeted linears and swaps its token table for one with trainable rows, initialised
 * from `tokens` and the seed: the trainer's model, and an evaluator's copy of it (src/train/eval-model.ts).
 */
export function attachTrainable(model: LlamaModel, cfg: TrainConfig, tokens: TokenSetup, seed: number): { lora: LoraSet; table: TrainTokenTable } {
  const V0 = model.tokens.vocabSize;
  const H = model.config.hiddenSize;
  const inside = tokens.newTokenIds.map((id, k) => [id, k] as const).filter(([id]) => id < V0);
  const appended = tokens.newTokenIds.map((id, k) => [id, k] as const).filter(([id]) => id >= V0);
  appended.forEach(([id], j) => {
    if (id !== V0 + j) throw new AdapterMismatch(`new token ids past the model's ${V0} rows must be ${V0}, ${V0 + 1}, ...; got ${tokens.newTokenIds}`);
  });
  const pick = (rows: Float32Array | undefined, which: ReadonlyArray<readonly [number, number]>) =>
    rows && Float32Array.from(which.flatMap(([, k]) => Array.from(rows.subarray(k * H, (k + 1) * H))));
  const insideIds = inside.map(([id]) => id);
  const lora = LoraSet.init(modelShape(model), cfg.lora, Rng.seeded(seed, 'lora-init'));
  // Rows inside the matrix are replaced rows: trained in 'trainable-tokens', stored (as constants) in 'frozen'.
  const replaced = cfg.embedding === 'full' ? [] : [...inside.map(([id]) => id), ...(cfg.embedding === 'trainable-tokens' ? tokens.retrainIds ?? [] : [])];
  const headRows = pick(tokens.headRows, inside);
  const table = createTokenTable(model.tokens as FrozenTokenTable, {
    mode: cfg.embedding, appendedEmbed: pick(tokens.embedRows, appended)!, appendedHead: pick(tokens.headRows, appended),
    replaceEmbed: replaced, replaceHead: replaced,
    presetEmbed: { ids: insideIds, rows: pick(tokens.embedRows, inside)! }, presetHead: headRows && { ids: insideIds, rows: headRows },
  });
  model.tokens = table;
  model.adapters = lora;
  return { lora, table };
}

/** The adapter for the trainer's current weights (frozen mode still stores the new rows). */
export function adapterContents(t: Trainer, baseModelNameOrPath: string): AdapterContents {
  const c = t.model.config;
  const rows = t.table.exportRows();
  const common = {
    lora: t.lora.toPeft(), loraConfig: t.lora.cfg, mode: t.cfg.embedding, hiddenSize: c.hiddenSize,
    vocabSize: t.table.vocabSize, baseVocabSize: t.table.baseVocabSize, tieWordEmbeddings: c.tieWordEmbeddings,
    baseModelNameOrPath, newTokens: t.tokens.newTokens, newTokenIds: t.tokens.newTokenIds,
  };
  if ('embedFull' in rows) return { ...common, fullRows: { embed: rows.embedFull, lmHead: rows.headFull } };
  return { ...common, tokenRows: rows };
}

/** What must not change between a run and its resume. */
function resumeConfig(t: Trainer): Record<string, unknown> {
  // The watchdog guards the run without changing its weights: a leg may resume with other thresholds.
  const { watchdog: _, ...cfg } = t.cfg;
  return { cfg, ids: t.tokens.newTokenIds, retrain: t.tokens.retrainIds ?? [] };
}

/** Hash of what must not change between a run and its resume. */
export function configHash(t: Trainer): string {
  return createHash('sha256').update(JSON.stringify(resumeConfig(t))).digest('hex').slice(0, 16);
}

/** `lr: 0.02 (checkpoint) → 0.05 (now)` for each leaf that differs (the train config's fields by their own names). */
export function configChanges(was: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const leaves = (v: unknown, at: string, out: Map<string, string>) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) leaves(x, at ? `${at}.${k}` : k, out);
    else if (v !== undefined) out.set(at, JSON.stringify(v));
  };
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  // The train config's fields are named as in the train node's params ('lr', not 'cfg.lr').
  leaves(JSON.parse(JSON.stringify(was)), '', a);
  leaves(JSON.parse(JSON.stringify(now)), '', b);
  const name = (k: string) => (k.startsWith('cfg.') ? k.slice(4) : k === 'ids' ? 'new token ids' : k === 'retrain' ? 'retrainTokens ids' : k);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k))
    .map((k) => `${name(k)}: ${a.get(k) ?? '(absent)'} (checkpoint) → ${b.get(k) ?? '(absent)'} (now)`);
}

/** What a checkpoint keeps besides weights and moments, at the trainer's current step. `data`: where the batch stream stands. */
export function trainerState(t: Trainer, data: Record<string, unknown>): SnapshotState {
  return { step: t.step, totalSteps: t.totalSteps, rng: t.rng.state(), data, configHash: configHash(t), config: resumeConfig(t), watchdog: t.watchdog.state() };
}

/** Puts a checkpoint's weights, moments, step and RNG state back into a fresh trainer. */
export function restoreTrainer(t: Trainer, ck: LoadedCheckpoint): void {
  if (ck.state.configHash !== configHash(t)) {
    throw new ResumeConfigMismatch(ck.dir, ck.state.config ? configChanges(ck.state.config, resumeConfig(t)) : []);
  }
  loadWeights(t, ck.adapter);
  t.opt.importState(ck.optimizer);
  t.rng = Rng.fromState(ck.state.rng);
  t.step = ck.state.step;
  t.watchdog.restore(ck.state.watchdog);
}

/** Sets the trainable weights (LoRA, and the trained rows of the token table) from an adapter or a snapshot's copy. */
export function loadWeights(t: Pick<Trainer, 'cfg' | 'lora' | 'table'>, a: Pick<LoadedAdapter, 'lora' | 'tokenRows'> & { fullRows?: { embed: Float32Array; lmHead?: Float32Array } }): void {
  t.lora.load(a.lora);
  if (t.cfg.embedding === 'full') t.table.importRows({ embedFull: a.fullRows?.embed, headFull: a.fullRows?.lmHead ?? a.fullRows?.embed });
  else if (t.cfg.embedding === 'trainable-tokens') t.table.importRows({ embed: a.tokenRows?.embed, lmHead: a.tokenRows?.lmHead });
}

/** Frees the trainer's own tensors and the model's (or, for shared frozen weights, gives those back). */
export function disposeTrainer(t: Trainer): void {
  t.opt.dispose();
  t.lora.dispose();
  t.model.adapters = undefined;
  if (!t.release) return disposeModel(t.model); // includes the token table
  t.table.dispose(); // its base table is borrowed: the frozen rows stay
  t.release();
}
