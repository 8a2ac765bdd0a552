// The piece cache that pool threads share (src/tokenizer/shared-pieces.ts): two threads filling
// one table at once never read another key's ids, a second encoder on a filled table hits and
// stays exact, and a full table stores nothing more without changing any id or asking again.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Tokenizer } from '@huggingface/tokenizers';
import { createTokenizer } from '../src/tokenizer/tokenizers-js.ts';
import { idEncoder } from '../src/tokenizer/encode-ids.ts';
import { createSharedPieces, SharedPieces } from '../src/tokenizer/shared-pieces.ts';
import { brownTexts, lenmlArtifact } from './helpers/data.ts';
import { idsFor } from './helpers/shared-pieces-keys.ts';

const WORKER = path.join(import.meta.dirname, 'helpers', 'shared-pieces-worker.mjs');

test('two threads filling one table at once: every hit holds its own key, every key is there once done', async () => {
  const buffers = createSharedPieces('test', { slots: 1 << 15, keyUnits: 1 << 20, ids: 1 << 18 });
  // Overlapping ranges: both threads miss on 2000-5999 and may insert those keys at the same time.
  const run = (from: number, to: number) =>
    new Promise<{ wrong: number; hits: number }>((resolve, reject) => {
      const w = new Worker(WORKER, { workerData: { buffers, from, to, rounds: 3 } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const [a, b] = await Promise.all([run(0, 6000), run(2000, 8000)]);
  assert.equal(a.wrong + b.wrong, 0, 'a hit with another key\'s ids');
  assert.ok(a.hits > 0 && b.hits > 0);
  const table = new SharedPieces(buffers);
  for (let i = 0; i < 8000; i++) {
    const key = `piece-${i}-${'x'.repeat(i % 13)}`;
    const k = table.find(key, 0, key.length, i % 2, SharedPieces.hash(key, 0, key.length));
    assert.ok(k >= 0, `key ${i} stored`);
    const got: number[] = [];
    for (let j = table.idsStart(k); j < table.idsEnd(k); j++) got.push(table.idAt(j));
    assert.deepEqual(got, idsFor(i));
    // The other kind is another key.
    assert.equal(table.find(key, 0, key.length, 1 - (i % 2), SharedPieces.hash(key, 0, key.length)), -1);
  }
});

const files = lenmlArtifact('tokenizer-llama3_1', 128256);
const texts = brownTexts(['ca01', 'cn01']).slice(0, 150);

test('a second encoder on a table the first one filled hits it and gives the same ids', () => {
  const plain = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  const buffers = createSharedPieces('llama3');
  const first = idEncoder(createTokenizer(files.tokenizerJson, files.tokenizerConfig, { wordCaches: false }));
  first.sharePieces(buffers);
  for (const t of texts) first.encode(t, true);
  const table = new SharedPieces(buffers);
  const filled = table.size;
  assert.ok(filled > 1000, `pieces stored: ${filled}`);
  const second = idEncoder(createTokenizer(files.tokenizerJson, files.tokenizerConfig, { wordCaches: false }));
  second.sharePieces(buffers);
  for (const t of texts) assert.deepEqual(second.encode(t, true), plain.encode(t).ids);
  assert.equal(table.size, filled, 'the second encoder found every piece: it stored none');
});

test('a full table stores nothing more, and the ids stay exact', () => {
  const plain = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  const buffers = createSharedPieces('llama3', { slots: 64, keyUnits: 1 << 16, ids: 1 << 16 });
  const enc = idEncoder(createTokenizer(files.tokenizerJson, files.tokenizerConfig, { wordCaches: false }));
  enc.sharePieces(buffers);
  for (const t of texts) assert.deepEqual(enc.encode(t, false), plain.encode(t, { add_special_tokens: false }).ids);
  // At most half the slots are filled (the probing stays short and always ends).
  assert.equal(new SharedPieces(buffers).size, 32);
  // A full table is not asked again: its shared counters (Int32, bumped by every reservation) stay put, so they never wrap.
  const used = [...new Int32Array(buffers.used)];
  for (const t of texts) enc.encode(t.toUpperCase(), false);
  assert.deepEqual([...new Int32Array(buffers.used)], used);
});

test('a spent key arena stops a thread asking, and the ids stay exact', () => {
  const plain = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  // Room for many entries but few key units: the arena runs out first.
  const buffers = createSharedPieces('llama3', { slots: 1 << 12, keyUnits: 6000, ids: 1 << 16 });
  const enc = idEncoder(createTokenizer(files.tokenizerJson, files.tokenizerConfig, { wordCaches: false }));
  enc.sharePieces(buffers);
  for (const t of texts) assert.deepEqual(enc.encode(t, false), plain.encode(t, { add_special_tokens: false }).ids);
  const used = [...new Int32Array(buffers.used)];
  assert.ok(used[0] > 6000, 'the arena ran out');
  for (const t of texts) assert.deepEqual(enc.encode(t.toUpperCase(), false), plain.encode(t.toUpperCase(), { add_special_tokens: false }).ids);
  assert.deepEqual([...new Int32Array(buffers.used)], used);
});
