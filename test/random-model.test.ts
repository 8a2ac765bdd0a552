// tools/random-model.ts: generated folders load as the model code expects (config, every tensor name and
// shape, nothing extra), are byte-identical for one seed and differ across seeds; sharding follows HF's
// layout; and the real shapes' configs carry the dimensions of issues 10 and 14 (config only, no weights).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { WeightSet } from '../src/io/safetensors.ts';
import { setBackend } from '../src/model/backend.ts';
import { loadModelConfig } from '../src/model/config.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { ensureRandomModel, shapeModelConfig, tensorPlan, writeRandomModel } from '../tools/random-model.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'random-model-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Every tensor of the folder: name → [dtype, shape]. */
async function tensorsOf(dir: string): Promise<Map<string, string>> {
  const ws = await WeightSet.open(dir);
  try {
    return new Map(ws.names().map((n) => [n, `${ws.info(n).dtype} [${ws.info(n).shape}]`]));
  } finally {
    await ws.close();
  }
}

async function checkLoads(dir: string, shape: string, overrides: Record<string, unknown>, dtype: string): Promise<void> {
  const want = shapeModelConfig(shape, overrides);
  assert.deepEqual({ ...loadModelConfig(dir), source: '' }, { ...want, source: '' });
  const names = await tensorsOf(dir);
  const plan = tensorPlan(want);
  assert.deepEqual([...names.keys()].sort(), plan.map((t) => t.name).sort(), 'exactly the tensors weights.ts reads');
  for (const t of plan) assert.equal(names.get(t.name), `${dtype} [${t.shape}]`, t.name);
  await setBackend('cpu');
  const model = await loadModel(dir); // checks every name and shape against config.json
  assert.equal(model.layers.length, want.numLayers);
  disposeModel(model);
  assert.equal(tf.memory().numTensors, 0);
}

test('tiny llama: loads as weights.ts expects; same seed same bytes, other seed other bytes', async () => {
  const a = await writeRandomModel(path.join(tmp, 'a'), 'tiny', { seed: 7 });
  const b = await writeRandomModel(path.join(tmp, 'b'), 'tiny', { seed: 7 });
  const c = await writeRandomModel(path.join(tmp, 'c'), 'tiny', { seed: 8 });
  await checkLoads(a, 'tiny', {}, 'F32');
  const bytes = (d: string) => readFileSync(path.join(d, 'model.safetensors'));
  assert.ok(bytes(a).equals(bytes(b)), 'same seed: identical file');
  assert.ok(!bytes(a).equals(bytes(c)), 'other seed: different file');
  assert.equal(readFileSync(path.join(a, 'config.json'), 'utf8'), readFileSync(path.join(c, 'config.json'), 'utf8'));
  // Values: matrices ~ N(0, initializer_range), norms 1.
  const ws = await WeightSet.open(a);
  const q = await ws.readF32('model.layers.0.self_attn.q_proj.weight');
  const norm = await ws.readF32('model.norm.weight');
  await ws.close();
  const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
  assert.ok(Math.abs(std - 0.02) < 0.003, `std ${std}`);
  assert.ok(norm.every((x) => x === 1));
});

test('qwen2 shape made tiny: tied, q/k/v biases, bf16, sharded with an index like save_pretrained', async () => {
  const overrides = { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 300 };
  const dir = await writeRandomModel(path.join(tmp, 'qwen'), 'qwen2.5-0.5b', { seed: 1, overrides, tokenizer: false, maxShardBytes: 8000 });
  assert.ok(existsSync(path.join(dir, 'model.safetensors.index.json')));
  assert.ok(!existsSync(path.join(dir, 'model.safetensors')));
  await checkLoads(dir, 'qwen2.5-0.5b', overrides, 'BF16');
  const names = await tensorsOf(dir);
  assert.ok(names.has('model.layers.1.self_attn.k_proj.bias') && !names.has('lm_head.weight') && !names.has('model.layers.0.self_attn.o_proj.bias'));
});

test('cache: a complete folder is reused, one written with other options is not', async () => {
  const root = path.join(tmp, 'cache');
  const first = await ensureRandomModel('tiny', { seed: 3, root });
  assert.equal(first.reused, false);
  assert.equal(first.dir, path.join(root, 'tiny-s3'));
  assert.equal((await ensureRandomModel('tiny', { seed: 3, root })).reused, true);
  assert.equal((await ensureRandomModel('tiny', { seed: 3, root, maxShardBytes: 4000 })).reused, false);
});

test('real shapes: config dimensions as in the issues (config only)', async () => {
  const dims = (s: string) => {
    const c = shapeModelConfig(s);
    return [c.modelType, c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.intermediateSize, c.tieWordEmbeddings, c.qkvBias, c.rope.theta, c.storageDtype, c.slidingWindow];
  };
  assert.deepEqual(dims('reference'), ['llama', 32000, 256, 4, 4, 4, 688, false, false, 10000, 'float32', null]);
  assert.deepEqual(dims('reference-128k'), ['llama', 128256, 256, 4, 4, 4, 688, false, false, 500000, 'float32', null]);
  assert.deepEqual(dims('smollm2-135m'), ['llama', 49152, 576, 30, 9, 3, 1536, true, false, 100000, 'bfloat16', null]);
  assert.deepEqual(dims('qwen2.5-0.5b'), ['qwen2', 151936, 896, 24, 14, 2, 4864, true, true, 1000000, 'bfloat16', null]);
  // The SmolLM2 folder without weights: its config as written, and the cut tokenizer with exactly 49152 ids.
  const dir = await writeRandomModel(path.join(tmp, 'smol'), 'smollm2-135m', { weights: false });
  assert.deepEqual({ ...loadModelConfig(dir), source: '' }, { ...shapeModelConfig('smollm2-135m'), source: '' });
  const tok = loadTokenizer(dir);
  const json = tok.tokenizerJson;
  const ids = [...Object.values(json.model.vocab as Record<string, number>), ...json.added_tokens.map((t: { id: number }) => t.id)];
  assert.equal(new Set(ids).size, 49152);
  assert.equal(Math.max(...ids), 49151);
  assert.deepEqual([...tok.encode('<|begin_of_text|>hello')].slice(0, 1), [48896]);
});
