// A custom node that throws: `pipe run` prints the frame of the user's own file
// (file:line:column) on the terminal, for a worker node and for a main-thread node, outside
// this repository; the full stack stays in events.jsonl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';

const NODES = path.join(ROOT, 'test', 'fixtures', 'nodes');

test('a failing node shows its own file:line:column on stderr', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-frame-'));
  // Line 9, column 24 is the `throw`'s `new Error` in both files.
  const body = (placement: string, method: string) => `import { defineNode, z } from 'tokenpipe';
export default defineNode({
  name: 'boom-${placement}',
  description: 'throws',
  params: z.strictObject({}),
  inputs: { in: { kind: 'stream', item: 'line' } },
  outputs: { out: { kind: 'stream', item: 'line' } },
  placement: '${placement}',
${method}
});
`;
  writeFileSync(path.join(dir, 'worker-boom.ts'), body('worker', `  process(item: string) { if (item === 'line-2') throw new Error('no line 2'); return item; },`));
  writeFileSync(path.join(dir, 'main-boom.ts'), body('main', `  run(inputs) { return { out: (async function* () { for await (const x of inputs.in) { if (x === 'line-2') throw new Error('no line 2'); yield x; } })() }; },`));
  for (const name of ['worker-boom', 'main-boom']) {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, `name: ${name}
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, workers: 1 }
nodes:
  src: { use: ${JSON.stringify(path.join(NODES, 'lines.ts'))}, with: { count: 4 } }
  boom: { use: ./${name}.ts, from: src }
  sink: { use: ${JSON.stringify(path.join(NODES, 'collect.ts'))}, from: boom }
`);
    const r = await pipeHere('run', file);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /failed .*no line 2\n/);
    assert.ok(r.stderr.includes(`no line 2\n  at ${path.join(dir, `${name}.ts`)}:9:`), r.stderr);
  }
});
