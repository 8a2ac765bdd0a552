// Every schema error of a file is reported at once, each with the line:column of the offending
// key or value (positions found here by searching the fixture text, not by the loader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkPipeline, loadPipeline } from '../src/pipeline/load.ts';
import { ConfigInvalid } from '../src/errors.ts';
import { formatIssue } from '../src/util/config-issue.ts';

const dir = 'test/fixtures/pipelines';

/** 1-based line and column of `needle` on the first line that contains `lineHas`. */
function posOf(text: string, lineHas: string, needle: string): { line: number; column: number } {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(lineHas));
  assert.ok(i >= 0, `fixture has no line with ${lineHas}`);
  return { line: i + 1, column: lines[i].indexOf(needle) + 1 };
}

test('several errors in one file are all reported with line:column and field path', async () => {
  const file = `${dir}/several-errors.yaml`;
  const text = readFileSync(file, 'utf8');
  const r = await checkPipeline(file);
  assert.equal(r.pipeline, undefined);
  const errors = r.issues.filter((i) => i.severity === 'error');
  const expected = [
    { path: 'settings.seed', at: posOf(text, 'seed: three', 'three'), msg: /expected number/ },
    { path: 'settings.backend', at: posOf(text, 'backend: wsam', 'wsam'), msg: /did you mean 'wasm'/ },
    { path: 'settings.colour', at: posOf(text, 'colour: red', 'colour'), msg: /unknown setting 'colour'/ },
    { path: 'nodes.src.with.count', at: posOf(text, 'count: many', 'many'), msg: /expected number/ },
    { path: 'nodes.src.with.prefx', at: posOf(text, 'prefx: x', 'prefx'), msg: /unknown param 'prefx' \(did you mean 'prefix'\?\)/ },
    { path: 'nodes.up.onErr', at: posOf(text, 'onErr: reject', 'onErr'), msg: /did you mean 'onError'/ },
  ];
  assert.equal(errors.length, expected.length, errors.map(formatIssue).join('\n'));
  for (const e of expected) {
    const got = errors.find((i) => i.path.join('.') === e.path);
    assert.ok(got, `no error at ${e.path}`);
    assert.deepEqual({ line: got.line, column: got.column }, e.at, e.path);
    assert.match(got.message, e.msg);
    assert.ok(formatIssue(got).startsWith(`${file}:${e.at.line}:${e.at.column}: error: ${e.path}: `), formatIssue(got));
  }
  // Reported in file order.
  const lines = errors.map((i) => i.line!);
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
});

test('loadPipeline throws ConfigInvalid carrying the same issues', async () => {
  await assert.rejects(loadPipeline(`${dir}/several-errors.yaml`), (e: unknown) => {
    assert.ok(e instanceof ConfigInvalid);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal(e.issues.filter((i) => i.severity === 'error').length, 6);
    assert.match(e.message, /several-errors\.yaml:\d+:\d+: error: settings\.seed/);
    return true;
  });
});

test('YAML syntax errors are positioned, and other errors still reported', async () => {
  const file = `${dir}/yaml-syntax.yaml`;
  const text = readFileSync(file, 'utf8');
  const r = await checkPipeline(file);
  const yaml = r.issues.filter((i) => i.code === 'yaml');
  assert.equal(yaml.length, 2);
  const dup = yaml.find((i) => /unique/.test(i.message))!;
  // The second `from:` of `sink` (the last line with it).
  const lines = text.split('\n');
  assert.equal(dup.line, lines.lastIndexOf('    from: src') + 1);
  assert.equal(dup.column, 5);
  assert.ok(yaml.every((i) => i.line! >= 1 && i.column! >= 1));
  const seed = r.issues.find((i) => i.path.join('.') === 'settings.seed')!;
  assert.equal(seed.line, 2);
});

test('a missing file and a non-map document are errors, not crashes', async () => {
  const r = await checkPipeline(`${dir}/no-such-file.yaml`);
  assert.equal(r.issues[0].message, 'no such file');
  const { checkPipelineSource } = await import('../src/pipeline/load.ts');
  const s = await checkPipelineSource('- just\n- a list\n', 'list.yaml');
  assert.match(s.issues[0].message, /expected a map/);
  const e = await checkPipelineSource('name: x\n', 'empty.yaml');
  assert.ok(e.issues.some((i) => i.path.join('.') === 'nodes' && /missing required/.test(i.message)));
});

test('a valid file resolves: defaults filled, params parsed, outputDir absolute', async () => {
  const p = await loadPipeline(`${dir}/valid.yaml`, { cwd: '/somewhere' });
  assert.equal(p.name, 'valid-run');
  assert.deepEqual(p.settings, { seed: 7, backend: 'auto', outputDir: '/somewhere/runs', workers: 0, edgeBuffer: 16 });
  const src = p.nodes.find((n) => n.name === 'src')!;
  assert.deepEqual(src.params, { count: 3, prefix: 'line' });
  assert.match(src.modulePath, /test\/fixtures\/nodes\/lines\.ts$/);
  assert.equal(src.exportName, 'default');
  assert.equal(p.nodes.find((n) => n.name === 'up')!.onError, 'fail');
});
