// byteLevelString (symbols.ts) writes a text's UTF-8 bytes in a byte-level alphabet: exactly what
// TextEncoder and a per-byte lookup give, on the printable-ASCII shortcut and off it, and with an
// alphabet whose printable characters are not themselves (where the shortcut must not apply).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteLevelString } from '../src/tokenizer/symbols.ts';
import { TRICKY_TEXTS } from './helpers/data.ts';

/** GPT-2's bytes_to_unicode, written out independently of symbols.ts. */
function gpt2(): string[] {
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return out;
}

const reference = (text: string, table: string[]) => Array.from(new TextEncoder().encode(text), (b) => table[b]).join('');

const TEXTS = ['', ' ', 'a', ' a', 'word', ' word', '\nword', '\tword', '  word', 'word ', 'wo rd', "'s", ' Ġ', '!~', ' ~!', '\x7f', ' \x7f', 'é', ' café', '日本', ' 😀', '\ud800', ' \udc00x', 'x\ud83d', ...TRICKY_TEXTS];

test('byteLevelString gives TextEncoder bytes through the GPT-2 alphabet, shortcut or not', () => {
  const table = gpt2();
  for (const t of TEXTS) {
    assert.equal(byteLevelString(t), reference(t, table), JSON.stringify(t));
    assert.equal(byteLevelString(t, table), reference(t, table), JSON.stringify(t));
  }
});

test('an alphabet that moves printable ASCII is followed, not shortcut', () => {
  // Every byte one place on: no printable character stands for itself.
  const shifted = gpt2().map((_, b, all) => all[(b + 1) % 256]);
  for (const t of TEXTS) assert.equal(byteLevelString(t, shifted), reference(t, shifted), JSON.stringify(t));
});
