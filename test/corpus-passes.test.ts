// Deterministic train/eval split, seeded shuffle buffer, and reading the corpus more than
// once: every iterator is a full pass; with cache: true later passes replay a run-local copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import corpusReader from '../nodes/corpus-reader.ts';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import type { MainContext } from '../src/pipeline/node.ts';
import type { Document } from '../src/data/items.ts';
import { mainContext } from './helpers/context.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tp-passes-'));
const N = 1000;
// Every 10th text repeats an earlier one: duplicates must share a split.
const texts = Array.from({ length: N }, (_, i) => (i % 10 === 9 ? `doc ${i - 9}` : `doc ${i}`));
writeFileSync(path.join(dir, 'c.jsonl'), texts.map((t) => JSON.stringify({ text: t })).join('\n'));

async function read(params: Record<string, unknown>, seed = 0): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of readCorpus(CorpusParams.parse({ paths: 'c.jsonl', cwd: dir, ...params }), { seed })) out.push(d);
  return out;
}

test('split: deterministic, close to evalFraction, duplicates on one side, seed-dependent', async () => {
  const a = await read({ evalFraction: 0.3 });
  const b = await read({ evalFraction: 0.3 });
  assert.deepEqual(a.map((d) => d.split), b.map((d) => d.split));
  const evalShare = a.filter((d) => d.split === 'eval').length / N;
  assert.ok(evalShare > 0.25 && evalShare < 0.35, `eval share ${evalShare}`);
  const byText = new Map<string, Set<string>>();
  for (const d of a) byText.set(d.text, (byText.get(d.text) ?? new Set()).add(d.split));
  for (const [t, s] of byText) assert.equal(s.size, 1, `duplicate '${t}' in both splits`);
  const other = await read({ evalFraction: 0.3 }, 99);
  assert.notDeepEqual(a.map((d) => d.split), other.map((d) => d.split));
  assert.ok((await read({ evalFraction: 0 })).every((d) => d.split === 'train'));
});

test('shuffle buffer: a seeded permutation of the input', async () => {
  const plain = await read({});
  const s1 = await read({ shuffleBuffer: 64, seed: 5 });
  const s2 = await read({ shuffleBuffer: 64, seed: 5 });
  const s3 = await read({ shuffleBuffer: 64, seed: 6 });
  assert.deepEqual(s1.map((d) => d.id), s2.map((d) => d.id));
  assert.notDeepEqual(s1.map((d) => d.id), plain.map((d) => d.id));
  assert.notDeepEqual(s1.map((d) => d.id), s3.map((d) => d.id));
  assert.deepEqual(s1.map((d) => d.id).sort(), plain.map((d) => d.id).sort());
});

function ctx(params: Record<string, unknown>, events: Array<Record<string, unknown>>): MainContext<any> {
  return mainContext(corpusReader, params, { name: 'reader', runDir: mkdtempSync(path.join(dir, 'run-')), events, seed: 3, reject: () => {} });
}

async function drain(it: AsyncIterable<unknown>, limit = Infinity): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of it) {
    out.push(d as Document);
    if (out.length >= limit) break;
  }
  return out;
}

test('the docs output can be read twice, concurrently too', async () => {
  const out = corpusReader.run({}, ctx({ paths: 'c.jsonl', cwd: dir, evalFraction: 0.2 }, [])) as Record<string, AsyncIterable<unknown>>;
  const [x, y] = await Promise.all([drain(out.docs), drain(out.docs)]);
  assert.equal(x.length, N);
  assert.deepEqual(x, y);
  const fp = await drain(out.fingerprint);
  assert.equal(fp.length, 1);
  assert.match((fp[0] as unknown as { hash: string }).hash, /^[0-9a-f]{64}$/);
});

test('cache: true replays the first complete pass without touching the sources', async () => {
  const src = path.join(dir, 'once.jsonl');
  writeFileSync(src, texts.slice(0, 50).map((t) => JSON.stringify({ text: t })).join('\n'));
  const events: Array<Record<string, unknown>> = [];
  const out = corpusReader.run({}, ctx({ paths: 'once.jsonl', cwd: dir, cache: true, shuffleBuffer: 8 }, events)) as Record<string, AsyncIterable<unknown>>;
  // An abandoned pass must not leave a cache behind.
  assert.equal((await drain(out.docs, 5)).length, 5);
  const first = await drain(out.docs);
  rmSync(src);
  const second = await drain(out.docs);
  assert.equal(first.length, 50);
  assert.deepEqual(second, first);
  assert.deepEqual(events.filter((e) => e.type === 'corpus-pass').map((e) => e.replay), [false, false, true]);
});

test('cache: true in a run folder resumed after the corpus changed reads the new files, not the old copy', async () => {
  const src = path.join(dir, 'changes.jsonl');
  const write = (n: number) => writeFileSync(src, texts.slice(0, n).map((t) => JSON.stringify({ text: t })).join('\n'));
  const runDir = mkdtempSync(path.join(dir, 'run-'));
  const leg = (events: Array<Record<string, unknown>>) =>
    corpusReader.run({}, mainContext(corpusReader, { paths: 'changes.jsonl', cwd: dir, cache: true }, { name: 'reader', runDir, events, seed: 3, reject: () => {} })) as Record<string, AsyncIterable<unknown>>;
  write(20);
  const first = leg([]);
  assert.equal((await drain(first.docs)).length, 20);
  assert.equal((await drain(first.docs)).length, 20, 'replayed within the leg');
  write(30);
  const events: Array<Record<string, unknown>> = [];
  assert.equal((await drain(leg(events).docs)).length, 30);
  assert.deepEqual(events.filter((e) => e.type === 'corpus-pass').map((e) => e.replay), [false]);
});
