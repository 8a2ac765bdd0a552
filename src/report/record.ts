// What a run report says about one train branch, gathered from the live snapshots that pass
// through the summary/report node (train-step → evaluator → here → checkpoint-sink): the
// evaluator's metrics at each evaluated step, the train loss of every update, trainable counts
// and training memory read off the trainer itself, and the adapter folder once the sink wrote it.
// Every number comes from the run; nothing is parsed back from text.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { TrainSnapshot } from '../train/items.ts';
import type { StepRecord } from '../train/step.ts';
import type { EmbeddingMode } from '../model/modes.ts';
import { countParams } from '../model/params.ts';

export interface EvalPoint {
  step: number;
  loss: number;
  ppl: number;
  /** Over positions whose target is a new token. */
  newTokenLoss: number;
  newTokenAcc: number;
  newTokenCount: number;
  /** Scored eval tokens. */
  tokens: number;
  /** Top-1 accuracy per new token (NaN when it never is a target). */
  perTokenAcc: Record<string, number>;
}

/** Bytes training holds beyond the frozen model (float32 throughout). */
export interface TrainingMemory {
  params: number;
  /** One gradient per trainable scalar during an update. */
  grads: number;
  /** AdamW's two moments, as allocated by the optimizer. */
  optimizer: number;
  total: number;
}

export interface AdapterInfo {
  dir: string;
  /** Size of adapter_model.safetensors (the trained weights). */
  weightsBytes: number;
  /** All files of the folder (weights, config, tokenizer, README). */
  folderBytes: number;
}

export interface BranchRecord {
  /** Branch label (the report node's input name, or the run's name for a summary). */
  name: string;
  mode: EmbeddingMode;
  /** Optimizer updates done. */
  steps: number;
  /** How the branch ended: 'end', or 'interrupt' when it was stopped early. */
  ended: 'end' | 'interrupt' | 'running';
  trainLoss: Array<{ step: number; loss: number }>;
  evals: EvalPoint[];
  trainable: { lora: number; tokens: number; total: number };
  memory: TrainingMemory;
  newTokens: string[];
  /** The base model folder the adapter applies to. */
  baseModel: string;
  adapter?: AdapterInfo;
  /** Wall time from the first snapshot to the last, in seconds. */
  seconds: number;
  /** From train-step's step records ('step-event'), when connected: scored train tokens and mean tokens/s per update. */
  throughput?: { tokens: number; tokensPerSec: number };
}

const F32 = 4;

export class BranchRecorder {
  private rec: BranchRecord | null = null;
  private started = 0;
  private events?: { tokens: number; tokensPerSec: number };

  constructor(private readonly name: string) {}

  /** Call for every snapshot, before passing it on (the trainer is live only until then). */
  observe(s: TrainSnapshot): void {
    const t = s.trainer;
    if (!this.rec) {
      this.started = performance.now();
      const total = countParams(t.params);
      const lora = countParams(t.lora.params());
      this.rec = {
        name: this.name, mode: t.cfg.embedding, steps: 0, ended: 'running', trainLoss: [], evals: [],
        trainable: { lora, tokens: total - lora, total },
        memory: trainingMemory(total, t.opt.stateBytes()),
        newTokens: [...t.tokens.newTokens], baseModel: s.baseModel, seconds: 0,
      };
    }
    const r = this.rec;
    r.steps = s.step;
    r.seconds = (performance.now() - this.started) / 1000;
    if (s.reason === 'end' || s.reason === 'interrupt') r.ended = s.reason;
    if (s.result) r.trainLoss.push({ step: s.step, loss: s.result.loss });
    const m = s.metrics;
    // The evaluator re-attaches the last metrics to the end snapshot when it just evaluated that step.
    if (m && r.evals.at(-1)?.step !== s.step) {
      r.evals.push({
        step: s.step, loss: m.loss, ppl: m.ppl, newTokenLoss: m.newToken.loss, newTokenAcc: m.newToken.acc,
        newTokenCount: m.newToken.count, tokens: m.tokens,
        perTokenAcc: Object.fromEntries(Object.entries(m.perToken).map(([k, v]) => [k, v.acc])),
      });
    }
  }

  /** Drains train-step's step records (a PushQueue: never blocks the loop) into `throughput`. */
  async drainEvents(events: AsyncIterable<StepRecord>): Promise<void> {
    let tokens = 0, rate = 0, n = 0;
    for await (const e of events) {
      tokens += e.tokens;
      rate += e.tokensPerSec;
      n++;
    }
    this.events = n > 0 ? { tokens, tokensPerSec: rate / n } : undefined;
  }

  /** Looks for the adapter folder the checkpoint sink wrote (call after the end snapshot went through). */
  findAdapter(dir: string): void {
    if (this.rec) this.rec.adapter = adapterInfo(dir);
  }

  /** The record, or null when no snapshot came through (the branch never started). */
  result(): BranchRecord | null {
    if (this.rec && this.events) this.rec.throughput = this.events;
    return this.rec;
  }
}

/** Params, their gradients (micro-batches of an accumulated update add into the same ones) and AdamW's moments. */
export function trainingMemory(trainable: number, optimizerBytes: number): TrainingMemory {
  const params = trainable * F32;
  const grads = trainable * F32;
  return { params, grads, optimizer: optimizerBytes, total: params + grads + optimizerBytes };
}

/** Sizes of an adapter folder; undefined when it does not exist (the sink wrote it elsewhere). */
export function adapterInfo(dir: string): AdapterInfo | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  let folderBytes = 0;
  let weightsBytes = 0;
  for (const n of names) {
    const st = statSync(path.join(dir, n));
    if (!st.isFile()) continue;
    folderBytes += st.size;
    if (n === 'adapter_model.safetensors') weightsBytes = st.size;
  }
  return { dir, weightsBytes, folderBytes };
}

/** New tokens that were a target somewhere in the last evaluation (merge mode adds intermediate ids that never are). */
export function tokensSeen(r: BranchRecord): string[] {
  const last = r.evals.at(-1);
  if (!last) return [];
  return r.newTokens.filter((t) => Number.isFinite(last.perTokenAcc[t]));
}

/** First and last evaluation: the "before" and "after" of a branch. */
export function beforeAfter(r: BranchRecord): { before?: EvalPoint; after?: EvalPoint } {
  const before = r.evals[0]?.step === 0 ? r.evals[0] : undefined;
  const after = r.evals.length > 0 && r.evals.at(-1)!.step > 0 ? r.evals.at(-1) : undefined;
  return { before, after };
}
