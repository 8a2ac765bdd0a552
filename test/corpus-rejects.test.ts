// Malformed records (bad JSON, invalid UTF-8, missing text field) are reported with
// file:line, written to the rejects file, and reading goes on; strict mode stops with the
// same message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import corpusReader from '../nodes/corpus-reader.ts';
import { CorpusRecordInvalid } from '../src/errors.ts';
import type { MainContext } from '../src/pipeline/node.ts';
import type { Document } from '../src/data/items.ts';
import { mainContext } from './helpers/context.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tp-rejects-'));
const good = (t: string) => Buffer.from(JSON.stringify({ text: t }) + '\n');
writeFileSync(
  path.join(dir, 'bad.jsonl'),
  Buffer.concat([
    good('one'), // 1
    Buffer.from('{"text": "unterminated\n'), // 2: bad JSON
    Buffer.from('{"text": "caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n'), // 3: invalid UTF-8 (0xC3 0x28)
    good('two'), // 4
    Buffer.from(JSON.stringify({ body: 'no text here' }) + '\n'), // 5: missing field
    Buffer.from(JSON.stringify({ text: 42 }) + '\n'), // 6: not a string
    good('three'), // 7
  ]),
);

function ctx(params: Record<string, unknown>, events: Array<Record<string, unknown>>): MainContext<any> {
  const runDir = mkdtempSync(path.join(dir, 'run-'));
  return mainContext(corpusReader, params, { name: 'reader', runDir, events, reject: () => assert.fail('the reader keeps its own rejects file') });
}

async function drain(it: AsyncIterable<unknown>): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of it) out.push(d as Document);
  return out;
}

const EXPECTED = [
  /^bad\.jsonl:2: invalid JSON/,
  /^bad\.jsonl:3: invalid UTF-8$/,
  /^bad\.jsonl:5: missing text field 'text'$/,
  /^bad\.jsonl:6: text field 'text' is a number, not a string$/,
];

test('malformed lines are reported with file:line and reading goes on', async () => {
  const events: Array<Record<string, unknown>> = [];
  const c = ctx({ paths: 'bad.jsonl', cwd: dir }, events);
  const out = corpusReader.run({}, c) as Record<string, AsyncIterable<unknown>>;
  const docs = await drain(out.docs);
  assert.deepEqual(docs.map((d) => d.text), ['one', 'two', 'three']);
  assert.deepEqual(docs.map((d) => d.id), ['bad.jsonl:1', 'bad.jsonl:4', 'bad.jsonl:7']);
  const messages = events.filter((e) => e.type === 'reject').map((e) => String(e.message));
  assert.equal(messages.length, EXPECTED.length);
  messages.forEach((m, i) => assert.match(m, EXPECTED[i]));
  const summary = events.find((e) => e.type === 'corpus-summary')!;
  assert.equal(summary.rejected, 4);
  assert.equal(summary.documents, 3);
  const rejects = readFileSync(path.join(c.runDir, 'rejects', 'reader.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rejects.map((r) => r.line), [2, 3, 5, 6]);
  assert.equal(rejects[0].raw, '{"text": "unterminated');
  // A second pass reads again but does not report the same rejects twice.
  assert.equal((await drain(out.docs)).length, 3);
  assert.equal(readFileSync(path.join(c.runDir, 'rejects', 'reader.jsonl'), 'utf8').trim().split('\n').length, 4);
});

test('strict mode stops at the first malformed line with the same message', async () => {
  const c = ctx({ paths: 'bad.jsonl', cwd: dir, strict: true }, []);
  const out = corpusReader.run({}, c) as Record<string, AsyncIterable<unknown>>;
  await assert.rejects(drain(out.docs), (e: unknown) => {
    assert.ok(e instanceof CorpusRecordInvalid);
    assert.match(e.message, EXPECTED[0]);
    assert.equal(e.where, 'bad.jsonl:2');
    return true;
  });
});

test('strict mode names invalid UTF-8 and a missing field the same way', async () => {
  for (const [i, body] of [
    [1, Buffer.concat([good('ok'), Buffer.from('{"text": "caf'), Buffer.from([0xff]), Buffer.from('"}\n')])],
    [2, Buffer.concat([good('ok'), Buffer.from('{"other": 1}\n')])],
  ] as const) {
    writeFileSync(path.join(dir, 'one.jsonl'), body);
    const c = ctx({ paths: 'one.jsonl', cwd: dir, strict: true }, []);
    const out = corpusReader.run({}, c) as Record<string, AsyncIterable<unknown>>;
    await assert.rejects(drain(out.docs), (e: Error) => {
      assert.match(e.message, i === 1 ? /^one\.jsonl:2: invalid UTF-8$/ : /^one\.jsonl:2: missing text field 'text'$/);
      return true;
    });
  }
});
