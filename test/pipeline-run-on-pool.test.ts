// ctx.runOnPool: a main node offloads work to the run's pool, by a module path relative to
// the node's own file, with transfer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, poolSum, sink, source } from './fixtures/pipeline/main-nodes.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-runonpool-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a main node runs functions on the shared pool', async () => {
  const probe = newProbe();
  const p = pipeline('onpool', {
    src: { def: source, params: { count: 12, width: 4, probe } },
    sum: { def: poolSum, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'sum.out' } },
  }, { workers: 1 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'r') });
  assert.equal(r.status, 'completed', String(r.error));
  assert.deepEqual(probe.received.out, Array.from({ length: 12 }, (_, i) => 4 * i));
});
