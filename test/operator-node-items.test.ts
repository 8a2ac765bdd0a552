// RxJS operators as nodes, item by item: a filter drops items, bufferCount turns many into one
// (its last, short group flushed when the input ends), and an operator that answers later
// (timers) still delivers everything, in a pipeline with ordinary nodes around it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, sink, source } from './fixtures/pipeline/main-nodes.ts';
import { opFilter, opGroups, opLater, opMap } from './fixtures/pipeline/operator-nodes.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-op-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('a filter operator node drops items', async () => {
  const probe = newProbe();
  const p = pipeline('op-filter', {
    src: { def: source, params: { count: 1000, probe } },
    keep: { def: opFilter, params: { every: 7 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'keep.out' } },
  }, { edgeBuffer: 4 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'filter') });
  assert.equal(r.status, 'completed', String(r.error));
  assert.deepEqual(probe.received.out, range(1000).filter((x) => x % 7 === 0));
  const keep = r.stats.nodes.find((n) => n.name === 'keep')!;
  assert.deepEqual([keep.in, keep.out], [1000, 143]);
});

test('a bufferCount operator node makes one item of many, and flushes its last group at the end', async () => {
  const probe = newProbe();
  const p = pipeline('op-groups', {
    src: { def: source, params: { count: 50, probe } },
    groups: { def: opGroups, params: { size: 8 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'groups.out' } },
  }, { edgeBuffer: 4 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'groups') });
  assert.equal(r.status, 'completed', String(r.error));
  const got = probe.received.out as number[][];
  assert.deepEqual(got.map((g) => g.length), [8, 8, 8, 8, 8, 8, 2]);
  assert.deepEqual(got.flat(), range(50));
});

test('operator nodes chain, and one that answers later (timers) delivers every item', async () => {
  const probe = newProbe();
  const p = pipeline('op-later', {
    src: { def: source, params: { count: 200, probe } },
    later: { def: opLater, params: { ms: 1 }, from: { in: 'src.out' } },
    double: { def: opMap, params: { factor: 2 }, from: { in: 'later.out' } },
    out: { def: sink, params: { probe }, from: { in: 'double.out' } },
  }, { edgeBuffer: 4 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'later') });
  assert.equal(r.status, 'completed', String(r.error));
  // mergeMap may reorder items that finish together: compare as sets.
  assert.deepEqual((probe.received.out as number[]).sort((a, b) => a - b), range(200).map((x) => 2 * x));
});
