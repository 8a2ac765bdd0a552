// An operator node that fails fails the run like any node: the error names the node and the
// item it was on, whether the operator throws on an item or cannot be built at all; a failure
// upstream reaches it through its input and stays the upstream node's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeFailed } from '../src/errors.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, scaleMain, sink, source } from './fixtures/pipeline/main-nodes.ts';
import { opBroken, opMap } from './fixtures/pipeline/operator-nodes.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-operr-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('an operator that throws on an item fails the run, naming the node and the item', async () => {
  const probe = newProbe();
  const p = pipeline('op-throws', {
    // Endless source: the run can only end because the failure halts it.
    src: { def: source, params: { count: -1, probe } },
    m: { def: opMap, params: { factor: 3, failAt: 5 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'm.out' } },
  });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'throws') });
  assert.equal(r.status, 'failed');
  assert.ok(r.error instanceof NodeFailed);
  assert.equal(r.error.node, 'm');
  assert.equal(r.error.index, 5);
  assert.match(r.error.message, /node 'm' failed on item 5: cannot map item 5/);
  assert.ok(r.error.cause instanceof TypeError);
  assert.deepEqual(probe.received.out, [0, 3, 6, 9, 12]);
});

test('an operator that cannot be built fails the run, naming the node', async () => {
  const probe = newProbe();
  const p = pipeline('op-broken', {
    src: { def: source, params: { count: 10, probe } },
    b: { def: opBroken, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'b.out' } },
  });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'broken') });
  assert.equal(r.status, 'failed');
  assert.ok(r.error instanceof NodeFailed);
  assert.equal(r.error.node, 'b');
  assert.match(r.error.message, /node 'b' failed.*no operator today/);
});

test('a failure upstream of an operator node stays the upstream node\'s', async () => {
  const probe = newProbe();
  const p = pipeline('op-upstream', {
    src: { def: source, params: { count: 100, probe } },
    bad: { def: scaleMain, params: { failAt: 4 }, from: { in: 'src.out' } },
    m: { def: opMap, params: { factor: 1 }, from: { in: 'bad.out' } },
    out: { def: sink, params: { probe }, from: { in: 'm.out' } },
  });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'upstream') });
  assert.equal(r.status, 'failed');
  assert.ok(r.error instanceof NodeFailed);
  assert.equal(r.error.node, 'bad');
  assert.equal(r.error.index, 4);
  assert.deepEqual(probe.received.out, [0, 10, 20, 30]);
  assert.equal(r.stats.nodes.find((n) => n.name === 'm')!.status, 'cancelled');
});
