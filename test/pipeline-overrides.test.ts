// --set overrides are parsed as YAML scalars and checked by the same schemas as the file;
// problems name the --set argument.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipeline, loadPipeline } from '../src/pipeline/load.ts';

const file = 'test/fixtures/pipelines/valid.yaml';

test('overrides reach params and settings with YAML types', async () => {
  const p = await loadPipeline(file, { overrides: ['src.count=10', 'settings.seed=3', 'settings.backend=cpu', 'up.suffix="007"', 'name=other'] });
  assert.deepEqual(p.nodes.find((n) => n.name === 'src')!.params, { count: 10, prefix: 'line' });
  assert.equal(p.settings.seed, 3);
  assert.equal(p.settings.backend, 'cpu');
  assert.deepEqual(p.nodes.find((n) => n.name === 'up')!.params, { suffix: '007' });
  assert.equal(p.name, 'other');
});

test('wrong types, unknown params, nodes and settings are errors naming the --set argument', async () => {
  const sets = ['src.count=abc', 'src.cuont=1', 'srcc.count=1', 'settings.sed=1', 'settings.workers=-1', 'noequals', 'src.prefix=[1, 2'];
  const r = await checkPipeline(file, { overrides: sets });
  const of = (arg: string) => r.issues.filter((i) => i.override === arg);
  assert.match(of('src.count=abc')[0].message, /expected number, received string/);
  assert.deepEqual(of('src.count=abc')[0].path, ['nodes', 'src', 'with', 'count']);
  assert.equal(of('src.cuont=1')[0].suggestion, 'count');
  assert.equal(of('srcc.count=1')[0].suggestion, 'src');
  assert.equal(of('settings.sed=1')[0].suggestion, 'seed');
  assert.match(of('settings.workers=-1')[0].message, />=0/);
  assert.match(of('noequals')[0].message, /KEY=VALUE/);
  assert.match(of('src.prefix=[1, 2')[0].message, /not valid YAML/);
  assert.equal(r.issues.filter((i) => i.severity === 'error').length, sets.length);
  assert.ok(r.issues.every((i) => i.line === undefined), 'override issues have no file position');
  assert.equal(r.pipeline, undefined);
});

test('a numeric-looking value is a number: a string param needs quotes', async () => {
  const r = await checkPipeline(file, { overrides: ['up.suffix=007'] });
  assert.match(r.issues.find((i) => i.override === 'up.suffix=007')!.message, /expected string, received number/);
});
