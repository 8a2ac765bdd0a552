// PyTorch is the strongest baseline only at its best thread layout: at n compared threads the bench runs torch with
// n and with 1 intra-op thread, the BLAS pools at n in both (every core in use either way), and keeps the faster.
// On 2 cores SmolLM2-135M ran 221 tok/s with 1 intra-op thread against 145 with 2, so a single layout understated it.
// The child is a stand-in script (no torch, no timing) whose step time depends on the intra-op threads it was given.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { torchChildEnv, torchIntraOpChoices } from '../bench/torch-env.ts';
import { runTorchBest } from '../bench/torch.ts';

const FAKE = path.join(import.meta.dirname, 'fixtures', 'bench', 'fake-torch-step.mjs');
const job = { model: 'unused', mode: 'trainable-tokens', B: 8, T: 128, accum: 1, threads: 2, steps: 1, warmup: 0 };

test('the layouts tried: n and 1 intra-op threads at n > 1, the BLAS pools at n in both', () => {
  assert.deepEqual(torchIntraOpChoices(2), [2, 1]);
  assert.deepEqual(torchIntraOpChoices(1), [1]);
  assert.deepEqual(torchChildEnv(2, {}, { intraOp: 1 }), { OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '2' });
});

async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, vars);
    return await f();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test('runTorchBest keeps the faster layout and records every one tried', async () => {
  const r = await withEnv({ FAKE_SGEMM_GFLOPS: '250', FAKE_SECONDS_BY_THREADS: '2:0.8,1:0.5' }, () =>
    runTorchBest(job, 60, { python: process.execPath, script: FAKE }));
  assert.equal(r.intraOp, 1);
  assert.equal(r.tokensPerSec, (8 * 128) / 0.5);
  assert.equal(r.blas?.env.OMP_NUM_THREADS, '1');
  assert.equal(r.blas?.env.OPENBLAS_NUM_THREADS, '2');
  assert.deepEqual(r.tried, [{ intraOp: 2, tokensPerSec: (8 * 128) / 0.8 }, { intraOp: 1, tokensPerSec: (8 * 128) / 0.5 }]);

  const s = await withEnv({ FAKE_SGEMM_GFLOPS: '250', FAKE_SECONDS_BY_THREADS: '2:0.4,1:0.5' }, () =>
    runTorchBest(job, 60, { python: process.execPath, script: FAKE }));
  assert.equal(s.intraOp, 2);
  assert.equal(s.tokensPerSec, (8 * 128) / 0.4);
});
