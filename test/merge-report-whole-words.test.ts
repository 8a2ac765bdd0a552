// Merge mode on a tokenizer with ignore_merges (the SmolLM2 shape's cut Llama 3.1 tokenizer of
// tools/random-model.ts): a word that is its own pre-token is looked up whole, so its vocabulary
// entry alone makes it one token and no merge is added. The report says so instead of a bare
// "0 merges" that reads as if nothing happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenizerFor } from '../tools/random-model-tokenizer.ts';
import { SHAPES } from '../tools/random-model-shapes.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { extendTokenizer } from '../src/tokenizer/extend.ts';
import { formatExtension } from '../src/tokenizer/report.ts';

test('SmolLM2-shape tokenizer: 0 merges, and the report says each word was looked up whole', () => {
  const t = tokenizerFor(SHAPES['smollm2-135m'].tokenizer);
  const base = loadTokenizer({ tokenizerJson: t.tokenizerJson, tokenizerConfig: t.tokenizerConfig, source: 'smollm2-135m' });
  const words = ['acetaminophen', 'zintrapolate'];
  const { report, artifact } = extendTokenizer(base, words.map((content) => ({ content, special: false, origin: 'list' as const })), { mode: 'merge' });
  const ext = loadTokenizer(artifact);
  for (const w of words) assert.equal(ext.encode(` ${w}`, { addSpecialTokens: false }).length, 1, `' ${w}' is one token`);
  assert.equal(report.mergesAdded, 0);
  const text = formatExtension(report);
  assert.match(text.split('\n')[0], /, 0 merges \(2 words need no merge: this tokenizer looks a pre-token up whole in its vocabulary \(ignore_merges\)/);
  for (const w of words) assert.match(text, new RegExp(`"Ġ${w}".* vocab .*no merge needed: looked up whole \\(ignore_merges\\)`));
});
