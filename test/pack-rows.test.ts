// Packing rules, checked as properties over random documents: no token lost or reordered,
// positions restart per document piece, document ids separate documents, labels are -100
// exactly on padding, piece starts and masked tokens; 'fit' never splits a document that
// fits in a row; final batch policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packer, type PackOptions } from '../src/data/pack.ts';
import { rng } from '../src/data/shuffle.ts';
import type { BatchArrays } from '../src/io/arrow.ts';

const T = 16;
const B = 3;
const PAD = 0;

interface Doc {
  ids: Int32Array;
  labels: Int32Array;
}

function docs(n: number, seed: number): Doc[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, d) => {
    const len = 1 + Math.floor(r() * (r() < 0.2 ? 3 * T : T));
    const ids = Int32Array.from({ length: len }, (_, t) => 1 + d * 100 + t);
    // Some tokens masked as if they were prompt; the first one always (tokenize.ts does that).
    const labels = ids.map((id, t) => (t === 0 || r() < 0.2 ? -100 : id));
    return { ids, labels };
  });
}

function pack(ds: Doc[], opts: Partial<PackOptions>): { batches: BatchArrays[]; packer: Packer } {
  const packer = new Packer({ seqLen: T, batchSize: B, mode: 'stream', padId: PAD, finalBatch: 'pad', ...opts });
  const batches: BatchArrays[] = [];
  for (const d of ds) batches.push(...packer.add(d.ids, d.labels));
  batches.push(...packer.finish());
  return { batches, packer };
}

function check(ds: Doc[], batches: BatchArrays[], mode: 'stream' | 'fit'): void {
  const got: number[] = [];
  const expected = ds.flatMap((d) => Array.from(d.ids));
  const rowsOfDoc = new Map<number, number>();
  let lastDoc = -1;
  for (const b of batches) {
    const rows = b.input_ids.length / T;
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < T; t++) {
        const i = r * T + t;
        const doc = b.document_ids[i];
        if (doc === -1) {
          assert.equal(b.input_ids[i], PAD);
          assert.equal(b.labels[i], -100);
          assert.equal(b.position_ids[i], 0);
          continue;
        }
        assert.ok(doc >= lastDoc, 'documents stay in order');
        const pieceStart = t === 0 || b.document_ids[i - 1] !== doc;
        if (pieceStart && doc !== lastDoc) rowsOfDoc.set(doc, 0);
        if (pieceStart) rowsOfDoc.set(doc, rowsOfDoc.get(doc)! + 1);
        lastDoc = doc;
        assert.equal(b.position_ids[i], pieceStart ? 0 : b.position_ids[i - 1] + 1);
        const k = got.length - ds.slice(0, doc).reduce((s, d) => s + d.ids.length, 0); // index within the doc
        assert.equal(b.input_ids[i], ds[doc].ids[k]);
        assert.equal(b.labels[i], pieceStart ? -100 : ds[doc].labels[k]);
        got.push(b.input_ids[i]);
      }
    }
  }
  assert.deepEqual(got, expected, 'non-padding tokens, in order, are every document');
  if (mode === 'fit') for (const [d, pieces] of rowsOfDoc) if (ds[d].ids.length <= T) assert.equal(pieces, 1, `doc ${d} split`);
}

test('stream mode: no token lost, positions/doc ids/labels follow the rules', () => {
  for (const seed of [1, 2, 3]) {
    const ds = docs(60, seed);
    const { batches, packer } = pack(ds, {});
    check(ds, batches, 'stream');
    assert.ok(batches.every((b) => b.input_ids.length === B * T));
    const total = ds.reduce((s, d) => s + d.ids.length, 0);
    assert.equal(packer.stats.tokens, total);
    // Only the last row holds padding in stream mode.
    assert.ok(packer.stats.padding < T * B);
  }
});

test("fit mode: a document that fits in a row is never split; longer ones still are, losslessly", () => {
  for (const seed of [4, 5]) {
    const ds = docs(60, seed);
    check(ds, pack(ds, { mode: 'fit' }).batches, 'fit');
  }
});

test('final batch: pad gives B rows, keep gives the rows used, drop counts what it drops', () => {
  const ds = [{ ids: Int32Array.from([5, 6, 7]), labels: Int32Array.from([-100, 6, 7]) }];
  const padded = pack(ds, { finalBatch: 'pad' }).batches;
  assert.equal(padded.length, 1);
  assert.equal(padded[0].input_ids.length, B * T);
  const kept = pack(ds, { finalBatch: 'keep' }).batches;
  assert.equal(kept[0].input_ids.length, T);
  assert.deepEqual(Array.from(kept[0].input_ids.subarray(0, 4)), [5, 6, 7, PAD]);
  const dropped = pack(ds, { finalBatch: 'drop' });
  assert.equal(dropped.batches.length, 0);
  assert.equal(dropped.packer.stats.dropped, 3);
});
