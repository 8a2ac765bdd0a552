// Corpus mining (Llama 2 tokenizer, Brown text with planted drug names): the planted terms are
// found with their planted counts and the piece counts the Rust tokenizer gives; the result is the
// same with one shard on this thread and with a real 2-thread Piscina pool over shards of other
// sizes and orders; case folding, exclusions and multi-word units behave as documented.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { after, test } from 'node:test';
import { Piscina } from 'piscina';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { countShard, MinedCounts, selectMined, shards, type ShardCounts } from '../src/tokenizer/mine.ts';
import { MINE_WORKER, type CountShardTask } from '../src/tokenizer/mine-worker.ts';
import { groupByWord } from '../src/tokenizer/forms.ts';
import type { TokenCandidate } from '../src/tokenizer/items.ts';
import { brownDocs, plant, PLANTED } from './fixtures/tokens/corpus.ts';
import { modelDir, rustFromFile } from './fixtures/tokens/oracle.ts';

const dir = modelDir('llama2');
const tok = loadTokenizer(dir);
const TIMES = 25;
const docs = plant(brownDocs(['ca01', 'ca02', 'cb01', 'cg01']), [...PLANTED, 'New York'], TIMES);
const count = (texts: string[], maxWords = 1) => new MinedCounts().add(countShard(tok, texts, { maxWords, minPieces: 2 }));

test('planted terms are found with their planted counts and the Rust tokenizer piece counts', async () => {
  const counts = count(docs);
  const mined = selectMined(counts, { minCount: 10, maxTokens: 40 });
  const rust = rustFromFile(path.join(dir, 'tokenizer.json'));
  for (const w of PLANTED) {
    const c = mined.find((x) => x.content === ' ' + w);
    assert.ok(c, `${w} is mined`);
    assert.equal(c.count, TIMES, `${w}: planted ${TIMES} times after a space, absent from Brown`);
    const [withWord, without] = await rust.encode([`x ${w}`, 'x'], false);
    assert.equal(c.pieces, withWord.length - without.length, `${w}: pieces`);
    assert.equal(c.saved, c.count! * (c.pieces! - 1));
    assert.equal(c.origin, 'mined');
  }
  for (const c of mined) assert.ok(c.count! >= 10 && c.pieces! >= 2);
  // Best first (tokens saved, then count, then the string), the forms of a word together: words in
  // the order of their best form, forms in order within their word.
  const before = (a: TokenCandidate, b: TokenCandidate) => a.saved! > b.saved! || (a.saved === b.saved && (a.count! > b.count! || (a.count === b.count && a.content < b.content)));
  const groups = groupByWord(mined, (c) => c.word!);
  assert.deepEqual(groups.flatMap((g) => g.items), mined, 'forms of a word are adjacent');
  groups.forEach((g, i) => {
    g.items.forEach((c, k) => k > 0 && assert.ok(before(g.items[k - 1], c), `order in ${g.word}`));
    if (i > 0) assert.ok(before(groups[i - 1].items[0], g.items[0]), `order of words at ${g.word}`);
  });
  // The "before" of the compression figure is what the Rust tokenizer gives the corpus (no BOS).
  const ids = await rust.encode(docs, false);
  assert.equal(counts.tokens, ids.reduce((s, x) => s + x.length, 0));
  assert.equal(counts.documents, docs.length);
});

const pool = new Piscina({ filename: fileURLToPath(new URL('./fixtures/tokens/pool-call.mjs', import.meta.url)), minThreads: 2, maxThreads: 2 });
after(() => pool.destroy());

test('same list from one shard here and from 2 pool threads over other shard sizes and orders', async () => {
  const opts = { minCount: 3, maxTokens: 60, maxWords: 2 };
  const one = selectMined(count(docs, 2), opts);
  assert.ok(one.some((c) => c.content === ' New York'));
  for (const [size, reversed] of [[7, false], [50, true]] as const) {
    const parts = [...shards(docs, size)];
    if (reversed) parts.reverse();
    const results = await Promise.all(
      parts.map((texts) => {
        const arg: CountShardTask = { tokenizerDir: dir, texts, maxWords: 2, minPieces: 2 };
        return pool.run({ modulePath: MINE_WORKER, exportName: 'countShardTask', arg }) as Promise<ShardCounts>;
      }),
    );
    const acc = new MinedCounts();
    for (const r of reversed ? results : [...results].reverse()) acc.add(r);
    assert.deepEqual(selectMined(acc, opts), one, `shards of ${size}${reversed ? ', reversed' : ''}`);
    assert.equal(acc.documents, docs.length);
  }
  assert.ok(pool.threads.length === 2);
});

test("case 'fold' keeps the most frequent spelling with its own count; 'keep' keeps both", () => {
  const texts = ['We gave Aspirin twice.', 'Then aspirin, aspirin and aspirin.', 'More Aspirin or aspirin'];
  const keep = selectMined(count(texts), { minCount: 1 }).filter((c) => /aspirin/i.test(c.content));
  assert.deepEqual(keep.map((c) => [c.content, c.count]).sort(), [[' Aspirin', 2], [' aspirin', 4]]);
  const fold = selectMined(count(texts), { minCount: 1, case: 'fold' }).filter((c) => /aspirin/i.test(c.content));
  assert.deepEqual(fold.map((c) => [c.content, c.count]), [[' aspirin', 4]]);
});

test('exclusions take exact strings and /regex/flags; minCount and maxTokens cut the list', () => {
  const counts = count(docs);
  const all = selectMined(counts, { minCount: 10, maxTokens: 100 });
  assert.ok(all.some((c) => c.content === ' ibuprofen') && all.some((c) => c.content === ' omeprazole'));
  const ex = selectMined(counts, { minCount: 10, maxTokens: 100, exclude: ['ibuprofen', '/^OME/i'] });
  assert.ok(!ex.some((c) => c.word === 'ibuprofen' || c.word === 'omeprazole'));
  assert.equal(ex.length, all.length - 2);
  assert.deepEqual(selectMined(counts, { minCount: 10, maxTokens: 3 }), all.slice(0, 3));
  assert.ok(selectMined(counts, { minCount: TIMES + 1, maxTokens: 100 }).every((c) => c.count! > TIMES));
});

test('units are word pre-tokens in the form the tokenizer splits them: glued to digits they are not counted', () => {
  const counts = count(['x (acetaminophen) 12345acetaminophen acetaminophen', 'acetaminophen at a text start', 'x acetaminophen.', 'x\nacetaminophen']);
  assert.deepEqual([...counts.units.keys()].filter((u) => u.includes('acetaminophen')).sort(), [' acetaminophen', 'acetaminophen']);
  // Llama 2's normalizer prepends '▁' to every text, so a text-initial word takes the form after a space.
  assert.equal(counts.units.get(' acetaminophen')![0], 3);
  // Without a pre-tokenizer BPE sees '(' then the word without '▁', and after '\n' the same form.
  assert.equal(counts.units.get('acetaminophen')![0], 2);
});
