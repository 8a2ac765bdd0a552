// A pipeline built in code that the executor cannot run is refused before any node starts,
// with an error that names the node and the input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PipelineUnrunnable } from '../src/errors.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, sink, source } from './fixtures/pipeline/main-nodes.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-unrun-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('an unconnected input or a reference to a later node is refused up front', async () => {
  const probe = newProbe();
  const open = pipeline('open', {
    src: { def: source, params: { count: 3, probe } },
    out: { def: sink, params: { probe } },
  });
  await assert.rejects(runPipeline(open, { runDir: path.join(tmp, 'a') }), (e: unknown) => {
    assert.ok(e instanceof PipelineUnrunnable);
    assert.match(e.message, /node 'out': input 'in' is not connected/);
    return true;
  });
  const backwards = pipeline('backwards', {
    out: { def: sink, params: { probe }, from: { in: 'src.out' } },
    src: { def: source, params: { count: 3, probe } },
  });
  await assert.rejects(runPipeline(backwards, { runDir: path.join(tmp, 'b') }), /reads src\.out, which no earlier node produces/);
  assert.equal(probe.produced, 0, 'no node started');
});
