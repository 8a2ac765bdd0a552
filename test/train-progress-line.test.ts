// The train node's live line: step/total, loss, lr, tok/s, elapsed and an ETA from the mean update time of this
// leg; the progress display shows a node's own line (ctx.status) in place of its item counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { progressLine } from '../src/train/progress-line.ts';
import { formatLines } from '../src/pipeline/progress.ts';
import type { NodeStats } from '../src/pipeline/executor.ts';
import { runChain } from './fixtures/train/chain.ts';

const record = { step: 40, loss: 2.34567, lr: 1e-3, tokensPerSec: 1234.4 };

test('the line has step/total, loss, lr, tok/s, elapsed and an ETA of mean update time x remaining updates', () => {
  // 40 updates in 10 s: 250 ms each, 360 to go = 90 s.
  assert.equal(
    progressLine({ record, tokensPerSec: 1234.4, total: 400, elapsedMs: 10_000, updates: 40 }),
    'step 40/400   10%  loss 2.3457  lr 1.00e-3  1,234 tok/s in updates  elapsed 10.0 s  eta 1m 30s',
  );
  // A resumed leg times only its own updates: 20 in 10 s since step 380, 20 left = 10 s.
  assert.match(progressLine({ record: { ...record, step: 380 }, tokensPerSec: 1234.4, total: 400, elapsedMs: 10_000, updates: 20 }), /step 380\/400   95% .* eta 10\.0 s$/);
  // The data plan may lower the total: the ETA follows it, and a finished run says 0.
  assert.match(progressLine({ record, tokensPerSec: 1234.4, total: 40, elapsedMs: 10_000, updates: 40 }), /step 40\/40  100% .* eta 0\.0 s$/);
  // 2000 updates in 2 h: 3.6 s each, 1000 to go = 1 h.
  assert.match(progressLine({ record: { ...record, step: 2000, loss: NaN }, tokensPerSec: 1234.4, total: 3000, elapsedMs: 7_200_000, updates: 2000 }), /loss n\/a .* elapsed 2h 00m  eta 1h 00m$/);
});

test('the progress display shows a node line in place of its counts', () => {
  const node = (name: string, line?: string): NodeStats => ({ name, placement: 'main', status: 'running', in: 10, out: 22, rejected: 0, queue: 1, line });
  const [, pack, train] = formatLines([node('pack'), node('train', 'step 3/9  33%')], new Map(), 1500);
  assert.match(pack, /^ {2}pack {3}running {3}in +10 {2}out +22/);
  assert.equal(train, '  train  running   step 3/9  33%');
});

test('the train node publishes its line after every update', async () => {
  const runDir = mkdtempSync(path.join(tmpdir(), 'tp-progress-'));
  const r = await runChain(runDir, { steps: 3, trainParams: { threads: 1 } });
  const lines = r.emitted.filter((e) => e.type === 'status' && e.node === 'train').map((e) => String(e.line));
  assert.deepEqual(lines.map((l) => /^step (\d+\/\d+)/.exec(l)?.[1]), ['1/3', '2/3', '3/3']);
  assert.match(lines[2], /loss \d+\.\d{4} {2}lr \S+ {2}[\d,]+ tok\/s in updates {2}elapsed \S+ s {2}eta 0\.0 s$/);
});
