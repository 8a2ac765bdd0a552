// Loading weights: a checkpoint without the "model." prefix, or a tied one carrying a stray lm_head, gives the
// same logits; a missing or misshapen tensor fails naming it; a sliding window in effect is refused at run time.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelUnsupported, ModelWeightsInvalid } from '../src/errors.ts';
import { WeightSet, writeSafetensors, type TensorToWrite } from '../src/io/safetensors.ts';
import { setBackend } from '../src/model/backend.ts';
import { forward } from '../src/model/llama.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { modelDir } from './helpers/model-goldens.ts';

/** Copies a fixture folder, rewriting its tensors through `edit`. */
async function variantWith(v: string, edit: (ts: TensorToWrite[]) => TensorToWrite[]): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), `w-${v}-`));
  cpSync(modelDir(v), dir, { recursive: true });
  const ws = await WeightSet.open(modelDir(v));
  const ts: TensorToWrite[] = [];
  for (const name of ws.names()) {
    const info = ws.info(name);
    ts.push({ name, dtype: 'F32', shape: info.shape, data: await ws.readF32(name) });
  }
  await ws.close();
  await writeSafetensors(path.join(dir, 'model.safetensors'), edit(ts), { format: 'pt' });
  return dir;
}

async function logitsOf(dir: string): Promise<Float32Array> {
  const model = await loadModel(dir);
  try {
    const out = forward(model, { inputIds: Int32Array.from([3, 1, 4, 1, 5]), B: 1, T: 5 });
    const d = out.dataSync() as Float32Array;
    out.dispose();
    return d;
  } finally {
    disposeModel(model);
  }
}

test('bare checkpoint (no "model." prefix) and stray lm_head in a tied model load to the same logits', async () => {
  await setBackend('wasm');
  const want = await logitsOf(modelDir('qwen2'));
  const bare = await variantWith('qwen2', (ts) => ts.map((t) => ({ ...t, name: t.name.replace(/^model\./, '') })));
  assert.deepEqual(await logitsOf(bare), want);
  const stray = await variantWith('qwen2', (ts) => {
    const e = ts.find((t) => t.name === 'model.embed_tokens.weight')!;
    return [...ts, { ...e, name: 'lm_head.weight', data: new Float32Array((e.data as Float32Array).length) }];
  });
  assert.deepEqual(await logitsOf(stray), want);
});

test('missing or misshapen tensors are named', async () => {
  await setBackend('wasm');
  const before = tf.memory().numTensors;
  const missing = await variantWith('llama', (ts) => ts.filter((t) => t.name !== 'lm_head.weight'));
  await assert.rejects(loadModel(missing), (e: unknown) => e instanceof ModelWeightsInvalid && e.tensor === 'lm_head.weight' && /missing/.test(e.message));
  const bias = await variantWith('qwen2', (ts) => ts.filter((t) => t.name !== 'model.layers.1.self_attn.k_proj.bias'));
  await assert.rejects(loadModel(bias), (e: unknown) => e instanceof ModelWeightsInvalid && e.tensor === 'model.layers.1.self_attn.k_proj.bias');
  const shape = await variantWith('llama', (ts) =>
    ts.map((t) => (t.name === 'model.norm.weight' ? { ...t, shape: [t.shape[0] / 2, 2] } : t)));
  await assert.rejects(loadModel(shape), (e: unknown) => e instanceof ModelWeightsInvalid && /shape \[8,2\] but config.json implies \[16\]/.test(e.message));
  assert.equal(tf.memory().numTensors, before, 'a failed load frees what it made');
});

test('a sliding window shorter than the input is refused, naming sliding_window', async () => {
  await setBackend('wasm');
  const dir = mkdtempSync(path.join(tmpdir(), 'sw-'));
  cpSync(modelDir('mistral'), dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, sliding_window: 4 }));
  const model = await loadModel(dir);
  try {
    forward(model, { inputIds: Int32Array.from([1, 2, 3, 4]), B: 1, T: 4 }).dispose(); // within the window: fine
    assert.throws(() => forward(model, { inputIds: Int32Array.from([1, 2, 3, 4, 5]), B: 1, T: 5 }),
      (e: unknown) => e instanceof ModelUnsupported && e.field === 'sliding_window');
  } finally {
    disposeModel(model);
  }
});
