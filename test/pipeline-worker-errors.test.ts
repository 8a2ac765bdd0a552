// A failing item stops the run with an error naming the node and the item index, and
// carrying the original error (name, message, stack) from the worker thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeFailed, WorkerError } from '../src/errors.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, scaleMain, sink, source } from './fixtures/pipeline/main-nodes.ts';
import scale from './fixtures/pipeline/scale-node.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-err-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a worker node error names the node and item, keeps the original stack, and stops the sources', async () => {
  const probe = newProbe();
  const p = pipeline('werr', {
    // Endless source: the run can only end because the failure halts it.
    src: { def: source, params: { count: -1, probe } },
    scale: { def: scale, params: { factor: 2, failAt: 7 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'scale.out' } },
  }, { workers: 2, edgeBuffer: 4 });
  const runDir = path.join(tmp, 'w');
  const r = await runPipeline(p, { runDir });
  assert.equal(r.status, 'failed');
  const e = r.error;
  assert.ok(e instanceof NodeFailed);
  assert.equal(e.node, 'scale');
  assert.equal(e.index, 7);
  assert.match(e.message, /node 'scale' failed on item 7: bad item 7/);
  const cause = e.cause;
  assert.ok(cause instanceof WorkerError);
  assert.equal(cause.originalName, 'RangeError');
  assert.match(cause.stack ?? '', /scale-node\.ts/, 'the stack points into the node file on the worker');
  // Items before the failing one went through, in order; nothing after it.
  const got = probe.received.out as Array<{ value: number }>;
  assert.deepEqual(got.map((x) => x.value), [0, 2, 4, 6, 8, 10, 12].slice(0, got.length));
  const events = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const failed = events.find((ev) => ev.type === 'node-failed');
  assert.equal(failed.node, 'scale');
  assert.equal(failed.index, 7);
  assert.match(failed.error.stack, /RangeError: bad item 7/);
  assert.equal(events.at(-1).type, 'run-end');
  assert.equal(events.at(-1).status, 'failed');
});

test('a main node error names the node and the item it was on', async () => {
  const probe = newProbe();
  const p = pipeline('merr', {
    src: { def: source, params: { count: 100, probe } },
    m: { def: scaleMain, params: { failAt: 3 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'm.out' } },
  });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'm') });
  assert.equal(r.status, 'failed');
  assert.ok(r.error instanceof NodeFailed);
  assert.equal(r.error.node, 'm');
  assert.equal(r.error.index, 3);
  assert.ok(r.error.cause instanceof TypeError);
  assert.deepEqual(probe.received.out, [0, 10, 20]);
  const byName = Object.fromEntries(r.stats.nodes.map((n) => [n.name, n.status]));
  assert.equal(byName.m, 'failed');
  assert.equal(byName.out, 'cancelled', 'downstream of the failure is cancelled, not failed');
});
