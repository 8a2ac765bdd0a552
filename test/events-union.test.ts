// A run's events are one union (nodes/_events.ts): every line of events.jsonl of a training run
// is one of its members, and a 'train-step' event is the step record itself (src/train/step.ts)
// plus the log line, the same fields the 'step-event' items carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isEvent, RUN_EVENT_TYPES } from '../nodes/_events.ts';
import { pipeRun, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

test('every event of a training run is a member of the union; train-step events are step records', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-events-'));
  const { runDir } = pipeRun(tinyPipeline(dir, { steps: 2, every: 2 }));
  const events = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.filter((e) => !RUN_EVENT_TYPES.includes(e.type)).map((e) => e.type), []);
  for (const type of ['run-start', 'train-start', 'train-step', 'eval', 'checkpoint', 'adapter', 'run-end'] as const) {
    assert.ok(events.some((e) => isEvent(e, type)), `no '${type}' event`);
  }
  const steps = events.filter((e) => isEvent(e, 'train-step'));
  assert.deepEqual(steps.map((e) => e.step), [1, 2]);
  const record = ['step', 'loss', 'gradNorm', 'lr', 'tokens', 'tokensPerSec'];
  for (const e of steps) assert.deepEqual(Object.keys(e).sort(), [...record, 'type', 'node', 'line', 'time'].sort());
});
