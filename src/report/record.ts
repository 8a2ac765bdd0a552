// What a run report says about one train branch, gathered from the snapshots that reach the
// summary/report node (train-step → evaluator → here): the evaluator's metrics at each evaluated
// step, the train loss and scored tokens of every update, trainable counts and training memory
// from the snapshots' run facts (TrainRun), and the adapter folder once
// the sink wrote it. Every fact is also written to a journal in the run folder
// (src/report/journal.ts), so a resumed leg reports the whole run, not only itself. Every
// number comes from the run; nothing is parsed back from text.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PackCacheInfo } from '../data/items.ts';
import type { TrainSnapshot } from '../train/items.ts';
import { macroAccuracy, type TokenMetrics } from '../train/evaluate.ts';
import type { StepRecord } from '../train/step.ts';
import { updateThroughput } from '../train/progress-line.ts';
import type { EmbeddingMode } from '../model/modes.ts';
import { History, Journal } from './journal.ts';

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
  /** Mean of perTokenAcc over the new tokens that occur as targets (each token once). */
  newTokenMacroAcc?: number;
  /** Per new token that occurs as a target: positions, loss, accuracy, emission rate (report.md's table). */
  perToken?: Record<string, TokenFigures>;
  /** Loss in bits over the UTF-8 bytes of the scored targets (absent in journals of older runs). */
  bitsPerByte?: number;
  bytes?: number;
  /** Step 0 only: the base model with its own tokenizer on the same eval text. */
  baseOwn?: { tokens: number; loss: number; bytes: number; bitsPerByte: number };
}

export type TokenFigures = Pick<TokenMetrics, 'count' | 'loss' | 'acc' | 'emissionRate'>;

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
  /** Its tokenizer carries a chat template, so `pipe generate --chat` works on it. */
  chat: boolean;
}

export interface BranchRecord {
  /** Branch label: the report node's input name, or for a summary the embedding mode it trained (never the recording node's name). */
  name: string;
  mode: EmbeddingMode;
  /** Optimizer updates done. */
  steps: number;
  /** How the branch ended: 'end', 'interrupt' when it was stopped early, 'diverged' when the watchdog stopped it. */
  ended: 'end' | 'interrupt' | 'diverged' | 'running';
  /** With 'diverged': the watchdog's message and the last good checkpoint (absolute folder), if one was written. */
  diverged?: { step: number; message: string; lastGood?: string };
  trainLoss: Array<{ step: number; loss: number }>;
  evals: EvalPoint[];
  trainable: { lora: number; tokens: number; total: number };
  memory: TrainingMemory;
  newTokens: string[];
  /** Merge mode: the new tokens that only build a word, counted apart from the words (rows still trained and saved). */
  intermediates?: string[];
  /** New tokens the tokenizer marks special (chat markers): not words either. */
  special?: string[];
  /** The base model folder the adapter applies to. */
  baseModel: string;
  adapter?: AdapterInfo;
  /** Wall time from the first snapshot to the last, in seconds, summed over the legs of a resumed run. */
  seconds: number;
  /**
   * Scored train tokens of all updates; tokens/s during the updates (their own time, from
   * train-step's step events when connected: what the progress line shows) and over the wall
   * time (`seconds`: evaluations, checkpoints and start-up included). Absent only when no update was made.
   */
  throughput?: { tokens: number; tokensPerSec?: number; wallTokensPerSec: number };
  /** This leg's train batches: reused from the pack cache, or packed by it (when the packer says). */
  packCache?: PackCacheInfo;
  /** The engine the updates ran on and why (train-step sets it on the trainer); absent for a trainer set up elsewhere. */
  engine?: string;
}

const F32 = 4;

export class BranchRecorder {
  private rec: BranchRecord | null = null;
  private started = 0;
  /** Seconds from this leg's first snapshot to its last. */
  private lastSec = 0;
  private readonly journal: Journal | null;
  /** This leg's facts; the journal's `prior` holds the earlier legs'. */
  private readonly now = new History();

  /**
   * `name`: the branch's label; undefined: the embedding mode the trainer was set up with
   * ('trainable-tokens'), known at the first snapshot.
   * `journal`: the file this branch's facts go to, and whether this leg resumes a run (then what
   * earlier legs wrote there is part of the report). Without one, the report covers this leg.
   */
  constructor(private readonly name: string | undefined, journal?: { file: string; resume: boolean }) {
    this.journal = journal ? new Journal(journal.file, journal.resume) : null;
  }

  private get sec(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Call for every snapshot. */
  observe(s: TrainSnapshot): void {
    const t = s.run;
    if (!this.rec) {
      this.started = performance.now();
      // A resumed leg redoes the updates after its checkpoint: forget what earlier legs said of them.
      this.journal?.prior.rewind(s.reason === 'step' ? s.step - 1 : s.step);
      const { total, lora } = t.trainable;
      this.rec = {
        name: this.name ?? t.cfg.embedding, mode: t.cfg.embedding, steps: 0, ended: 'running', trainLoss: [], evals: [],
        trainable: { lora, tokens: total - lora, total },
        memory: trainingMemory(total, t.optimizerBytes),
        newTokens: [...t.tokens.newTokens], intermediates: intermediateTokens(s), special: specialTokens(s), baseModel: s.baseModel, seconds: 0,
        ...(t.engine ? { engine: t.engine } : {}),
      };
    }
    const r = this.rec;
    if (s.packCache) r.packCache = s.packCache;
    r.steps = s.step;
    this.lastSec = this.sec;
    if (s.reason === 'end' || s.reason === 'interrupt' || s.reason === 'diverged') {
      r.ended = s.reason;
      if (s.diverged) r.diverged = { ...s.diverged };
      this.journal?.time(this.sec);
    }
    if (s.result) {
      const p = { loss: s.result.loss, tokens: s.result.tokens };
      this.now.steps.set(s.step, p);
      this.journal?.step(this.sec, s.step, p);
    }
    const m = s.metrics;
    // The evaluator re-attaches the last metrics to the end snapshot when it just evaluated that step.
    if (m && !this.now.evals.has(s.step)) {
      const point: EvalPoint = {
        step: s.step, loss: m.loss, ppl: m.ppl, newTokenLoss: m.newToken.loss, newTokenAcc: m.newToken.acc,
        newTokenCount: m.newToken.count, tokens: m.tokens,
        perTokenAcc: Object.fromEntries(Object.entries(m.perToken).map(([k, v]) => [k, v.acc])),
        newTokenMacroAcc: m.newToken.macroAcc ?? macroAccuracy(m.perToken),
        // Tokens that never are a target (intermediates, words the eval split lacks) have no figures to keep.
        perToken: Object.fromEntries(Object.entries(m.perToken).filter(([, v]) => v.count > 0)
          .map(([k, v]) => [k, { count: v.count, loss: v.loss, acc: v.acc, emissionRate: v.emissionRate }])),
        bitsPerByte: m.bitsPerByte, bytes: m.bytes, baseOwn: m.baseOwn,
      };
      this.now.evals.set(s.step, point);
      this.journal?.eval(this.sec, point);
    }
  }

  /** Drains train-step's step records (a PushQueue: never blocks the loop): tokens/s of each update. */
  async drainEvents(events: AsyncIterable<StepRecord>): Promise<void> {
    for await (const e of events) {
      this.now.rates.set(e.step, e.tokensPerSec);
      this.journal?.rate(e.step, e.tokensPerSec);
    }
  }

  /** Looks for the adapter folder the checkpoint sink wrote (call after the end snapshot went through). */
  findAdapter(dir: string): void {
    if (this.rec) this.rec.adapter = adapterInfo(dir);
  }

  /**
   * The record of the whole run (earlier legs and this one), or null when no snapshot came
   * through (the branch never started).
   */
  result(): BranchRecord | null {
    const r = this.rec;
    if (!r) return null;
    const prior = this.journal?.prior ?? new History();
    const merged = <V>(a: Map<number, V>, b: Map<number, V>) => [...new Map([...a, ...b])].sort((x, y) => x[0] - y[0]);
    const steps = merged(prior.steps, this.now.steps);
    r.trainLoss = steps.map(([step, p]) => ({ step, loss: p.loss }));
    r.evals = merged(prior.evals, this.now.evals).map(([, e]) => e);
    r.seconds = (this.journal?.priorSeconds ?? 0) + this.lastSec;
    const tokens = steps.reduce((a, [, p]) => a + p.tokens, 0);
    const done = new Set(steps.map(([step]) => step));
    const tokensOf = new Map(steps.map(([step, p]) => [step, p.tokens]));
    const rated = merged(prior.rates, this.now.rates).filter(([step]) => done.has(step)).map(([step, tokensPerSec]) => ({ tokens: tokensOf.get(step)!, tokensPerSec }));
    const during = updateThroughput(rated);
    // Every update counts, whether or not its step event was drained: the line is never left out.
    r.throughput = steps.length === 0 ? undefined : { tokens, ...(Number.isFinite(during) ? { tokensPerSec: during } : {}), wallTokensPerSec: tokens / Math.max(r.seconds, 1e-9) };
    return r;
  }
}

/** The trainer's new tokens whose ids the tokenizer marks as merge intermediates. */
function intermediateTokens(s: TrainSnapshot): string[] {
  const ids = new Set(s.tokenizer?.intermediateIds ?? []);
  if (ids.size === 0) return [];
  const { newTokenIds, newTokens } = s.run.tokens;
  return newTokens.filter((_, k) => ids.has(newTokenIds[k]));
}

/** The trainer's new tokens that are special added tokens of the run's tokenizer. */
function specialTokens(s: TrainSnapshot): string[] {
  const added = s.tokenizer?.tokenizerJson?.added_tokens;
  if (!Array.isArray(added)) return [];
  const special = new Set(added.filter((t: { special?: boolean }) => t.special).map((t: { content: string }) => t.content));
  return s.run.tokens.newTokens.filter((t) => special.has(t));
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
  return { dir, weightsBytes, folderBytes, chat: hasChatTemplate(path.join(dir, 'tokenizer_config.json')) };
}

function hasChatTemplate(file: string): boolean {
  try {
    return Boolean((JSON.parse(readFileSync(file, 'utf8')) as { chat_template?: unknown }).chat_template);
  } catch {
    return false;
  }
}

/** New tokens that were a target somewhere in the last evaluation (merge mode adds intermediate ids that never are). */
export function tokensSeen(r: BranchRecord): string[] {
  const last = r.evals.at(-1);
  if (!last) return [];
  return r.newTokens.filter((t) => Number.isFinite(last.perTokenAcc[t]));
}

/**
 * What the last evaluation is called: 'after' once training ended; for a run stopped early (or
 * still running) it was not after training, so it is named by its step: 'at step 20'.
 */
export function afterLabel(r: BranchRecord): string {
  const { after } = beforeAfter(r);
  return r.ended === 'end' || !after ? 'after' : `at step ${after.step}`;
}

/** The "after" label shared by branches side by side: theirs if they agree, else 'last evaluation'. */
export function commonAfterLabel(records: BranchRecord[]): string {
  const labels = new Set(records.map(afterLabel));
  return labels.size === 1 ? [...labels][0] : 'last evaluation';
}

/** First and last evaluation: the "before" and "after" of a branch. */
export function beforeAfter(r: BranchRecord): { before?: EvalPoint; after?: EvalPoint } {
  const before = r.evals[0]?.step === 0 ? r.evals[0] : undefined;
  const after = r.evals.length > 0 && r.evals.at(-1)!.step > 0 ? r.evals.at(-1) : undefined;
  return { before, after };
}
