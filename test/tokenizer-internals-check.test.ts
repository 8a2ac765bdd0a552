// The fast encoding paths read private fields of @huggingface/tokenizers 0.2.0. At load they
// check those fields are there and shaped as expected; a library whose internals differ (stubbed
// here: a Tokenizer with only its public API) gets plain Tokenizer.encode, the same ids, and one
// warning however many tokenizers are loaded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { speedUp } from '../src/tokenizer/tokenizers-js.ts';
import { idEncoder } from '../src/tokenizer/encode-ids.ts';
import { internalsMismatch } from '../src/tokenizer/tokenizers-internals.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const json = (f: string) => JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'base', f), 'utf8'));
const load = () => new Tokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
const TEXTS = ['Hello world', ' two  spaces', 'café <s> naïve', ''];

/** The same tokenizer seen through its public API only, as after an upgrade that moved its internals. */
function publicOnly(tok: Tokenizer): Tokenizer {
  const stub = Object.create(Tokenizer.prototype) as Tokenizer;
  Object.defineProperty(stub, 'encode', { value: tok.encode.bind(tok) });
  return stub;
}

test('the pinned library has the internals the fast paths read', () => {
  assert.deepEqual(internalsMismatch(load()), []);
});

test('a mismatch is named field by field', () => {
  const tok = load();
  (tok as any).model.tokens_to_ids = Object.fromEntries((tok as any).model.tokens_to_ids);
  assert.deepEqual(internalsMismatch(tok), ['model.tokens_to_ids is not a Map']);
  assert.ok(internalsMismatch(publicOnly(load())).length >= 5);
});

test('internals not as expected: the public API gives the same ids, with one warning', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error & { code?: string }) => w.code === 'TOKENPIPE_TOKENIZERS_INTERNALS' && warnings.push(w);
  process.on('warning', onWarning);
  try {
    const plain = load();
    for (let i = 0; i < 3; i++) {
      const stub = publicOnly(load());
      assert.equal(speedUp(stub), stub);
      const enc = idEncoder(stub);
      for (const text of TEXTS) {
        assert.deepEqual(enc.encode(text, true), plain.encode(text, { add_special_tokens: true }).ids, text);
        assert.deepEqual(enc.encode(text, false), plain.encode(text, { add_special_tokens: false }).ids, text);
      }
    }
    await new Promise((r) => setImmediate(r)); // process 'warning' events are emitted on the next tick
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /not shaped as the 0\.2\.0 .*model\.tokens_to_ids is not a Map.*public API/);
  } finally {
    process.off('warning', onWarning);
  }
});
