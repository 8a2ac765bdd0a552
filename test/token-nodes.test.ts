// The token-discovery and tokenizer-extension nodes, run directly with a hand-made context (the
// executor is tested elsewhere): discovery combines list, template and mined train documents
// (eval documents stay unseen) and writes its report; extension writes files the Rust tokenizers
// load and emits the artifact; every param is described for `pipe nodes`.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import type { MainContext, MainNodeDef } from '../src/pipeline/node.ts';
import type { Document } from '../src/data/items.ts';
import type { TokenList, TokenizerArtifact } from '../src/tokenizer/items.ts';
import discoveryNode from '../nodes/token-discovery.ts';
import extensionNode from '../nodes/tokenizer-extension.ts';
import { brownDocs, plant, PLANTED } from './fixtures/tokens/corpus.ts';
import { modelDir, rustFromFile } from './fixtures/tokens/oracle.ts';
import { mainContext } from './helpers/context.ts';

const model = modelDir('llama2');
const runDir = mkdtempSync(path.join(os.tmpdir(), 'tok-nodes-'));
after(() => rmSync(runDir, { recursive: true, force: true }));

function context<P>(def: MainNodeDef<any>, raw: unknown, events: unknown[]): MainContext<P> {
  return mainContext<P>(def, raw, {
    runDir,
    events,
    // Same call the pool makes, on this thread (the real pool is covered in token-mining.test.ts).
    runOnPool: async (modulePath, exportName, arg) => (await import(pathToFileURL(modulePath).href))[exportName](arg),
  });
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function only<T>(it: AsyncIterable<unknown> | undefined): Promise<T> {
  const all: unknown[] = [];
  for await (const x of it!) all.push(x);
  assert.equal(all.length, 1, 'a value output yields exactly one item');
  return all[0] as T;
}

const doc = (text: string, i: number, split: 'train' | 'eval'): Document => ({ id: `c:${i}`, text, split, source: { file: 'c', line: i } });

test('token-discovery: list + template + mined train documents, report written', async () => {
  const train = plant(brownDocs(['ca01', 'cb03']), PLANTED, 12).map((t, i) => doc(t, i, 'train'));
  const evalDocs = plant(brownDocs(['cf01']), ['zolpidem'], 30).map((t, i) => doc(t, 1000 + i, 'eval'));
  const events: any[] = [];
  const ctx = context<any>(discoveryNode, { model, tokens: ['<|tool|>', { content: '<|sep|>', special: true }], family: 'chatml', minCount: 10, maxTokens: 20, shardSize: 16, inFlight: 2 }, events);
  const out = await discoveryNode.run({ docs: from([...train, ...evalDocs]) }, ctx);
  const list = await only<TokenList>(out!.tokens);
  const head = list.tokens.slice(0, 4).map((t) => [t.content, t.special, t.origin]);
  assert.deepEqual(head, [
    ['<|tool|>', false, 'list'],
    ['<|sep|>', true, 'list'],
    ['<|im_start|>', true, 'template'],
    ['<|im_end|>', true, 'template'],
  ]);
  const mined = list.tokens.filter((t) => t.origin === 'mined').map((t) => t.word);
  for (const w of PLANTED) assert.ok(mined.includes(w), `${w} mined`);
  assert.ok(!mined.includes('zolpidem'), 'eval documents are not mined');
  const report = JSON.parse(readFileSync(path.join(runDir, 'token-discovery.json'), 'utf8'));
  assert.equal(report.corpus.documents, train.length);
  assert.equal(report.tokens.length, list.tokens.length);
  assert.match(readFileSync(path.join(runDir, 'token-discovery.txt'), 'utf8'), /acetaminophen/);
  assert.ok(events.some((e) => e.type === 'mining' && e.documents === train.length));
});

test('token-discovery without documents (or with mine: false) does not mine', async () => {
  const ctx = context<any>(discoveryNode, { model, tokens: ['alpha'], mine: false, report: 'nomine' }, []);
  const out = await discoveryNode.run({ docs: from([doc('x acetaminophen', 0, 'train')]) }, ctx);
  assert.deepEqual((await only<TokenList>(out!.tokens)).tokens, [{ content: 'alpha', special: false, origin: 'list' }]);
  const out2 = await discoveryNode.run({}, context<any>(discoveryNode, { model, tokens: ['beta'], report: 'nodocs' }, []));
  assert.equal((await only<TokenList>(out2!.tokens)).tokens.length, 1);
  assert.equal(JSON.parse(readFileSync(path.join(runDir, 'nodocs.json'), 'utf8')).corpus, undefined);
});

test('tokenizer-extension: writes tokenizer files the Rust tokenizers load, emits the artifact', async () => {
  const tokens: TokenList = {
    tokens: [...PLANTED.map((content) => ({ content, special: false, origin: 'list' as const })), { content: '<|sep|>', special: true, origin: 'list' }, { content: ' the', special: false, origin: 'list' }],
  };
  const events: any[] = [];
  const out = await extensionNode.run({ tokens: from([tokens]) }, context<any>(extensionNode, { model, mode: 'merge' }, events));
  const artifact = await only<TokenizerArtifact>(out!.tokenizer);
  assert.equal(artifact.baseVocabSize, 32000);
  const file = path.join(runDir, 'tokenizer', 'tokenizer.json');
  assert.ok(existsSync(path.join(runDir, 'tokenizer', 'tokenizer_config.json')));
  const rust = rustFromFile(file);
  artifact.newTokens.forEach((t, i) => assert.equal(rust.tokenToId(t), artifact.newTokenIds[i]));
  const [ids] = await rust.encode(['took acetaminophen'], false);
  assert.equal(ids.length, 2);
  assert.match(readFileSync(path.join(runDir, 'tokenizer-extension.txt'), 'utf8'), /mode merge: vocabulary 32000 -> /);
  // A token the base has already is not added again (issue 21), and the report says so.
  assert.match(readFileSync(path.join(runDir, 'tokenizer-extension.txt'), 'utf8'), new RegExp(`^skipped " the": already in the vocabulary as "▁the" \\(id ${rust.tokenToId('▁the')}\\)$`, 'm'));
  assert.ok(!artifact.newTokens.some((t) => t.endsWith('the')));
  assert.ok(events.some((e) => e.type === 'tokenizer-extension' && e.newIds === artifact.newTokenIds.length));
});

test('every param of both nodes has a description (pipe nodes prints them)', () => {
  for (const def of [discoveryNode, extensionNode]) {
    const shape = (def.params as any).shape as Record<string, { description?: string }>;
    for (const [k, s] of Object.entries(shape)) assert.ok(s.description, `${def.name}.${k} is described`);
  }
});
