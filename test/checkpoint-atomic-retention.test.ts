// Checkpoints: everything needed to resume comes back; retention keeps the last K plus the
// best by eval loss; a failed or killed write never leaves a folder that looks complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveCheckpoint, listCheckpoints, latestCheckpoint, loadCheckpoint, removeStaleTemps, type CheckpointContents } from '../src/train/checkpoint.ts';
import { LoraConfig } from '../src/model/lora.ts';
import { CheckpointError } from '../src/errors.ts';

function contents(step: number, evalLoss?: number): CheckpointContents {
  return {
    adapter: {
      lora: new Map([['model.layers.0.self_attn.q_proj', { A: Float32Array.from([1, 2, 3, 4, 5, 6, 7, step]), B: new Float32Array(8), inF: 4, outF: 4 }]]),
      loraConfig: LoraConfig.parse({ r: 2, alpha: 4 }), mode: 'trainable-tokens', hiddenSize: 4, vocabSize: 12, baseVocabSize: 10,
      tieWordEmbeddings: true, baseModelNameOrPath: 'base', newTokens: ['<x>', '<y>'], newTokenIds: [10, 11],
      tokenRows: { embed: { ids: [10, 11], rows: Float32Array.from({ length: 8 }, (_, i) => i + step) } },
    },
    optimizer: { params: [
      { name: 'lora.a', shape: [2, 4], step, expAvg: Float32Array.from({ length: 8 }, (_, i) => i * 0.1), expAvgSq: new Float32Array(8).fill(step) },
      { name: 'tokens.embed', shape: [2, 4], step: step - 1, expAvg: new Float32Array(8).fill(-1), expAvgSq: new Float32Array(8).fill(2) },
    ] },
    state: { step, totalSteps: 100, rng: { s: [11, 22, 33, step] }, data: { epoch: 0, index: step * 4 }, configHash: 'abc', evalLoss },
  };
}

test('a checkpoint reads back: adapter, moments, per-param steps, rng and data position', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-ckpt-'));
  const dir = await saveCheckpoint(root, contents(7, 2.5), 3);
  assert.equal(path.basename(dir), 'step-00000007');
  const c = await loadCheckpoint(dir);
  assert.equal(c.state.step, 7);
  assert.deepEqual(c.state.rng, { s: [11, 22, 33, 7] });
  assert.deepEqual(c.state.data, { epoch: 0, index: 28 });
  assert.equal(c.state.evalLoss, 2.5);
  const emb = c.optimizer.params.find((p) => p.name === 'tokens.embed')!;
  assert.equal(emb.step, 6);
  assert.deepEqual(emb.shape, [2, 4]);
  assert.deepEqual(emb.expAvgSq, new Float32Array(8).fill(2));
  assert.deepEqual(c.adapter.tokenRows!.embed!.rows, Float32Array.from({ length: 8 }, (_, i) => i + 7));
  // The checkpoint folder is itself a valid PEFT adapter folder.
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')).peft_type, 'LORA');
});

test('retention keeps the last K and the best by eval loss', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-ckpt-'));
  const losses = [3.0, 1.2, 2.0, 2.5, 2.7, 2.9];
  for (let i = 0; i < losses.length; i++) await saveCheckpoint(root, contents((i + 1) * 10, losses[i]), 2);
  assert.deepEqual((await listCheckpoints(root)).map((e) => e.step), [20, 50, 60]);
  const index = JSON.parse(readFileSync(path.join(root, 'index.json'), 'utf8'));
  assert.equal(index.best, 'step-00000020');
  assert.equal(index.latest, 'step-00000060');
  assert.equal((await latestCheckpoint(root))!.step, 60);
});

test('a failing write leaves the previous checkpoint as the latest and no partial folder', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-ckpt-'));
  await saveCheckpoint(root, contents(1), 3);
  const bad = contents(2);
  bad.optimizer.params[0].expAvg = new Float32Array(3); // wrong length for [2, 4]: the write fails midway
  await assert.rejects(saveCheckpoint(root, bad, 3), CheckpointError);
  assert.deepEqual(readdirSync(root).sort(), ['index.json', 'step-00000001']);
  assert.equal((await latestCheckpoint(root))!.step, 1);
  // A temp folder from a crashed run is ignored, then removed.
  mkdirSync(path.join(root, 'step-00000003.tmp-999-dead'));
  writeFileSync(path.join(root, 'step-00000003.tmp-999-dead', 'trainer_state.json'), '{"format":"tokenpipe-checkpoint/1","step":3,"rng":{"s":[1]}}');
  assert.equal((await latestCheckpoint(root))!.step, 1);
  assert.deepEqual(await removeStaleTemps(root), ['step-00000003.tmp-999-dead']);
});

for (const where of ['file', 'folder'] as const) {
  test(`SIGKILL during a checkpoint write (before the ${where} rename) leaves every complete-named checkpoint loadable`, async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tp-ckpt-kill-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures/train/ckpt-writer.ts'), root, where], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    // The child stops inside checkpoint 3's write and says so: kill it there.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes(`paused 3 ${where}\n`)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the writer exited without pausing: ${out}`)));
    });
    await new Promise((r) => child.on('exit', r));
    const entries = await listCheckpoints(root);
    assert.deepEqual(entries.map((e) => e.step), [1, 2]);
    for (const e of entries) {
      const c = await loadCheckpoint(e.dir);
      assert.equal(c.optimizer.params[0].expAvg.length, 2_000_000);
      assert.equal(c.adapter.lora.get('model.layers.0.self_attn.q_proj')!.A[0], e.step);
    }
    // The killed write left its temp folder behind, ignored above and removed here.
    assert.ok(readdirSync(root).some((n) => n.startsWith('step-00000003.tmp-')));
    await removeStaleTemps(root);
    assert.ok(readdirSync(root).every((n) => !n.includes('.tmp-')));
  });
}
