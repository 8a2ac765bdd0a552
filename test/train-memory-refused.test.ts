// A run whose memory plan exceeds the backend's limit is refused before the model is loaded: `pipe run` exits 2
// with the numbers and what to change, and writes no checkpoint. The model folder here has an 8B Llama config and
// a sparse weights file: the header lists every tensor the config implies (what the checks before the run read),
// and the 16 GB of data behind it are a hole that takes no disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseModelConfig } from '../src/model/config.ts';
import { tensorPlan } from '../src/model/tensor-plan.ts';
import { PIPE, ROOT } from './fixtures/train/tiny-pipeline.ts';

/** `pipe run` of a 3-step train on the 8B-shaped folder with `backend`: its result and run folder. */
function refusedRun(backend: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-refuse-'));
  const model = path.join(dir, 'llama-8b-shape');
  mkdirSync(model);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(ROOT, 'fixtures/models/llama', f), path.join(model, f));
  const base = JSON.parse(readFileSync(path.join(ROOT, 'fixtures/models/llama/config.json'), 'utf8'));
  const config = { ...base, vocab_size: 128256, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8 };
  writeFileSync(path.join(model, 'config.json'), JSON.stringify(config));
  // safetensors: an 8-byte header length, the header (every tensor, BF16), then the data as a hole.
  const entries: Record<string, unknown> = {};
  let end = 0;
  for (const t of tensorPlan(parseModelConfig(config, 'config.json'))) {
    const bytes = 2 * t.shape.reduce((a, b) => a * b, 1);
    entries[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [end, end + bytes] };
    end += bytes;
  }
  const header = Buffer.from(JSON.stringify(entries).padEnd(Math.ceil(JSON.stringify(entries).length / 8) * 8, ' '));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const weights = path.join(model, 'model.safetensors');
  writeFileSync(weights, Buffer.concat([length, header]));
  truncateSync(weights, 8 + header.length + end);
  writeFileSync(path.join(dir, 'corpus.txt'), Array.from({ length: 40 }, (_, i) => `line ${i} of the harbour town and its boats`).join('\n'));
  const file = path.join(dir, 'train.yaml');
  writeFileSync(file, `name: refused
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, backend: ${backend}, workers: 1 }
nodes:
  corpus: { use: corpus-reader, with: { paths: corpus.txt, textMode: line, evalFraction: 0.2 } }
  tokens: { use: token-discovery, with: { model: ${JSON.stringify(model)}, tokens: ["<harbour>"], mine: false } }
  tokenizer: { use: tokenizer-extension, from: tokens, with: { model: ${JSON.stringify(model)} } }
  pack: { use: batch-packer, from: { docs: corpus.docs, tokenizer: tokenizer, fingerprint: corpus.fingerprint }, with: { seqLen: 32, batchSize: 2 } }
  train: { use: train-step, from: { batches: pack.train, tokenizer: tokenizer }, with: { model: ${JSON.stringify(model)}, steps: 3 } }
  save: { use: checkpoint-sink, from: { state: train.state } }
`);
  const r = spawnSync(process.execPath, [PIPE, 'run', file], { encoding: 'utf8', cwd: ROOT });
  return { r, runDir: /run folder: (\S+)/.exec(r.stderr)?.[1] };
}

test('a plan over the wasm heap is refused before loading, with exit 2 and what to change', () => {
  const { r, runDir } = refusedRun('wasm');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /train: one training update needs about [\d.]+ GiB of wasm memory, more than its 4\.00 GiB/);
  assert.match(r.stderr, /frozen weights [\d.]+ GiB/);
  for (const knob of ['seqLen', 'batchSize', 'gradAccumulation']) assert.match(r.stderr, new RegExp(knob));
  assert.match(r.stderr, /this model needs a backend with more memory/);
  assert.doesNotMatch(r.stderr, /^  at /m, 'a refusal says what to change, not where in tokenpipe it was raised');
  assert.ok(existsSync(path.join(runDir!, 'memory-plan.txt')), 'the plan is kept in the run folder');
  assert.ok(!existsSync(path.join(runDir!, 'checkpoints')) && !existsSync(path.join(runDir!, 'adapter')), 'nothing was trained or written');
});

test('on the native engine the plan is its own (machine memory, the wasm host apart) and refuses before loading', () => {
  const { r, runDir } = refusedRun('native');
  assert.equal(r.status, 2, r.stderr);
  // The 8B model's float32 weights (30 GB, held once, by ONNX Runtime) alone pass the machine's memory.
  assert.match(r.stderr, /train: one training update on the native engine needs about [\d.]+ GiB of memory, more than this machine's [\d.]+ GiB: host [\d.]+ MiB, ONNX Runtime initializers 29\.\d\d GiB/);
  const plan = readFileSync(path.join(runDir!, 'memory-plan.txt'), 'utf8');
  assert.match(plan, /native \(ONNX Runtime\)/);
  assert.match(plan, /predicted peak +[\d.]+ GiB resident \(machine memory [\d.]+ GiB\)/);
  assert.ok(!existsSync(path.join(runDir!, 'checkpoints')), 'nothing was trained or written');
});
