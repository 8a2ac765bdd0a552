// `pipe eval --backend native` (each batch's forward and chunked head one ONNX Runtime graph) prints wasm's figures
// to 1e-4 on a tied and an untied fixture model, with several windows batched together and a shorter last one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../src/cli.ts';
import { sessionsBuilt } from '../src/model/native-run.ts';

const ROOT = path.join(import.meta.dirname, '..');

for (const model of ['fixtures/base', 'fixtures/models/llama']) {
  test(`pipe eval --backend native prints wasm's figures (${model})`, async () => {
    const text = path.join(mkdtempSync(path.join(tmpdir(), 'tp-evnat-')), 'eval.txt');
    writeFileSync(text, 'The jury said that the city had been taken by surprise. '.repeat(9));
    const run = async (backend: string): Promise<Record<string, number>> => {
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), isTTY: false };
      assert.equal(await main(['eval', '--model', path.join(ROOT, model), '--text', text, '--json', '--max-len', '32', '--backend', backend], io), 0, err.join('\n'));
      return JSON.parse(out.join('')) as Record<string, number>;
    };
    const w = await run('wasm');
    const before = sessionsBuilt();
    const n = await run('native');
    assert.ok(sessionsBuilt() > before, 'the native run ran ONNX Runtime sessions');
    assert.ok(w.tokens > 64, 'several windows');
    assert.equal(n.tokens, w.tokens);
    assert.equal(n.bytes, w.bytes);
    for (const k of ['loss', 'ppl', 'bits_per_byte']) assert.ok(Math.abs(n[k] - w[k]) <= 1e-4 * Math.max(1, Math.abs(w[k])), `${k}: ${n[k]} vs ${w[k]}`);
  });
}
