// A worker node written in TypeScript, in a folder outside the repository (no package.json,
// no node_modules), with its own relative imports and bare imports of 'tokenpipe' and 'zod',
// loads on the pool threads and runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerLoaders } from '../src/pipeline/loaders.mjs';
import type { NodeDef } from '../src/pipeline/node.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, sink, source } from './fixtures/pipeline/main-nodes.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-usernode-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a TypeScript worker node outside the repo, with relative imports, runs on the pool', async () => {
  assert.ok(!dir.startsWith(path.resolve('.')), 'the node folder must be outside the repository');
  writeFileSync(path.join(dir, 'helper.ts'), 'export function triple(x: number): number {\n  return x * 3;\n}\n');
  writeFileSync(path.join(dir, 'units.ts'), "export const UNIT: string = 'apples';\n");
  writeFileSync(
    path.join(dir, 'my-node.ts'),
    `import { threadId } from 'node:worker_threads';
import { defineNode } from 'tokenpipe';
import { z } from 'zod';
import { triple } from './helper.ts';
import { UNIT } from './units.js';

interface Out { n: number; label: string; thread: number }

export default defineNode({
  name: 'my-node',
  description: 'triples numbers (user node)',
  params: z.object({ add: z.number().default(0) }),
  inputs: { in: { kind: 'stream', item: '*' } },
  outputs: { out: { kind: 'stream', item: '*' } },
  placement: 'worker',
  process(x: number, params): Out {
    return { n: triple(x) + params.add, label: UNIT, thread: threadId };
  },
});
`,
  );
  // The main thread imports the module too (the loader does, to read the definition).
  registerLoaders();
  const modulePath = path.join(dir, 'my-node.ts');
  const def = (await import(pathToFileURL(modulePath).href)).default as NodeDef;
  assert.equal(def.placement, 'worker');

  const probe = newProbe();
  const p = pipeline('usernode', {
    src: { def: source, params: { count: 20, probe } },
    mine: { def, params: { add: 1 }, from: { in: 'src.out' }, modulePath },
    out: { def: sink, params: { probe }, from: { in: 'mine.out' } },
  }, { workers: 2 });
  const r = await runPipeline(p, { runDir: path.join(dir, 'run') });
  assert.equal(r.status, 'completed', r.error?.stack ?? String(r.error?.cause));
  const got = probe.received.out as Array<{ n: number; label: string; thread: number }>;
  assert.deepEqual(got.map((x) => x.n), Array.from({ length: 20 }, (_, i) => 3 * i + 1));
  assert.ok(got.every((x) => x.label === 'apples'));
  assert.ok(got.every((x) => x.thread > 0), 'processed on worker threads, not the main thread');
});
