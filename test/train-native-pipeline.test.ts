// `pipe run --backend native` trains the tiny pipeline end to end on the native engine: the run record's train-start
// event and the summary name the engine and why, and the update losses equal a `--backend wasm` run's (to 1e-4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeRun, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

function trained(backend: string) {
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), `tp-${backend}-`)), { steps: 4, summary: true });
  const { runDir, stdout } = pipeRun(file, '--backend', backend);
  const events = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const losses = readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n').map((l) => Number(/loss\s+(\S+)/.exec(l)![1]));
  const evals = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; loss: number; bitsPerByte: number; newToken: { loss: number } });
  return { start: events.find((e) => e.type === 'train-start'), losses, stdout, evals };
}

test('pipe run --backend native trains like wasm and names its engine', () => {
  const native = trained('native');
  const wasm = trained('wasm');
  assert.equal(native.start.backend, 'native');
  assert.match(native.start.engine, /^native \(asked for; native: onnxruntime-node 1\.30\.0 .*runs each update's forward, loss and backward as one graph\)$/);
  assert.match(wasm.start.engine, /^wasm \(asked for\)$/);
  assert.match(native.stdout, /\n {2}engine {16}native \(asked for; native: onnxruntime-node/);
  assert.match(wasm.stdout, /\n {2}engine {16}wasm \(asked for\)\n/);
  assert.equal(native.losses.length, 4);
  native.losses.forEach((l, i) => assert.ok(Math.abs(l - wasm.losses[i]) <= 1e-4, `update ${i + 1}: native ${l} vs wasm ${wasm.losses[i]}`));
  // The evaluator runs the native eval graph (evaluateOn): its figures equal wasm's too.
  assert.ok(native.evals.length > 0);
  assert.deepEqual(native.evals.map((e) => e.step), wasm.evals.map((e) => e.step));
  native.evals.forEach((e, i) => {
    for (const k of ['loss', 'bitsPerByte'] as const) assert.ok(Math.abs(e[k] - wasm.evals[i][k]) <= 1e-4, `eval ${e.step} ${k}: ${e[k]} vs ${wasm.evals[i][k]}`);
    assert.ok(Math.abs(e.newToken.loss - wasm.evals[i].newToken.loss) <= 1e-4, `eval ${e.step} new-token loss`);
  });
});
