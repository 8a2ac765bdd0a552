// `pipe nodes` reads params, defaults and descriptions from each node's zod schema, and a
// built-in that fails to import is listed with its error instead of hiding the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeParams } from '../src/cli/nodes.ts';
import { listBuiltinNodes } from '../src/pipeline/registry.ts';

const dir = 'test/fixtures/builtin-nodes';

test('params of a node from its schema', async () => {
  const { default: packer } = await import('./fixtures/builtin-nodes/batch-packer.ts');
  assert.deepEqual(describeParams(packer), [
    { name: 'seqLen', type: 'integer', required: false, default: 128, description: 'tokens per row' },
    { name: 'batchSize', type: 'integer', required: false, default: 8, description: 'rows per batch' },
  ]);
  const { default: reader } = await import('./fixtures/builtin-nodes/corpus-reader.ts');
  assert.deepEqual(describeParams(reader), [{ name: 'files', type: 'string[]', required: true, default: undefined, description: 'files to read' }]);
});

test('a broken built-in is reported, the others listed', async () => {
  const entries = await listBuiltinNodes(dir);
  assert.deepEqual(entries.map((e) => e.name), ['batch-packer', 'broken', 'corpus-reader']);
  const broken = entries.find((e) => e.name === 'broken')!;
  assert.equal(broken.def, undefined);
  assert.match(broken.error!, /broken on purpose/);
  assert.ok(entries.filter((e) => e.name !== 'broken').every((e) => e.def && !e.error));
});
