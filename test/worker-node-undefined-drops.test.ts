// A worker node's process() returning undefined drops the item: the next node never sees it
// (what docs/nodes.md and `pipe nodes --items` promise to custom-node authors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWorkerLineNode } from './helpers/worker-line-node.ts';

test('undefined from process() drops the item; the others go on in order', async () => {
  const r = await runWorkerLineNode(`import { defineNode, z } from 'tokenpipe';
export default defineNode({
  name: 'odd-out', description: 'drops odd lines', params: z.strictObject({}),
  inputs: { in: { kind: 'stream', item: 'line' } }, outputs: { out: { kind: 'stream', item: 'line' } },
  placement: 'worker',
  process(item: string) { return Number(item.split('-')[1]) % 2 ? undefined : item; },
});
`, 7);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.node.in, 7);
  assert.equal(r.node.out, 4, 'line-0, 2, 4, 6');
  assert.equal(r.sink.in, 4);
});
