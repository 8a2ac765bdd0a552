// Edges are checked against the ports the node definitions declare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipeline } from '../src/pipeline/load.ts';

test('stream/value and item mismatches, missing and unknown ports', async () => {
  const r = await checkPipeline('test/fixtures/pipelines/ports.yaml');
  const errs = (node: string) => r.issues.filter((i) => i.severity === 'error' && i.path[1] === node);
  const one = (node: string) => {
    const e = errs(node);
    assert.equal(e.length, 1, `${node}: ${e.map((i) => i.message).join('; ')}`);
    return e[0];
  };
  assert.equal(one('kind').code, 'kind-mismatch');
  assert.match(one('kind').message, /input 'in' of node 'kind' takes a stream, but 'vocab\.vocab' is a value/);
  assert.equal(one('item').code, 'item-mismatch');
  assert.match(one('item').message, /takes 'line' items, but 'nums\.numbers' gives 'number'/);
  assert.equal(errs('anything').length, 0, "'*' accepts any item");
  assert.equal(one('missing').code, 'missing-input');
  assert.match(one('missing').message, /required input 'vocab'/); // the optional 'extra' is not reported
  assert.equal(one('ambiguous').code, 'ambiguous-output');
  assert.match(one('ambiguous').message, /write 'missing\.out'/);
  assert.equal(one('badout').suggestion, 'out');
  assert.deepEqual(errs('badin').map((i) => i.code).sort(), ['missing-input', 'unknown-input']);
  assert.equal(errs('badin').find((i) => i.code === 'unknown-input')!.suggestion, 'in');
  assert.equal(one('many').code, 'ambiguous-input');
  assert.match(one('none').message, /takes no inputs/);
  assert.equal(errs('src').length + errs('nums').length + errs('vocab').length, 0);
});
