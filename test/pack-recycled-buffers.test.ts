// Batch arrays handed back after their shard is written (BatchRecycler, src/data/pack.ts) are
// reset before reuse: packing with arrays recycled dirty gives exactly the batches that fresh
// arrays give, and only full-size arrays are taken back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchRecycler, Packer, type PackOptions } from '../src/data/pack.ts';
import type { BatchArrays } from '../src/io/arrow.ts';

const T = 8;
const B = 3;
const docs = Array.from({ length: 40 }, (_, d) => {
  const n = 1 + ((d * 7) % 19);
  const ids = Int32Array.from({ length: n }, (_, i) => 100 + d * 10 + i);
  const labels = Int32Array.from(ids, (x, i) => (i % 5 === 0 ? -100 : x));
  return { ids, labels };
});

/** Every batch's contents, copied as it is emitted; `recycle` then gets the arrays back, scribbled on. */
function packAll(opts: PackOptions, recycle?: (b: BatchArrays) => void): number[][][] {
  const p = new Packer(opts);
  const out: number[][][] = [];
  const take = (bs: BatchArrays[]) => {
    for (const b of bs) {
      out.push([b.input_ids, b.labels, b.position_ids, b.document_ids].map((a) => Array.from(a)));
      if (recycle) {
        for (const a of [b.input_ids, b.labels, b.position_ids, b.document_ids]) a.fill(-7);
        recycle(b);
      }
    }
  };
  for (const d of docs) take(p.add(d.ids, d.labels));
  take(p.finish());
  return out;
}

for (const finalBatch of ['pad', 'keep'] as const) {
  test(`recycled arrays give the same batches as fresh ones (${finalBatch} final batch, stream and fit)`, () => {
    for (const mode of ['stream', 'fit'] as const) {
      const opts: PackOptions = { seqLen: T, batchSize: B, mode, padId: 0, finalBatch };
      const recycler = new BatchRecycler(B * T, 4);
      let given = 0;
      const recycled = packAll({ ...opts, recycler }, (b) => {
        given++;
        recycler.give(b);
      });
      assert.deepEqual(recycled, packAll(opts));
      assert.ok(given > 4, 'arrays came back and were reused');
    }
  });
}

test('the recycler keeps only full-size arrays, and no more than it was asked to', () => {
  const r = new BatchRecycler(B * T, 2);
  const arrays = (n: number): BatchArrays => ({ input_ids: new Int32Array(n), labels: new Int32Array(n), position_ids: new Int32Array(n), document_ids: new Int32Array(n) });
  r.give(arrays(T));
  assert.equal(r.take(), undefined);
  for (let i = 0; i < 3; i++) r.give(arrays(B * T));
  assert.ok(r.take());
  assert.ok(r.take());
  assert.equal(r.take(), undefined);
});
