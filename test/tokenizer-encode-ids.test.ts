// idEncoder (src/tokenizer/encode-ids.ts) writes ids without tokenizers.js's token strings, with
// its own piece cache, added-token shortcut and sticky split: on four real tokenizer layouts and a
// small one built to fuse unknown tokens, its ids equal plain Tokenizer.encode's, whole (encode)
// and appended to a buffer (encodeInto), cold and warm, with and without special tokens.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { createTokenizer } from '../src/tokenizer/tokenizers-js.ts';
import { idEncoder } from '../src/tokenizer/encode-ids.ts';
import { IdBuffer } from '../src/tokenizer/id-buffer.ts';
import { brownTexts, lenmlArtifact, TRICKY_TEXTS } from './helpers/data.ts';

type Files = { tokenizerJson: Record<string, any>; tokenizerConfig: Record<string, any> };
const ROOT = path.resolve(import.meta.dirname, '..');
const fixtureBase: Files = {
  tokenizerJson: JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'base', 'tokenizer.json'), 'utf8')),
  tokenizerConfig: JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'base', 'tokenizer_config.json'), 'utf8')),
};

/** A BPE of five symbols that fuses unknown characters, wrapped in <s> ... </s>. */
const fusing: Files = {
  tokenizerJson: {
    version: '1.0',
    added_tokens: [
      { id: 5, content: '<s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
      { id: 6, content: '</s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: {},
    },
    decoder: null,
    model: { type: 'BPE', vocab: { '<unk>': 0, a: 1, b: 2, ab: 3, c: 4 }, merges: [['a', 'b']], unk_token: '<unk>', fuse_unk: true },
  },
  tokenizerConfig: { bos_token: '<s>', eos_token: '</s>' },
};

/** The same BPE behind an isolating Split whose regex can match empty: its pieces leave gaps. */
const gapped: Files = structuredClone(fusing);
gapped.tokenizerJson.pre_tokenizer = { type: 'Split', pattern: { Regex: 'b*|c' }, behavior: 'Isolated', invert: false };


const layouts: Array<{ name: string; files: Files }> = [
  { name: 'fixture base (ByteLevel with its own regex)', files: fixtureBase },
  { name: 'Llama 3.1 (Split + ByteLevel)', files: lenmlArtifact('tokenizer-llama3_1', 128256) },
  { name: 'Qwen3 (Split + ByteLevel, added specials)', files: lenmlArtifact('tokenizer-qwen3', 151669) },
  { name: 'Llama 2 (SentencePiece BPE, byte fallback)', files: lenmlArtifact('tokenizer-llama2', 32000) },
  { name: 'a fusing BPE (fuse_unk, BOS and EOS around)', files: fusing },
  { name: 'a Split whose regex matches empty (gaps between pieces)', files: gapped },
];

const texts = [...brownTexts(['ca01', 'cg01', 'cj01', 'cn01', 'cr01']).slice(0, 400), ...TRICKY_TEXTS];

for (const l of layouts) {
  test(`${l.name}: idEncoder's ids are plain tokenizers.js's, cold and warm`, () => {
    const plain = new Tokenizer(l.files.tokenizerJson, l.files.tokenizerConfig);
    const enc = idEncoder(createTokenizer(l.files.tokenizerJson, l.files.tokenizerConfig, { wordCaches: false }));
    assert.equal(enc.constructor.name, 'PieceEncoder', 'the piece path, not plain encode');
    for (let pass = 0; pass < 2; pass++) {
      for (const text of texts) {
        for (const special of [true, false]) {
          const want = plain.encode(text, { add_special_tokens: special }).ids;
          const where = `pass ${pass}, special ${special}: ${JSON.stringify(text.slice(0, 60))}`;
          assert.deepEqual(enc.encode(text, special), want, where);
          const buf = new IdBuffer(1);
          buf.push(-7);
          enc.encodeInto(text, special, buf);
          assert.deepEqual(Array.from(buf.take()), [-7, ...want], `encodeInto, ${where}`);
        }
      }
    }
  });
}

test('the fusing BPE really fuses: a run of unknown characters is one <unk>', () => {
  const enc = idEncoder(createTokenizer(fusing.tokenizerJson, fusing.tokenizerConfig));
  // <s> ab <unk> c </s>: three snowmen fuse into one unknown id, between the known pieces.
  assert.deepEqual(enc.encode('ab☃☃☃c', true), [5, 3, 0, 4, 6]);
});

test('a tokenizer whose post-processor does more than wrap is encoded by plain encode', () => {
  const files = structuredClone(fusing);
  // A pair template used for a single sequence is not a wrap of it: the marker check refuses it.
  files.tokenizerJson.post_processor.single = [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }];
  const plain = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  const enc = idEncoder(createTokenizer(files.tokenizerJson, files.tokenizerConfig));
  assert.equal(enc.constructor.name, 'PlainEncoder');
  assert.deepEqual(enc.encode('ab c', true), plain.encode('ab c').ids);
});

test('IdBuffer grows past its capacity and hands back exactly what was pushed', () => {
  const b = new IdBuffer(16);
  for (let i = 0; i < 100; i++) b.push(i * 3);
  b.set(5, -100);
  const out = b.take();
  assert.equal(out.length, 100);
  assert.equal(out[5], -100);
  assert.equal(out[99], 297);
  assert.deepEqual(Array.from(b.view(98)), [294, 297]);
});
