// The native engine's update (each micro-batch's whole pass one ONNX Runtime graph, src/model/grad-native.ts) gives
// the loss and every gradient of the wasm update (the same source run eagerly), to float rounding: untied and tied
// heads, LoRA on every linear with dropout (the masks are drawn once, by TF.js, and fed to the graph), appended new
// rows in the embedding and the head, and 'full' mode (the whole head trainable: fed to the graph, its gradient out).
// The next update, with other ids and fewer scored targets, reuses the first one's
// session (no graph is rebuilt per batch).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import type { GradSink } from '../src/model/layer.ts';
import { sessionsBuilt } from '../src/model/native-run.ts';
import { Rng } from '../src/model/rng.ts';
import { updateGrads, updateGradsNative } from '../src/train/step.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer, withNonzeroLoraB } from './fixtures/train/setup.ts';

const LORA = { r: 2, alpha: 4, dropout: 0.1, rslora: false, targetModules: 'all-linear' as const };

for (const [kind, embedding] of [['untied', 'trainable-tokens'], ['tied', 'trainable-tokens'], ['untied', 'full'], ['tied', 'full']] as const) {
  test(`native update equals the wasm update (${kind}, ${embedding}, LoRA everywhere with dropout)`, async () => {
    await setBackend('native');
    const t = await fixtureTrainer(kind, { embedding, lora: LORA });
    try {
      withNonzeroLoraB(t);
      const batches = [fixtureBatch(t), fixtureBatch(t, 8, 1)];
      batches[1].targets[3] = -100; // a different number of scored rows
      const start = t.rng.state();
      const run = async (native: boolean, b: (typeof batches)[number]) => {
        const grads: GradSink = new Map();
        t.rng = Rng.fromState(start); // the same dropout seeds on both sides
        const r = native ? await updateGradsNative(t, [b], grads) : updateGrads(t, [b], grads);
        const out = new Map([...grads].map(([k, g]) => [k, g.dataSync().slice()]));
        tf.dispose([...grads.values()]);
        return { loss: r.loss, grads: out };
      };
      let built = 0;
      for (const [k, b] of batches.entries()) {
        const want = await run(false, b);
        const got = await run(true, b);
        if (k === 0) built = sessionsBuilt();
        else assert.equal(sessionsBuilt(), built, 'the second batch reused the session');
        assert.ok(Math.abs(got.loss - want.loss) <= 1e-5 * want.loss, `batch ${k}: loss ${got.loss} vs ${want.loss}`);
        assert.deepEqual([...got.grads.keys()].sort(), [...want.grads.keys()].sort());
        for (const [name, g] of want.grads) {
          const scale = Math.max(1e-6, ...Array.from(g, Math.abs));
          const h = got.grads.get(name)!;
          for (let i = 0; i < g.length; i++) assert.ok(Math.abs(h[i] - g[i]) <= 1e-4 * scale, `batch ${k} ${name}[${i}]: ${h[i]} vs ${g[i]}`);
        }
      }
    } finally {
      disposeTrainer(t);
    }
  });
}
