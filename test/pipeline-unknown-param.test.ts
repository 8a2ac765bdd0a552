// Unknown params are errors with a suggestion, whether the node's schema is strict (zod
// reports them) or a plain z.object (which would drop them silently).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipeline } from '../src/pipeline/load.ts';

test('unknown params, strict and plain schemas, nested too', async () => {
  const r = await checkPipeline('test/fixtures/pipelines/params.yaml');
  const errors = r.issues.filter((i) => i.severity === 'error');
  const byPath = new Map(errors.map((i) => [i.path.join('.'), i]));
  assert.equal(byPath.get('nodes.src.with.prefx')?.suggestion, 'prefix');
  assert.equal(byPath.get('nodes.src.with.prefx')?.code, 'unknown-param');
  assert.equal(byPath.get('nodes.loose.with.rat')?.suggestion, 'rate');
  assert.equal(byPath.get('nodes.loose.with.inner.dept')?.suggestion, 'depth');
  // A bad value next to them is still checked by the node's schema.
  assert.match(byPath.get('nodes.src.with.count')!.message, />=0/);
  assert.equal(errors.length, 4);
  // Unknown keys point at the key: `      prefx: a` -> column 7.
  assert.deepEqual([byPath.get('nodes.src.with.prefx')!.line, byPath.get('nodes.src.with.prefx')!.column], [6, 7]);
});
