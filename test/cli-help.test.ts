// `pipe --help`, `pipe <cmd> --help`, unknown commands: text and exit statuses (in process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/cli.ts';
import type { CliIO } from '../src/cli/command.ts';

async function capture(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('pipe --help lists every command', async () => {
  const r = await capture(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['run', 'validate', 'graph', 'nodes']) assert.match(r.out, new RegExp(`^  ${c}\\s+\\S`, 'm'));
});

test('no command: help on stderr, exit 2', async () => {
  const r = await capture([]);
  assert.equal(r.code, 2);
  assert.match(r.err, /Usage: pipe <command>/);
});

test('each command has --help with its options', async () => {
  const run = await capture(['run', '--help']);
  assert.equal(run.code, 0);
  assert.match(run.out, /Usage: pipe run FILE/);
  for (const o of ['--set NODE.PARAM=VALUE', '--log FILE', '--resume', '--dry-run', '-h, --help']) assert.ok(run.out.includes(o), o);
  for (const c of ['validate', 'graph', 'nodes']) {
    const r = await capture([c, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`Usage: pipe ${c}`));
  }
  assert.equal((await capture(['help', 'graph'])).out.includes('Usage: pipe graph'), true);
});

test('unknown command: suggestion, exit 2', async () => {
  const r = await capture(['valdate', 'x.yaml']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command 'valdate' \(did you mean 'validate'\?\)/);
});
