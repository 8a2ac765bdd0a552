// The native engine's evaluation (each batch's forward and chunked head one ONNX Runtime graph, src/model/eval-native.ts)
// gives the wasm evaluation's figures (the same source run eagerly) to 1e-4: loss, bits per byte, and per new token
// its loss, accuracy and emission counts; untied and tied heads, LoRA on every linear, appended new rows, and 'full'
// mode (the trainable head fed, not frozen). Two batches with different numbers of scored rows share one session.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBackend } from '../src/model/backend.ts';
import { sessionsBuilt } from '../src/model/native-run.ts';
import { evaluate, evaluateOn } from '../src/train/evaluate.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer, withNonzeroLoraB } from './fixtures/train/setup.ts';

const LORA = { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: 'all-linear' as const };

for (const [kind, embedding] of [['untied', 'trainable-tokens'], ['tied', 'trainable-tokens'], ['tied', 'full']] as const) {
  test(`native evaluation equals wasm's (${kind}, ${embedding})`, async () => {
    await setBackend('native');
    const t = await fixtureTrainer(kind, { embedding, lora: LORA });
    try {
      withNonzeroLoraB(t);
      const batches = [fixtureBatch(t, 8, 0), fixtureBatch(t, 8, 1)];
      batches[1].targets[3] = -100; // another number of scored rows: the same graph
      const byteLengths = Int32Array.from({ length: t.table.vocabSize }, (_, i) => 1 + (i % 3));
      const want = evaluate(t.model, batches, t.tokens.newTokenIds, t.tokens.newTokens, { byteLengths });
      const before = sessionsBuilt();
      const got = await evaluateOn(t.model, batches, t.tokens.newTokenIds, t.tokens.newTokens, { byteLengths, native: {} });
      assert.equal(sessionsBuilt() - before, 1, 'one session for both batches');
      assert.equal(got.tokens, want.tokens);
      assert.equal(got.bytes, want.bytes);
      const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-4, `${what}: ${a} vs ${b}`);
      close(got.loss, want.loss, 'loss');
      close(got.bitsPerByte!, want.bitsPerByte!, 'bits per byte');
      close(got.newToken.loss, want.newToken.loss, 'new-token loss');
      assert.equal(got.newToken.acc, want.newToken.acc);
      for (const [tok, m] of Object.entries(want.perToken)) {
        const g = got.perToken[tok];
        assert.equal(g.count, m.count, tok);
        if (m.count > 0) close(g.loss, m.loss, `${tok} loss`);
        assert.equal(g.acc, m.acc, `${tok} acc`);
        assert.equal(g.predicted, m.predicted, `${tok} predicted`);
      }
    } finally {
      disposeTrainer(t);
    }
  });
}
