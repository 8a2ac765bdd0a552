// --dry-run: the train-step node reports the memory plan of all three modes and of one update (weights,
// activations, temporaries, peak) without training, and its numbers are those of the tensors a real run of the
// same config allocates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupTrainer } from '../src/train/setup.ts';
import { TrainConfig } from '../src/train/config.ts';
import { countParams } from '../src/model/params.ts';
import { disposeTrainer } from '../src/train/trainer.ts';
import { MODEL, fixtureArtifact, runChain } from './fixtures/train/chain.ts';

for (const embedding of ['trainable-tokens', 'full'] as const) {
  test(`dry run plans without training, and the plan matches a real trainer ('${embedding}')`, async () => {
    await tf.setBackend('cpu');
    const lora = { r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: ['q_proj', 'down_proj'] };
    const runDir = mkdtempSync(path.join(tmpdir(), 'tp-dry-'));
    const r = await runChain(runDir, { steps: 5, dryRun: true, trainParams: { embedding, lora, retrainTokens: ['</s>'] } });
    assert.equal(r.events.length, 0, 'no training in a dry run');
    assert.ok(!existsSync(path.join(runDir, 'checkpoints')));
    const ev = r.emitted.find((e) => e.type === 'memory-plan') as any;
    assert.equal(ev.lines.length, 5 + 1 + 6, 'the three modes, then the update');
    assert.match(ev.lines[6], /micro-batch \d+ x \d+ tokens/);
    assert.match(readFileSync(path.join(runDir, 'memory-plan.txt'), 'utf8'), new RegExp(`\\*${embedding}`));

    const before = tf.memory().numBytes;
    const { trainer } = await setupTrainer({
      model: MODEL, tokenizer: fixtureArtifact(), cfg: TrainConfig.parse({ steps: 5, embedding, lora }), seed: 1, init: 'mean',
      retrainTokens: ['</s>'], checkpointRoot: path.join(runDir, 'ck'), resume: false, backend: 'cpu',
    });
    assert.equal(ev.plan.counts.trainable, countParams(trainer.params));
    assert.equal(ev.plan.bytes.optimizer, trainer.opt.stateBytes());
    assert.equal(ev.plan.bytes.params, 4 * countParams(trainer.params));
    // Frozen weights plus params and AdamW moments: what setting the trainer up allocated.
    assert.equal(ev.step.bytes.weights + ev.step.bytes.params + ev.step.bytes.optimizer, tf.memory().numBytes - before);
    disposeTrainer(trainer);
  });
}
