// A worker node's value inputs (e.g. a tokenizer) reach its init() on every pool thread,
// once per thread, before the first item.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { constant, newProbe, sink, source } from './fixtures/pipeline/main-nodes.ts';
import offset from './fixtures/pipeline/offset-node.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-wvalues-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('every thread gets the value before its first item, and inits once', async () => {
  const probe = newProbe();
  const p = pipeline('values', {
    k: { def: constant, params: { value: { add: 100 }, delayMs: 20 } },
    src: { def: source, params: { count: 200, probe } },
    w: { def: offset, from: { in: 'src.out', offset: 'k.out' }, modulePath: fileURLToPath(new URL('./fixtures/pipeline/offset-node.ts', import.meta.url)) },
    out: { def: sink, params: { probe }, from: { in: 'w.out' } },
  }, { workers: 2 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'r') });
  assert.equal(r.status, 'completed', r.error?.stack ?? String(r.error?.cause));
  const got = probe.received.out as Array<{ y: number; threadId: number; inits: number }>;
  assert.deepEqual(got.map((x) => x.y), Array.from({ length: 200 }, (_, i) => i + 100));
  assert.ok(got.every((x) => x.inits === 1), 'init ran once per thread');
});
