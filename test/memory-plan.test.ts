// Memory plan counts, worked out by hand for the model PEFT was observed on (peft-observed.md):
// hidden 64, 2 layers, vocab 32000, untied head, LoRA r=4 on q/v, 3 new tokens + id 7 in the head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryPlan, formatMemoryPlans, type PlanInput } from '../src/train/memory-plan.ts';
import { LoraConfig } from '../src/model/lora.ts';

const input: PlanInput = {
  shape: { vocabSize: 32000, hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 16, tieWordEmbeddings: false },
  lora: LoraConfig.parse({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }),
  newTokens: 3,
  extraHeadRows: 1,
};
const LORA = 2 * 2 * 4 * (64 + 64); // layers x modules x r(in+out) = 2048

test('trainable-tokens: LoRA plus [3,64] embedding rows and [4,64] head rows', () => {
  const p = memoryPlan(input, 'trainable-tokens');
  assert.deepEqual(p.counts, { lora: LORA, embedRows: 3, headRows: 4, trainable: LORA + 7 * 64 });
  const n = LORA + 7 * 64;
  assert.deepEqual(p.bytes, { params: 4 * n, grads: 4 * n, optimizer: 8 * n, total: 16 * n });
});

test('full: both whole matrices of the resized vocabulary; frozen: LoRA only', () => {
  const full = memoryPlan(input, 'full');
  assert.equal(full.counts.trainable, LORA + 2 * 32003 * 64);
  assert.equal(memoryPlan(input, 'frozen').counts.trainable, LORA);
});

test('a tied head adds nothing; accumulation adds no copy (micro-batches add into one set of gradients)', () => {
  const tied = { ...input, shape: { ...input.shape, tieWordEmbeddings: true }, gradAccumulation: 4 };
  const p = memoryPlan(tied, 'trainable-tokens');
  assert.equal(p.counts.trainable, LORA + 3 * 64);
  assert.equal(p.bytes.total, 16 * (LORA + 3 * 64));
  assert.equal(memoryPlan(tied, 'full').counts.trainable, LORA + 32003 * 64);
});

test('table marks the chosen mode and lists all three', () => {
  const lines = formatMemoryPlans(input, 'full');
  assert.equal(lines.length, 5);
  assert.match(lines[3], /^\*full /);
  assert.match(lines[2], /^ trainable-tokens/);
  assert.ok(lines.every((l) => l.length === lines[0].length), 'fixed width');
});
