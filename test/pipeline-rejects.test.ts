// onError: reject sends a failing item and its error to <runDir>/rejects.jsonl and the run
// goes on; only nodes that allow it (canReject) may do so, otherwise the run fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeFailed } from '../src/errors.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, scaleMain, sink, source } from './fixtures/pipeline/main-nodes.ts';
import scale from './fixtures/pipeline/scale-node.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-rej-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const readLines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('a worker node with onError: reject sends the item (transferred, and back) to rejects.jsonl', async () => {
  const probe = newProbe();
  const p = pipeline('wrej', {
    src: { def: source, params: { count: 10, width: 3, probe } },
    scale: { def: scale, params: { factor: 2, failAt: 5 }, from: { in: 'src.out' }, onError: 'reject' },
    out: { def: sink, params: { probe }, from: { in: 'scale.out' } },
  }, { workers: 1 });
  const runDir = path.join(tmp, 'w');
  const r = await runPipeline(p, { runDir });
  assert.equal(r.status, 'completed', String(r.error));
  const got = (probe.received.out as Array<{ value: Float32Array }>).map((x) => x.value[0]);
  assert.deepEqual(got, [0, 2, 4, 6, 8, 12, 14, 16, 18]);
  const rejects = readLines(path.join(runDir, 'rejects.jsonl'));
  assert.equal(rejects.length, 1);
  assert.equal(rejects[0].node, 'scale');
  assert.equal(rejects[0].index, 5);
  assert.equal(rejects[0].error.message, 'bad item 5');
  assert.deepEqual(rejects[0].item, [5, 5, 5]);
  assert.equal(r.stats.rejected, 1);
});

test('a main node rejects through ctx.reject when allowed, and fails when not', async () => {
  const run = async (onError: 'fail' | 'reject', dir: string) => {
    const probe = newProbe();
    const p = pipeline('mrej', {
      src: { def: source, params: { count: 5, probe } },
      m: { def: scaleMain, params: { rejectAt: 2 }, from: { in: 'src.out' }, onError },
      out: { def: sink, params: { probe }, from: { in: 'm.out' } },
    });
    return { r: await runPipeline(p, { runDir: path.join(tmp, dir) }), probe };
  };
  const ok = await run('reject', 'mr');
  assert.equal(ok.r.status, 'completed');
  assert.deepEqual(ok.probe.received.out, [0, 10, 30, 40]);
  const rejects = readLines(path.join(ok.r.runDir, 'rejects.jsonl'));
  assert.deepEqual([rejects[0].node, rejects[0].index, rejects[0].item, rejects[0].error.message], ['m', 2, 2, 'rejected item 2']);

  const bad = await run('fail', 'mf');
  assert.equal(bad.r.status, 'failed');
  assert.ok(bad.r.error instanceof NodeFailed);
  assert.equal(bad.r.error.node, 'm');
  assert.equal(bad.r.error.index, 2);
  assert.equal(existsSync(path.join(bad.r.runDir, 'rejects.jsonl')), false);
});

test('onError: reject on a node that cannot reject fails the run instead', async () => {
  const probe = newProbe();
  const p = pipeline('norej', {
    src: { def: source, params: { count: 10, probe } },
    scale: { def: { ...scale, canReject: false }, params: { failAt: 1 }, from: { in: 'src.out' }, onError: 'reject' },
    out: { def: sink, params: { probe }, from: { in: 'scale.out' } },
  }, { workers: 1 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'n') });
  assert.equal(r.status, 'failed');
  assert.equal((r.error as NodeFailed).index, 1);
});
