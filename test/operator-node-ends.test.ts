// How an operator node ends: an operator that completes early (take) ends its output and stops
// an endless source; on an interrupt (Ctrl-C, or opts.signal) the source stops, the operator
// sees its input end and flushes (bufferCount's partial group reaches the sink), and the run
// ends 'interrupted' with every item produced accounted for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, sink, source } from './fixtures/pipeline/main-nodes.ts';
import { opGroups, opTake } from './fixtures/pipeline/operator-nodes.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-opend-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('an operator that completes early ends the run, stopping an endless source', async () => {
  const probe = newProbe();
  const p = pipeline('op-take', {
    src: { def: source, params: { count: -1, probe } },
    first: { def: opTake, params: { count: 5 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'first.out' } },
  }, { edgeBuffer: 4 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'take') });
  assert.equal(r.status, 'completed', String(r.error));
  assert.deepEqual(probe.received.out, [0, 1, 2, 3, 4]);
  // Pulled on demand: the source made what take asked for (one more at most, in hand).
  assert.ok(probe.produced <= 6, `the source made ${probe.produced} items`);
});

test('an interrupt ends the input, the operator flushes, and the sink gets every item', async () => {
  const probe = newProbe();
  const ac = new AbortController();
  const p = pipeline('op-interrupt', {
    src: { def: source, params: { count: -1, probe } },
    groups: { def: opGroups, params: { size: 64 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'groups.out' } },
  }, { edgeBuffer: 4 });
  // Interrupt at the 150th item: two full groups of 64 and a partial one of (at least) 22.
  probe.onProduce = (n) => n === 150 && ac.abort();
  const r = await runPipeline(p, { runDir: path.join(tmp, 'interrupt'), signal: ac.signal });
  assert.equal(r.status, 'interrupted', String(r.error));
  assert.deepEqual(r.unfinished, []);
  const got = probe.received.out as number[][];
  assert.ok(got.length >= 3);
  assert.ok(got.at(-1)!.length < 64, 'the last group is partial');
  // Every produced item arrived, in order; the last group is the partial one flushed at the end.
  assert.deepEqual(got.flat(), Array.from({ length: probe.produced }, (_, i) => i));
  assert.ok(got.slice(0, -1).every((g) => g.length === 64));
});
