// The bits-per-byte baseline (the base model with its own tokenizer) for a SentencePiece
// tokenizer (Llama 2, Mistral: Metaspace, a space marker before every encoded text). Runs of the
// eval text are re-encoded after an anchor, so no run gains a space: the baseline scores the same
// bytes as the extended batches and, over a whole text, equals the base model loaded on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { evaluateText } from '../src/model/eval.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { tokenByteLengths } from '../src/tokenizer/bytes.ts';
import { evaluateBaseOwn, reencodeBatches } from '../src/train/base-eval.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { oneRow, stepZero } from './helpers/base-own.ts';

const BASE = 'fixtures/models/llama';
const TEXT = 'Is acetaminophen safe?\nYes, acetaminophen is safe at the usual dose, and ibuprofen too.';

test('SentencePiece: the base-own baseline scores the same bytes, and a whole text as pipe eval does', async () => {
  await tf.setBackend('cpu');
  const { base, ext, artifact, t } = await stepZero(BASE, [{ content: 'acetaminophen', special: false, origin: 'mined' }], 'merge');
  assert.equal(base.scheme.kind, 'metaspace');
  const alone = await loadModel(BASE);
  try {
    const ids = ext.encode(TEXT);
    assert.ok(ids.length < base.encode(TEXT).length, 'the extended tokenizer is shorter');

    // Every token scored: the re-encoded row is the base tokenizer's own encoding of the text.
    const all = oneRow(ids, () => true);
    assert.deepEqual(Array.from(reencodeBatches([all], ext, base)![0].inputIds), Array.from(base.encode(TEXT)));
    const own = evaluateBaseOwn(t.model, [all], ext, base, t.table.baseVocabSize);
    assert.ok(own, 'a baseline for a SentencePiece tokenizer');
    const ref = evaluateText(alone, base, TEXT, { maxLen: 256, byteLengths: tokenByteLengths(base) });
    assert.equal(own.tokens, ref.tokens);
    assert.ok(Math.abs(own.loss - ref.loss) < 1e-5 * ref.loss, `${own.loss} vs ${ref.loss}`);

    // Only the second line scored: both tokenizers score exactly the bytes of the extended batch.
    const start = ids.findIndex((id, k) => k > 0 && ids[k - 1] === base.encode('\n', { addSpecialTokens: false }).at(-1));
    assert.ok(start > 0, 'a token starts the second line');
    const half = oneRow(ids, (k) => k >= start);
    const extM = evaluate(t.model, [half], artifact.newTokenIds, artifact.newTokens, { byteLengths: tokenByteLengths(ext) });
    const mine = evaluateBaseOwn(t.model, [half], ext, base, t.table.baseVocabSize)!;
    assert.equal(mine.bytes, extM.bytes);
    assert.equal(mine.bytes, Buffer.byteLength(TEXT.slice(TEXT.indexOf('\n') + 1)));
  } finally {
    disposeTrainer(t);
    disposeModel(alone);
  }
});
