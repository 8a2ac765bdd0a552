// Under the native engine the frozen weights live once: in one float32 file written straight from the safetensors
// (bf16 upcast there), which every ONNX Runtime session maps as external data; TF.js holds none of them
// (src/model/weights-disk.ts, loadModel's `frozen: 'disk'`). Checked on a tiny bf16 Llama-3.2-shaped folder and
// the f32 fixture: the host's TF.js memory after load, the file's values against the TF.js load, a native update
// and an evaluation bit for bit the old path's (weights copied out of TF.js into a session's own files), and every
// session built from the one file, nothing else written, the file gone with the model.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import type { GradSink } from '../src/model/layer.ts';
import { releaseSessions, sessionsFromFiles } from '../src/model/native-run.ts';
import { Rng } from '../src/model/rng.ts';
import { disposeModel, gatherRows, loadModel, tensorRows, type LlamaModel } from '../src/model/weights.ts';
import { isDiskTensor } from '../src/model/weights-disk.ts';
import { evaluateOn } from '../src/train/evaluate.ts';
import { updateGradsNative } from '../src/train/step.ts';
import { disposeTrainer, type Trainer } from '../src/train/trainer.ts';
import { writeRandomModel } from '../tools/random-model.ts';
import { fixtureBatch, fixtureTrainer } from './fixtures/train/setup.ts';

const root = mkdtempSync(join(tmpdir(), 'weights-once-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A tiny tied Llama-3.2-shaped folder stored in bf16, as the real one is. */
async function bf16Model(): Promise<string> {
  const dir = join(root, 'llama-bf16');
  await writeRandomModel(dir, 'llama-3.2-1b', {
    tokenizer: false,
    overrides: { vocab_size: 300, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, bos_token_id: 1, eos_token_id: 2 },
  });
  return dir;
}

/** Every frozen tensor of a model with its path, in load order. */
function frozenTensors(m: LlamaModel): Array<[string, tf.Tensor]> {
  const out: Array<[string, tf.Tensor]> = [['norm', m.norm]];
  m.layers.forEach((l, i) => {
    for (const [k, t] of Object.entries({ inputNorm: l.inputNorm, postNorm: l.postNorm, qNorm: l.qNorm, kNorm: l.kNorm })) if (t) out.push([`${i}.${k}`, t]);
    for (const lin of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) {
      out.push([lin.name, lin.w]);
      if (lin.bias) out.push([`${lin.name}.bias`, lin.bias]);
    }
  });
  const tokens = m.tokens as unknown as { head: tf.Tensor; rows: tf.Tensor | null };
  out.push(['head', tokens.head]);
  if (tokens.rows) out.push(['rows', tokens.rows]);
  return out;
}

const ownFolders = () => readdirSync(tmpdir()).filter((n) => n.startsWith('tokenpipe-onnx-')).sort();

test('loaded for the native engine, a model puts none of its weights on TF.js; the file holds the TF.js load exactly (bf16 upcast)', async () => {
  await setBackend('native');
  const dir = await bf16Model();
  const bytes0 = tf.memory().numBytes;
  const host = await loadModel(dir);
  const hostBytes = tf.memory().numBytes - bytes0;
  const disk = await loadModel(dir, { frozen: 'disk' });
  try {
    assert.equal(tf.memory().numBytes - bytes0, hostBytes, 'the disk load added no TF.js bytes');
    const weights = frozenTensors(host).reduce((n, [, t]) => n + t.size * 4, 0);
    assert.equal(hostBytes, weights, 'the host load holds every weight (the figure the disk load must not reach)');
    const a = frozenTensors(host);
    const b = frozenTensors(disk);
    assert.deepEqual(b.map(([n]) => n), a.map(([n]) => n));
    for (const [k, [name, t]] of a.entries()) {
      const d = b[k][1];
      assert.ok(isDiskTensor(d), `${name} lies in the file`);
      assert.deepEqual(d.shape, t.shape, name);
      assert.deepEqual(d.dataSync(), t.dataSync(), `${name}: the file's float32 values are the TF.js load's`);
    }
    assert.deepEqual(readdirSync(disk.weightsFile!.dir), ['weights.bin']);
    // The host's few reads of frozen rows (the lookup, a retrained row's start, token init's rows and mean).
    const [hostHead, diskHead] = [a.at(-1)![1], b.at(-1)![1]] as tf.Tensor2D[];
    const ids = [0, 5, 299, 5];
    assert.deepEqual(gatherRows(diskHead, ids).dataSync(), gatherRows(hostHead, ids).dataSync());
    assert.deepEqual(tensorRows(diskHead).rows(ids), tensorRows(hostHead).rows(ids));
    assert.deepEqual(tensorRows(diskHead).mean(), tensorRows(hostHead).mean());
  } finally {
    disposeModel(host);
    const folder = disk.weightsFile!.dir;
    disposeModel(disk);
    assert.throws(() => readdirSync(folder), /ENOENT/, 'the weights folder goes with the model');
  }
});

/** A native update's loss and gradients, and an evaluation's metrics, every model as files (inlineLimit 0). */
async function updateAndEval(t: Trainer): Promise<{ loss: number; grads: Map<string, Float32Array>; evalLoss: number }> {
  await releaseSessions();
  t.native = { inlineLimit: 0 };
  const b = fixtureBatch(t);
  t.rng = Rng.seeded(7); // the same dropout seeds on both sides
  const grads: GradSink = new Map();
  const r = await updateGradsNative(t, [b], grads);
  const out = new Map([...grads].map(([k, g]) => [k, g.dataSync().slice() as Float32Array]));
  tf.dispose([...grads.values()]);
  const m = await evaluateOn(t.model, [fixtureBatch(t, 8, 3)], t.tokens.newTokenIds, t.tokens.newTokens, { native: t.native });
  return { loss: r.loss, grads: out, evalLoss: m.loss };
}

const CASES = [
  ['the bf16 Llama-3.2 shape (tied)', 'bf16', 'trainable-tokens'],
  ['the f32 fixture (untied)', 'untied', 'trainable-tokens'],
  ["the f32 fixture in 'full' mode (its trainable tables copied from the file)", 'untied', 'full'],
] as const;
for (const [what, kind, embedding] of CASES) {
  test(`${what}: update and eval from the one weights file equal the old path bit for bit; sessions share the file`, async () => {
    await setBackend('native');
    const src = kind === 'bf16' ? { dir: await bf16Model() } : kind;
    const lora = { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: 'all-linear' as const };
    const old = await fixtureTrainer(src, { lora, embedding });
    let now: Trainer | undefined;
    try {
      const want = await updateAndEval(old);
      now = await fixtureTrainer(src, { lora, embedding }, 3, 1, { frozen: 'disk' });
      const folders = ownFolders();
      const files0 = sessionsFromFiles();
      const got = await updateAndEval(now);
      assert.equal(sessionsFromFiles(), files0 + 2, 'the train pass and the eval graph each built from files');
      assert.deepEqual(ownFolders(), folders, 'no session wrote a folder of its own');
      assert.deepEqual(readdirSync(now.model.weightsFile!.dir), ['weights.bin'], "each session's model file removed once built, the weights kept");
      assert.equal(got.loss, want.loss);
      assert.equal(got.evalLoss, want.evalLoss);
      assert.deepEqual([...got.grads.keys()].sort(), [...want.grads.keys()].sort());
      for (const [name, g] of want.grads) assert.deepEqual(got.grads.get(name), g, name);
    } finally {
      await releaseSessions();
      disposeTrainer(old);
      if (now) disposeTrainer(now);
    }
  });
}
