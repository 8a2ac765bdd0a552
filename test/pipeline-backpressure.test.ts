// Bounded memory under a slow consumer: a fast source of a million items feeding a slow sink
// (through a map and a fan-out) never gets more than the edge buffers ahead of the sink.
// Counted in items, not time: the source records produced - received(slow sink) at every item.
// The million-item run happens in a child process (see the fixture script for why).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { millionItemRun } from './helpers/backpressure.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, sink, source } from './fixtures/pipeline/main-nodes.ts';
import scale from './fixtures/pipeline/scale-node.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-bp-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a million-item source stays within the edge buffer of a slow sink', () => {
  const N = 1_000_000;
  const edgeBuffer = 16;
  const r = millionItemRun(N, edgeBuffer, path.join(tmp, 'a'));
  // Direct edges hold nothing; the fan-out holds at most edgeBuffer; each generator on the
  // way (map, port, reader) may carry one item in hand.
  assert.ok(r.maxHeld <= edgeBuffer + 4, `source ran ${r.maxHeld} items ahead of the slow sink`);
  assert.ok(r.maxHeld >= edgeBuffer, `the fan-out buffer was never filled (${r.maxHeld}): the test did not exercise it`);
});

test('a worker stage stays within its bound too', async () => {
  const N = 5000;
  const edgeBuffer = 8;
  const probe = newProbe('slow');
  const p = pipeline('bpw', {
    src: { def: source, params: { count: N, probe } },
    scale: { def: scale, params: { factor: 3, failAt: -1 }, from: { in: 'src.out' } },
    slow: { def: sink, params: { slowEvery: 100, slowMs: 2, keep: true, probe }, from: { in: 'scale.out' } },
  }, { edgeBuffer, workers: 2 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'b') });
  assert.equal(r.status, 'completed', String(r.error));
  const got = probe.received.slow as Array<{ value: number }>;
  assert.equal(got.length, N);
  assert.ok(got.every((x, i) => x.value === 3 * i), 'worker output in input order');
  // The worker stage holds at most edgeBuffer items (in flight + finished), plus one in hand.
  assert.ok(probe.maxHeld <= edgeBuffer + 3, `source ran ${probe.maxHeld} items ahead of the slow sink`);
});
