// `pipe validate` as a user runs it (a child process): exit 2 and every error with
// file:line:column when invalid, exit 0 when valid (warnings allowed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const dir = 'test/fixtures/pipelines';
const pipe = (...args: string[]) => spawnSync(process.execPath, ['bin/pipe.mjs', ...args], { encoding: 'utf8' });

test('valid file: exit 0', () => {
  const r = pipe('validate', `${dir}/valid.yaml`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /valid\.yaml: valid \(6 nodes\)/);
});

test('warnings only: exit 0, warning printed', () => {
  const r = pipe('validate', `${dir}/unused-output.yaml`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /unused-output\.yaml:5:3: warning: nodes\.vocab: output 'vocab' of node 'vocab' is not used/);
});

test('several errors: exit 2, all listed with line:column', () => {
  const r = pipe('validate', `${dir}/several-errors.yaml`);
  assert.equal(r.status, 2);
  const lines = r.stderr.split('\n').filter((l) => /several-errors\.yaml:\d+:\d+: error: /.test(l));
  assert.equal(lines.length, 6, r.stderr);
  assert.match(r.stderr, /6 error\(s\), 0 warning\(s\)/);
});

test('cycle and bad --set through the CLI: exit 2', () => {
  assert.match(pipe('validate', `${dir}/cycle.yaml`).stderr, /cycle: a -> b -> c -> a/);
  const r = pipe('validate', `${dir}/valid.yaml`, '--set', 'src.count=lots');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^--set src\.count=lots: error: nodes\.src\.with\.count: /m);
});

test('--json prints the issues on stdout', () => {
  const r = pipe('validate', `${dir}/unused-output.yaml`, '--json');
  assert.equal(r.status, 0);
  const out = JSON.parse(r.stdout);
  assert.equal(out.valid, true);
  assert.deepEqual(out.issues.map((i: { code: string }) => i.code), ['unused-output']);
});

test('usage errors: exit 2', () => {
  assert.equal(pipe('validate', `${dir}/no-such.yaml`).status, 2);
  const missing = pipe('validate');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing FILE/);
  const bad = pipe('validate', '--bogus', `${dir}/valid.yaml`);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bogus/);
});
