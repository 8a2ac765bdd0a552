// config.json → ModelConfig: per-model_type defaults and derivations of llama-family-spec.md §1, both RoPE forms,
// and errors that name the file and the field for what is invalid or unsupported.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ModelConfigInvalid, ModelUnsupported } from '../src/errors.ts';
import { loadModelConfig, parseModelConfig } from '../src/model/config.ts';
import { modelDir } from './helpers/model-goldens.ts';

const F = '/models/x/config.json';

test('llama defaults: kv heads = heads, head_dim = hidden/heads, eps 1e-6, theta 1e4, bos 1 eos 2, untied', () => {
  const c = parseModelConfig({ model_type: 'llama', hidden_size: 64, num_attention_heads: 4 }, F);
  assert.equal(c.numKvHeads, 4);
  assert.equal(c.headDim, 16);
  assert.equal(c.rmsNormEps, 1e-6);
  assert.deepEqual(c.rope, { type: 'default', theta: 10000 });
  assert.equal(c.bosTokenId, 1);
  assert.deepEqual(c.eosTokenIds, [2]);
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.vocabSize, 32000);
  assert.deepEqual([c.qkvBias, c.oBias, c.mlpBias, c.qkNorm], [false, false, false, false]);
});

test('per-type defaults: mistral 8 kv heads and window 4096; qwen2 biases; qwen3 head_dim 128 and q/k norm', () => {
  const m = parseModelConfig({ model_type: 'mistral' }, F);
  assert.equal(m.numKvHeads, 8);
  assert.equal(m.slidingWindow, 4096);
  const q2 = parseModelConfig({ model_type: 'qwen2', attention_bias: true }, F);
  assert.deepEqual([q2.qkvBias, q2.oBias, q2.numKvHeads, q2.headDim, q2.bosTokenId], [true, false, 32, 128, null]);
  assert.deepEqual(q2.eosTokenIds, []);
  const q3 = parseModelConfig({ model_type: 'qwen3', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2 }, F);
  assert.deepEqual([q3.headDim, q3.qkNorm, q3.qkvBias], [128, true, false]);
  const q3b = parseModelConfig({ model_type: 'qwen3', attention_bias: true, head_dim: null, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: null }, F);
  assert.deepEqual([q3b.headDim, q3b.qkvBias, q3b.oBias], [16, true, true]);
  const l = parseModelConfig({ model_type: 'llama', attention_bias: true, mlp_bias: true, num_key_value_heads: null }, F);
  assert.deepEqual([l.qkvBias, l.oBias, l.mlpBias, l.numKvHeads], [true, true, true, 32]);
});

test('qwen sliding window is in effect only with use_sliding_window and a layer past max_window_layers', () => {
  const base = { model_type: 'qwen2', num_hidden_layers: 4, sliding_window: 128 };
  assert.equal(parseModelConfig(base, F).slidingWindow, null);
  assert.equal(parseModelConfig({ ...base, use_sliding_window: true, max_window_layers: 4 }, F).slidingWindow, null);
  assert.equal(parseModelConfig({ ...base, use_sliding_window: true, max_window_layers: 2 }, F).slidingWindow, 128);
  assert.equal(parseModelConfig({ model_type: 'mistral', sliding_window: null }, F).slidingWindow, null);
  assert.equal(parseModelConfig({ model_type: 'llama', sliding_window: 16 }, F).slidingWindow, null);
});

test('rope: legacy rope_scaling (rope_type or old "type") and v5 rope_parameters', () => {
  const lin = parseModelConfig({ model_type: 'llama', rope_theta: 5e5, rope_scaling: { type: 'linear', factor: 2 } }, F);
  assert.deepEqual(lin.rope, { type: 'linear', theta: 5e5, factor: 2 });
  const l3 = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const a = parseModelConfig({ model_type: 'llama', rope_theta: 5e5, rope_scaling: l3 }, F);
  const b = parseModelConfig({ model_type: 'llama', rope_parameters: { ...l3, rope_theta: 5e5 } }, F);
  assert.deepEqual(a.rope, b.rope);
  assert.deepEqual(a.rope, { type: 'llama3', theta: 5e5, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  assert.deepEqual(parseModelConfig({ model_type: 'qwen3', rope_parameters: { rope_type: 'default' } }, F).rope, { type: 'default', theta: 10000 });
  assert.deepEqual(parseModelConfig({ model_type: 'llama', rope_scaling: null }, F).rope, { type: 'default', theta: 10000 });
});

function fails(json: unknown, kind: typeof ModelConfigInvalid | typeof ModelUnsupported, field: string): void {
  assert.throws(
    () => parseModelConfig(json, F),
    (e: unknown) => e instanceof kind && e.field === field && e.message.startsWith(`${F}: ${field}:`),
    `expected ${kind.name} naming ${field}`,
  );
}

test('unsupported things fail naming the field', () => {
  fails({ model_type: 'gemma' }, ModelUnsupported, 'model_type');
  fails({ model_type: 'llama', rope_scaling: { rope_type: 'yarn', factor: 4 } }, ModelUnsupported, 'rope_scaling.rope_type');
  fails({ model_type: 'llama', rope_scaling: { type: 'dynamic', factor: 4 } }, ModelUnsupported, 'rope_scaling.rope_type');
  fails({ model_type: 'qwen3', rope_parameters: { rope_type: 'longrope' } }, ModelUnsupported, 'rope_parameters.rope_type');
  fails({ model_type: 'llama', hidden_act: 'gelu' }, ModelUnsupported, 'hidden_act');
  fails({ model_type: 'llama', partial_rotary_factor: 0.5 }, ModelUnsupported, 'partial_rotary_factor');
});

test('invalid values fail naming the field', () => {
  fails({ hidden_size: 8 }, ModelConfigInvalid, 'model_type');
  fails({ model_type: 'llama', hidden_size: -8 }, ModelConfigInvalid, 'hidden_size');
  fails({ model_type: 'llama', num_attention_heads: 6, num_key_value_heads: 4 }, ModelConfigInvalid, 'num_key_value_heads');
  fails({ model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8 } }, ModelConfigInvalid, 'rope_scaling.low_freq_factor');
  fails({ model_type: 'llama', rope_scaling: { rope_type: 'linear' } }, ModelConfigInvalid, 'rope_scaling.factor');
  fails({ model_type: 'llama', eos_token_id: 'x' }, ModelConfigInvalid, 'eos_token_id');
  fails({ model_type: 'llama', head_dim: 7, hidden_size: 28, num_attention_heads: 4 }, ModelConfigInvalid, 'head_dim');
});

test('generation_config.json eos ids win over config.json; bad JSON names the file', () => {
  const c = loadModelConfig(modelDir('qwen3'));
  assert.equal(c.eosTokenIds.length, 2);
  assert.equal(c.source, path.join(modelDir('qwen3'), 'config.json'));
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
  writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama",');
  assert.throws(() => loadModelConfig(dir), (e: unknown) => e instanceof ModelConfigInvalid && e.message.includes(path.join(dir, 'config.json')));
  writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama", "eos_token_id": 2}');
  writeFileSync(path.join(dir, 'generation_config.json'), '{"eos_token_id": [5, 6]}');
  assert.deepEqual(loadModelConfig(dir).eosTokenIds, [5, 6]);
  writeFileSync(path.join(dir, 'generation_config.json'), '{"eos_token_id": [5, "x"]}');
  assert.throws(() => loadModelConfig(dir), (e: unknown) => e instanceof ModelConfigInvalid && e.file.endsWith('generation_config.json') && e.field.startsWith('eos_token_id'));
});
