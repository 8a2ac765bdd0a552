// `pipe validate` as a user runs it (a child process): exit 2 and every error with
// file:line:column when invalid, exit 0 when valid (warnings allowed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { main } from '../src/cli.ts';

const dir = 'test/fixtures/pipelines';
const pipe = (...args: string[]) => spawnSync(process.execPath, ['bin/pipe.mjs', ...args], { encoding: 'utf8' });

/** Same command in this process (cheaper than a child for the finer cases). */
async function inProcess(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { status, stdout: out.join('\n'), stderr: err.join('\n') };
}

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

test('cycle and bad --set: exit 2', async () => {
  assert.match((await inProcess('validate', `${dir}/cycle.yaml`)).stderr, /cycle: a -> b -> c -> a/);
  const r = await inProcess('validate', `${dir}/valid.yaml`, '--set', 'src.count=lots');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^--set src\.count=lots: error: nodes\.src\.with\.count: /m);
});

test('--json prints the issues on stdout', async () => {
  const r = await inProcess('validate', `${dir}/unused-output.yaml`, '--json');
  assert.equal(r.status, 0);
  const out = JSON.parse(r.stdout);
  assert.equal(out.valid, true);
  assert.deepEqual(out.issues.map((i: { code: string }) => i.code), ['unused-output']);
});

test('usage errors: exit 2', async () => {
  assert.equal(pipe('validate', `${dir}/no-such.yaml`).status, 2);
  const missing = await inProcess('validate');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing FILE/);
  const bad = await inProcess('validate', '--bogus', `${dir}/valid.yaml`);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bogus/);
});
