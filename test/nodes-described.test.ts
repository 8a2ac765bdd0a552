// Every param of every built-in node has a description, since `pipe nodes` is where users learn
// them; and every built-in node module loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeParams } from '../src/cli/nodes.ts';
import { listBuiltinNodes } from '../src/pipeline/registry.ts';

test('built-in nodes load and describe every param', async () => {
  const nodes = await listBuiltinNodes();
  assert.ok(nodes.length >= 9, nodes.map((n) => n.name).join(' '));
  const missing: string[] = [];
  for (const n of nodes) {
    assert.equal(n.error, undefined, `${n.name}: ${n.error}`);
    for (const p of describeParams(n.def!)) if (!p.description) missing.push(`${n.name}.${p.name}`);
  }
  assert.deepEqual(missing, []);
});
