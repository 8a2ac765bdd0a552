// Fan-out (one output, many consumers: each sees every item, in order), fan-in (a node with
// several inputs) and value edges (a late reader still gets the one value).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { defineNode } from '../src/pipeline/node.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { constant, newProbe, scaleMain, sink, source, zip } from './fixtures/pipeline/main-nodes.ts';
import scale from './fixtures/pipeline/scale-node.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-fan-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const range = (n: number, f = (i: number) => i) => Array.from({ length: n }, (_, i) => f(i));

test('fan-out: every consumer sees every item in order, whatever its speed', async () => {
  const probe = newProbe();
  const p = pipeline('fanout', {
    src: { def: source, params: { count: 500, probe } },
    a: { def: sink, params: { probe }, from: { in: 'src.out' } },
    b: { def: sink, params: { probe, slowEvery: 50, slowMs: 2 }, from: { in: 'src.out' } },
    m: { def: scaleMain, params: { factor: 10 }, from: { in: 'src.out' } },
    c: { def: sink, params: { probe }, from: { in: 'm.out' } },
  }, { edgeBuffer: 4 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'fanout') });
  assert.equal(r.status, 'completed', String(r.error));
  assert.equal(probe.produced, 500, 'the source ran once for three consumers');
  assert.deepEqual(probe.received.a, range(500));
  assert.deepEqual(probe.received.b, range(500));
  assert.deepEqual(probe.received.c, range(500, (i) => i * 10));
  const src = r.stats.nodes.find((n) => n.name === 'src')!;
  assert.equal(src.out, 500);
});

/** Drains its stream first, then reads the value: a reader that comes after the value was made. */
const lateValue = defineNode({
  name: 'test-late-value',
  description: 'reads a value input after its stream',
  params: z.object({}),
  inputs: { in: { kind: 'stream', item: '*' }, v: { kind: 'value', item: '*' } },
  outputs: { out: { kind: 'stream', item: '*' } },
  placement: 'main',
  run(inputs) {
    async function* gen() {
      let n = 0;
      for await (const _ of inputs.in) n++;
      for await (const v of inputs.v) yield { n, v };
    }
    return { out: gen() };
  },
});

test('fan-in: a node reads two streams and a value; a late reader still gets the value', async () => {
  const probe = newProbe();
  const p = pipeline('fanin', {
    k: { def: constant, params: { value: 1000, delayMs: 30 } },
    s1: { def: source, params: { count: 100, probe } },
    s2: { def: source, params: { count: 100, probe } },
    m: { def: scaleMain, params: { factor: 10 }, from: { in: 's2.out' } },
    zip: { def: zip, from: { a: 's1.out', b: 'm.out', offset: 'k.out' } },
    late: { def: lateValue, from: { in: 's1.out', v: 'k.out' } },
    z: { def: sink, params: { probe }, from: { in: 'zip.out' } },
    l: { def: sink, params: { probe }, from: { in: 'late.out' } },
  });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'fanin') });
  assert.equal(r.status, 'completed', String(r.error));
  assert.deepEqual(probe.received.z, range(100, (i) => i + 10 * i + 1000));
  assert.deepEqual(probe.received.l, [{ n: 100, v: 1000 }]);
});

test('a worker node on a fan-out copies items: the other consumer keeps intact arrays', async () => {
  const probe = newProbe();
  const p = pipeline('fanout-worker', {
    src: { def: source, params: { count: 40, width: 8, probe } },
    w: { def: scale, params: { factor: 2 }, from: { in: 'src.out' } },
    raw: { def: sink, params: { probe }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'w.out' } },
  }, { workers: 1 });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'fw') });
  assert.equal(r.status, 'completed', String(r.error));
  const raw = probe.received.raw as Float32Array[];
  assert.equal(raw.length, 40);
  raw.forEach((a, i) => {
    assert.equal(a.byteLength, 32, `item ${i} was detached`);
    assert.ok(a.every((x) => x === i));
  });
  const out = probe.received.out as Array<{ value: Float32Array }>;
  out.forEach((o, i) => assert.deepEqual([...o.value], range(8, () => 2 * i)));
});

test('a value output that yields twice fails its node', async () => {
  const twice = defineNode({
    name: 'test-twice',
    description: 'bad value producer',
    params: z.object({}),
    inputs: {},
    outputs: { out: { kind: 'value', item: '*' } },
    placement: 'main',
    run: () => ({
      out: (async function* () {
        yield 1;
        yield 2;
      })(),
    }),
  });
  const probe = newProbe();
  const p = pipeline('twice', {
    t: { def: twice },
    s: { def: source, params: { count: 5, probe } },
    late: { def: lateValue, from: { in: 's.out', v: 't.out' } },
    l: { def: sink, params: { probe }, from: { in: 'late.out' } },
  });
  const r = await runPipeline(p, { runDir: path.join(tmp, 'twice') });
  assert.equal(r.status, 'failed');
  assert.match(r.error!.message, /node 't' failed.*value output t\.out yielded more than one item/);
});
