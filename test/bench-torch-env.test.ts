// The train bench's promises about PyTorch (issue 22): every BLAS thread pool of the torch child is pinned to the
// compared thread count (torch.set_num_threads alone leaves OpenBLAS one thread per core), OPENBLAS_CORETYPE /
// OPENBLAS_L2_SIZE are kept unless asked, and no ratio is computed against a BLAS whose sgemm ran under 50 GFLOP/s.
// The child here is a stand-in script (no torch, no timing): it echoes the environment it was started with.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { INSTALL_OPENBLAS, MIN_TORCH_SGEMM_GFLOPS, torchChildEnv, torchRatio } from '../bench/torch-env.ts';
import { runTorch } from '../bench/torch.ts';

const FAKE = path.join(import.meta.dirname, 'fixtures', 'bench', 'fake-torch-step.mjs');
const job = { model: 'unused', mode: 'trainable-tokens', B: 8, T: 128, accum: 1, threads: 2, steps: 1, warmup: 0 };

test('torchRatio: refuses under 50 GFLOP/s and says how to install OpenBLAS; computes it at or above', () => {
  assert.equal(MIN_TORCH_SGEMM_GFLOPS, 50);
  const slow = torchRatio(300, 100, 4.7);
  assert.equal(slow.ratio, null);
  assert.match(slow.refused!, /4\.7 GFLOP\/s, under 50/);
  assert.ok(slow.refused!.includes('apt-get install libopenblas0-pthread'), slow.refused!);
  assert.equal(torchRatio(300, 100, 49.9).ratio, null);
  assert.deepEqual(torchRatio(300, 100, 50), { ratio: 3, refused: null });
  assert.deepEqual(torchRatio(300, 100, 120), { ratio: 3, refused: null });
  assert.match(torchRatio(300, 100, null).refused!, /not measured/);
  assert.match(torchRatio(null, 100, 120).refused!, /no timed update/);
  // A safety kernel setting in the child is named as a possible cause.
  assert.match(torchRatio(300, 100, 20, { OPENBLAS_CORETYPE: 'Haswell' }).refused!, /OPENBLAS_CORETYPE=Haswell/);
  assert.ok(INSTALL_OPENBLAS.includes('libopenblas0-pthread'));
});

test('torchChildEnv: OpenBLAS, OpenMP and MKL pinned to the thread count; safety variables dropped only when asked', () => {
  const parent = { PATH: '/bin', OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '1048576' };
  assert.deepEqual(torchChildEnv(2, parent), { OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2' });
  const unset = torchChildEnv(1, parent, { unsetCoreType: true });
  assert.deepEqual(Object.keys(unset).sort(), ['MKL_NUM_THREADS', 'OMP_NUM_THREADS', 'OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS']);
  assert.equal(unset.OPENBLAS_CORETYPE, undefined);
  assert.equal(unset.OPENBLAS_NUM_THREADS, '1');
});

test('runTorch: the child is started with the pinned environment, and its sgemm rate and step come back apart', async () => {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, { FAKE_SGEMM_GFLOPS: '4.5', OPENBLAS_NUM_THREADS: '16', OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '1048576' });
    delete process.env.MKL_NUM_THREADS;
    const r = await runTorch({ ...job, threads: 3 }, 60, { python: process.execPath, script: FAKE });
    assert.equal(r.status, 'ok');
    assert.equal(r.secondsPerStep, 0.5);
    assert.equal(r.tokensPerSec, (8 * 128) / 0.5);
    assert.equal(r.blas?.sgemmGflops, 4.5);
    assert.deepEqual(r.blas?.env, { OPENBLAS_NUM_THREADS: '3', OMP_NUM_THREADS: '3', MKL_NUM_THREADS: '3', OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '1048576' });
    assert.equal(torchRatio(5000, r.tokensPerSec, r.blas!.sgemmGflops).ratio, null);

    const u = await runTorch(job, 60, { python: process.execPath, script: FAKE, unsetCoreType: true });
    assert.deepEqual(u.blas?.env, { OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2', OPENBLAS_CORETYPE: null, OPENBLAS_L2_SIZE: null });
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
