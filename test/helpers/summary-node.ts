// Drives the summary node with snapshots of a stand-in trainer (no model, no executor): each
// update scores `tokens` tokens; evaluations every 2 updates and at the start. For the tests of
// what the summary and its report say.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import summaryNode from '../../nodes/summary.ts';
import type { EvalMetrics } from '../../src/train/evaluate.ts';
import type { TrainSnapshot } from '../../src/train/items.ts';
import type { StepRecord } from '../../src/train/step.ts';
import { PushQueue } from '../../src/train/loop.ts';
import { mainContext } from './context.ts';

/** Just what the summary reads off a run's snapshots. */
export const standInRun = {
  trainable: { lora: 96, total: 128 },
  optimizerBytes: 1024,
  cfg: { embedding: 'trainable-tokens', gradAccumulation: 1 },
  tokens: { newTokens: ['<x>'], newTokenIds: [9] },
  engine: 'wasm (asked for)',
} as unknown as TrainSnapshot['run'];

/** The evaluator's metrics at `step`: loss 5 falling by 0.5 per update, one new token '<x>'. */
export function standInMetrics(step: number): EvalMetrics {
  const loss = 5 - step / 2;
  return { tokens: 40, loss, ppl: Math.exp(loss), newToken: { count: 4, loss: loss + 1, acc: step / 10 }, perToken: { '<x>': { count: 4, loss: loss + 1, acc: step / 10, emitted: 0 } as any } };
}

export interface DriveOptions {
  steps: number;
  /** Scored tokens per update, and the tokens/s train-step reports for it. */
  tokens?: number;
  tokensPerSec?: number | ((step: number) => number);
  /** Runs between snapshots (an evaluation, a checkpoint): called after each evaluated update. */
  between?: (step: number) => Promise<void> | void;
}

/** One run through the summary node in `runDir` (an adapter folder is made); the summary text. */
export async function driveSummary(runDir: string, o: DriveOptions): Promise<string> {
  mkdirSync(path.join(runDir, 'adapter'), { recursive: true });
  writeFileSync(path.join(runDir, 'adapter', 'adapter_model.safetensors'), Buffer.alloc(512));
  const emitted: Array<Record<string, unknown>> = [];
  const ctx = mainContext(summaryNode, {}, { runDir, events: emitted, name: 'summary' });
  const events = new PushQueue<StepRecord>();
  const tokens = o.tokens ?? 100;
  const snap = (step: number, reason: TrainSnapshot['reason'], result?: StepRecord): TrainSnapshot => ({
    run: standInRun, step, reason, consumed: step, baseModel: 'base', tokenizer: {} as TrainSnapshot['tokenizer'], checkpointRoot: '',
    ...(result ? { result } : {}), ...(step % 2 === 0 ? { metrics: standInMetrics(step) } : {}),
  });
  const state = (async function* () {
    yield snap(0, 'start');
    for (let step = 1; step <= o.steps; step++) {
      const e: StepRecord = { step, loss: 6 - step, lr: 1e-3, gradNorm: 1, tokens, tokensPerSec: typeof o.tokensPerSec === 'function' ? o.tokensPerSec(step) : (o.tokensPerSec ?? 500) };
      events.push(e);
      yield snap(step, 'step', e);
      if (step % 2 === 0) await o.between?.(step);
    }
    yield snap(o.steps, 'end');
    events.end();
  })();
  const out = await summaryNode.run({ state, events }, ctx);
  assert.ok(out, 'the summary node returned outputs');
  for await (const _ of out.state);
  const summary = emitted.find((e) => e.type === 'summary');
  assert.ok(summary, 'a summary was emitted');
  return summary.text as string;
}
