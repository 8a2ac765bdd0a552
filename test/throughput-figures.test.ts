// One tokens/s figure, said plainly: the progress line shows the throughput of the updates so far
// (scored tokens over the updates' own time), the summary gives the same figure "during updates"
// and, beside it, the one over the whole wall time (evaluations and checkpoints included). With
// updates of 100 tokens at 500 and 250 tokens/s, both say 333 (200 tokens in 0.6 s), not the
// mean of the rates (375).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { progressLine, StepClock } from '../src/train/progress-line.ts';
import { driveSummary } from './helpers/summary-node.ts';

const rate = (step: number) => (step % 2 === 1 ? 500 : 250);

test('the progress line shows the update throughput so far', () => {
  const clock = new StepClock();
  let line = '';
  for (const step of [1, 2, 3, 4]) {
    const r = { step, loss: 1, lr: 1e-3, tokens: 100, tokensPerSec: rate(step), gradNorm: 1 };
    line = progressLine({ record: r, total: 4, ...clock.tick(r) });
  }
  assert.match(line, / 333 tok\/s in updates /);
});

test('the summary gives the same figure during updates, and the one over the wall time beside it', async () => {
  const text = await driveSummary(mkdtempSync(path.join(tmpdir(), 'tp-tps-')), { steps: 4, tokensPerSec: rate });
  const line = text.split('\n').find((l) => l.startsWith('  train tokens '))!;
  assert.match(line, /^ {2}train tokens +400 scored; 333 tokens\/s during updates, [\d,]+ tokens\/s over the \d+\.\d s wall time \(with evaluations and checkpoints\)$/, line);
});
