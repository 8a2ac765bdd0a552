// An output nobody reads is a warning: the pipeline is still valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipeline } from '../src/pipeline/load.ts';

test('unused output is a warning and the pipeline still resolves', async () => {
  const r = await checkPipeline('test/fixtures/pipelines/unused-output.yaml');
  assert.deepEqual(
    r.issues.map((i) => [i.severity, i.code, i.path.join('.'), i.line]),
    [['warning', 'unused-output', 'nodes.vocab', 5]],
  );
  assert.match(r.issues[0].message, /output 'vocab' of node 'vocab' is not used/);
  assert.ok(r.pipeline);
  assert.equal(r.pipeline.nodes.length, 4);
});

test('a sink (no outputs) and outputs read by several nodes raise no warning', async () => {
  const r = await checkPipeline('test/fixtures/pipelines/valid.yaml');
  assert.deepEqual(r.issues, []);
});
