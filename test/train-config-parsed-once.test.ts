// One source per setting: the train-step node's params schema is TrainConfig extended, so the
// loader's parse of the node's params is the only one in a run. Downstream (the node, the
// trainer, LoRA) nothing parses TrainConfig or LoraConfig again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TrainConfig } from '../src/train/config.ts';
import { LoraConfig } from '../src/model/lora.ts';
import { runChain } from './fixtures/train/chain.ts';

test('a train run parses TrainConfig and LoraConfig nowhere after the node params', async () => {
  await tf.setBackend('cpu');
  const calls: string[] = [];
  const restore: Array<() => void> = [];
  for (const [name, schema] of [['TrainConfig', TrainConfig], ['LoraConfig', LoraConfig]] as const) {
    for (const method of ['parse', 'safeParse'] as const) {
      const s = schema as unknown as Record<string, (...a: unknown[]) => unknown>;
      const orig = s[method];
      s[method] = (...a) => (calls.push(`${name}.${method}`), orig.apply(schema, a));
      restore.push(() => (s[method] = orig));
    }
  }
  try {
    const runDir = mkdtempSync(path.join(tmpdir(), 'tp-parse-once-'));
    const { events } = await runChain(runDir, { steps: 2, evalEvery: 2, ckptEvery: 2 });
    assert.equal(events.length, 2);
  } finally {
    for (const r of restore) r();
  }
  assert.deepEqual(calls, []);
});
