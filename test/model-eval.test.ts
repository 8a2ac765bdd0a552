// Windowed eval loss equals the reference's (1e-5 relative) for every tokenizer family; our tokenizer gives the
// Rust tokenizers' ids; `pipe eval --json` prints exactly {"tokens", "loss", "ppl", "bytes", "bits_per_byte"}.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setBackend } from '../src/model/backend.ts';
import { evaluateIds, evaluateText, evalWindows } from '../src/model/eval.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { modelDir, readGolden, ROOT, TOKENIZER_VARIANTS } from './helpers/model-goldens.ts';

const relClose = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.abs(b);

for (const v of TOKENIZER_VARIANTS) {
  test(`${v}: token ids and eval loss match the reference for windows of 1024 and 16`, async () => {
    await setBackend('wasm');
    const g = readGolden(v).eval!;
    const model = await loadModel(modelDir(v));
    try {
      const text = readFileSync(path.join(ROOT, g.text), 'utf8');
      const r = evaluateText(model, loadTokenizer(modelDir(v)), text, { maxLen: 1024 });
      assert.deepEqual([...r.ids], g.ids, 'tokenizers.js ids equal the Rust tokenizers ids');
      assert.equal(r.tokens, g.windows['1024'].tokens);
      assert.ok(relClose(r.loss, g.windows['1024'].loss), `${r.loss} vs ${g.windows['1024'].loss}`);
      assert.ok(Math.abs(r.ppl - Math.exp(r.loss)) < 1e-9 * r.ppl);
      // Small batches and head chunks that cut through windows: same result (consecutive windows, as the reference cuts them).
      const short = evaluateIds(model, Int32Array.from(g.ids), { maxLen: 16, overlap: false, batchTokens: 64, headChunk: 300 });
      assert.equal(short.tokens, g.windows['16'].tokens);
      assert.ok(relClose(short.loss, g.windows['16'].loss), `${short.loss} vs ${g.windows['16'].loss}`);
    } finally {
      disposeModel(model);
    }
  });
}

test('windows: at most maxLen, each starting on the last token of the one before; consecutive without overlap', () => {
  // Tokens 1..9 of 10 each predicted once.
  assert.deepEqual(evalWindows(10, 4), [[0, 4], [3, 7], [6, 10]]);
  assert.deepEqual(evalWindows(9, 4), [[0, 4], [3, 7], [6, 9]]);
  assert.deepEqual(evalWindows(10, 2), Array.from({ length: 9 }, (_, i) => [i, i + 2]));
  assert.deepEqual(evalWindows(1, 4), []);
  assert.deepEqual(evalWindows(10, 4, false), [[0, 4], [4, 8], [8, 10]]);
  assert.deepEqual(evalWindows(9, 4, false), [[0, 4], [4, 8]], 'a 1-token tail predicts nothing');
  assert.throws(() => evalWindows(9, 1), /max-len/);
});

function pipe(...args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'eval', ...args], { encoding: 'utf8' });
}

test('pipe eval --json on cpu matches the reference mean loss', () => {
  const g = readGolden('llama3-tied').eval!;
  // One window (the text is shorter than 1024 tokens): the reference's windows and pipe eval's agree.
  const r = pipe('--model', modelDir('llama3-tied'), '--text', path.join(ROOT, g.text), '--max-len', '1024', '--json', '--backend', 'cpu');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['tokens', 'loss', 'ppl', 'bytes', 'bits_per_byte']);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.equal(out.tokens, g.windows['1024'].tokens);
  assert.ok(relClose(out.loss, g.windows['1024'].loss), `${out.loss} vs ${g.windows['1024'].loss}`);
  assert.ok(relClose(out.ppl, Math.exp(g.windows['1024'].loss)));
});

test('pipe eval: a bad --max-len is a usage error; a folder that is no adapter is named', () => {
  const text = path.join(ROOT, 'fixtures', 'text', 'eval.txt');
  const bad = pipe('--model', modelDir('llama'), '--text', text, '--max-len', 'x');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--max-len must be an integer >= 2/);
  const adapter = pipe('--model', modelDir('llama'), '--text', text, '--adapter', modelDir('llama'));
  assert.equal(adapter.status, 1);
  assert.match(adapter.stderr, /adapter_config\.json is missing/);
});
