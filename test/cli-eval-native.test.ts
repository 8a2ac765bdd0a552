// `pipe eval --backend native` (each batch's forward and chunked head one ONNX Runtime graph) prints wasm's figures
// to 1e-4 on a tied and an untied fixture model, with several windows batched together and a shorter last one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';

for (const model of ['fixtures/base', 'fixtures/models/llama']) {
  test(`pipe eval --backend native prints wasm's figures (${model})`, async () => {
    const text = path.join(mkdtempSync(path.join(tmpdir(), 'tp-evnat-')), 'eval.txt');
    writeFileSync(text, 'The jury said that the city had been taken by surprise. '.repeat(9));
    const args = ['eval', '--model', path.join(ROOT, model), '--text', text, '--json', '--max-len', '32'];
    const wasm = await pipeHere(...args, '--backend', 'wasm');
    const native = await pipeHere(...args, '--backend', 'native');
    assert.equal(wasm.status, 0, wasm.stderr);
    assert.equal(native.status, 0, native.stderr);
    const w = JSON.parse(wasm.stdout) as Record<string, number>;
    const n = JSON.parse(native.stdout) as Record<string, number>;
    assert.ok(w.tokens > 64, 'several windows');
    assert.equal(n.tokens, w.tokens);
    assert.equal(n.bytes, w.bytes);
    for (const k of ['loss', 'ppl', 'bits_per_byte']) assert.ok(Math.abs(n[k] - w[k]) <= 1e-4 * Math.max(1, Math.abs(w[k])), `${k}: ${n[k]} vs ${w[k]}`);
  });
}
