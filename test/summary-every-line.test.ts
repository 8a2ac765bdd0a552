// The summary always has every line (issue 11, case 6): 20 summaries in a row, from the summary
// node driven directly with snapshots of a stand-in run, each with a different timing of
// train-step's step events against the snapshots (events before each snapshot as the train loop
// sends them, all events late, no events input at all) or as a resumed leg that makes no update
// (the resume of a finished run). The "train tokens" line comes from the updates the snapshots
// carry and the run's journal, so neither how the events are drained nor which leg prints the
// summary can leave it out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import summaryNode from '../nodes/summary.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import type { StepRecord } from '../src/train/step.ts';
import { mainContext } from './helpers/context.ts';
import { standInMetrics, standInRun } from './helpers/summary-node.ts';

const LABELS = ['eval loss', 'new-token loss', 'new-token accuracy', 'new tokens', 'trainable parameters', 'train tokens', 'engine', 'training memory', 'adapter size', 'adapter'];
const STEPS = 4;

const run = standInRun;
const metrics = standInMetrics;

function snapshot(step: number, reason: TrainSnapshot['reason']): TrainSnapshot {
  return {
    run, step, reason, consumed: step, baseModel: 'base', tokenizer: {} as TrainSnapshot['tokenizer'], checkpointRoot: '',
    ...(reason === 'step' ? { result: { step, loss: 6 - step, gradNorm: 1, lr: 1e-3, tokens: 100, tokensPerSec: 500 } } : {}),
    // Evaluated every 2 updates, at the start and at the end (as the evaluator does with atStart).
    ...(step % 2 === 0 ? { metrics: metrics(step) } : {}),
  };
}

/** A channel the test pushes step events into, like train-step's queue. */
function channel() {
  const items: StepRecord[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  return {
    push(e: StepRecord) {
      items.push(e);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (items.length) yield items.shift()!;
        else if (ended) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

/** 0 to 2 event-loop turns at random, so the step events and the states interleave differently each leg. */
const tick = async () => {
  for (let i = Math.floor(Math.random() * 3); i > 0; i--) await new Promise((r) => setImmediate(r));
};

/** One leg through the summary node; returns the summary text it emitted. */
async function leg(runDir: string, o: { events: 'with' | 'late' | 'none'; resume: boolean; from: number; to: number }): Promise<string> {
  const emitted: Array<Record<string, unknown>> = [];
  const ctx = { ...mainContext(summaryNode, {}, { runDir, events: emitted, name: 'summary' }), resume: o.resume };
  const events = channel();
  const state = (async function* () {
    if (o.from === 0) yield snapshot(0, 'start');
    for (let step = o.from + 1; step <= o.to; step++) {
      const e = { step, loss: 6 - step, lr: 1e-3, gradNorm: 1, tokensPerSec: 500, tokens: 100 };
      if (o.events === 'with') events.push(e);
      await tick();
      yield snapshot(step, 'step');
    }
    yield snapshot(o.to, 'end');
    if (o.events === 'with') events.end();
  })();
  const out = await summaryNode.run(o.events === 'none' ? { state } : { events, state }, ctx);
  if (o.events === 'late') {
    setImmediate(() => {
      for (let step = o.from + 1; step <= o.to; step++) events.push({ step, loss: 6 - step, lr: 1e-3, gradNorm: 1, tokensPerSec: 500, tokens: 100 });
      events.end();
    });
  }
  if (!out) throw new Error('the summary node returned no outputs');
  for await (const _ of out.state) await tick();
  const summary = emitted.find((e) => e.type === 'summary');
  assert.ok(summary, 'a summary was emitted');
  return summary.text as string;
}

test('20 summaries in a row each have every line, however the step events arrive and whichever leg prints it', async () => {
  const kinds = ['with', 'resumed', 'late', 'none'] as const;
  for (let i = 0; i < 20; i++) {
    const kind = kinds[i % kinds.length];
    const runDir = mkdtempSync(path.join(tmpdir(), 'tp-summary-'));
    mkdirSync(path.join(runDir, 'adapter'));
    writeFileSync(path.join(runDir, 'adapter', 'adapter_model.safetensors'), Buffer.alloc(512));
    let text: string;
    if (kind === 'resumed') {
      // The first leg trained; the second resumes the finished run and makes no update.
      await leg(runDir, { events: 'with', resume: false, from: 0, to: STEPS });
      text = await leg(runDir, { events: 'with', resume: true, from: STEPS, to: STEPS });
    } else {
      text = await leg(runDir, { events: kind, resume: false, from: 0, to: STEPS });
    }
    const lines = text.split('\n');
    for (const label of LABELS) assert.ok(lines.some((l) => l.startsWith(`  ${label} `)), `summary ${i + 1} (${kind}) lacks '${label}':\n${text}`);
    assert.match(text, new RegExp(`^  train tokens +${STEPS * 100} scored`, 'm'), `summary ${i + 1} (${kind})`);
    assert.match(text, /^  eval loss +5\.0000 +3\.0000$/m, `summary ${i + 1} (${kind}): before from step 0, after at the end`);
  }
});
