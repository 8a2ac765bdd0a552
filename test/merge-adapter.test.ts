// pipe merge: the merged HF folder gives the trained model's loss (untied f32 fixture: to 1e-5;
// tied bf16 fixture: within bf16 rounding), with the vocabulary resized and LoRA folded in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveAdapter, loadAdapter } from '../src/adapter/peft.ts';
import { loadModel, disposeModel } from '../src/model/weights.ts';
import { applyAdapter } from '../src/adapter/apply.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { mergeAdapter } from '../src/adapter/merge.ts';
import { trainStep } from '../src/train/step.ts';
import { adapterContents, disposeTrainer } from '../src/train/trainer.ts';
import { MODELS, fixtureBatch, fixtureTrainer, useBackend } from './fixtures/train/setup.ts';

for (const [kind, embedding, tol] of [['untied', 'trainable-tokens', 1e-5], ['untied', 'full', 1e-5], ['tied', 'trainable-tokens', 1e-2]] as const) {
  test(`merged model = base + adapter = trained model (${kind}, ${embedding})`, async () => {
    await useBackend('cpu');
    const t = await fixtureTrainer(kind, { embedding, lr: 2e-2, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: 'all-linear' } });
    for (let i = 0; i < 3; i++) trainStep(t, [fixtureBatch(t, 8, i)]);
    const batches = [fixtureBatch(t, 8, 20), fixtureBatch(t, 8, 21)];
    const ids = t.tokens.newTokenIds, names = t.tokens.newTokens;
    const trained = evaluate(t.model, batches, ids, names).loss;
    const root = mkdtempSync(path.join(tmpdir(), 'tp-merge-'));
    const adapterDir = path.join(root, 'adapter');
    await saveAdapter(adapterDir, adapterContents(t, MODELS[kind]));
    disposeTrainer(t);

    const withAdapter = await loadModel(MODELS[kind]);
    applyAdapter(withAdapter, await loadAdapter(adapterDir));
    const viaAdapter = evaluate(withAdapter, batches, ids, names).loss;
    disposeModel(withAdapter);
    assert.ok(Math.abs(viaAdapter - trained) <= 1e-5 * trained, `adapter ${viaAdapter} vs trained ${trained}`);

    const out = path.join(root, 'merged');
    const r = await mergeAdapter(MODELS[kind], adapterDir, out);
    assert.equal(r.merged, 2 * 7);
    const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(cfg.vocab_size, ids.at(-1)! + 1);
    assert.ok(existsSync(path.join(out, 'tokenizer.json')));
    const merged = await loadModel(out);
    const viaMerged = evaluate(merged, batches, ids, names).loss;
    disposeModel(merged);
    assert.ok(Math.abs(viaMerged - trained) <= tol * trained, `merged ${viaMerged} vs trained ${trained}`);
  });
}
