// A .js node file that Node loads as CommonJS (no package.json with "type": "module" above it)
// fails to import with Node's own puzzling message; tokenpipe adds the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';

const COLLECT = path.join(ROOT, 'test', 'fixtures', 'nodes', 'collect.ts');
const NODE = `import { defineNode, z } from 'tokenpipe';
export default defineNode({ name: 'one', description: 'one line', params: z.strictObject({}), inputs: {},
  outputs: { out: { kind: 'stream', item: 'line' } }, placement: 'main',
  run() { return { out: (async function* () { yield 'a'; })() }; } });
`;

function pipelineWith(dir: string, source: string): string {
  writeFileSync(path.join(dir, 'node.js'), source);
  const file = path.join(dir, 'p.yaml');
  writeFileSync(file, `name: cjs\nnodes:\n  a: { use: ./node.js }\n  b: { use: ${JSON.stringify(COLLECT)}, from: a }\n`);
  return file;
}

test('a CommonJS .js node gets "rename to .mjs or add type: module"', async () => {
  for (const source of [NODE, NODE.replace("import { defineNode, z } from 'tokenpipe';", "const { defineNode, z } = require('tokenpipe');").replace('export default', 'module.exports =')]) {
    const dir = mkdtempSync(path.join(tmpdir(), 'tp-cjs-'));
    const r = await pipeHere('validate', pipelineWith(dir, source));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /node\.js: cannot import .*\(a \.js node file .*is CommonJS: rename it to \.mjs or add a package\.json with "type": "module" beside it\)/);
  }
});

test('under a package.json without "type": "module" the message names that file; with it the node loads', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-cjs-'));
  writeFileSync(path.join(dir, 'package.json'), '{"name": "my-nodes"}');
  const file = pipelineWith(dir, NODE);
  const r = await pipeHere('validate', file);
  assert.ok(r.stderr.includes(`CommonJS under ${path.join(dir, 'package.json')}: rename it to .mjs or add "type": "module" to that package.json`), r.stderr);
  // A fresh folder: this process's module cache keeps the failed import of the first file.
  const esm = mkdtempSync(path.join(tmpdir(), 'tp-esm-'));
  writeFileSync(path.join(esm, 'package.json'), '{"name": "my-nodes", "type": "module"}');
  const ok = await pipeHere('validate', pipelineWith(esm, NODE));
  assert.equal(ok.status, 0, ok.stderr);
});
