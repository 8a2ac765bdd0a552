// A 'train-state' output (the live trainer, a linear item kind) may feed one input only: the
// graph refuses a fan-out at load time, as `pipe validate` shows with file:line:column, naming
// the edge and its readers, whether the port is a built-in's or a user node's plain string. A
// pipeline built in code is refused by the executor's own check. Every shipped pipeline loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { PipelineUnrunnable } from '../src/errors.ts';
import { checkPipeline } from '../src/pipeline/load.ts';
import { Executor } from '../src/pipeline/executor.ts';
import { EventBus } from '../src/pipeline/events.ts';
import { itemKind } from '../src/pipeline/kinds.ts';
import type { RunPool } from '../src/pipeline/pool.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { sink, newProbe } from './fixtures/pipeline/main-nodes.ts';
import live from './fixtures/nodes/live.ts';

const dir = 'test/fixtures/pipelines';
const pipe = (...args: string[]) => spawnSync(process.execPath, ['bin/pipe.mjs', ...args], { encoding: 'utf8' });

test('pipe validate refuses a fan-out of train.state, at the second reader, naming the edge and the readers', () => {
  const r = pipe('validate', `${dir}/train-state-fanout.yaml`);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /train-state-fanout\.yaml:26:20: error: nodes\.save\.from\.state: 'train\.state' gives 'train-state' items, which may feed only one input .*it feeds 2: eval\.state, save\.state; chain those nodes one after another instead/,
  );
  assert.match(r.stderr, /1 error\(s\)/);
});

test("a user node's plain 'train-state' port is linear too", async () => {
  const r = await checkPipeline(`${dir}/user-linear-fanout.yaml`);
  const errors = r.issues.filter((i) => i.severity === 'error');
  assert.deepEqual(errors.map((i) => [i.code, i.path.join('.'), i.line]), [['linear-fanout', 'nodes.b.from', 11]]);
  assert.match(errors[0].message, /'live\.state' gives 'train-state' items.*it feeds 2: a\.in, b\.in/);
  assert.equal(itemKind('train-state')?.linear, true);
});

test('a pipeline built in code with a train-state fan-out is refused before it starts', async () => {
  const probe = newProbe();
  const p = pipeline('code-fanout', {
    live: { def: live },
    a: { def: sink, params: { probe }, from: { in: 'live.state' } },
    b: { def: sink, params: { probe }, from: { in: 'live.state' } },
  });
  const exec = new Executor({ pipeline: p, runDir: 'unused', pool: {} as RunPool, events: new EventBus([]), reject() {}, edgeBuffer: 4 });
  await assert.rejects(exec.run(), (e) => e instanceof PipelineUnrunnable && /'live\.state' gives 'train-state' items.*a\.in, b\.in/.test(e.message));
});

test('every pipeline under pipelines/ loads: its train-state edges are chains', async () => {
  const files = readdirSync('pipelines', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3, files.join(', '));
  for (const f of files) {
    const r = await checkPipeline(path.join('pipelines', f));
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), [], f);
  }
});
