// The bits-per-byte baseline (the base model with its own tokenizer) for a SentencePiece
// tokenizer (Llama 2, Mistral: Metaspace, a space marker before every encoded text). Runs of the
// eval text are re-encoded after an anchor, so no run gains a space: the baseline scores the same
// bytes as the extended batches and, over a whole text, equals the base model loaded on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX } from '../src/model/head.ts';
import { evaluateText } from '../src/model/eval.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { tokenByteLengths } from '../src/tokenizer/bytes.ts';
import { extendTokenizer } from '../src/tokenizer/extend.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { evaluateBaseOwn, reencodeBatches } from '../src/train/base-eval.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { TrainConfig } from '../src/train/config.ts';
import { createTrainer, disposeTrainer } from '../src/train/trainer.ts';
import type { StepBatch } from '../src/train/step.ts';

const BASE = 'fixtures/models/llama';
const TEXT = 'Is acetaminophen safe?\nYes, acetaminophen is safe at the usual dose, and ibuprofen too.';

function oneRow(ids: Int32Array, scored: (k: number) => boolean): StepBatch {
  const T = ids.length;
  const targets = new Int32Array(T).fill(IGNORE_INDEX);
  for (let k = 1; k < T; k++) if (scored(k)) targets[k - 1] = ids[k];
  return { B: 1, T, inputIds: ids, targets, positionIds: Int32Array.from({ length: T }, (_, k) => k), documentIds: new Int32Array(T) };
}

test('SentencePiece: the base-own baseline scores the same bytes, and a whole text as pipe eval does', async () => {
  await tf.setBackend('cpu');
  const base = loadTokenizer(BASE);
  assert.equal(base.scheme.kind, 'metaspace');
  const { artifact } = extendTokenizer(base, [{ content: 'acetaminophen', special: false, origin: 'mined' }], { mode: 'merge' });
  const ext = loadTokenizer(artifact);
  const model = await loadModel(BASE);
  const H = model.config.hiddenSize;
  const n = artifact.newTokenIds.length;
  const t = createTrainer(model, TrainConfig.parse({ steps: 2 }), {
    newTokenIds: artifact.newTokenIds, newTokens: artifact.newTokens,
    embedRows: Float32Array.from({ length: n * H }, (_, i) => Math.sin(i)),
    headRows: Float32Array.from({ length: n * H }, (_, i) => Math.cos(i)),
  }, 1);
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
