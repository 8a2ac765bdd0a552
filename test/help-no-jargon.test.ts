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

test('no message in src/ or nodes/ names an issue number (comments may)', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const files = ['src', 'nodes'].flatMap((d) => readdirSync(path.join(ROOT, d), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mjs)$/.test(f)).map((f) => path.join(ROOT, d, f)));
  const offenders: string[] = [];
  for (const f of files) {
    // Comments out (block, then line comments not inside a string's "//"), what is left is code and its strings.
    const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
    code.split('\n').forEach((line, i) => { if (JARGON.test(line)) offenders.push(`${path.relative(ROOT, f)}:${i + 1}: ${line.trim()}`); });
  }
  assert.deepEqual(offenders, []);
});
