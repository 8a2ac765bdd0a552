// A form without the leading space whose form after a space is already one base token (issue 23
// with issue 21): SentencePiece added mode builds it by merges instead of an added token that
// would duplicate '▁Paris'; byte-level added mode skips it with a note (an added 'X' would also
// match inside ' X' and split that existing token), merge mode adds it. The shared id of a
// SentencePiece form pair ('Zintrapolate' after '\n' and after a space) is one token in both places.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import type { TokenCandidate } from '../src/tokenizer/items.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { extendTokenizer, writeTokenizerFiles } from '../src/tokenizer/extend.ts';
import { modelDir, rustFromFile } from './fixtures/tokens/oracle.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tok-forms-existing-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const form = (content: string): TokenCandidate => ({ content, special: false, origin: 'mined', form: true, word: content.trim().toLowerCase() });
const ids = (t: { encode(s: string, o: { addSpecialTokens: boolean }): Int32Array }, s: string) => Array.from(t.encode(s, { addSpecialTokens: false }));

test('Llama 2 added mode: a line-initial form shares its added token id, or is built by merges when ▁X exists', async () => {
  const base = loadTokenizer(modelDir('llama2'));
  assert.ok(base.tokenToId('▁Paris') !== undefined && base.tokenToId('Paris') === undefined);
  const { artifact, report } = extendTokenizer(base, [form(' Zintrapolate'), form('Zintrapolate'), form('Paris'), form(' Paris')], { mode: 'added' });
  const js = loadTokenizer(artifact);
  const rust = rustFromFile(writeTokenizerFiles(tmp, artifact).tokenizerJson);
  assert.deepEqual(report.skipped.map((s) => [s.content, s.id]), [[' Paris', base.tokenToId('▁Paris')]]);
  const paris = report.added.find((e) => e.token === 'Paris')!;
  assert.equal(paris.kind, 'vocab');
  const zin = report.added.find((e) => e.token === 'Zintrapolate')!;
  assert.equal(zin.kind, 'added');
  const texts = ['Hi\nParis is', 'Hi Paris is', 'Hi\nZintrapolate is', 'Hi. Zintrapolate is'];
  const want = await rust.encode(texts, false);
  texts.forEach((t, i) => assert.deepEqual(ids(js, t), want[i], t));
  assert.ok(want[0].includes(paris.id) && !want[1].includes(paris.id) && want[1].includes(base.tokenToId('▁Paris')!));
  assert.ok(want[2].includes(zin.id) && want[3].includes(zin.id), 'one id for the form after a newline and after a space');
  assert.equal(want[2].length, ids(base, 'Hi\nThe is').length);
});

test('byte-level added mode skips X when " X" is one base token; merge mode adds it', async () => {
  const base = loadTokenizer(fileURLToPath(new URL('../fixtures/base', import.meta.url)));
  // A word whose form after a space is one token and whose bare form is not.
  const word = Object.keys(base.tokenizerJson.model.vocab)
    .filter((t) => /^Ġ[A-Z][a-z]{4,}$/.test(t) && base.tokenToId(t.slice(1)) === undefined)
    .sort()[0]
    .slice(1);
  const added = extendTokenizer(base, [form(word)], { mode: 'added' });
  assert.deepEqual(added.artifact.newTokens, []);
  assert.match(added.report.skipped[0].reason, new RegExp(`an added token would also split " ${word}", already one token "Ġ${word}"`));
  const merged = extendTokenizer(base, [form(word)], { mode: 'merge' });
  assert.ok(merged.artifact.newTokens.includes(word));
  const js = loadTokenizer(merged.artifact);
  const [nl, sp] = await rustFromFile(writeTokenizerFiles(path.join(tmp, 'bl'), merged.artifact).tokenizerJson).encode([`a\n${word} b`, `a ${word} b`], false);
  assert.deepEqual(ids(js, `a\n${word} b`), nl);
  assert.equal(nl.length, 4, `${word} after a newline is one token`);
  assert.deepEqual(sp, ids(base, `a ${word} b`), 'the form after a space is untouched');
  // Issue 21 on the fixture: " the" was given id 4096 and every " the" then encoded as that new id.
  for (const mode of ['added', 'merge'] as const) {
    const the = extendTokenizer(base, [{ content: ' the', special: false, origin: 'list' }], { mode });
    assert.deepEqual(the.artifact.newTokens, [], mode);
    assert.deepEqual(the.report.skipped, [{ content: ' the', reason: 'already in the vocabulary as "Ġthe"', id: base.tokenToId('Ġthe') }]);
  }
});
