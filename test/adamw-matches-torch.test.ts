// AdamW + global-norm clipping + linear warmup schedule reproduce torch.optim.AdamW step by
// step. Golden values come from tools/optim-golden.py (torch itself), committed as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { AdamW } from '../src/train/optimizer.ts';
import { clipGradNorm } from '../src/train/grads.ts';
import { lrFactor } from '../src/train/schedule.ts';
import type { Param } from '../src/model/params.ts';
import type { Grads } from '../src/train/grads.ts';

const golden = JSON.parse(readFileSync(new URL('./fixtures/adamw-golden.json', import.meta.url), 'utf8'));

function assertClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

for (const backend of ['cpu', 'wasm']) {
  test(`AdamW matches torch over ${golden.steps.length} clipped, scheduled steps (${backend})`, async () => {
    await tf.setBackend(backend);
    const a: Param = { name: 'a', variable: tf.variable(tf.tensor(golden.init.a, [3, 4])) };
    const b: Param = { name: 'b', variable: tf.variable(tf.tensor(golden.init.b, [5])) };
    const [ga, gb] = golden.groups;
    const opt = new AdamW(
      [
        { name: 'lora', lr: ga.lr, weightDecay: ga.weight_decay, params: [a] },
        { name: 'tokens', lr: gb.lr, weightDecay: gb.weight_decay, params: [b] },
      ],
      { betas: golden.betas, eps: golden.eps },
    );
    const schedule = { kind: 'linear' as const, warmupSteps: golden.warmup, numCycles: 0.5 };
    const before = tf.memory().numTensors;
    golden.steps.forEach((want: any, k: number) => {
      const factor = lrFactor(schedule, k, golden.steps_total);
      assertClose(Object.values(opt.groupLrs(factor)), want.lrs, 1e-12, `lrs step ${k}`);
      const norm = tf.tidy(() => {
        const grads: Grads = new Map([
          ['a', tf.tensor(golden.grads[k].a, [3, 4])],
          ['b', tf.tensor(golden.grads[k].b, [5])],
        ]);
        const clip = clipGradNorm(grads, golden.max_norm);
        opt.step(grads, factor, clip.coef);
        return clip.norm;
      });
      assertClose([norm], [want.norm], 1e-6, `norm step ${k}`);
      assertClose(a.variable.dataSync(), want.a, 2e-6, `a step ${k}`);
      assertClose(b.variable.dataSync(), want.b, 2e-6, `b step ${k}`);
      const st = opt.exportState();
      assertClose(st.params[0].expAvg, want.exp_avg_a, 2e-6, `exp_avg(a) step ${k}`);
      assertClose(st.params[1].expAvgSq, want.exp_avg_sq_b, 2e-6, `exp_avg_sq(b) step ${k}`);
    });
    // Nothing but the params and moments survives the steps.
    assert.equal(tf.memory().numTensors, before);
    opt.dispose();
    a.variable.dispose();
    b.variable.dispose();
  });
}
