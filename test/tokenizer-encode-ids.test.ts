// idEncoder (src/tokenizer/encode-ids.ts) writes ids without tokenizers.js's token strings, with
// its own piece cache, added-token shortcut, sticky split and direct byte-level lookup: on four real
// tokenizer layouts, two variants of Llama 3's and small ones built to fuse unknown tokens, its ids equal plain Tokenizer.encode's, whole (encode)
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

/** A byte-level BPE whose vocabulary holds 'abc' though no merge makes it: ignore_merges decides between [abc] and [ab, c]. */
const ignoring = (ignore: boolean): Files => ({
  tokenizerJson: {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: ' ?[a-z]+|[^a-z]+' }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: null,
    model: { type: 'BPE', vocab: { '<unk>': 0, a: 1, b: 2, c: 3, ab: 4, abc: 5, Ġ: 6, Ġabc: 7 }, merges: [['a', 'b']], unk_token: '<unk>', ignore_merges: ignore },
  },
  tokenizerConfig: {},
});

const llama3: Files = lenmlArtifact('tokenizer-llama3_1', 128256);
/** Llama 3 with ignore_merges off: every new piece goes through BPE's merges, none straight to the vocabulary. */
const merged: Files = { tokenizerJson: { ...llama3.tokenizerJson, model: { ...llama3.tokenizerJson.model, ignore_merges: false } }, tokenizerConfig: llama3.tokenizerConfig };
/** Llama 3 whose ByteLevel adds a prefix space to every piece that lacks one. */
const prefixed: Files = { tokenizerJson: { ...llama3.tokenizerJson, pre_tokenizer: structuredClone(llama3.tokenizerJson.pre_tokenizer) }, tokenizerConfig: llama3.tokenizerConfig };
prefixed.tokenizerJson.pre_tokenizer.pretokenizers[1].add_prefix_space = true;

const layouts: Array<{ name: string; files: Files; byteLevel?: true }> = [
  { name: 'fixture base (ByteLevel with its own regex)', files: fixtureBase },
  { name: 'Llama 3.1 (Split + ByteLevel)', files: llama3, byteLevel: true },
  { name: 'Llama 3.1 without ignore_merges (every new piece merged)', files: merged, byteLevel: true },
  { name: 'Llama 3.1 with a prefix space (ByteLevel add_prefix_space)', files: prefixed, byteLevel: true },
  { name: 'Qwen3 (Split + ByteLevel, added specials)', files: lenmlArtifact('tokenizer-qwen3', 151669), byteLevel: true },
  { name: 'Llama 2 (SentencePiece BPE, byte fallback)', files: lenmlArtifact('tokenizer-llama2', 32000) },
  { name: 'a fusing BPE (fuse_unk, BOS and EOS around)', files: fusing },
  { name: 'a byte-level BPE with ignore_merges (a token no merge makes)', files: ignoring(true), byteLevel: true },
  { name: 'the same BPE without ignore_merges', files: ignoring(false), byteLevel: true },
  { name: 'a Split whose regex matches empty (gaps between pieces)', files: gapped },
];

const texts = [...brownTexts(['ca01', 'cg01', 'cj01', 'cn01', 'cr01']).slice(0, 400), ...TRICKY_TEXTS, 'abc', 'abc abcabc ab c', 'cab abca'];

for (const l of layouts) {
  test(`${l.name}: idEncoder's ids are plain tokenizers.js's, cold and warm`, () => {
    const plain = new Tokenizer(l.files.tokenizerJson, l.files.tokenizerConfig);
    const enc = idEncoder(createTokenizer(l.files.tokenizerJson, l.files.tokenizerConfig, { wordCaches: false }));
    assert.equal(enc.constructor.name, 'PieceEncoder', 'the piece path, not plain encode');
    // A new piece behind a regex-less ByteLevel is mapped and looked up directly (encode-ids.ts).
    assert.equal((enc as unknown as { byteLevel: unknown }).byteLevel !== null, l.byteLevel === true, 'the direct byte-level path');
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
