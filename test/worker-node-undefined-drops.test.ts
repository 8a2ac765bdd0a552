// A worker node's process() returning undefined drops the item: the next node never sees it
// (what README and `pipe nodes --items` promise to custom-node authors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT, runEvents } from './fixtures/train/tiny-pipeline.ts';

const NODES = path.join(ROOT, 'test', 'fixtures', 'nodes');

test('undefined from process() drops the item; the others go on in order', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-drop-'));
  writeFileSync(path.join(dir, 'odd-out.ts'), `import { defineNode, z } from 'tokenpipe';
export default defineNode({
  name: 'odd-out', description: 'drops odd lines', params: z.strictObject({}),
  inputs: { in: { kind: 'stream', item: 'line' } }, outputs: { out: { kind: 'stream', item: 'line' } },
  placement: 'worker',
  process(item: string) { return Number(item.split('-')[1]) % 2 ? undefined : item; },
});
`);
  const file = path.join(dir, 'p.yaml');
  writeFileSync(file, `name: drop
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, workers: 1 }
nodes:
  src: { use: ${JSON.stringify(path.join(NODES, 'lines.ts'))}, with: { count: 7 } }
  filter: { use: ./odd-out.ts, from: src }
  sink: { use: ${JSON.stringify(path.join(NODES, 'collect.ts'))}, from: filter }
`);
  const r = await pipeHere('run', file);
  assert.equal(r.status, 0, r.stderr);
  const end = runEvents(r.runDir).find((e) => e.type === 'run-end')!;
  const stats = Object.fromEntries(end.nodes.map((n: { name: string }) => [n.name, n]));
  assert.equal(stats.filter.in, 7);
  assert.equal(stats.filter.out, 4, 'line-0, 2, 4, 6');
  assert.equal(stats.sink.in, 4);
});
