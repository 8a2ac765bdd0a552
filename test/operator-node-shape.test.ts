// An operator node bridges one stream input to one stream output: a module that declares other
// ports, or both run() and operator(), is refused when it is loaded; a pipeline built in code
// that leaves its input unconnected is refused before it starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map } from 'rxjs';
import { z } from 'zod';
import { PipelineUnrunnable } from '../src/errors.ts';
import { checkRunnable } from '../src/pipeline/wiring.ts';
import { checkNodeDef } from '../src/pipeline/registry.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { opMap } from './fixtures/pipeline/operator-nodes.ts';

const base = { name: 'op', description: 'an operator', params: z.object({}), placement: 'main', operator: () => map((x: unknown) => x) };
const stream = { kind: 'stream', item: '*' };

test('an operator node has one stream input and one stream output, and no run()', () => {
  assert.deepEqual(checkNodeDef({ ...base, inputs: { in: stream }, outputs: { out: stream } }), []);
  const shape = 'an operator node has exactly one input and one output, both streams';
  assert.deepEqual(checkNodeDef({ ...base, inputs: { a: stream, b: stream }, outputs: { out: stream } }), [shape]);
  assert.deepEqual(checkNodeDef({ ...base, inputs: { in: { kind: 'value', item: '*' } }, outputs: { out: stream } }), [shape]);
  assert.deepEqual(checkNodeDef({ ...base, inputs: { in: stream }, outputs: {} }), [shape]);
  assert.deepEqual(checkNodeDef({ ...base, inputs: { in: stream }, outputs: { out: stream }, run() {} }), ["a 'main' node has run() or operator(), not both"]);
});

test('an operator node without its input connected does not start', () => {
  const p = pipeline('op-alone', { m: { def: opMap } });
  assert.throws(() => checkRunnable(p), (e) => e instanceof PipelineUnrunnable && /node 'm': input 'in' is not connected/.test(e.message));
});
