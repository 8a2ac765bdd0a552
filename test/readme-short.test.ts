// README.md reads in five minutes (issue 25): under 250 lines, and it still holds the two set-up
// commands exactly as a newcomer types them (`.ci/run` runs the second). Everything longer lives
// in docs/, which README links to (test/docs-cited-exist.test.ts checks those links resolve).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const lines = readme.split('\n');

test('README.md has fewer than 250 lines', () => {
  // A trailing newline leaves one empty element: count the lines a reader sees.
  const count = readme.endsWith('\n') ? lines.length - 1 : lines.length;
  assert.ok(count < 250, `README.md has ${count} lines; move detail to docs/ and link to it`);
});

test('README.md holds the two set-up commands, each on a line of its own', () => {
  for (const cmd of ['npm install && npx pipe run pipelines/quickstart.yaml', 'npm test']) {
    assert.ok(lines.includes(cmd), `README.md lacks the line '${cmd}'`);
  }
});
