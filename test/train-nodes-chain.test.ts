// train-step → evaluator → checkpoint-sink on the fixture model: metrics lines and checkpoints
// appear on schedule, and the final adapter, put on a fresh base model, reproduces the
// evaluator's loss (the adapter is self-contained).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadAdapter } from '../src/adapter/peft.ts';
import { loadModel, disposeModel } from '../src/model/weights.ts';
import { applyAdapter } from '../src/adapter/apply.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { stepBatch } from '../src/train/step.ts';
import { MODEL, packed, runChain } from './fixtures/train/chain.ts';

for (const embedding of ['trainable-tokens', 'full', 'frozen'] as const) {
  test(`chain run writes metrics, checkpoints and a self-contained adapter ('${embedding}')`, async () => {
    await tf.setBackend('cpu');
    const runDir = mkdtempSync(path.join(tmpdir(), `tp-chain-${embedding}-`));
    const { events, emitted } = await runChain(runDir, { steps: 12, evalEvery: 4, ckptEvery: 4, trainParams: { embedding, lr: 3e-2 } });
    assert.deepEqual(events.map((e) => e.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const metrics = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(metrics.map((m) => m.step), [4, 8, 12]);
    assert.ok(metrics[2].loss < metrics[0].loss, `eval loss ${metrics.map((m) => m.loss)}`);
    assert.ok(metrics[2].newToken.loss < metrics[0].newToken.loss, `new-token loss ${metrics.map((m) => m.newToken.loss)}`);
    assert.equal(Object.keys(metrics[0].perToken).length, 3);
    assert.deepEqual(readdirSync(path.join(runDir, 'checkpoints')).sort(), ['index.json', 'step-00000008', 'step-00000012']);
    const log = readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n');
    assert.equal(log.length, 12);
    assert.ok(log.every((l) => l.length === log[0].length), 'fixed-width log lines');
    assert.ok(emitted.some((e) => e.type === 'adapter'));

    // Fresh base + adapter = the trained model: same eval loss as the evaluator's last line.
    const adapter = await loadAdapter(path.join(runDir, 'adapter'));
    assert.equal(JSON.parse(readFileSync(path.join(runDir, 'adapter', 'adapter_config.json'), 'utf8')).modules_to_save?.length ?? 0, embedding === 'full' ? 2 : 0);
    const model = await loadModel(MODEL);
    applyAdapter(model, adapter);
    const m = evaluate(model, [packed(0, 'eval'), packed(1, 'eval')].map((b) => stepBatch(b.batch, b.seqLen)), [1370, 1371, 1372], ['<alpha>', '<beta>', '<gamma>']);
    assert.ok(Math.abs(m.loss - metrics[2].loss) <= 1e-5 * metrics[2].loss, `${m.loss} vs ${metrics[2].loss}`);
    disposeModel(model);
  });
}
