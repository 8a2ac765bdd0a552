// A pool thread holds up to two tasks (the next waits in its port), but runs them one after
// another: a worker node whose process() awaits never overlaps itself on a thread, so per-thread
// state from init() needs no locking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWorkerLineNode } from './helpers/worker-line-node.ts';

test('an async process() is never entered twice at once on one thread', async () => {
  const r = await runWorkerLineNode(`import { defineNode, z } from 'tokenpipe';
export default defineNode({
  name: 'slow', description: 'awaits inside process and counts overlaps', params: z.strictObject({}),
  inputs: { in: { kind: 'stream', item: 'line' } }, outputs: { out: { kind: 'stream', item: 'line' } },
  placement: 'worker',
  init: () => ({ inside: 0 }),
  async process(item: string, _p, ctx) {
    const s = ctx.state as { inside: number };
    s.inside++;
    if (s.inside > 1) throw new Error('process() overlapped itself on one thread');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    s.inside--;
    return item;
  },
});
`, 40);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.node.out, 40);
  assert.equal(r.sink.in, 40);
});
