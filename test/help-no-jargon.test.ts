// Help texts speak to a user: no references to the project's issue tracker ("issue 10
// reference") in `pipe --help`, any command's or node's help, or the tools' --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { main } from '../src/cli.ts';
import { commands } from '../src/cli/commands.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const JARGON = /\bissues? \d+/i;

async function helpOf(argv: string[]): Promise<string> {
  const text: string[] = [];
  await main(argv, { out: (s) => text.push(s), err: (s) => text.push(s), isTTY: false });
  return text.join('\n');
}

test('pipe --help, every command --help and the node list name no issue numbers', async () => {
  const texts = [await helpOf(['--help']), await helpOf(['nodes'])];
  for (const c of Object.keys(commands)) texts.push(await helpOf([c, '--help']));
  for (const t of texts) assert.doesNotMatch(t, JARGON, t);
});

test('tools/random-model.ts --help names no issue numbers', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tools/random-model.ts', '--help'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /shapes:/);
  assert.doesNotMatch(r.stdout, JARGON);
});
