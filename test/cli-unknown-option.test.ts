// An unknown option names the nearest known option of that command, like unknown commands,
// node types and params do: `pipe run x.yaml --resum` suggests --resume (exit 2, nothing run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/cli.ts';

async function capture(argv: string[]) {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (s) => err.push(s), isTTY: false });
  return { code, err: err.join('\n') };
}

test('a misspelt option suggests the one meant', async () => {
  const r = await capture(['run', 'missing.yaml', '--resum']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown option '--resum' \(did you mean '--resume'\?\)/);
  assert.match((await capture(['eval', '--max-lenght', '8'])).err, /\(did you mean '--max-len'\?\)/);
  assert.match((await capture(['run', 'x.yaml', '--dryrun'])).err, /\(did you mean '--dry-run'\?\)/);
});

test('an option far from every known one gets no suggestion', async () => {
  const r = await capture(['run', 'x.yaml', '--zzzzzz']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown option '--zzzzzz'$/m);
  assert.doesNotMatch(r.err, /did you mean/);
});
