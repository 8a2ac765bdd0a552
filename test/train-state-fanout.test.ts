// train-step's snapshots are values: its state edge fans out. Two evaluators fed by the same train
// node in one pipeline report the figures a single evaluator reports, and a checkpoint sink reading
// train.state beside them writes the adapter the chained one writes. `pipe validate` accepts a
// fan-out of train.state, and every shipped pipeline loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPipeline } from '../src/pipeline/load.ts';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';

const MODEL = JSON.stringify(path.join(ROOT, 'fixtures', 'models', 'llama'));

/** The tiny corpus → train pipeline with `tail` (the nodes reading train.state) after the train node. */
function pipelineWith(dir: string, name: string, tail: string): string {
  const words = 'the harbour town river sea storm pier boats market water'.split(' ');
  const lines = Array.from({ length: 60 }, (_, i) => Array.from({ length: 10 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ').replace(/harbour/g, '<harbour>'));
  writeFileSync(path.join(dir, 'corpus.txt'), lines.join('\n') + '\n');
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, backend: cpu, workers: 1, seed: 3 }
nodes:
  corpus: { use: corpus-reader, with: { paths: corpus.txt, textMode: line, evalFraction: 0.2 } }
  tokens: { use: token-discovery, with: { model: ${MODEL}, tokens: ["<harbour>"], mine: false } }
  tokenizer: { use: tokenizer-extension, from: tokens, with: { model: ${MODEL} } }
  pack: { use: batch-packer, from: { docs: corpus.docs, tokenizer: tokenizer }, with: { seqLen: 32, batchSize: 2 } }
  train: { use: train-step, from: { batches: pack.train, tokenizer: tokenizer }, with: { model: ${MODEL}, steps: 4, lr: 0.02, lora: { dropout: 0.1 } } }
${tail}`);
  return file;
}

/** The metrics lines of a file, without their wall-clock time. */
function figures(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => ({ ...JSON.parse(l), time: undefined }));
}

test('two evaluators fed by one train node report what one evaluator reports; a sink beside them writes the same adapter', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-fanout-'));
  const single = await pipeHere('run', pipelineWith(dir, 'single', `\
  eval: { use: evaluator, from: { state: train.state, eval: pack.eval }, with: { every: 2, atStart: true } }
  save: { use: checkpoint-sink, from: { state: eval.state }, with: { every: 2 } }
`));
  assert.equal(single.status, 0, single.stderr);
  const fanned = await pipeHere('run', pipelineWith(dir, 'fanned', `\
  eval-a: { use: evaluator, from: { state: train.state, eval: pack.eval }, with: { every: 2, atStart: true, metricsFile: metrics-a.jsonl } }
  eval-b: { use: evaluator, from: { state: train.state, eval: pack.eval }, with: { every: 2, atStart: true, metricsFile: metrics-b.jsonl } }
  save: { use: checkpoint-sink, from: { state: train.state }, with: { every: 2 } }
`));
  assert.equal(fanned.status, 0, fanned.stderr);
  const one = figures(path.join(single.runDir, 'metrics.jsonl'));
  assert.deepEqual(one.map((m) => m.step), [0, 2, 4]);
  assert.deepEqual(figures(path.join(fanned.runDir, 'metrics-a.jsonl')), one);
  assert.deepEqual(figures(path.join(fanned.runDir, 'metrics-b.jsonl')), one);
  // The sink that read train.state directly saved the same weights at the same steps.
  const kept = (runDir: string) => readdirSync(path.join(runDir, 'checkpoints')).filter((f) => f.startsWith('step-')).sort();
  assert.deepEqual(kept(fanned.runDir), kept(single.runDir));
  for (const f of ['adapter_model.safetensors', 'adapter_config.json']) {
    assert.ok(readFileSync(path.join(fanned.runDir, 'adapter', f)).equals(readFileSync(path.join(single.runDir, 'adapter', f))), f);
  }
  for (const step of kept(single.runDir)) {
    for (const f of ['adapter_model.safetensors', 'optimizer.safetensors']) {
      assert.ok(readFileSync(path.join(fanned.runDir, 'checkpoints', step, f)).equals(readFileSync(path.join(single.runDir, 'checkpoints', step, f))), `${step}/${f}`);
    }
  }
});

test('pipe validate accepts a fan-out of train.state', () => {
  const r = spawnSync(process.execPath, ['bin/pipe.mjs', 'validate', 'test/fixtures/pipelines/train-state-fanout.yaml'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
});

test('every pipeline under pipelines/ loads', async () => {
  const files = readdirSync(path.join(ROOT, 'pipelines'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3, files.join(', '));
  for (const f of files) {
    const r = await checkPipeline(path.join(ROOT, 'pipelines', f));
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), [], f);
  }
});
