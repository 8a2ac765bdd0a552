// createTokenizer's changes (src/tokenizer/tokenizers-js.ts: byte-level mapping, Split by match,
// bounded word caches, scanning BPE on ids) change speed only: on four real tokenizer layouts its
// ids equal plain tokenizers.js's, with its word caches on (a first pass fills them, a second
// hits) and off, and the changes are really attached where the layout has them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { createTokenizer } from '../src/tokenizer/tokenizers-js.ts';
import { brownTexts, lenmlArtifact, TRICKY_TEXTS } from './helpers/data.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const fixtureBase = {
  tokenizerJson: JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'base', 'tokenizer.json'), 'utf8')),
  tokenizerConfig: JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'base', 'tokenizer_config.json'), 'utf8')),
};


const layouts = [
  { name: 'fixture base (ByteLevel with its own regex)', files: fixtureBase, byteLevel: true },
  { name: 'Llama 3.1 (Split + ByteLevel)', files: lenmlArtifact('tokenizer-llama3_1', 128256), byteLevel: true },
  { name: 'Qwen3 (Split + ByteLevel, added specials)', files: lenmlArtifact('tokenizer-qwen3', 151669), byteLevel: true },
  { name: 'Llama 2 (SentencePiece BPE, byte fallback)', files: lenmlArtifact('tokenizer-llama2', 32000), byteLevel: false },
];

const texts = [...brownTexts(['ca01', 'cg01', 'cj01', 'cn01', 'cr01']).slice(0, 400), ...TRICKY_TEXTS];

for (const l of layouts) {
  for (const wordCaches of [true, false]) {
    test(`${l.name}, word caches ${wordCaches ? 'on' : 'off'}: the same ids as plain tokenizers.js, cold and warm`, () => {
      const plain = new Tokenizer(l.files.tokenizerJson, l.files.tokenizerConfig);
      const fast = createTokenizer(l.files.tokenizerJson, l.files.tokenizerConfig, { wordCaches });
      const model = (fast as unknown as { model: object }).model;
      assert.ok(Object.hasOwn(model, 'add_node') && Object.hasOwn(model, 'bpe'), 'pair ranks looked up directly, short words scanned');
      assert.ok(!Object.hasOwn((plain as unknown as { model: object }).model, 'add_node'));
      if (l.byteLevel) assert.ok(Object.hasOwn(findByteLevel(fast), 'pre_tokenize_text'), 'byte-level pieces mapped directly');
      for (let pass = 0; pass < 2; pass++) {
        for (const text of texts) {
          for (const special of [true, false]) {
            assert.deepEqual(fast.encode(text, { add_special_tokens: special }).ids, plain.encode(text, { add_special_tokens: special }).ids, `pass ${pass}: ${JSON.stringify(text.slice(0, 60))}`);
          }
        }
      }
    });
  }
}

test('a cached piece cannot be changed through an encode result', () => {
  const files = lenmlArtifact('tokenizer-llama3_1', 128256);
  const tok = createTokenizer(files.tokenizerJson, files.tokenizerConfig);
  const want = new Tokenizer(files.tokenizerJson, files.tokenizerConfig).encode('hello world, hello').ids;
  const first = tok.encode('hello world, hello');
  first.ids.length = 0;
  first.tokens.length = 0;
  assert.deepEqual(tok.encode('hello world, hello').ids, want);
});

/** The ByteLevel pre-tokenizer, alone or inside a Sequence. */
function findByteLevel(tok: Tokenizer): object {
  const pt = (tok as unknown as { pre_tokenizer: { tokenizers?: object[] } }).pre_tokenizer;
  const all = [pt, ...(pt.tokenizers ?? [])];
  const hit = all.find((p) => 'byte_encoder' in p);
  assert.ok(hit, 'a ByteLevel pre-tokenizer');
  return hit;
}
