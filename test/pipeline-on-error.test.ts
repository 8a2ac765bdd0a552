// onError: reject is accepted only by nodes that declare canReject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipelineSource } from '../src/pipeline/load.ts';

const file = 'test/fixtures/pipelines/on-error.yaml';
const src = (sinkOnError: string) => `nodes:
  src: { use: ../nodes/lines.ts }
  up: { use: ../nodes/upper.ts, from: src, onError: reject }
  sink: { use: ../nodes/collect.ts, from: up, onError: ${sinkOnError} }
`;

test('reject on a node that can reject; error on one that cannot', async () => {
  const ok = await checkPipelineSource(src('fail'), file);
  assert.deepEqual(ok.issues, []);
  assert.equal(ok.pipeline!.nodes.find((n) => n.name === 'up')!.onError, 'reject');
  const bad = await checkPipelineSource(src('reject'), file);
  assert.deepEqual(bad.issues.map((i) => [i.path.join('.'), i.line]), [['nodes.sink.onError', 4]]);
  assert.match(bad.issues[0].message, /cannot send failing items to the rejects file/);
  const typo = await checkPipelineSource(src('rejekt'), file);
  assert.match(typo.issues[0].message, /did you mean 'reject'/);
});
