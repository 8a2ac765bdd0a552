// Every train.log line starts with the ISO time of its update, and the lines keep one width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { stepLine } from '../src/train/step.ts';
import { runChain } from './fixtures/train/chain.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \| step +\d+ \| loss/;

test('a step line starts with the time it is given', async () => {
  await tf.setBackend('cpu'); // the line reports live tensors
  const r = { step: 7, loss: 1.5, gradNorm: 0.25, lr: 1e-3, tokens: 64, tokensPerSec: 640 };
  assert.match(stepLine(r, 3, new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678))), /^2025-01-02T03:04:05\.678Z \| step {6}7 \| loss {3}1\.5000 \|/);
});

test("train.log's lines carry the time of their update, in order", async () => {
  const runDir = mkdtempSync(path.join(tmpdir(), 'tp-log-'));
  const before = Date.now(); // timer-ok: the log's timestamps are compared with the clock around the run, with a second of slack
  await runChain(runDir, { steps: 3, trainParams: { threads: 1 } });
  const log = readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n');
  assert.equal(log.length, 3);
  for (const l of log) assert.match(l, ISO);
  const times = log.map((l) => Date.parse(l.slice(0, 24)));
  // timer-ok: see `before` above.
  assert.ok(times[0] >= before - 1000 && times[2] <= Date.now() + 1000, `${log[0].slice(0, 24)} within the run`);
  assert.deepEqual([...times].sort((a, b) => a - b), times);
  assert.ok(log.every((l) => l.length === log[0].length), 'fixed-width lines');
});
