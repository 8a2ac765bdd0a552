// The packed-batch schema: columns wrap the given Int32Arrays without a copy, survive an
// IPC round trip, and bad shapes are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FixedSizeList } from 'apache-arrow';
import { BATCH_COLUMNS, batchArrays, ipcFileBytes, ipcFileChunks, makeBatch, readIpcFile, writeIpcFile, type BatchArrays } from '../src/io/arrow.ts';
import { ArrowBatchInvalid } from '../src/errors.ts';

const B = 3;
const T = 5;
function arrays(seed: number): BatchArrays {
  const mk = (k: number) => Int32Array.from({ length: B * T }, (_, i) => seed * 1000 + k * 100 + i);
  return { input_ids: mk(0), labels: mk(1), position_ids: mk(2), document_ids: mk(3) };
}

test('makeBatch wraps the arrays without copying; batchArrays gives them back', () => {
  const a = arrays(1);
  const b = makeBatch(a, T, 'train');
  assert.equal(b.numRows, B);
  assert.deepEqual(b.schema.fields.map((f) => f.name), [...BATCH_COLUMNS]);
  for (const f of b.schema.fields) {
    assert.ok(f.type instanceof FixedSizeList);
    assert.equal((f.type as FixedSizeList).listSize, T);
    assert.equal(f.nullable, false);
  }
  assert.equal(b.schema.metadata.get('seqLen'), String(T));
  assert.equal(b.schema.metadata.get('split'), 'train');
  for (const name of BATCH_COLUMNS) assert.equal(b.getChild(name)!.data[0].children[0].values, a[name], `${name} was copied`);
  const v = batchArrays(b);
  assert.equal(v.B, B);
  assert.equal(v.T, T);
  for (const name of BATCH_COLUMNS) assert.equal(v[name].buffer, a[name].buffer);
  // Row 1 of input_ids through Arrow's own accessor.
  assert.deepEqual(Array.from(b.getChild('input_ids')!.get(1) as Iterable<number>), Array.from(a.input_ids.subarray(T, 2 * T)));
  // A row slice keeps its place.
  const s = batchArrays(b.slice(1, 3));
  assert.deepEqual(Array.from(s.labels), Array.from(a.labels.subarray(T, 3 * T)));
});

test('IPC file round trip keeps every value', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-arrow-'));
  const file = path.join(dir, 'x.arrow');
  const a1 = arrays(1);
  const a2 = arrays(2);
  await writeIpcFile(file, [makeBatch(a1, T), makeBatch(a2, T)]);
  // Written from the writer's chunks (no joined copy): the same bytes as the joined file.
  assert.deepEqual(readFileSync(file), Buffer.from(ipcFileBytes([makeBatch(a1, T), makeBatch(a2, T)])));
  assert.ok(ipcFileChunks([makeBatch(a1, T)]).length > 1);
  const back = await readIpcFile(file);
  assert.equal(back.length, 2);
  for (const [i, a] of [a1, a2].entries()) {
    const v = batchArrays(back[i]);
    for (const name of BATCH_COLUMNS) assert.deepEqual(Array.from(v[name]), Array.from(a[name]));
  }
});

test('wrong lengths are refused', () => {
  const a = arrays(1);
  assert.throws(() => makeBatch({ ...a, labels: a.labels.subarray(1) }, T), ArrowBatchInvalid);
  assert.throws(() => makeBatch(a, 4), /not a multiple of seqLen 4/);
});
