// Greedy generation equals the reference's continuation, with and without the KV cache; eos stops it; the
// streamed text adds up to the decoded ids; sampling is seeded and top-p → 0 degenerates to greedy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { generate, TextStreamer } from '../src/model/generate.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { modelDir, readGolden, ROOT, VARIANTS } from './helpers/model-goldens.ts';

for (const v of VARIANTS) {
  test(`${v}: greedy with and without the cache equals the reference (wasm)`, async () => {
    await setBackend('wasm');
    const g = readGolden(v).greedy;
    const model = await loadModel(modelDir(v));
    try {
      const before = tf.memory().numTensors;
      const opts = { maxNewTokens: g.max_new_tokens, eosTokenIds: g.eos };
      const cached = generate(model, g.prompt_ids, opts);
      const uncached = generate(model, g.prompt_ids, { ...opts, useCache: false });
      assert.deepEqual(cached, g.new_ids);
      assert.deepEqual(uncached, g.new_ids);
      assert.equal(tf.memory().numTensors, before, 'the cache is freed');
    } finally {
      disposeModel(model);
    }
  });
}

test('cpu backend: cached greedy equals the reference too', async () => {
  await setBackend('cpu');
  const g = readGolden('qwen3').greedy;
  const model = await loadModel(modelDir('qwen3'));
  try {
    assert.deepEqual(generate(model, g.prompt_ids, { maxNewTokens: g.max_new_tokens, eosTokenIds: g.eos }), g.new_ids);
  } finally {
    disposeModel(model);
  }
});

test('stops at an eos id (kept in the output) and streams exactly the decoded text', async () => {
  await setBackend('wasm');
  const g = readGolden('llama').greedy;
  const model = await loadModel(modelDir('llama'));
  const tokenizer = loadTokenizer(modelDir('llama'));
  try {
    const stopAt = g.new_ids[4];
    const firstHit = g.new_ids.indexOf(stopAt);
    const seen: number[] = [];
    const out = generate(model, g.prompt_ids, { maxNewTokens: 12, eosTokenIds: [stopAt], onToken: (id) => seen.push(id) });
    assert.deepEqual(out, g.new_ids.slice(0, firstHit + 1));
    assert.deepEqual(seen, out);
    const streamer = new TextStreamer(tokenizer, g.prompt_ids);
    let text = '';
    for (const id of g.new_ids) text += streamer.push(id);
    text += streamer.end();
    const all = tokenizer.decode([...g.prompt_ids, ...g.new_ids], { skipSpecialTokens: true });
    const prompt = tokenizer.decode(g.prompt_ids, { skipSpecialTokens: true });
    assert.equal(prompt + text, all);
  } finally {
    disposeModel(model);
  }
});

test('sampling: same seed same tokens, another seed differs, top-p near 0 is greedy', async () => {
  await setBackend('wasm');
  const g = readGolden('mistral').greedy;
  const model = await loadModel(modelDir('mistral'));
  try {
    const s = (seed: number, extra = {}) => generate(model, g.prompt_ids, { maxNewTokens: 12, eosTokenIds: [], temperature: 1.5, seed, ...extra });
    assert.deepEqual(s(7), s(7));
    assert.notDeepEqual(s(7), s(8));
    assert.deepEqual(s(7, { topP: 1e-6 }), g.new_ids);
  } finally {
    disposeModel(model);
  }
});

test('pipe generate streams the prompt and the greedy continuation', () => {
  const g = readGolden('qwen3').greedy;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'generate', '--model', modelDir('qwen3'),
    '--prompt', g.prompt!, '--max-new-tokens', String(g.max_new_tokens), '--backend', 'wasm'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // The reference text is the Rust tokenizers' decode of the new ids.
  assert.equal(r.stdout, `${g.prompt}${g.text}\n`);
});

test('pipe generate --adapter with a folder that is no adapter fails naming the missing file', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'generate', '--model', modelDir('qwen3'),
    '--adapter', '/nonexistent', '--prompt', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /adapter_config\.json is missing/);
});
