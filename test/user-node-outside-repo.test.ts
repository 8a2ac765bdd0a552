// A user's node files in a folder outside the repository (no package.json, no node_modules)
// import { defineNode, z } from 'tokenpipe': they load, validate, and run with `pipe run`,
// the TypeScript worker node on pool threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { loadPipeline } from '../src/pipeline/load.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokenpipe-user-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

writeFileSync(
  path.join(tmp, 'echo.ts'),
  `import { defineNode, z } from 'tokenpipe';
interface Echo { times: number }
export const echo = defineNode({
  name: 'echo', description: 'repeats each word',
  params: z.strictObject({ times: z.number().int().min(1).default(2) }),
  inputs: { in: { kind: 'stream', item: 'word' } },
  outputs: { out: { kind: 'stream', item: 'word' } },
  placement: 'worker',
  process: (w: string, p: Echo) => w.repeat(p.times),
});
`,
);
writeFileSync(
  path.join(tmp, 'words.mjs'),
  `import { defineNode, z } from 'tokenpipe';
export default defineNode({
  name: 'words', description: 'a few words', params: z.strictObject({ words: z.array(z.string()) }),
  inputs: {}, outputs: { words: { kind: 'stream', item: 'word' } }, placement: 'main',
  run: (_i, ctx) => ({ words: (async function* () { yield* ctx.params.words; })() }),
});
`,
);
writeFileSync(
  path.join(tmp, 'save.ts'),
  `import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineNode, z } from 'tokenpipe';
export default defineNode({
  name: 'save', description: 'writes the items', params: z.strictObject({}),
  inputs: { in: { kind: 'stream', item: '*' } }, outputs: {}, placement: 'main',
  async run(inputs, ctx) {
    const got: unknown[] = [];
    for await (const x of inputs.in) got.push(x);
    writeFileSync(path.join(ctx.runDir, 'out.json'), JSON.stringify(got));
  },
});
`,
);
const pipelineFile = path.join(tmp, 'pipeline.yaml');
writeFileSync(
  pipelineFile,
  `name: outside
settings: { outputDir: ${JSON.stringify(path.join(tmp, 'runs'))}, workers: 2 }
nodes:
  words: { use: ./words.mjs, with: { words: [ab, c, xyz] } }
  echo: { use: ./echo.ts, export: echo, from: words, with: { times: 3 } }
  save: { use: ./save.ts, from: echo }
`,
);

test('loads: defs from outside the repository, params checked by their own zod', async () => {
  const p = await loadPipeline(pipelineFile);
  assert.deepEqual(p.nodes.map((n) => [n.name, n.def.name, n.def.placement]), [
    ['words', 'words', 'main'],
    ['echo', 'echo', 'worker'],
    ['save', 'save', 'main'],
  ]);
  const echo = p.nodes[1];
  assert.equal(echo.modulePath, path.join(tmp, 'echo.ts'));
  assert.equal(echo.exportName, 'echo');
  assert.deepEqual(echo.params, { times: 3 });
});

test('runs with pipe run', () => {
  const r = spawnSync(process.execPath, ['bin/pipe.mjs', 'run', pipelineFile], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const runs = readdirSync(path.join(tmp, 'runs'));
  assert.equal(runs.length, 1);
  const out = JSON.parse(readFileSync(path.join(tmp, 'runs', runs[0], 'out.json'), 'utf8'));
  assert.deepEqual([...out].sort(), ['ababab', 'ccc', 'xyzxyzxyz']);
});
