// The training nodes inside a real `pipe run`: corpus → token list → extended tokenizer → packer
// → train-step → evaluator → checkpoint-sink on the fixture model with one added token (the
// one-row edge case), ending with metrics, checkpoints and a loadable adapter; then a second run
// resumes from a checkpoint (--set train.resumeFrom) and continues the step count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAdapter } from '../src/io/peft.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MODEL = path.join(ROOT, 'fixtures', 'models', 'llama');

function pipeline(dir: string, steps: number): string {
  const words = 'the harbour town river sea storm pier boats market water'.split(' ');
  const lines = Array.from({ length: 60 }, (_, i) => Array.from({ length: 10 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ').replace(/harbour/g, '<harbour>'));
  writeFileSync(path.join(dir, 'corpus.txt'), lines.join('\n') + '\n');
  const yaml = `name: e2e
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, backend: cpu, workers: 1 }
nodes:
  corpus: { use: corpus-reader, with: { paths: corpus.txt, textMode: line, evalFraction: 0.2 } }
  tokens: { use: token-discovery, with: { model: ${JSON.stringify(MODEL)}, tokens: ["<harbour>"], mine: false } }
  tokenizer: { use: tokenizer-extension, from: tokens, with: { model: ${JSON.stringify(MODEL)} } }
  pack: { use: batch-packer, from: { docs: corpus.docs, tokenizer: tokenizer, fingerprint: corpus.fingerprint }, with: { seqLen: 32, batchSize: 2, epochs: 4 } }
  train: { use: train-step, from: { batches: pack.train, tokenizer: tokenizer }, with: { model: ${JSON.stringify(MODEL)}, backend: cpu, steps: ${steps}, lr: 0.02 } }
  eval: { use: evaluator, from: { state: train.state, eval: pack.eval }, with: { every: 3 } }
  save: { use: checkpoint-sink, from: { state: eval.state, fingerprint: corpus.fingerprint }, with: { every: 3 } }
`;
  const file = path.join(dir, 'train.yaml');
  writeFileSync(file, yaml);
  return file;
}

function run(file: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'run', file, ...args], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  return /run folder: (.+)$/m.exec(r.stderr)![1].trim();
}

test('pipe run trains, evaluates, checkpoints, writes an adapter, and resumes from a checkpoint', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-e2e-'));
  const file = pipeline(dir, 6);
  const runDir = run(file);
  const log = readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n');
  assert.equal(log.length, 6);
  const metrics = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((m) => m.step), [3, 6]);
  assert.ok(metrics[0].perToken['<harbour>'].count > 0);
  assert.deepEqual(readdirSync(path.join(runDir, 'checkpoints')).sort(), ['index.json', 'step-00000003', 'step-00000006']);
  const adapter = await loadAdapter(path.join(runDir, 'adapter'));
  assert.deepEqual(adapter.tokenRows!.embed!.ids, [1370]);
  assert.deepEqual(adapter.tokenRows!.lmHead!.ids, [1370]);

  // A second run picks up after update 3 and repeats updates 4-6 exactly.
  const runDir2 = run(file, '--set', `train.resumeFrom=${path.join(runDir, 'checkpoints', 'step-00000003')}`);
  const log2 = readFileSync(path.join(runDir2, 'train.log'), 'utf8').trim().split('\n');
  const lossOf = (l: string) => /loss\s+(\S+)/.exec(l)![1];
  assert.deepEqual(log2.map((l) => Number(/step\s+(\d+)/.exec(l)![1])), [4, 5, 6]);
  assert.deepEqual(log2.map(lossOf), log.slice(3).map(lossOf));
});
