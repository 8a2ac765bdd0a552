// `pipe eval` scores the same bytes whatever the tokenizer: the base model with its own tokenizer
// and the adapter with its extended one (fewer, longer tokens) both count every byte of the text,
// at a window length that cuts each into many windows. Bits per byte exists to compare the two;
// with consecutive windows each window's first token went unscored, a count of bytes that
// depended on the tokenizer (9347 against 9346 bytes of a 9379-byte file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MODEL, runChain } from './fixtures/train/chain.ts';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';

async function pipeEval(...args: string[]): Promise<{ tokens: number; bytes: number; bits_per_byte: number; stderr: string }> {
  const r = await pipeHere('eval', '--backend', 'cpu', '--json', '--max-len', '16', ...args);
  assert.equal(r.status, 0, r.stderr);
  return { ...JSON.parse(r.stdout), stderr: r.stderr };
}

test('base and adapter tokenizers score the same bytes: every byte of the text', async () => {
  await tf.setBackend('cpu');
  const runDir = mkdtempSync(path.join(tmpdir(), 'tp-eval-bytes-'));
  await runChain(runDir, { steps: 1, evalEvery: 100, ckptEvery: 100 });
  const text = readFileSync(path.join(ROOT, 'fixtures', 'text', 'eval.txt'), 'utf8').replace(/the /g, 'the <alpha> ').replace(/and /g, '<beta> and <gamma> ');
  const file = path.join(runDir, 'text.txt');
  writeFileSync(file, text);
  const base = await pipeEval('--model', MODEL, '--text', file);
  const adapter = await pipeEval('--model', MODEL, '--adapter', path.join(runDir, 'adapter'), '--text', file);
  assert.ok(adapter.tokens < base.tokens - 16, `the extended tokenizer cuts the text into fewer tokens (${adapter.tokens} vs ${base.tokens})`);
  assert.ok(base.tokens > 4 * 16, 'many windows');
  assert.equal(adapter.bytes, base.bytes);
  // The fixture's SentencePiece tokenizer adds a BOS (0 bytes) and a space marker before the text (1 byte).
  assert.equal(base.bytes, Buffer.byteLength(text) + 1);
  assert.doesNotMatch(base.stderr + adapter.stderr, /not scored/, 'a BOS first: nothing is left out');
});

test('without a BOS the first token is not scored, and pipe eval says how many bytes that leaves out', async () => {
  const file = path.join(ROOT, 'fixtures', 'text', 'eval.txt');
  const r = await pipeEval('--model', path.join(ROOT, 'fixtures', 'models', 'qwen3'), '--text', file);
  const left = /the first token \((\d+) bytes\) has no context .* over the other (\d+) bytes/.exec(r.stderr);
  assert.ok(left, r.stderr);
  assert.equal(Number(left[2]), r.bytes);
  assert.equal(r.bytes + Number(left[1]), Buffer.byteLength(readFileSync(file, 'utf8')), 'every other byte is scored');
});
