// Gradients of the full training loss (fixture Llama, the hand-written backward of src/model/grad.ts) with respect
// to LoRA A/B and the trainable token rows agree with central finite differences, on cpu and wasm, and on the native
// engine (the head's loss and gradients from one ONNX Runtime graph).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { GradSink } from '../src/model/layer.ts';
import { setBackend } from '../src/model/backend.ts';
import { batchLoss, updateGrads, updateGradsNative } from '../src/train/step.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { fixtureBatch, fixtureTrainer, useBackend } from './fixtures/train/setup.ts';

for (const backend of ['cpu', 'wasm', 'native']) {
  for (const kind of ['untied', 'tied'] as const) {
    test(`LoRA and token-row gradients match finite differences (${kind}, ${backend})`, async () => {
      if (backend === 'native') await setBackend('native');
      else await useBackend(backend);
      const t = await fixtureTrainer(kind, { lora: { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] } });
      if (backend === 'native') t.native = {};
      // B starts at zero (so A's gradient is zero): give B values to make both checks meaningful.
      const w = t.lora.toPeft();
      for (const v of w.values()) v.B = Float32Array.from(v.B, (_, i) => 0.2 * Math.cos(i + v.inF));
      t.lora.load(w);
      const b = fixtureBatch(t);
      const f = () => batchLoss(t, b);
      const grads: GradSink = new Map();
      if (t.native) await updateGradsNative(t, [b], grads);
      else updateGrads(t, [b], grads);
      const names = t.params.map((p) => p.name);
      assert.ok(names.includes('tokens.embed') && (kind === 'tied') !== names.includes('tokens.lm_head'), names.join());
      for (const p of t.params.filter((q) => /tokens|layers\.1\.self_attn\.v_proj|layers\.0\.mlp\.down_proj/.test(q.name))) {
        const analytic = grads.get(p.name)!.dataSync();
        const base = p.variable.dataSync().slice();
        const picks = [0, 1, Math.floor(base.length / 2), base.length - 1, base.length - 7];
        for (const i of picks) {
          const at = (d: number) => {
            const v = base.slice();
            v[i] += d;
            p.variable.assign(tf.tensor(v, p.variable.shape));
            return f();
          };
          const eps = 5e-3;
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          p.variable.assign(tf.tensor(base, p.variable.shape));
          assert.ok(Math.abs(fd - analytic[i]) < 1e-3 + 3e-2 * Math.abs(fd), `${p.name}[${i}]: analytic ${analytic[i]} vs fd ${fd}`);
        }
      }
      tf.dispose([...grads.values()]);
      disposeTrainer(t);
    });
  }
}
