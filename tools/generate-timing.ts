// Generation timing (issue 22, docs/native-engine.md): 32 greedy tokens after a 16-token prompt on a model folder, on
// the native engine rerunning the padded forward each step and with the KV cache, and on wasm with and without the
// cache; cold runs include building the sessions. Prints ms per token and whether the tokens agree.
//
//   node --import tsx tools/random-model.ts smollm2-135m && node --import tsx tools/generate-timing.ts .cache/models/smollm2-135m-s0
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { setBackend } = await import(`${root}/src/model/backend.ts`);
const { generate } = await import(`${root}/src/model/generate.ts`);
const { generateNative, generateNativeCached } = await import(`${root}/src/model/generate-native.ts`);
const { loadModel } = await import(`${root}/src/model/weights.ts`);
const dir = process.argv[2];
await setBackend('native');
const model = await loadModel(dir);
const prompt = Array.from({ length: 16 }, (_, i) => 100 + i * 37);
const opts = { maxNewTokens: 32, eosTokenIds: [] };
const time = async (name: string, f: () => unknown) => {
  const t0 = performance.now();
  const ids = await f();
  const ms = performance.now() - t0;
  console.log(`${name}: ${(ms / 32).toFixed(1)} ms/token (${(ms / 1000).toFixed(2)} s) ${JSON.stringify(ids).slice(0, 60)}`);
  return ids;
};
const a = await time('native rerun (cold: builds sessions)', () => generateNative(model, prompt, opts, { threads: 2 }));
const b = await time('native rerun (warm)', () => generateNative(model, prompt, opts, { threads: 2 }));
const e = await time('native kv cache (cold)', () => generateNativeCached(model, prompt, opts, { threads: 2 }));
const f = await time('native kv cache (warm)', () => generateNativeCached(model, prompt, opts, { threads: 2 }));
console.log('cache same tokens:', JSON.stringify(e) === JSON.stringify(a), JSON.stringify(f) === JSON.stringify(a));
const c = await time('wasm kv cache', () => generate(model, prompt, opts));
const d = await time('wasm rerun', () => generate(model, prompt, { ...opts, useCache: false }));
console.log('same tokens:', JSON.stringify(a) === JSON.stringify(c), JSON.stringify(b) === JSON.stringify(d));
