// SIGINT: sources stop, items in flight finish, sinks flush, the process exits 130.
// Real signal, real child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineNode } from '../src/pipeline/node.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, sink, source } from './fixtures/pipeline/main-nodes.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-sigint-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('SIGINT drains the pipeline, flushes the sink and exits 130', async () => {
  const script = fileURLToPath(new URL('./fixtures/pipeline/sigint-run.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000); // timer-ok: safety timeout, only ends a hung child
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('READY') && resolve());
    child.on('exit', () => reject(new Error(`child exited before READY: ${stderr}`)));
  });
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(killer);
  assert.equal(code, 130, stderr);

  const result = JSON.parse(readFileSync(path.join(tmp, 'result.json'), 'utf8'));
  assert.equal(result.status, 'interrupted');
  assert.deepEqual(result.unfinished, []);
  // The sink wrote its file on the way out, and every item the source produced reached it:
  // the ones on the pool when the signal came finished instead of being dropped.
  const got = JSON.parse(readFileSync(path.join(tmp, 'sink.json'), 'utf8')) as Array<{ value: number }>;
  assert.ok(got.length >= 20);
  assert.equal(got.length, result.produced);
  assert.deepEqual(got.map((x) => x.value), Array.from({ length: got.length }, (_, i) => 2 * i));
  const events = readFileSync(path.join(tmp, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.some((e) => e.type === 'interrupt' && e.reason === 'SIGINT'));
  assert.equal(events.at(-1).status, 'interrupted');
});

test('opts.signal interrupts the same way; a node that never finishes is abandoned after the drain timeout', async () => {
  const hang = defineNode({
    name: 'test-hang',
    description: 'a sink that never returns',
    params: z.object({}),
    inputs: { in: { kind: 'stream', item: '*' } },
    outputs: {},
    placement: 'main',
    async run(inputs) {
      for await (const _ of inputs.in);
      await new Promise(() => {});
    },
  });
  const probe = newProbe();
  const ac = new AbortController();
  const p = pipeline('abort', {
    src: { def: source, params: { count: -1, probe } },
    out: { def: sink, params: { probe }, from: { in: 'src.out' } },
    stuck: { def: hang, from: { in: 'src.out' } },
  });
  // Interrupt once 20 items reached the sink. The run ending at all (the test would hang
  // otherwise) shows the stuck node was abandoned after the drain timeout.
  probe.onReceive = (_name, n) => n === 20 && ac.abort();
  const r = await runPipeline(p, { runDir: path.join(tmp, 'abort'), signal: ac.signal, drainTimeoutMs: 300 });
  assert.equal(r.status, 'interrupted');
  assert.deepEqual(r.unfinished, ['stuck']);
  assert.ok(probe.produced >= 20);
  // The well-behaved sink still got everything the source made.
  assert.equal((probe.received.out as unknown[]).length, probe.produced);
});

test('a node that throws AbortError when interrupted does not turn the run into a failure', async () => {
  const abortingSource = defineNode({
    name: 'test-aborting-source',
    description: 'waits with the signal, so an interrupt rejects its wait',
    params: z.object({}),
    inputs: {},
    outputs: { out: { kind: 'stream', item: '*' } },
    placement: 'main',
    run: (_inputs, ctx) => ({
      out: (async function* () {
        for (let i = 0; i < 3; i++) yield i;
        // Then waits for something that never comes: only the interrupt ends the wait, by rejecting it.
        await new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        });
      })(),
    }),
  });
  const probe = newProbe();
  const ac = new AbortController();
  const p = pipeline('abort-error', {
    src: { def: abortingSource },
    out: { def: sink, params: { probe }, from: { in: 'src.out' } },
  });
  probe.onReceive = (_name, n) => n === 3 && ac.abort();
  const r = await runPipeline(p, { runDir: path.join(tmp, 'abort-error'), signal: ac.signal });
  assert.equal(r.status, 'interrupted', String(r.error));
  assert.deepEqual(probe.received.out, [0, 1, 2]);
});
