// YAML merge keys (`<<: *anchor`) let branches of a pipeline share params (the ablation's three
// train nodes do); merged params are checked like written ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipeline } from '../src/pipeline/load.ts';

test('params merged with <<: *anchor reach the node and are validated', async () => {
  const r = await checkPipeline('test/fixtures/pipelines/merge-keys.yaml');
  const errors = r.issues.filter((i) => i.severity === 'error');
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].path.join('.'), 'nodes.src2.with.prefx');
  assert.equal(errors[0].suggestion, 'prefix');
});

test('the ablation pipeline shares its train settings through a merge key', async () => {
  const r = await checkPipeline('pipelines/ablation.yaml');
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
  const train = (name: string) => r.pipeline!.nodes.find((n) => n.name === name)!.params as Record<string, unknown>;
  assert.equal(train('train-full').embedding, 'full');
  assert.equal(train('train-full').steps, train('train-frozen').steps);
  assert.deepEqual(train('train-tokens').lora, train('train-frozen').lora);
});

test('a merge key naming an unknown anchor is an error at the alias, naming it', async () => {
  const r = await checkPipeline('test/fixtures/pipelines/merge-unknown-anchor.yaml');
  const errors = r.issues.filter((i) => i.severity === 'error');
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].message, 'unknown anchor: *nope (no &nope before it)');
  assert.deepEqual([errors[0].line, errors[0].column], [6, 11]);
});
