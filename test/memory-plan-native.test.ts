// The native engine's memory plan (src/train/step-memory-native.ts), from shapes alone: its limit is the machine's
// memory (not the wasm heap), the host's wasm heap is checked against its own 4 GiB, and a run that cannot fit is
// refused with the numbers before anything loads. Figures measured beside the plan: docs/native-engine.md.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendMemoryLimit, WASM_HEAP_MAX } from '../src/model/backend.ts';
import { LoraConfig } from '../src/model/lora.ts';
import { formatNativePlan, nativePlanRefusal, nativeStepPlan } from '../src/train/step-memory-native.ts';
import { stepPlan, type StepPlanInput } from '../src/train/step-memory.ts';

const GiB = 2 ** 30;
const lora = LoraConfig.parse({ r: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] });
const ref128k: StepPlanInput = {
  shape: { vocabSize: 128256, hiddenSize: 256, intermediateSize: 688, numLayers: 4, numHeads: 4, numKvHeads: 4, headDim: 64, tieWordEmbeddings: false },
  lora, newTokens: 16, B: 8, T: 128, recompute: 'auto', limit: 24 * GiB,
};
const llama1b: StepPlanInput = {
  ...ref128k,
  shape: { vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64, tieWordEmbeddings: true },
};

test("native's limit is the machine's memory; wasm's stays its heap", () => {
  assert.equal(backendMemoryLimit('native', 24 * GiB), 24 * GiB);
  assert.equal(backendMemoryLimit('wasm', 24 * GiB), WASM_HEAP_MAX);
});

test('the native peak adds the session (the weights, activations, the head logits) to the host', () => {
  const p = nativeStepPlan(ref128k, 'trainable-tokens');
  const n = p.native!;
  assert.ok(p.fits);
  assert.equal(p.heap, n.process + n.host + n.initializers + n.packed + n.working);
  assert.equal(n.initializers, p.bytes.weights, 'the frozen weights, in ONNX Runtime (not on the host)');
  assert.ok(n.working > p.bytes.activations.kept + 8 * 128 * 128272 * 4, 'the working set holds the activations and every [M, V] logit');
  assert.ok(p.heap > stepPlan({ ...ref128k, limit: null }, 'trainable-tokens').heap, 'more than the wasm engine at V=128256');
  assert.match(formatNativePlan(p, { node: 'train', B: 8, T: 128 }).join('\n'), /predicted peak +[\d.]+ GiB resident \(machine memory 24\.00 GiB\)/);
});

test('a run past the machine memory is refused with what to change', () => {
  const p = nativeStepPlan({ ...ref128k, limit: 1 * GiB }, 'trainable-tokens');
  assert.equal(p.fits, false);
  const why = nativePlanRefusal(p, { node: 'train', B: 8, T: 128, gradAccumulation: 1 });
  assert.match(why, /^train: one training update on the native engine needs about [\d.]+ GiB of memory, more than this machine's 1\.00 GiB/);
  for (const knob of ['seqLen', 'batchSize', 'gradAccumulation']) assert.match(why, new RegExp(knob));
});

test('Llama-3.2-1B (from its config alone): its 4.6 GiB of float32 weights held once, by ONNX Runtime, not the wasm host; fits 24 GiB at B=8', () => {
  const p = nativeStepPlan(llama1b, 'trainable-tokens');
  const n = p.native!;
  assert.ok(p.fits, `plan ${(p.heap / GiB).toFixed(2)} GiB`);
  assert.ok(Math.abs(p.bytes.weights / GiB - 4.6) < 0.05, `weights ${(p.bytes.weights / GiB).toFixed(2)} GiB`);
  assert.equal(n.initializers, p.bytes.weights, 'the weights once, in the file ONNX Runtime maps');
  assert.ok(n.hostHeap < 0.25 * GiB, `the host heap holds the trainable state only: ${(n.hostHeap / 2 ** 20).toFixed(0)} MiB`);
  assert.equal(p.heap, n.process + n.host + n.initializers + n.packed + n.working);
  const linears = 3.62 * GiB; // 16 × (q, k, v, o, gate, up, down) float32
  assert.ok(n.packed >= linears && n.packed <= 2 * linears, `the linears packed again for the backward's products: ${(n.packed / GiB).toFixed(2)} GiB`);
  assert.match(formatNativePlan(p, { node: 'train', B: 8, T: 128 }).join('\n'), /frozen weights +4\.\d\d GiB once/);
  // Still refused before loading anything where the machine is too small.
  const small = nativeStepPlan({ ...llama1b, limit: 8 * GiB }, 'trainable-tokens');
  assert.equal(small.fits, false);
  assert.match(nativePlanRefusal(small, { node: 'train', B: 8, T: 128, gradAccumulation: 1 }), /more than this machine's 8\.00 GiB/);
});

test("the host heap's own ceiling still refuses: 'full' mode's trainable [V, D] tables and AdamW past 4 GiB", () => {
  const big = { ...llama1b, shape: { ...llama1b.shape, vocabSize: 262144, hiddenSize: 4096, tieWordEmbeddings: false }, limit: 512 * GiB };
  const p = nativeStepPlan(big, 'full');
  assert.equal(p.fits, false);
  assert.ok(p.native!.hostHeap > WASM_HEAP_MAX);
  assert.match(nativePlanRefusal(p, { node: 'train', B: 8, T: 128, gradAccumulation: 1 }), /the TF\.js wasm host holds the trainable state and AdamW/);
});
