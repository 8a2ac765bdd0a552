// `steps` against the data (issue 11, case 1). A 12-line corpus packs into fewer train batches
// than the steps asked: with `epochs` unset the packer repeats the data (reshuffled) until the
// train node has all its updates; with `epochs: 1` training stops at the end of the data, a
// warning names both numbers and the lr schedule decays over the updates that really happen.
// `--dry-run` prints batches per epoch, updates and epochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, runEvents, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

const STEPS = 8;
/** A corpus of 12 lines: fewer train batches than half the steps. */
const LINES = 12;
const tmp = () => mkdtempSync(path.join(tmpdir(), 'tp-steps-'));
const trainBatches = (events: Array<Record<string, any>>) => events.find((e) => e.type === 'pack-summary')!.stats.train.batches as number;
const steps = (events: Array<Record<string, any>>) => events.filter((e) => e.type === 'train-step');

/** `pipe run FILE ARGS...` in this process, asserting exit 0. */
async function run(file: string, ...args: string[]) {
  const r = await pipeHere('run', file, ...args);
  assert.equal(r.status, 0, r.stderr);
  return r;
}

test('epochs unset: the data repeats until steps is reached', async () => {
  const { runDir, stderr } = await run(tinyPipeline(tmp(), { steps: STEPS, every: 100, lines: LINES }));
  const events = runEvents(runDir);
  const batches = trainBatches(events);
  assert.ok(batches < STEPS / 2, `the corpus packs into ${batches} train batches, under half the steps`);
  assert.deepEqual(steps(events).map((e) => e.step), Array.from({ length: STEPS }, (_, i) => i + 1));
  assert.doesNotMatch(stderr, /pipe run: warning/);
});

test('epochs set: training stops at the end of the data with a warning, the schedule fits the real updates', async () => {
  const { runDir, stderr } = await run(tinyPipeline(tmp(), { steps: STEPS, every: 100, epochs: 1, lines: LINES }));
  const events = runEvents(runDir);
  const batches = trainBatches(events);
  const done = steps(events);
  assert.equal(done.length, batches, 'one update per batch of the one pass');
  assert.match(stderr, new RegExp(`warning: train: epochs: 1 over ${batches} train batches gives ${batches} updates, fewer than steps: ${STEPS}`));
  // Linear decay (the default) over `batches` updates: the last update runs at lr / batches,
  // not at the lr of update `batches` of STEPS.
  assert.ok(Math.abs(done.at(-1)!.lr - 0.02 / batches) < 1e-9, `last lr ${done.at(-1)!.lr}`);
});

test('--dry-run prints batches per epoch, updates and epochs', async () => {
  const dir = tmp();
  const repeat = (await run(tinyPipeline(dir, { steps: STEPS, lines: LINES }), '--dry-run')).stdout;
  const batches = Number(/train batches per epoch +(\d+)/.exec(repeat)?.[1]);
  assert.ok(batches > 0, repeat);
  assert.match(repeat, new RegExp(`updates +${STEPS} \\(steps ${STEPS}, gradAccumulation 1\\)`));
  assert.match(repeat, new RegExp(`epochs +${(STEPS / batches).toFixed(2)} \\(the data repeats, reshuffled, until steps is reached\\)`));
  const once = (await run(tinyPipeline(dir, { steps: STEPS, epochs: 1, lines: LINES }), '--dry-run')).stdout;
  assert.match(once, new RegExp(`updates +${batches} \\(steps ${STEPS}, gradAccumulation 1\\)`));
  assert.match(once, new RegExp(`epochs +1 \\(epochs: 1; the data ends before steps: ${STEPS}\\)`));
});
