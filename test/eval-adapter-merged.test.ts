// Acceptance: `pipe eval --model BASE --adapter ADAPTER` gives, to 1e-5 relative, the loss the
// evaluator computes for the same text, and the same as `pipe eval --model MERGED`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadAdapter } from '../src/adapter/peft.ts';
import { evalWindows } from '../src/model/eval.ts';
import { loadModel, disposeModel } from '../src/model/weights.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { applyAdapter } from '../src/adapter/apply.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { shiftLabels } from '../src/model/loss.ts';
import { MODEL, runChain } from './fixtures/train/chain.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const pipeEval = (...args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'eval', '--backend', 'cpu', '--json', ...args], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { tokens: number; loss: number };
};

test('pipe eval with the adapter = evaluator on the same text = pipe eval on the merged model', async () => {
  await tf.setBackend('cpu');
  const runDir = mkdtempSync(path.join(tmpdir(), 'tp-evaladapter-'));
  await runChain(runDir, { steps: 4, evalEvery: 100, ckptEvery: 100, trainParams: { lr: 3e-2 } });
  const adapterDir = path.join(runDir, 'adapter');
  const text = readFileSync(path.join(ROOT, 'fixtures', 'text', 'eval.txt'), 'utf8').replace(/the /g, 'the <alpha> ').replace(/and /g, '<beta> and <gamma> ');
  const textFile = path.join(runDir, 'text.txt');
  writeFileSync(textFile, text);
  const maxLen = 32;

  // The evaluator's computation: the same windows as packed batches (first token of each is context).
  const adapter = await loadAdapter(adapterDir);
  const ids = loadTokenizer({ ...adapter.tokenizer!, source: adapterDir }).encode(text);
  assert.ok([1370, 1371, 1372].every((id) => ids.includes(id)), 'the text uses the new tokens');
  const model = await loadModel(MODEL);
  applyAdapter(model, adapter);
  const batches = evalWindows(ids.length, maxLen).map(([s, e]) => {
    const w = ids.slice(s, e);
    const T = w.length;
    return { B: 1, T, inputIds: w, targets: shiftLabels(w, 1, T), positionIds: Int32Array.from({ length: T }, (_, i) => i), documentIds: new Int32Array(T) };
  });
  const evaluator = evaluate(model, batches, [1370, 1371, 1372], ['<alpha>', '<beta>', '<gamma>']);
  disposeModel(model);

  const viaAdapter = pipeEval('--model', MODEL, '--adapter', adapterDir, '--text', textFile, '--max-len', String(maxLen));
  assert.equal(viaAdapter.tokens, evaluator.tokens);
  assert.ok(Math.abs(viaAdapter.loss - evaluator.loss) <= 1e-5 * evaluator.loss, `${viaAdapter.loss} vs ${evaluator.loss}`);

  const merged = path.join(runDir, 'merged');
  const m = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'merge', '--model', MODEL, '--adapter', adapterDir, '--out', merged], { encoding: 'utf8', cwd: ROOT });
  assert.equal(m.status, 0, m.stderr);
  const viaMerged = pipeEval('--model', merged, '--text', textFile, '--max-len', String(maxLen));
  assert.equal(viaMerged.tokens, viaAdapter.tokens);
  assert.ok(Math.abs(viaMerged.loss - viaAdapter.loss) <= 1e-5 * viaAdapter.loss, `${viaMerged.loss} vs ${viaAdapter.loss}`);

  // A second merge into the same folder, or into the base model's folder, is refused: nothing written is lost.
  const merge = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'merge', '--model', MODEL, '--adapter', adapterDir, ...args], { encoding: 'utf8', cwd: ROOT });
  const again = merge('--out', merged);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /folder exists and is not empty \(add --force to replace it\)/);
  const onBase = merge('--out', MODEL, '--force');
  assert.equal(onBase.status, 2);
  assert.match(onBase.stderr, /--out is the --model folder/);
  assert.equal(merge('--out', merged, '--force').status, 0);
});
