// Merge mode on a hand-made BPE tokenizer: which rows and merges a word needs, the case where a
// base merge fires on a span our merges create, ignore_merges without a pre-tokenizer, the merge
// format of the file, and words merges cannot build. Expected values are worked out by hand from
// the tiny vocabulary; the Rust tokenizers check the encodings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TokenCandidate } from '../src/tokenizer/items.ts';
import { LoadedTokenizer } from '../src/tokenizer/load.ts';
import { extendTokenizer } from '../src/tokenizer/extend.ts';
import { tinyTokenizer, type TinyOptions } from './fixtures/tokens/tiny.ts';
import { rustFromJson } from './fixtures/tokens/oracle.ts';

const word = (content: string): TokenCandidate => ({ content, special: false, origin: 'list' });
const tiny = (o: TinyOptions) => new LoadedTokenizer({ tokenizerJson: tinyTokenizer(o), tokenizerConfig: {} });
const EXTRA = ['▁p', 'qr', '▁pqr', 'qrs'];

async function sameInRust(ext: LoadedTokenizer, texts: string[]): Promise<number[][]> {
  const got = texts.map((t) => Array.from(ext.encode(t, { addSpecialTokens: false })));
  assert.deepEqual(got, await rustFromJson(ext.tokenizerJson).encode(texts, false));
  return got;
}

test('a word reuses existing spans: one new row, two merges, one token in running text', async () => {
  // Base pieces of ▁pqrs are [▁p, q, r, s]; qr and ▁pqr exist, so only ▁pqrs is new.
  const base = tiny({ merges: ['▁ p', '▁p qr', 'qr s'], extra: EXTRA });
  assert.deepEqual(base.bpeSymbols('▁pqrs'), ['▁p', 'q', 'r', 's']);
  const { artifact, report } = extendTokenizer(base, [word('pqrs')], { mode: 'merge' });
  assert.deepEqual(artifact.newTokens, ['▁pqrs']);
  assert.deepEqual(artifact.newTokenIds, [base.vocabSize]);
  assert.deepEqual((artifact.tokenizerJson.model as { merges: unknown[] }).merges.slice(3), ['q r', '▁pqr s']);
  assert.equal(report.mergesAdded, 2);
  const ext = new LoadedTokenizer(artifact);
  assert.deepEqual(await sameInRust(ext, ['pqrs pqrs']), [[base.vocabSize, base.vocabSize]]);
});

test('a base merge that fires on a created span is followed, and the word still ends as one token', async () => {
  // 'qr s' now ranks before '▁p qr': after our (q, r), BPE makes [▁p, qrs], not [▁pqr, s].
  const base = tiny({ merges: ['▁ p', 'qr s', '▁p qr'], extra: EXTRA });
  const { artifact } = extendTokenizer(base, [word('pqrs')], { mode: 'merge' });
  assert.deepEqual((artifact.tokenizerJson.model as { merges: unknown[] }).merges.slice(3), ['q r', '▁p qrs']);
  const ext = new LoadedTokenizer(artifact);
  assert.deepEqual(await sameInRust(ext, ['pqrs']), [[base.vocabSize]]);
});

test('intermediate spans get rows of their own and are reported', async () => {
  const base = tiny({ merges: ['▁ p'], extra: ['▁p'] });
  const { artifact, report } = extendTokenizer(base, [word('pqrs')], { mode: 'merge' });
  // Nothing to reuse: left-deep ▁pq, ▁pqr, then the word.
  assert.deepEqual(artifact.newTokens, ['▁pq', '▁pqr', '▁pqrs']);
  assert.deepEqual(report.added.map((e) => e.kind), ['intermediate', 'intermediate', 'vocab']);
  assert.deepEqual(report.added.map((e) => e.text), [' pq', ' pqr', ' pqrs']);
  const ext = new LoadedTokenizer(artifact);
  const v = base.vocabSize;
  // The intermediate merges also shorten other words: ' pqq' keeps ▁pq + q.
  assert.deepEqual(await sameInRust(ext, ['pqrs', 'pqq']), [[v + 2], [v, base.tokenToId('q')!]]);
});

test('ignore_merges without a pre-tokenizer still plans merges (BPE sees whole sections, not words)', async () => {
  const base = tiny({ merges: ['▁ p'], extra: ['▁p'], ignoreMerges: true });
  const { artifact, report } = extendTokenizer(base, [word('pqrs')], { mode: 'merge' });
  assert.ok(report.mergesAdded > 0);
  const ext = new LoadedTokenizer(artifact);
  const [ids] = await sameInRust(ext, ['x pqrs x']);
  assert.ok(ids.includes(ext.tokenToId('▁pqrs')!), 'the word is one token inside running text');
});

test('merges keep the file format: [a, b] pairs stay pairs', () => {
  const base = tiny({ merges: ['▁ p'], extra: ['▁p'], pairs: true });
  const { artifact } = extendTokenizer(base, [word('pq')], { mode: 'merge' });
  assert.deepEqual((artifact.tokenizerJson.model as { merges: unknown[] }).merges, [['▁', 'p'], ['▁p', 'q']]);
});

test('unmergeable words fall back to added tokens (or are skipped); existing ones are skipped', () => {
  const base = tiny({ merges: ['▁ p'], extra: ['▁p', '▁pq'] });
  const tokens = [word('pz'), word('pq')]; // 'z' is not in the vocabulary (no byte fallback)
  const { artifact, report } = extendTokenizer(base, tokens, { mode: 'merge' });
  assert.deepEqual(artifact.newTokens, ['pz']);
  assert.equal(report.added[0].kind, 'added');
  assert.match(report.added[0].note!, /outside the vocabulary/);
  assert.deepEqual(report.skipped, [{ content: 'pq', reason: 'already in the vocabulary as "▁pq"', id: base.tokenToId('▁pq') }]);
  const skip = extendTokenizer(base, tokens, { mode: 'merge', unmergeable: 'skip' });
  assert.deepEqual(skip.artifact.newTokens, []);
  assert.match(skip.report.skipped[0].reason, /^not mergeable/);
});
