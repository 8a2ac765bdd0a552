// The summary's bits-per-byte "before" is the base model with its own tokenizer on the eval text.
// The evaluator gets that text as packed batches in the EXTENDED tokenizer's ids; cut back into
// text and re-encoded with the base tokenizer, they must score like the base model loaded on its
// own (`pipe eval`'s evaluateText), over the same bytes the extended batches score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX } from '../src/model/head.ts';
import { evaluateText } from '../src/model/eval.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { idsText, tokenByteLengths } from '../src/tokenizer/bytes.ts';
import { evaluateBaseOwn, reencodeBatches } from '../src/train/base-eval.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { oneRow, stepZero } from './helpers/base-own.ts';

const BASE = 'fixtures/base';
const TEXT = '<|im_start|>user\nIs acetaminophen safe?<|im_end|>\n<|im_start|>assistant\nYes, acetaminophen is safe at the usual dose.<|im_end|>\n';

test('base model with its own tokenizer: same loss as loaded alone, same bytes as the extended batches', async () => {
  await tf.setBackend('cpu');
  const { base, ext, artifact, t } = await stepZero(BASE, [
    { content: '<|im_start|>', special: true, origin: 'template' },
    { content: '<|im_end|>', special: true, origin: 'template' },
    { content: 'acetaminophen', special: false, origin: 'mined' },
  ], 'merge');
  const alone = await loadModel(BASE);
  try {
    const ids = ext.encode(TEXT);
    assert.ok(ids.length < base.encode(TEXT).length, 'the extended tokenizer is shorter');

    // Every token scored: the base eval is pipe eval's on the whole text.
    const own = evaluateBaseOwn(t.model, [oneRow(ids, () => true)], ext, base, t.table.baseVocabSize)!;
    const ref = evaluateText(alone, base, TEXT, { maxLen: 256, byteLengths: tokenByteLengths(base) });
    assert.equal(own.tokens, ref.tokens);
    assert.ok(Math.abs(own.loss - ref.loss) < 1e-5 * ref.loss, `${own.loss} vs ${ref.loss}`);
    assert.equal(own.bytes, Buffer.byteLength(TEXT));
    assert.ok(Math.abs(own.bitsPerByte - ref.bitsPerByte!) < 1e-5 * ref.bitsPerByte!);

    // Only the assistant turn scored (from the token after "assistant\n" on): both score its bytes.
    const cut = TEXT.lastIndexOf('assistant\n') + 'assistant\n'.length;
    const start = Array.from(ids, (_, k) => k).find((k) => idsText(ext, ids.subarray(0, k)) === '<|begin_of_text|>' + TEXT.slice(0, cut))!;
    assert.ok(start > 0, 'a token starts the answer');
    const batch = oneRow(ids, (k) => k >= start);
    const answer = TEXT.slice(cut);
    const extM = evaluate(t.model, [batch], artifact.newTokenIds, artifact.newTokens, { byteLengths: tokenByteLengths(ext) });
    const mine = evaluateBaseOwn(t.model, [batch], ext, base, t.table.baseVocabSize)!;
    assert.equal(extM.bytes, Buffer.byteLength(answer));
    assert.equal(mine.bytes, Buffer.byteLength(answer));
    const re = reencodeBatches([batch], ext, base)![0];
    const scored = Array.from(re.targets).filter((x) => x !== IGNORE_INDEX);
    assert.deepEqual(scored, Array.from(base.encode(answer, { addSpecialTokens: false })));
  } finally {
    disposeTrainer(t);
    disposeModel(alone);
  }
});
