// Unknown node types and references get "did you mean"; broken user modules are reported
// as errors of their node, not crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipeline } from '../src/pipeline/load.ts';
import { resolveNodeModule } from '../src/pipeline/registry.ts';
import { NodeModuleInvalid } from '../src/errors.ts';

const dir = 'test/fixtures/pipelines';
const builtinDir = 'test/fixtures/builtin-nodes';

test('unknown built-in names get the closest built-in as suggestion', async () => {
  const r = await checkPipeline(`${dir}/unknown-names.yaml`, { builtinDir });
  const at = (p: string) => r.issues.find((i) => i.path.join('.') === p);
  assert.equal(at('nodes.pack.use')!.suggestion, 'batch-packer');
  assert.match(at('nodes.pack.use')!.message, /unknown node type 'batch-packr' \(did you mean 'batch-packer'\?\)/);
  assert.equal(at('nodes.pack2.use')!.suggestion, 'batch-packer'); // half a hyphenated name
  assert.equal(at('nodes.other.use')!.suggestion, undefined);
  assert.match(at('nodes.other.use')!.message, /^unknown node type 'frobnicator'$/);
  assert.match(at('nodes.mine.use')!.message, /write '\.\/my-node\.ts'/);
  assert.equal(at('nodes.sink.from')!.suggestion, 'reader');
  // reader (a known built-in) loaded fine: no issue of its own.
  assert.equal(r.issues.filter((i) => i.path[1] === 'reader').length, 0);
});

test('the real nodes/ folder is the default built-in folder', async () => {
  await assert.rejects(resolveNodeModule('no-such-node-xyz', { baseDir: '.' }), NodeModuleInvalid);
});

test('modules that are missing, not node defs, or lack the export are errors of their node', async () => {
  const r = await checkPipeline(`${dir}/bad-module.yaml`);
  const at = (p: string) => r.issues.find((i) => i.path.join('.') === p)!;
  assert.equal(at('nodes.a.use').code, 'node-module');
  assert.match(at('nodes.a.use').message, /not a node definition: .*'placement' must be 'main' or 'worker'/);
  assert.match(at('nodes.b.use').message, /no such file: .*does-not-exist\.ts/);
  assert.match(at('nodes.c.export').message, /no export 'lins'/);
});

test('a built-in that throws on import is reported with the reason', async () => {
  await assert.rejects(resolveNodeModule('broken', { baseDir: '.', builtinDir }), (e: unknown) => {
    assert.ok(e instanceof NodeModuleInvalid);
    assert.match(e.message, /broken on purpose/);
    return true;
  });
});
