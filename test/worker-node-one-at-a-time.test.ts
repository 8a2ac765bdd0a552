// A pool thread holds up to two tasks (the next waits in its port), but runs them one after
// another: a worker node whose process() awaits never overlaps itself on a thread, so per-thread
// state from init() needs no locking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT, runEvents } from './fixtures/train/tiny-pipeline.ts';

const NODES = path.join(ROOT, 'test', 'fixtures', 'nodes');

test("an async process() is never entered twice at once on one thread", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-serial-'));
  writeFileSync(path.join(dir, 'slow.ts'), `import { defineNode, z } from 'tokenpipe';
export default defineNode({
  name: 'slow', description: 'awaits inside process and counts overlaps', params: z.strictObject({}),
  inputs: { in: { kind: 'stream', item: 'line' } }, outputs: { out: { kind: 'stream', item: 'line' } },
  placement: 'worker',
  init: () => ({ inside: 0 }),
  async process(item: string, _p, ctx) {
    const s = ctx.state as { inside: number };
    s.inside++;
    if (s.inside > 1) throw new Error('process() overlapped itself on one thread');
    await new Promise((r) => setTimeout(r, 5));
    s.inside--;
    return item;
  },
});
`);
  const file = path.join(dir, 'p.yaml');
  writeFileSync(file, `name: serial
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, workers: 1 }
nodes:
  src: { use: ${JSON.stringify(path.join(NODES, 'lines.ts'))}, with: { count: 40 } }
  slow: { use: ./slow.ts, from: src }
  sink: { use: ${JSON.stringify(path.join(NODES, 'collect.ts'))}, from: slow }
`);
  const r = await pipeHere('run', file);
  assert.equal(r.status, 0, r.stderr);
  const end = runEvents(r.runDir).find((e) => e.type === 'run-end')!;
  const stats = Object.fromEntries(end.nodes.map((n: { name: string }) => [n.name, n]));
  assert.equal(stats.slow.out, 40);
  assert.equal(stats.sink.in, 40);
});
