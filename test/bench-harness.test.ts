// The bench harness's pure parts: a child's crash is reported by the line that names the error (not
// Node's banner or a stack frame), bench options parse as documented, and the FLOP count of a step adds
// up by hand on a toy shape. No timing here: speed lives in `npm run bench`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchOptionInvalid } from '../bench/errors.ts';
import { crashLine } from '../bench/children.ts';
import { stepFlops } from '../bench/flops.ts';
import { list, num, parseBenchOptions } from '../bench/options.ts';

test('crashLine: the error line of a wasm abort, not the Node banner or stack frames', () => {
  const stderr = [
    '/work/node_modules/@tensorflow/tfjs-backend-wasm/dist/wasm-out/tfjs-backend-wasm.js:9',
    'RuntimeError: Aborted(). Build with -sASSERTIONS for more info.',
    '    at abort (/work/node_modules/tfjs-backend-wasm.js:9:7829)',
    '    at wasm://wasm/0019ea4a:wasm-function[12]:0x1c8d',
    '',
    'Node.js v20.20.2',
    '',
  ].join('\n');
  assert.equal(crashLine(stderr), 'RuntimeError: Aborted(). Build with -sASSERTIONS for more info.');
  assert.equal(crashLine('Traceback (most recent call last):\n  File "x.py", line 1\nMemoryError: out of memory\n'), 'MemoryError: out of memory');
  assert.equal(crashLine('something odd\n'), 'something odd');
  assert.equal(crashLine(''), undefined);
});

test('bench options: --key=value and --flag; bare words stay filters; bad values are named', () => {
  const o = parseBenchOptions(['--quick', '--steps=3', '--shapes=reference,smollm2-135m']);
  assert.deepEqual(o, { quick: true, steps: '3', shapes: 'reference,smollm2-135m' });
  assert.equal(num(o, 'steps', 2), 3);
  assert.equal(num(o, 'warmup', 1), 1);
  assert.deepEqual(list(o, 'shapes', ['reference', 'smollm2-135m', 'tiny'], ['tiny']), ['reference', 'smollm2-135m']);
  assert.throws(() => list(o, 'shapes', ['reference'], []), BenchOptionInvalid);
  assert.throws(() => num({ steps: 'many' }, 'steps', 1), BenchOptionInvalid);
  assert.throws(() => parseBenchOptions(['-x']), BenchOptionInvalid);
});

test('stepFlops: a toy shape counted by hand', () => {
  // N = 2 tokens, H = 4, one layer, 2 heads / 1 kv head of D = 2, I = 6, V = 10 + 2 new, r = 1.
  const c = { vocabSize: 10, hiddenSize: 4, intermediateSize: 6, numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 2 };
  const f = stepFlops(c, { B: 1, T: 2, accum: 1, mode: 'trainable-tokens', newTokens: 2, r: 1 });
  const linears = 2 * 2 * (4 * 4 + 2 * 4 * 2 + 4 * 4 + 2 * 4 * 6 + 6 * 4); // q, k+v, o, gate+up, down
  const attention = 2 * 2 * (2 * 2 * 2 * 2); // QKᵀ and PV, 2 heads, each 2·T·D·T
  const lora = 2 * 2 * (4 * 1 + 1 * 4) + 2 * 2 * (4 * 1 + 1 * 2); // q, v: x·A then ·B
  const head = 2 * 2 * 4 * 12;
  assert.equal(f.forward, linears + attention + lora + head);
  const loraBwd = 2 * (2 * 2 * 1 * 4 + 2 * 2 * 4 * 1) + 2 * (2 * 2 * 1 * 2 + 2 * 2 * 4 * 1);
  assert.equal(f.backward, linears + 2 * attention + loraBwd + head + 2 * 4 * 2 * 2);
  const full = stepFlops(c, { B: 1, T: 2, accum: 3, mode: 'full', newTokens: 2, r: 1 });
  assert.equal(full.backward, 3 * (linears + 2 * attention + loraBwd + 2 * head));
});

test('fit table: every real config plans, and the verdicts follow the sizes (smallest fits wasm, Llama-3-8B fits nowhere at 32 GiB)', async () => {
  const { fitRows, fitTable } = await import('../tools/fit-table.ts');
  const o = { B: 8, T: 128, accum: 1, ramGiB: [32], mode: 'trainable-tokens' as const };
  const rows = fitRows(o);
  assert.deepEqual(rows.map((r) => r.model), ['SmolLM2-135M', 'SmolLM2-360M', 'Qwen2.5-0.5B', 'Qwen3-0.6B', 'Llama-3.2-1B', 'TinyLlama-1.1B', 'Llama-3-8B']);
  const by = Object.fromEntries(rows.map((r) => [r.model, r]));
  assert.equal(by['SmolLM2-135M'].wasm.fits, true);
  assert.equal(by['Llama-3-8B'].wasm.fits, false);
  assert.equal(by['Llama-3-8B'].cpu[0].plan.fits, false);
  // The native engine holds the weights once in ONNX Runtime: Llama-3.2-1B fits 24 GiB there (wasm's heap refuses it).
  assert.equal(by['Llama-3.2-1B'].wasm.fits, false);
  assert.ok(by['Llama-3.2-1B'].native.heap < 24 * 2 ** 30 && by['Llama-3.2-1B'].native.heap > by['Llama-3.2-1B'].wasm.bytes.weights);
  assert.ok(by['Llama-3-8B'].native.heap > 32 * 2 ** 30);
  // Frozen weights grow with the parameter count: SmolLM2-135M's ~135M float32 values.
  assert.ok(Math.abs(by['SmolLM2-135M'].wasm.bytes.weights / 4 / 134.5e6 - 1) < 0.02);
  assert.equal(fitTable(rows, o).filter((l) => l.startsWith('| ')).length, 1 + rows.length);
});

test('train bench shapes: Llama-3.2-1B as the fit table plans it; the wasm plan refuses it (no run), and fits the others', async () => {
  const { predictedMemory } = await import('../bench/harness.ts');
  const { TRAIN_SHAPES, TRAIN_WORKLOAD } = await import('../bench/real-shapes.ts');
  const { shapeModelConfig } = await import('../tools/random-model.ts');
  assert.deepEqual(TRAIN_SHAPES, ['reference', 'reference-128k', 'smollm2-135m', 'qwen2.5-0.5b', 'llama-3.2-1b']);
  assert.deepEqual(TRAIN_WORKLOAD, { B: 8, T: 128, accum: 1 });
  const { REAL_CONFIGS } = await import('../tools/fit-table.ts');
  const { parseModelConfig } = await import('../bench/harness.ts');
  const c = shapeModelConfig('llama-3.2-1b');
  const dims = (m: typeof c) => [m.vocabSize, m.hiddenSize, m.numLayers, m.numHeads, m.numKvHeads, m.intermediateSize, m.headDim, m.tieWordEmbeddings];
  assert.deepEqual(dims(c), [128256, 2048, 16, 32, 8, 8192, 64, true]);
  assert.deepEqual(dims(c), dims(parseModelConfig(REAL_CONFIGS['Llama-3.2-1B'], 'fit-table')));
  const o = { newTokens: 16, gradAccumulation: 1, B: 8, T: 128, threads: 2 };
  const big = predictedMemory('wasm', c, 'trainable-tokens', o)!;
  assert.equal(big.fits, false);
  assert.ok(big.bytes > big.limit!);
  for (const s of ['reference', 'reference-128k', 'smollm2-135m', 'qwen2.5-0.5b'] as const) {
    assert.equal(predictedMemory('wasm', shapeModelConfig(s), 'trainable-tokens', o)!.fits, true, s);
  }
});
