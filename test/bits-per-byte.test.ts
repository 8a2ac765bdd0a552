// Bits per byte = summed loss in nats / ln 2 / UTF-8 bytes of the predicted tokens: `pipe eval`'s
// figure on a tiny text equals a hand computation from per-token losses (log-softmax of the full
// logits in float64) and the bytes each token spells; and the byte count does not depend on the
// tokenizer: an extended tokenizer (a merged word, a special marker) spells the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { evaluateText } from '../src/model/eval.ts';
import { forward } from '../src/model/llama.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { tokenByteLengths } from '../src/tokenizer/bytes.ts';
import { extendTokenizer } from '../src/tokenizer/extend.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';

const BASE = 'fixtures/base';

test('bits per byte of "Hello world" equals the hand computation', async () => {
  await tf.setBackend('cpu');
  const tok = loadTokenizer(BASE);
  const model = await loadModel(BASE);
  try {
    const text = 'Hello world';
    // <|begin_of_text|> H ell o Ġworld: BOS is context only; the 4 predicted tokens spell 1+3+1+6 bytes.
    assert.deepEqual(tok.tokenize(text), ['<|begin_of_text|>', 'H', 'ell', 'o', 'Ġworld']);
    const bytesByHand = 1 + 3 + 1 + 6;
    assert.equal(bytesByHand, Buffer.byteLength(text));
    const r = evaluateText(model, tok, text, { maxLen: 256, byteLengths: tokenByteLengths(tok) });
    assert.equal(r.bytes, bytesByHand);

    const ids = r.ids;
    const V = model.config.vocabSize;
    const z = tf.tidy(() => forward(model, { inputIds: ids, B: 1, T: ids.length }).dataSync()); // [T*V]
    let nats = 0;
    for (let i = 0; i + 1 < ids.length; i++) {
      const row = Array.from(z.subarray(i * V, (i + 1) * V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      nats += lse - row[ids[i + 1]];
    }
    const expected = nats / Math.LN2 / bytesByHand;
    assert.ok(Math.abs(r.bitsPerByte! - expected) < 1e-5 * expected, `${r.bitsPerByte} vs ${expected}`);
    assert.ok(Math.abs(r.loss - nats / 4) < 1e-5 * r.loss, 'the per-token loss is over the same 4 tokens');
  } finally {
    disposeModel(model);
  }
});

test('an extended tokenizer spells the same bytes as the base one', () => {
  const base = loadTokenizer(BASE);
  const { artifact } = extendTokenizer(base, [
    { content: '<|im_end|>', special: true, origin: 'list' },
    { content: 'acetaminophen', special: false, origin: 'list' },
  ], { mode: 'merge' });
  const ext = loadTokenizer(artifact);
  const text = 'The pharmacist said acetaminophen<|im_end|> works, café.';
  const sum = (tok: typeof base) => {
    const bytes = tokenByteLengths(tok);
    return Array.from(tok.encode(text)).reduce((n, id) => n + bytes[id], 0);
  };
  assert.ok(ext.encode(text).length < base.encode(text).length - 6, 'the extension cuts the text into fewer tokens');
  assert.equal(sum(base), Buffer.byteLength(text));
  assert.equal(sum(ext), Buffer.byteLength(text));
});
