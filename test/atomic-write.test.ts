// src/io/atomic.ts: whole contents land under the final name, an existing file is replaced, a
// failed write leaves neither a temp file nor a changed target, and the stream form only
// publishes a committed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAtomicWriteStream, tempPath, writeFileAtomic, writeFileAtomicSync } from '../src/io/atomic.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'tp-atomic-'));
const fresh = (name: string) => {
  const d = path.join(root, name);
  mkdirSync(d);
  return d;
};

test('tempPath: beside the target, pid and random suffix, unique per call', () => {
  const a = tempPath('/x/y/file.json');
  assert.match(a, new RegExp(`^/x/y/file\\.json\\.tmp-${process.pid}-[0-9a-f]{8}$`));
  assert.notEqual(a, tempPath('/x/y/file.json'));
});

test('async: string, bytes and chunk list all write their exact bytes; fsync on or off', async () => {
  const d = fresh('async');
  await writeFileAtomic(path.join(d, 's.txt'), 'héllo\n');
  await writeFileAtomic(path.join(d, 'b.bin'), new Uint8Array([1, 2, 3]), { fsync: false });
  await writeFileAtomic(path.join(d, 'c.bin'), [new Uint8Array([9]), new Uint8Array(0), new Uint8Array([8, 7])]);
  assert.deepEqual(readFileSync(path.join(d, 's.txt')), Buffer.from('héllo\n', 'utf8'));
  assert.deepEqual([...readFileSync(path.join(d, 'b.bin'))], [1, 2, 3]);
  assert.deepEqual([...readFileSync(path.join(d, 'c.bin'))], [9, 8, 7]);
  assert.deepEqual(readdirSync(d).sort(), ['b.bin', 'c.bin', 's.txt']);
});

test('async: a list of more chunks than one gathered write takes (and empty ones) lands whole and in order', async () => {
  const d = fresh('gather');
  // 1300 chunks of 0-6 bytes: three writev groups of up to 512.
  const chunks = Array.from({ length: 1300 }, (_, i) => Uint8Array.from({ length: i % 7 }, (_, j) => (i + j) % 251));
  await writeFileAtomic(path.join(d, 'many.bin'), chunks, { fsync: false });
  assert.deepEqual(readFileSync(path.join(d, 'many.bin')), Buffer.concat(chunks));
  assert.deepEqual(readdirSync(d), ['many.bin']);
});

test('async: replaces an existing file; mkdir creates the folder, without it a missing folder is an error', async () => {
  const d = fresh('replace');
  const f = path.join(d, 'f.json');
  writeFileSync(f, 'old old old old');
  await writeFileAtomic(f, 'new');
  assert.equal(readFileSync(f, 'utf8'), 'new');
  await assert.rejects(writeFileAtomic(path.join(d, 'no', 'f.json'), 'x'), { code: 'ENOENT' });
  await writeFileAtomic(path.join(d, 'a', 'b', 'f.json'), 'x', { mkdir: true });
  assert.equal(readFileSync(path.join(d, 'a', 'b', 'f.json'), 'utf8'), 'x');
});

test('a failed rename removes the temp file and leaves the target as it was', async () => {
  const d = fresh('fail');
  // A non-empty folder cannot be renamed over.
  const target = path.join(d, 'busy');
  mkdirSync(target);
  writeFileSync(path.join(target, 'keep'), 'k');
  await assert.rejects(writeFileAtomic(target, 'x'));
  assert.throws(() => writeFileAtomicSync(target, 'x'));
  assert.deepEqual(readdirSync(d), ['busy']);
  assert.deepEqual(readdirSync(target), ['keep']);
});

test('sync: writes, replaces and creates folders like the async form', () => {
  const d = fresh('sync');
  const f = path.join(d, 'deep', 'f.txt');
  writeFileAtomicSync(f, 'one', { mkdir: true, fsync: false });
  writeFileAtomicSync(f, new Uint8Array([0x74, 0x77, 0x6f]));
  assert.equal(readFileSync(f, 'utf8'), 'two');
  assert.deepEqual(readdirSync(path.dirname(f)), ['f.txt']);
  assert.throws(() => writeFileAtomicSync(path.join(d, 'missing', 'f'), 'x'), { code: 'ENOENT' });
});

test('stream: nothing under the final name until commit; abort leaves nothing', async () => {
  const d = fresh('stream');
  const f = path.join(d, 'sub', 'docs.jsonl');
  const w = createAtomicWriteStream(f, { mkdir: true });
  w.stream.write('a\n');
  w.stream.write('b\n');
  assert.ok(!readdirSync(path.dirname(f)).includes('docs.jsonl'));
  await w.commit();
  assert.equal(readFileSync(f, 'utf8'), 'a\nb\n');

  const g = createAtomicWriteStream(path.join(d, 'sub', 'other.jsonl'));
  g.stream.write('partial\n');
  await g.abort();
  assert.deepEqual(readdirSync(path.dirname(f)), ['docs.jsonl']);
});
