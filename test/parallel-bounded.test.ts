// boundedParallel: pulls its source only when in-flight and finished-unconsumed counts have
// room, keeps input order when asked, and stops the source on error or early exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundedParallel, SKIP } from '../src/util/parallel.ts';

/** One turn of the event loop: every settled promise has run its callbacks. */
const turn = () => new Promise<void>((r) => setImmediate(r));

/** Tasks that finish when the test says so: `gate.wait(x)` resolves on `gate.release(x)`. */
function gated() {
  const waiting = new Map<number, () => void>();
  const started: number[] = [];
  return {
    started,
    wait: (x: number) => new Promise<void>((r) => (started.push(x), waiting.set(x, r))),
    release(x: number) {
      waiting.get(x)!();
      waiting.delete(x);
    },
    get pending() {
      return [...waiting.keys()];
    },
  };
}

/** A source that counts how far it has been pulled and whether it was closed. */
function counted(n: number) {
  const s = { pulled: 0, closed: false };
  async function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        s.pulled++;
        yield i;
      }
    } finally {
      s.closed = true;
    }
  }
  return { s, it: gen() };
}

test('keeps input order when tasks finish out of order', async () => {
  const { it } = counted(20);
  const out: number[] = [];
  const gate = gated();
  // Later items finish first: whenever tasks are waiting, the newest one is released.
  const iter = boundedParallel(it, async (x) => (await gate.wait(x), x * 2), { concurrency: 5 })[Symbol.asyncIterator]();
  let next = iter.next();
  for (;;) {
    await turn();
    const pending = gate.pending;
    if (pending.length > 0) gate.release(Math.max(...pending));
    const r = await Promise.race([next, turn().then(() => undefined)]);
    if (!r) continue;
    if (r.done) break;
    out.push(r.value);
    next = iter.next();
  }
  assert.ok(gate.started.length === 20);
  assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => i * 2));
});

test('never runs more than `concurrency` tasks at once', async () => {
  const { it } = counted(30);
  let running = 0;
  let peak = 0;
  const fn = async (x: number) => {
    running++;
    peak = Math.max(peak, running);
    // Stay running for a few event-loop turns, so that any extra task the pool would start overlaps this one.
    for (let i = 0; i < 3; i++) await turn();
    running--;
    return x;
  };
  let n = 0;
  for await (const _ of boundedParallel(it, fn, { concurrency: 3, highWaterMark: 10 })) n++;
  assert.equal(n, 30);
  assert.equal(peak, 3);
});

test('a consumer that stops reading stops the source at concurrency + highWaterMark', async () => {
  const { s, it } = counted(1000);
  const iter = boundedParallel(it, async (x) => x, { concurrency: 4, highWaterMark: 3 })[Symbol.asyncIterator]();
  assert.equal((await iter.next()).value, 0);
  // Let every possible pull happen while nobody consumes (the tasks settle at once).
  for (let i = 0; i < 10; i++) await turn();
  // Held: up to 4 in flight + 3 finished, plus the one already consumed.
  assert.ok(s.pulled <= 1 + 4 + 3, `pulled ${s.pulled}`);
  assert.ok(s.pulled >= 4, `pulled only ${s.pulled}: no parallelism`);
  await iter.return!();
  assert.equal(s.closed, true);
});

test('unordered mode yields as tasks finish', async () => {
  const { it } = counted(3);
  const out: number[] = [];
  const gate = gated();
  const order = [1, 2, 0];
  const iter = boundedParallel(it, async (x) => (await gate.wait(x), x), { concurrency: 3, ordered: false })[Symbol.asyncIterator]();
  const first = iter.next();
  // All three start; then they finish in the order 1, 2, 0, each release yielding one item.
  for (let i = 0; i < 10 && gate.started.length < 3; i++) await turn();
  assert.equal(gate.started.length, 3);
  gate.release(order[0]);
  out.push((await first).value);
  for (const x of order.slice(1)) {
    const next = iter.next();
    gate.release(x);
    out.push((await next).value);
  }
  assert.equal((await iter.next()).done, true);
  assert.deepEqual(out, [1, 2, 0]);
});

test('SKIP drops an item; a failing task ends the iteration with its error and closes the source', async () => {
  const { it: a } = counted(6);
  const kept: number[] = [];
  for await (const x of boundedParallel(a, async (x) => (x % 2 ? SKIP : x), { concurrency: 2 })) kept.push(x);
  assert.deepEqual(kept, [0, 2, 4]);

  const { s, it: b } = counted(100);
  const fn = async (x: number, index: number) => {
    if (index === 5) throw new Error('boom at 5');
    return x;
  };
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const x of boundedParallel(b, fn, { concurrency: 2 })) seen.push(x);
  }, /boom at 5/);
  assert.ok(seen.length <= 5);
  assert.equal(s.closed, true);
  assert.ok(s.pulled < 100);
});
