// New-row initialisation on plain arrays: subtoken-mean uses the rows of the pieces the base
// tokenizer gives (checked against the Rust tokenizer's ids), for merge-mode words with their
// leading space; mean / zero / random / copy:<token>; the untied head; errors; the init report.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { TokenCandidate } from '../src/tokenizer/items.ts';
import { TokenInitInvalid } from '../src/errors.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { extendTokenizer } from '../src/tokenizer/extend.ts';
import { initNewRows, initReport, newTokensOf, type NewToken } from '../src/tokenizer/init.ts';
import { formatInit } from '../src/tokenizer/report.ts';
import { modelDir, rustFromFile } from './fixtures/tokens/oracle.ts';

const dir = modelDir('llama2');
const base = loadTokenizer(dir);
const rust = rustFromFile(path.join(dir, 'tokenizer.json'));
const V = 32000;
const D = 3;
// [V, D]: distinct, easy-to-average rows.
const embed = new Float32Array(V * D).map((_, k) => [Math.floor(k / D), Math.floor(k / D) % 13, 1][k % D]);
const head = new Float32Array(V * D).map((_, k) => [-Math.floor(k / D), 2, Math.floor(k / D) % 5][k % D]);
const tokens: TokenCandidate[] = [
  { content: 'acetaminophen', special: false, origin: 'list' },
  { content: '<|tool|>', special: true, origin: 'list' },
];
const { artifact } = extendTokenizer(base, tokens, { mode: 'merge' });
const news = newTokensOf(artifact);

function meanOf(W: Float32Array, ids: number[]): number[] {
  return [0, 1, 2].map((d) => ids.reduce((s, id) => s + W[id * D + d], 0) / ids.length);
}
const rowsOf = (a: Float32Array) => Array.from({ length: a.length / D }, (_, i) => Array.from(a.subarray(i * D, i * D + D)));
const close = (a: number[][], b: number[][]) => a.forEach((r, i) => r.forEach((x, d) => assert.ok(Math.abs(x - b[i][d]) < 1e-3, `row ${i} dim ${d}: ${x} vs ${b[i][d]}`)));

test('new tokens of a merge-mode artifact: BPE entries (the word and its intermediates) and added tokens', () => {
  assert.deepEqual(news.at(-1), { token: '<|tool|>', id: artifact.newTokenIds.at(-1), kind: 'added' });
  assert.ok(news.some((t) => t.token === '▁acetaminophen' && t.kind === 'vocab'));
  assert.deepEqual(news.map((t) => t.id), artifact.newTokenIds);
});

test('subtoken-mean averages the rows of the pieces the base tokenizer gives, leading space included', async () => {
  const { embedRows, headRows, sources } = initNewRows({ embed, head, D, baseTokenizer: base, newTokens: news });
  // The Rust tokenizer encodes the text a new token stands for; Llama 2 prepends the '▁' itself.
  const texts = news.map((t) => (t.kind === 'vocab' ? t.token.replace(/^▁/, '') : t.token));
  const want = await rust.encode(texts, false);
  assert.deepEqual(sources, want);
  assert.ok(want[news.findIndex((t) => t.token === '▁acetaminophen')].length >= 4);
  close(rowsOf(embedRows), want.map((ids) => meanOf(embed, ids)));
  close(rowsOf(headRows!), want.map((ids) => meanOf(head, ids)));
});

test('mean, zero and copy:<token>', () => {
  const all = Array.from({ length: V }, (_, i) => i);
  const mean = initNewRows({ embed, D, baseTokenizer: base, newTokens: news, method: 'mean' });
  close(rowsOf(mean.embedRows), news.map(() => meanOf(embed, all)));
  const zero = initNewRows({ embed, head, D, baseTokenizer: base, newTokens: news, method: 'zero' });
  assert.ok(zero.embedRows.every((x) => x === 0) && zero.headRows!.every((x) => x === 0));
  const the = rust.tokenToId('▁the')!;
  const copy = initNewRows({ embed, head, D, baseTokenizer: base, newTokens: news, method: 'copy:▁the' });
  close(rowsOf(copy.embedRows), news.map(() => meanOf(embed, [the])));
  close(rowsOf(copy.headRows!), news.map(() => meanOf(head, [the])));
  assert.throws(() => initNewRows({ embed, D, baseTokenizer: base, newTokens: news, method: 'copy:New York' }), TokenInitInvalid);
});

test('random: seeded N(0, initializer_range)', () => {
  const many: NewToken[] = Array.from({ length: 4000 }, (_, i) => ({ id: V + i, token: 'x', kind: 'added' }));
  const a = initNewRows({ embed, D, baseTokenizer: base, newTokens: many, method: 'random', seed: 5, initializerRange: 0.02 }).embedRows;
  const b = initNewRows({ embed, D, baseTokenizer: base, newTokens: many, method: 'random', seed: 5, initializerRange: 0.02 }).embedRows;
  const c = initNewRows({ embed, D, baseTokenizer: base, newTokens: many, method: 'random', seed: 6, initializerRange: 0.02 }).embedRows;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const mu = a.reduce((s, x) => s + x, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, x) => s + (x - mu) ** 2, 0) / a.length);
  assert.ok(Math.abs(mu) < 0.001, `mean ${mu}`);
  assert.ok(Math.abs(sd - 0.02) < 0.001, `std ${sd}`);
});

test('bad method or shapes give TokenInitInvalid', () => {
  assert.throws(() => initNewRows({ embed, D, baseTokenizer: base, newTokens: news, method: 'avg' }), /unknown init method 'avg'/);
  assert.throws(() => initNewRows({ embed: new Float32Array(10), D, baseTokenizer: base, newTokens: news }), TokenInitInvalid);
  assert.throws(() => initNewRows({ embed, head: new Float32Array(6), D, baseTokenizer: base, newTokens: news }), TokenInitInvalid);
});

test('the init report carries the loss the model hook gives per new id', async () => {
  const rows = initNewRows({ embed, D, baseTokenizer: base, newTokens: news });
  const seen: number[][] = [];
  const report = await initReport(base, news, rows, D, async (ids) => {
    seen.push(ids);
    return new Map([[ids[0], { loss: 7.25, positions: 3 }]]);
  });
  assert.deepEqual(seen, [news.map((t) => t.id)]);
  assert.equal(report.tokens[0].loss, 7.25);
  assert.equal(report.tokens[0].positions, 3);
  assert.equal(report.tokens[1].loss, undefined);
  const word = report.tokens.find((t) => t.token === '▁acetaminophen')!;
  assert.equal(word.text, ' acetaminophen');
  assert.equal(word.sourceTokens.join(''), '▁acetaminophen');
  const norm = Math.hypot(...meanOf(embed, word.sources));
  assert.ok(Math.abs(word.norm - norm) < 1e-3);
  assert.match(formatInit(report), /init subtoken-mean[\s\S]*" acetaminophen"/);
});
