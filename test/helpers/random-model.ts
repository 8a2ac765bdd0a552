// A small Llama with random weights built in memory (no folder), and a random packed batch: for tests that need
// shapes larger than the fixtures (chunked heads, thousands of elements per operand) but no real checkpoint.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../src/model/config.ts';
import { invFreq } from '../../src/model/rope.ts';
import { FrozenTokenTable, type LlamaModel } from '../../src/model/weights.ts';
import type { StepBatch } from '../../src/train/step.ts';

export interface RandomShape {
  V: number;
  D: number;
  L: number;
  heads: number;
  kvHeads: number;
  F: number;
  tied: boolean;
  /** Qwen3's per-head q/k norms, and Qwen2's q/k/v biases. */
  qkNorm?: boolean;
  qkvBias?: boolean;
}

export function randomModel(s: RandomShape, seed = 1): LlamaModel {
  const hd = s.D / s.heads;
  let k = seed;
  const rnd = (shape: [number, number]) => tf.randomNormal(shape, 0, 0.05, 'float32', k++) as tf.Tensor2D;
  const lin = (name: string, inF: number, outF: number, bias = false) => ({ name, w: rnd([outF, inF]), bias: bias ? (tf.fill([outF], 0.01) as tf.Tensor1D) : null });
  const headNorm = () => (s.qkNorm ? (tf.ones([hd]) as tf.Tensor1D) : null);
  const layers = Array.from({ length: s.L }, (_, l) => {
    const p = `model.layers.${l}`;
    return {
      inputNorm: tf.ones([s.D]) as tf.Tensor1D, postNorm: tf.ones([s.D]) as tf.Tensor1D, qNorm: headNorm(), kNorm: headNorm(),
      q: lin(`${p}.self_attn.q_proj`, s.D, s.heads * hd, s.qkvBias), k: lin(`${p}.self_attn.k_proj`, s.D, s.kvHeads * hd, s.qkvBias),
      v: lin(`${p}.self_attn.v_proj`, s.D, s.kvHeads * hd, s.qkvBias), o: lin(`${p}.self_attn.o_proj`, s.heads * hd, s.D),
      gate: lin(`${p}.mlp.gate_proj`, s.D, s.F), up: lin(`${p}.mlp.up_proj`, s.D, s.F), down: lin(`${p}.mlp.down_proj`, s.F, s.D),
    };
  });
  const config: ModelConfig = {
    modelType: 'llama', vocabSize: s.V, hiddenSize: s.D, intermediateSize: s.F, numLayers: s.L, numHeads: s.heads, numKvHeads: s.kvHeads,
    headDim: hd, rmsNormEps: 1e-5, maxPositionEmbeddings: 4096, rope: { type: 'default', theta: 10000 }, qkvBias: s.qkvBias ?? false, oBias: false,
    mlpBias: false, qkNorm: s.qkNorm ?? false, tieWordEmbeddings: s.tied, bosTokenId: null, eosTokenIds: [], padTokenId: null, slidingWindow: null,
    storageDtype: 'float32', source: '(random, in memory)',
  };
  const tokens = new FrozenTokenTable(rnd([s.V, s.D]), s.tied ? null : rnd([s.V, s.D]));
  return { config, dir: '(memory)', tokens, layers, norm: tf.ones([s.D]) as tf.Tensor1D, invFreq: invFreq(config.rope, hd) };
}

/** B rows of T tokens (ids below V), one document per row, every next token scored. */
export function randomBatch(V: number, B: number, T: number, seed = 0): StepBatch {
  const N = B * T;
  const inputIds = Int32Array.from({ length: N }, (_, i) => (i * 7919 + seed * 104729) % V);
  const positionIds = Int32Array.from({ length: N }, (_, i) => i % T);
  const documentIds = Int32Array.from({ length: N }, (_, i) => Math.floor(i / T));
  const targets = new Int32Array(N).fill(-100);
  for (let i = 0; i < N; i++) if (i % T !== T - 1) targets[i] = inputIds[i + 1];
  return { B, T, inputIds, targets, positionIds, documentIds };
}
