// corpus-reader formats: text modes, JSONL dotted paths, gzip by extension and by magic,
// globs, Arrow IPC (file and stream), Parquet written by another implementation (polars).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import type { Document } from '../src/data/items.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'data');

async function read(params: Record<string, unknown>): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of readCorpus(CorpusParams.parse(params), { seed: 0 })) out.push(d);
  return out;
}

const dir = mkdtempSync(path.join(tmpdir(), 'tp-formats-'));

test('text files: one document per file, per paragraph, per line', async () => {
  writeFileSync(path.join(dir, 'a.txt'), 'para one\nstill one\n\n\npara two\r\n\nthree');
  const files = await read({ paths: 'a.txt', cwd: dir, textMode: 'file' });
  assert.deepEqual(files.map((d) => [d.id, d.text]), [['a.txt', 'para one\nstill one\n\n\npara two\n\nthree']]);
  const paras = await read({ paths: 'a.txt', cwd: dir, textMode: 'paragraph' });
  assert.deepEqual(paras.map((d) => [d.id, d.text]), [['a.txt:1', 'para one\nstill one'], ['a.txt:5', 'para two'], ['a.txt:7', 'three']]);
  const lines = await read({ paths: 'a.txt', cwd: dir, textMode: 'line' });
  assert.deepEqual(lines.map((d) => d.text), ['para one', 'still one', 'para two', 'three']);
  assert.deepEqual(lines[2].source, { file: 'a.txt', line: 5 });
});

test('JSONL: text at a dotted path, id field, empty lines skipped', async () => {
  writeFileSync(path.join(dir, 'b.jsonl'), [JSON.stringify({ meta: { body: 'hello' }, key: 7 }), '', JSON.stringify({ meta: { body: 'world' }, key: 8 })].join('\n') + '\n');
  const docs = await read({ paths: 'b.jsonl', cwd: dir, textField: 'meta.body', idField: 'key' });
  assert.deepEqual(docs.map((d) => [d.id, d.text, d.source.line]), [['7', 'hello', 1], ['8', 'world', 3]]);
});

test('gzip is read by extension and by magic bytes; globs expand sorted', async () => {
  const body = [1, 2, 3].map((i) => JSON.stringify({ text: `gz ${i}` })).join('\n');
  writeFileSync(path.join(dir, 'c1.jsonl.gz'), gzipSync(body));
  // Misnamed: gzip content without .gz.
  writeFileSync(path.join(dir, 'c2.jsonl'), gzipSync(JSON.stringify({ text: 'magic' })));
  const docs = await read({ paths: ['c*.jsonl*'], cwd: dir });
  assert.deepEqual(docs.map((d) => d.text), ['gz 1', 'gz 2', 'gz 3', 'magic']);
  assert.equal(docs[0].id, 'c1.jsonl.gz:1');
});

test('Arrow IPC file, stream and gzipped stream', async () => {
  const t = tableFromArrays({ text: ['x0', 'x1', 'x2'], n: Int32Array.from([1, 2, 3]) });
  writeFileSync(path.join(dir, 'd.arrow'), tableToIPC(t, 'file'));
  writeFileSync(path.join(dir, 'd.arrows'), tableToIPC(t, 'stream'));
  writeFileSync(path.join(dir, 'e.arrows.gz'), gzipSync(tableToIPC(t, 'stream')));
  for (const f of ['d.arrow', 'd.arrows', 'e.arrows.gz']) {
    const docs = await read({ paths: f, cwd: dir });
    assert.deepEqual(docs.map((d) => [d.id, d.text]), [[`${f}#0`, 'x0'], [`${f}#1`, 'x1'], [`${f}#2`, 'x2']], f);
  }
});

test('Parquet written by polars (snappy): top-level and struct fields', async () => {
  const expected = ['First parquet document.', 'Second one, with ünïcode ✓.', 'Third.', 'Fourth row in group two.', 'Fifth and last.'];
  const docs = await read({ paths: 'docs.parquet', cwd: FIXTURES, idField: 'id' });
  assert.deepEqual(docs.map((d) => d.text), expected);
  assert.deepEqual(docs.map((d) => d.id), ['p0', 'p1', 'p2', 'p3', 'p4']);
  const nested = await read({ paths: 'docs.parquet', cwd: FIXTURES, textField: 'meta.body' });
  assert.deepEqual(nested.map((d) => d.text), expected.map((t) => t.toUpperCase()));
});

test('a pattern that matches nothing is a clear error', async () => {
  await assert.rejects(read({ paths: 'nope/*.jsonl', cwd: dir }), /no file matches 'nope\/\*\.jsonl'/);
});
