// pipe nodes --items lists every built-in item kind with a line per field, so a custom node's
// author sees what `document`, `batch`, `train-state`, ... hold without reading the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeHere } from './fixtures/train/tiny-pipeline.ts';

const BUILTIN = ['batch', 'corpus-fingerprint', 'document', 'step-event', 'token-list', 'tokenizer', 'train-state'];

test('--items prints each built-in kind with its fields and says undefined drops an item', async () => {
  const r = await pipeHere('nodes', '--items');
  assert.equal(r.status, 0, r.stderr);
  for (const k of BUILTIN) assert.match(r.stdout, new RegExp(`^${k}\\b`, 'm'), k);
  assert.match(r.stdout, /^ {4}input_ids|^ {4}batch +apache-arrow RecordBatch/m);
  assert.match(r.stdout, /^ {4}split +'train' \| 'eval'/m);
  assert.match(r.stdout, /^ {4}weights +AdapterContents/m, 'a snapshot carries the trainable tensors as values');
  assert.match(r.stdout, /returning undefined drops the item/);

  const json = JSON.parse((await pipeHere('nodes', '--items', '--json')).stdout) as Array<{ name: string; fields?: Record<string, string> }>;
  for (const k of BUILTIN) {
    const kind = json.find((x) => x.name === k);
    assert.ok(kind?.fields && Object.keys(kind.fields).length > 0, `${k} has its fields described`);
  }
});
