// LoRA layers get PEFT's shapes, init (A kaiming-uniform a=sqrt(5), B zero) and scaling,
// and compute delta = x A^T B^T * scaling in PEFT's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loraForward } from '../src/model/layer.ts';
import { LoraSet, loraScaling, loraTargets, LoraConfig, type LoraLayer, type ModelShape } from '../src/model/lora.ts';
import { Rng } from '../src/model/rng.ts';

// Llama-3.2-1B dimensions, whose r=8 LoRA shapes PEFT documents (peft-trainable-tokens.md §3.6).
const llama1b: ModelShape = {
  vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16,
  numHeads: 32, numKvHeads: 8, headDim: 64, tieWordEmbeddings: true,
};
const tiny: ModelShape = {
  vocabSize: 50, hiddenSize: 16, intermediateSize: 24, numLayers: 2,
  numHeads: 4, numKvHeads: 2, headDim: 4, tieWordEmbeddings: false,
};

test('targets: module paths and in/out features as PEFT names and sizes them', () => {
  const t = loraTargets(llama1b, LoraConfig.parse({ targetModules: 'all-linear' }));
  assert.equal(t.length, 16 * 7);
  const byName = Object.fromEntries(t.filter((x) => x.path.startsWith('model.layers.0.')).map((x) => [x.path, [x.inF, x.outF]]));
  assert.deepEqual(byName, {
    'model.layers.0.self_attn.q_proj': [2048, 2048],
    'model.layers.0.self_attn.k_proj': [2048, 512],
    'model.layers.0.self_attn.v_proj': [2048, 512],
    'model.layers.0.self_attn.o_proj': [2048, 2048],
    'model.layers.0.mlp.gate_proj': [2048, 8192],
    'model.layers.0.mlp.up_proj': [2048, 8192],
    'model.layers.0.mlp.down_proj': [8192, 2048],
  });
  assert.deepEqual(loraTargets(llama1b, LoraConfig.parse({})).slice(0, 2).map((x) => x.path),
    ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj']);
  assert.throws(() => LoraConfig.parse({ targetModules: ['lm_head'] }));
});

test('scaling: alpha/r, or alpha/sqrt(r) with rsLoRA', () => {
  assert.equal(loraScaling({ r: 8, alpha: 16, rslora: false }), 2);
  assert.equal(loraScaling({ r: 16, alpha: 8, rslora: true }), 2);
});

test('init: A uniform within 1/sqrt(in) with the uniform variance, B zero, delta zero', async () => {
  await tf.setBackend('cpu');
  // kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+5)), std gain/sqrt(fan_in), bound sqrt(3)*std = 1/sqrt(fan_in).
  const set = LoraSet.init(tiny, LoraConfig.parse({ r: 8, targetModules: 'all-linear' }), Rng.seeded(3, 'lora'));
  const w = set.toPeft();
  const down = w.get('model.layers.1.mlp.down_proj')!;
  assert.equal(down.A.length, 8 * 24); // [r, in]
  assert.equal(down.B.length, 16 * 8); // [out, r]
  const bound = 1 / Math.sqrt(24);
  assert.ok(down.A.every((x) => Math.abs(x) <= bound));
  let all: number[] = [];
  for (const v of w.values()) {
    assert.ok(v.B.every((x) => x === 0));
    all = all.concat(Array.from(v.A).map((x) => x * Math.sqrt(v.inF))); // normalised to U(-1, 1)
  }
  const variance = all.reduce((s, x) => s + x * x, 0) / all.length;
  assert.ok(Math.abs(variance - 1 / 3) < 0.03, `variance ${variance}`);
  const x = tf.randomNormal([2, 3, 16]);
  const d = tf.tidy(() => loraForward(set.get('model.layers.0.self_attn.q_proj')!, x.reshape([6, 16]) as tf.Tensor2D).y.reshape([2, 3, 16]));
  assert.deepEqual(d.shape, [2, 3, 16]);
  assert.ok(d.dataSync().every((v) => v === 0));
  // Same seed, same A.
  const again = LoraSet.init(tiny, LoraConfig.parse({ r: 8, targetModules: 'all-linear' }), Rng.seeded(3, 'lora')).toPeft();
  assert.deepEqual(again.get('model.layers.1.mlp.down_proj')!.A, down.A);
  set.dispose();
});

/** The adapter's output for x (layer.ts loraForward), without its backward record. */
const delta = (l: LoraLayer, x: tf.Tensor2D, seed?: number) => tf.tidy(() => loraForward(l, x, seed === undefined ? undefined : { seed, B: 2, T: x.shape[0] / 2, rowOffset: 0 }).y);

test('delta = (x A^T) B^T * scaling for PEFT-layout weights; dropout is seeded', async () => {
  await tf.setBackend('cpu');
  const r = 2;
  const weights = new Map();
  const shape1: ModelShape = { ...tiny, numLayers: 1 };
  for (const t of loraTargets(shape1, LoraConfig.parse({ r }))) {
    weights.set(t.path, {
      A: Float32Array.from({ length: r * t.inF }, (_, i) => Math.sin(i)),
      B: Float32Array.from({ length: t.outF * r }, (_, i) => Math.cos(i)),
      inF: t.inF, outF: t.outF,
    });
  }
  const set = LoraSet.fromPeft(shape1, LoraConfig.parse({ r, alpha: 6 }), weights);
  const v = set.get('model.layers.0.self_attn.v_proj')!; // in 16, out 8
  const xs = Float32Array.from({ length: 16 }, (_, i) => 0.1 * i - 0.5);
  const got = delta(v, tf.tensor2d(xs, [1, 16])).dataSync();
  const { A, B } = weights.get('model.layers.0.self_attn.v_proj');
  for (let o = 0; o < 8; o++) {
    let want = 0;
    for (let k = 0; k < r; k++) {
      let ax = 0;
      for (let i = 0; i < 16; i++) ax += A[k * 16 + i] * xs[i];
      want += B[o * r + k] * ax;
    }
    want *= 6 / r;
    assert.ok(Math.abs(got[o] - want) < 1e-4, `out ${o}: ${got[o]} vs ${want}`);
  }
  assert.deepEqual(Array.from(v.toPeft().A), Array.from(A));
  const withDrop = LoraSet.fromPeft(shape1, LoraConfig.parse({ r, alpha: 6, dropout: 0.5 }), weights).get('model.layers.0.self_attn.v_proj')!;
  const x = tf.ones([4, 16]) as tf.Tensor2D;
  const d1 = delta(withDrop, x, 11).dataSync();
  assert.deepEqual(delta(withDrop, x, 11).dataSync(), d1);
  assert.notDeepEqual(delta(withDrop, x, 12).dataSync(), d1);
  assert.deepEqual(delta(withDrop, x).dataSync(), delta(v, x).dataSync()); // no seed: eval, no dropout
  assert.throws(() => LoraSet.fromPeft(shape1, LoraConfig.parse({ r: 4 }), weights), /expected A \[4, 16\]/);
});
