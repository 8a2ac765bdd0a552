// The step memory plan's phases (src/train/step-phases.ts) against the pass itself (src/model/grad.ts, probed at each
// phase boundary): what the pass holds at every boundary is predicted exactly (it is a function of the shapes alone,
// so any tensor the forward or backward starts keeping, or stops freeing, fails here), and the most held within each
// phase within a narrow band (the transients of a layer or of the head are modelled, not traced). Over tied and
// untied heads, recomputation on and off, LoRA dropout, LoRA on q/v or every linear, the three embedding modes,
// several B×T, Qwen's q/k norms and q/k/v biases, attention-dominated shapes with and without split products, one or several chunks of the head, and
// both of its product forms.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { lossAndGrads, type PassPoint } from '../src/model/grad.ts';
import type { GradSink } from '../src/model/layer.ts';
import type { EmbeddingMode } from '../src/model/modes.ts';
import { TrainConfig } from '../src/train/config.ts';
import { passPhases } from '../src/train/step-phases.ts';
import { trainStep } from '../src/train/step.ts';
import { createTrainer, disposeTrainer } from '../src/train/trainer.ts';
import { randomBatch, randomModel } from './helpers/random-model.ts';

interface Case {
  embedding: EmbeddingMode;
  tied: boolean;
  recompute: boolean;
  dropout: number;
  targets: 'all-linear' | ['q_proj', 'v_proj'];
  B: number;
  T: number;
  /** Vocabulary: past 8192 the head runs in several chunks (head.ts headChunk). */
  V: number;
  /** Attention heads, key/value heads and MLP width, when not 4, 2 and 256 (attention-dominated shapes). */
  heads?: [number, number, number];
  /** Qwen3's per-head q/k norms, or Qwen2's q/k/v biases. */
  qwen?: 'qk-norm' | 'qkv-bias';
}

const QV: ['q_proj', 'v_proj'] = ['q_proj', 'v_proj'];
const cases: Case[] = [
  { embedding: 'trainable-tokens', tied: false, recompute: false, dropout: 0, targets: QV, B: 2, T: 32, V: 3000 },
  { embedding: 'trainable-tokens', tied: true, recompute: true, dropout: 0.1, targets: 'all-linear', B: 1, T: 64, V: 3000 },
  { embedding: 'trainable-tokens', tied: false, recompute: false, dropout: 0.1, targets: 'all-linear', B: 2, T: 32, V: 3000 },
  { embedding: 'full', tied: false, recompute: false, dropout: 0.1, targets: QV, B: 2, T: 32, V: 3000 },
  { embedding: 'full', tied: true, recompute: true, dropout: 0, targets: 'all-linear', B: 1, T: 64, V: 3000 },
  { embedding: 'trainable-tokens', tied: false, recompute: false, dropout: 0, targets: QV, B: 2, T: 32, V: 20000 },
  { embedding: 'full', tied: false, recompute: true, dropout: 0, targets: QV, B: 2, T: 32, V: 20000 },
  { embedding: 'frozen', tied: false, recompute: false, dropout: 0, targets: QV, B: 1, T: 128, V: 3000, heads: [4, 2, 64] },
  { embedding: 'trainable-tokens', tied: true, recompute: true, dropout: 0, targets: QV, B: 1, T: 128, V: 3000, heads: [4, 1, 64] },
  { embedding: 'trainable-tokens', tied: false, recompute: false, dropout: 0, targets: 'all-linear', B: 2, T: 64, V: 3000, heads: [8, 1, 64] },
  { embedding: 'frozen', tied: false, recompute: false, dropout: 0, targets: QV, B: 4, T: 16, V: 3000 },
  { embedding: 'trainable-tokens', tied: false, recompute: false, dropout: 0.1, targets: 'all-linear', B: 2, T: 32, V: 3000, qwen: 'qk-norm' },
  { embedding: 'trainable-tokens', tied: true, recompute: true, dropout: 0, targets: QV, B: 2, T: 32, V: 3000, qwen: 'qkv-bias' },
  // More scored rows than 2·hidden: the head's chunks take the other product form (head.ts scoredRows).
  { embedding: 'trainable-tokens', tied: true, recompute: false, dropout: 0, targets: 'all-linear', B: 4, T: 64, V: 8000 },
  { embedding: 'full', tied: false, recompute: false, dropout: 0, targets: QV, B: 1, T: 256, V: 5000, heads: [3, 1, 256] },
];

/**
 * A phase's peak may be under-predicted by at most PEAK_UNDER and over-predicted by at most PEAK_OVER (fractions of
 * the measured one). The transients are formulas of the shapes read off the kernel sequence of each part (a layer's
 * MLP, attention and q/k/v backward, the head's chunks), not traced; over these cases they land within −6% / +13%.
 */
const PEAK_UNDER = 0.08;
const PEAK_OVER = 0.15;

// The engine's byte count, kept by TF.js as it allocates and frees (what tf.memory().numBytes reads), and the kernels
// tf.profile has recorded so far: each kernel's record carries the byte count right after it ran.
const engineState = () => (tf.engine() as unknown as { state: { numBytes: number; activeProfile: { kernels: unknown[] } } }).state;

for (const c of cases) {
  const name = `${c.embedding}, ${c.tied ? 'tied' : 'untied'}, recompute ${c.recompute}, dropout ${c.dropout}, ${c.targets === 'all-linear' ? 'all-linear' : 'q/v'}, ${c.B}x${c.T}, V ${c.V}${c.heads ? `, heads ${c.heads.join('/')}` : ''}${c.qwen ? `, ${c.qwen}` : ''}`;
  test(`every phase boundary of the pass holds what the plan predicts (${name})`, async () => {
    await setBackend('wasm');
    const [heads, kvHeads, F] = c.heads ?? [4, 2, 256];
    const s = { V: c.V, D: 96, L: 2, heads, kvHeads, F, tied: c.tied, qkNorm: c.qwen === 'qk-norm', qkvBias: c.qwen === 'qkv-bias' };
    const cfg = TrainConfig.parse({ steps: 3, embedding: c.embedding, recompute: c.recompute ? 'always' : 'never', lora: { targetModules: c.targets, dropout: c.dropout } });
    const n = 3;
    const t = createTrainer(randomModel(s), cfg, {
      newTokenIds: Array.from({ length: n }, (_, k) => s.V + k), newTokens: Array.from({ length: n }, (_, k) => `<${k}>`),
      embedRows: new Float32Array(n * s.D).fill(0.01), headRows: s.tied ? undefined : new Float32Array(n * s.D).fill(0.01),
    }, 0);
    const b = randomBatch(s.V, c.B, c.T, 1);
    trainStep(t, [b]); // warm: the optimizer's moments exist before the measured pass
    const grads: GradSink = new Map();
    const base = engineState().numBytes;
    const marks: Array<{ p: PassPoint; kernels: number; live: number; sink: number }> = [];
    const elements = (bytes: number) => bytes / 4;
    const probe = (p: PassPoint) => {
      const sink = [...grads.values()].reduce((a, g) => a + g.size, 0);
      marks.push({ p, kernels: engineState().activeProfile.kernels.length, live: elements(engineState().numBytes - base), sink });
    };
    const prof = await tf.profile(() => void lossAndGrads(t.model, t.table, b, { weight: 0.01, recompute: c.recompute, dropoutSeed: 5, probe }, grads));
    // The model's whole config, as the train node plans from it (q/k norms and biases included).
    const input = { shape: t.model.config, lora: cfg.lora, newTokens: n, B: c.B, T: c.T, recompute: cfg.recompute, limit: null };
    const plan = passPhases(input, c.embedding, c.recompute);
    try {
      assert.deepEqual(marks.map((m) => m.p), plan.map((q) => (q.layer === undefined ? { at: q.at } : { at: q.at, layer: q.layer })), 'the plan has the pass\'s phases, in order');
      let k0 = 0;
      for (const [j, m] of marks.entries()) {
        const q = plan[j];
        const at = `${q.at}${q.layer ?? ''}`;
        assert.equal(m.live, q.live, `${at}: held ${m.live} elements, the plan says ${q.live}`);
        assert.equal(m.sink, q.sink, `${at}: gradient sink`);
        const kernels = prof.kernels.slice(k0, m.kernels);
        k0 = m.kernels;
        if (kernels.length === 0) continue; // nothing ran in this phase (a frozen table has no backward)
        const peak = elements(Math.max(...kernels.map((k) => k.totalBytesSnapshot)) - base);
        const ratio = q.peak / peak;
        assert.ok(ratio >= 1 - PEAK_UNDER && ratio <= 1 + PEAK_OVER, `${at}: phase peak ${peak} elements, the plan says ${q.peak} (${ratio.toFixed(3)})`);
      }
    } finally {
      tf.dispose([...grads.values()]);
      disposeTrainer(t);
    }
  });
}
