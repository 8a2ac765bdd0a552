// token-discovery.txt / .json group the mined forms of a word under it, with counts per form
// (issue 23): a word that starts replies, starts sentences and occurs mid-sentence shows one line
// for the word and one per form, on the fixture base tokenizer (byte-level, small, fast to load).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { countShard, MinedCounts, MiningOptions } from '../src/tokenizer/mine.ts';
import { discover } from '../src/tokenizer/discover.ts';
import { discoveryReport, formatDiscovery } from '../src/tokenizer/report.ts';
import { chatml } from './fixtures/tokens/chats.ts';

const base = loadTokenizer(fileURLToPath(new URL('../fixtures/base', import.meta.url)));

test('mined forms are listed under their word, with the count of each form and the word total', () => {
  const chats = [
    ...Array.from({ length: 6 }, () => chatml('Why?', 'Zintrapolate it. Zintrapolate twice, then zintrapolate again.')),
    ...Array.from({ length: 2 }, () => chatml('And?', 'we zintrapolate more')),
  ];
  const options = MiningOptions.parse({ minCount: 5, maxTokens: 10, minPieces: 3 });
  const counts = new MinedCounts().add(countShard(base, chats, options));
  const combined = discover({ mined: { counts, options } });
  const report = discoveryReport(combined, counts, options);
  const w = report.words.find((x) => x.word === 'zintrapolate')!;
  assert.deepEqual(
    w.forms.map((f) => [f.form, f.count]).sort(),
    [[' Zintrapolate', 6], [' zintrapolate', 8], ['Zintrapolate', 6]],
  );
  assert.equal(w.count, 20);
  assert.equal(w.saved, w.forms.reduce((a, f) => a + f.saved, 0));
  for (const f of w.forms) assert.equal(f.saved, f.count * (f.pieces - 1));
  const lines = formatDiscovery(report).split('\n');
  const at = lines.findIndex((l) => l.startsWith('zintrapolate (3 forms)'));
  assert.ok(at > 0, lines.join('\n'));
  assert.match(lines[at], /^zintrapolate \(3 forms\)\s+word\s+20\s+\d+$/);
  const forms = lines.slice(at + 1, at + 4);
  for (const l of forms) assert.match(l, /^ {2}"( ?[Zz]intrapolate)"\s+mined\s+no\s+\d+\s+\d+\s+\d+$/);
  assert.deepEqual(forms.map((l) => JSON.parse(l.trim().split(/\s{2,}/)[0])).sort(), [' Zintrapolate', ' zintrapolate', 'Zintrapolate']);
});
