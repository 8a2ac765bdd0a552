// On the native engine the step-0 baseline (the base model with its own tokenizer, src/train/base-eval.ts) runs as a
// graph over the weights file, the TF.js host holding none of the model: same figures as the wasm evaluation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBackend } from '../src/model/backend.ts';
import { releaseSessions } from '../src/model/native-run.ts';
import { evaluateBaseOwn, evaluateBaseOwnOn } from '../src/train/base-eval.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { oneRow, stepZero } from './helpers/base-own.ts';

const BASE = 'fixtures/base';
const TEXT = '<|im_start|>user\nIs acetaminophen safe?<|im_end|>\n<|im_start|>assistant\nYes, acetaminophen is safe at the usual dose.<|im_end|>\n';
const TOKENS = [
  { content: '<|im_start|>', special: true, origin: 'template' as const },
  { content: '<|im_end|>', special: true, origin: 'template' as const },
  { content: 'acetaminophen', special: false, origin: 'mined' as const },
];

test('native baseOwn from the weights file equals the wasm one', async () => {
  await setBackend('native');
  const host = await stepZero(BASE, TOKENS, 'merge');
  const disk = await stepZero(BASE, TOKENS, 'merge', { frozen: 'disk' });
  try {
    const batch = oneRow(host.ext.encode(TEXT), () => true);
    const want = evaluateBaseOwn(host.t.model, [batch], host.ext, host.base, host.t.table.baseVocabSize)!;
    const got = (await evaluateBaseOwnOn(disk.t.model, [batch], disk.ext, disk.base, disk.t.table.baseVocabSize, {}))!;
    assert.equal(got.tokens, want.tokens);
    assert.equal(got.bytes, want.bytes);
    assert.ok(Math.abs(got.loss - want.loss) <= 1e-4 * want.loss, `${got.loss} vs ${want.loss}`);
    assert.ok(Math.abs(got.bitsPerByte - want.bitsPerByte) <= 1e-4 * want.bitsPerByte);
    assert.throws(() => evaluateBaseOwn(disk.t.model, [batch], disk.ext, disk.base, disk.t.table.baseVocabSize), 'TF.js cannot run a model it does not hold');
  } finally {
    await releaseSessions();
    disposeTrainer(host.t);
    disposeTrainer(disk.t);
  }
});
