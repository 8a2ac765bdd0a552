// Typed arrays cross threads by transfer, not copy, both ways; shared buffers (Node's
// Buffer pool, subarrays) are copied first; worker start-up (init) is paid once per thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { RunPool } from '../src/pipeline/pool.ts';
import { prepareTransfer } from '../src/pipeline/transfer.ts';
import { SCALE_NODE } from './fixtures/pipeline/build.ts';

const FNS = fileURLToPath(new URL('./fixtures/pipeline/pool-fns.ts', import.meta.url));
const spec = { modulePath: SCALE_NODE, exportName: 'default', params: { factor: 3, failAt: -1 }, valueInputs: [] };

test('prepareTransfer moves whole buffers and copies views into shared ones', () => {
  const whole = new Int32Array([1, 2, 3]);
  const slab = new Float32Array(10).fill(5);
  const part = slab.subarray(2, 4);
  const pooled = Buffer.from('hi'); // a view into Node's shared Buffer pool
  const item = { whole, nested: [{ part }], again: whole, pooled, n: 1 };
  const { value, transfer } = prepareTransfer(item);
  assert.deepEqual(transfer.length, 3, 'whole once (deduplicated), plus the two copies');
  assert.ok(transfer.includes(whole.buffer as ArrayBuffer));
  assert.ok(!transfer.includes(slab.buffer as ArrayBuffer), 'a shared slab is never transferred');
  assert.ok(!transfer.includes(pooled.buffer as ArrayBuffer), 'the Buffer pool is never transferred');
  const copied = value.nested[0].part as Float32Array;
  assert.notEqual(copied.buffer, slab.buffer);
  assert.deepEqual([...copied], [5, 5]);
  assert.deepEqual([...(value.pooled as Uint8Array)], [104, 105]);
});

test('items and results move between threads without copies; init runs once per thread', async () => {
  const pool = new RunPool({ threads: 2, nodes: { s: spec } });
  try {
    const sent = new Float32Array([1, 2, 3, 4]);
    const r = await pool.runNode('s', sent, 0, true);
    assert.equal(sent.byteLength, 0, "the sender's buffer is detached: it was transferred, not copied");
    assert.ok(r.ok);
    const out = (r.value as { value: Float32Array }).value;
    assert.ok(out instanceof Float32Array);
    assert.deepEqual([...out], [3, 6, 9, 12]);

    // Not exclusive (a fan-out): the sender keeps its data.
    const shared = new Float32Array([1, 1]);
    const r2 = await pool.runNode('s', shared, 1, false);
    assert.equal(shared.byteLength, 8);
    assert.ok(r2.ok);

    // A pooled Buffer is copied, not transferred: no DataCloneError, the pool stays intact.
    const neighbour = Buffer.from('neighbour');
    const r3 = await pool.runNode('s', Buffer.from('xyz'), 2, true);
    assert.ok(r3.ok, String(!r3.ok && r3.error));
    assert.deepEqual([...(r3.value as { value: Float32Array }).value], [120 * 3, 121 * 3, 122 * 3]);
    assert.equal(neighbour.toString(), 'neighbour');

    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.runNode('s', i, i, true)));
    const inits = many.map((m) => (m.ok ? (m.value as { initCount: number }).initCount : -1));
    assert.ok(inits.every((c) => c === 1), `init ran more than once on a thread: ${inits}`);
    const threads = new Set(many.map((m) => (m.ok ? (m.value as { threadId: number }).threadId : -1)));
    assert.ok(threads.size <= 2);
  } finally {
    await pool.close();
  }
});

test('runOnPool results are transferred back (the worker keeps a detached array)', async () => {
  const pool = new RunPool({ threads: 1 });
  try {
    const got = await pool.call<{ data: Float32Array }>(FNS, 'makeAndKeep', 5);
    assert.deepEqual([...got.data], [7, 7, 7, 7, 7]);
    assert.equal(await pool.call<number>(FNS, 'keptByteLength', null), 0, "the worker's copy is detached: it was moved");
    const xs = new Float32Array([1, 2, 3.5]);
    assert.equal(await pool.call<number>(FNS, 'sum', xs, [xs.buffer as ArrayBuffer]), 6.5);
    assert.equal(xs.byteLength, 0);
  } finally {
    await pool.close();
  }
});
