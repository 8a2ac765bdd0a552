// Backend selection: wasm and cpu load and compute; the native backends are absent on this machine
// and asking for them explains what to install; auto picks the native engine, else falls back to wasm. A stand-in module plays
// tfjs-node-gpu for the "loaded, but no GPU" and "installed but broken" paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { engineLine, setBackend } from '../src/model/backend.ts';
import { BackendUnavailable } from '../src/errors.ts';

/** Checks a [17, 33] x [33, 9] matmul on the current backend against a plain triple loop. */
async function checkMatmul(): Promise<void> {
  const [m, k, n] = [17, 33, 9];
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11));
  const want = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) want[i * n + j] += a[i * k + p] * b[p * n + j];
  const ta = tf.tensor2d(a, [m, k]);
  const tb = tf.tensor2d(b, [k, n]);
  const c = tf.matMul(ta, tb); // [m, n]
  const got = await c.data();
  tf.dispose([ta, tb, c]);
  for (let i = 0; i < m * n; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `element ${i}: ${got[i]} vs ${want[i]}`);
  const small = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
  assert.deepEqual(Array.from(await small.data()), [17, 39]);
}

// First in the file, so the wasm backend initialises here, from another working directory.
test('wasm selects and computes a matmul, whatever the working directory', async () => {
  const cwd = process.cwd();
  process.chdir(tmpdir()); // the .wasm files must be found from the package, not from the cwd
  try {
    assert.equal(await setBackend('wasm'), 'wasm');
  } finally {
    process.chdir(cwd);
  }
  assert.equal(tf.getBackend(), 'wasm');
  await checkMatmul();
});

test('auto picks the native engine where onnxruntime-node loads, naming what it passed over', async () => {
  const lines: string[] = [];
  assert.equal(await setBackend('auto', { log: (l) => lines.push(l) }), 'native');
  assert.equal(tf.getBackend(), 'wasm'); // the native engine's TF.js host
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^backend tensorflow-gpu skipped: .*@tensorflow\/tfjs-node-gpu, which is not installed/);
  assert.match(lines[1], /^backend native: onnxruntime-node 1\.30\.0 \(execution providers: cpu[,)]/);
  assert.match(engineLine('auto', 'native', lines), /^native \(chosen by auto; tensorflow-gpu not installed; native: onnxruntime-node 1\.30\.0 /);
});

test('auto falls back to wasm where the native engine cannot load, saying why each faster one was skipped', async () => {
  // Every optional package missing, as on a platform onnxruntime-node ships no binary for.
  const importModule = async (s: string) => {
    throw Object.assign(new Error(`Cannot find package '${s}' imported from tokenpipe`), { code: 'ERR_MODULE_NOT_FOUND' });
  };
  const lines: string[] = [];
  assert.equal(await setBackend('auto', { importModule, log: (l) => lines.push(l) }), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^backend tensorflow-gpu skipped: .*not installed/);
  assert.match(lines[1], /^backend native skipped: the native engine cannot run here: the package onnxruntime-node is not installed/);
  assert.match(lines[2], /^backend tensorflow skipped: .*@tensorflow\/tfjs-node, which is not installed/);
  assert.equal(
    engineLine('auto', 'wasm', lines),
    'wasm (chosen by auto; tensorflow-gpu not installed; native skipped: the native engine cannot run here: the package onnxruntime-node is not installed (`npm install` brings it); tensorflow not installed)',
  );
});

test('native loads onnxruntime-node, names its version and providers, and hosts the rest on wasm', async () => {
  const lines: string[] = [];
  assert.equal(await setBackend('native', { log: (l) => lines.push(l) }), 'native');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^backend native: onnxruntime-node 1\.30\.0 \(execution providers: cpu[,)]/);
  assert.match(engineLine('native', 'native', lines), /^native \(asked for; native: onnxruntime-node 1\.30\.0 \(execution providers: cpu[^)]*\) runs each update's forward, loss and backward as one graph\)$/);
});

test('native where the binding cannot load: BackendUnavailable with the reason and the way back to wasm', async () => {
  const importModule = async (s: string) => {
    if (s === 'onnxruntime-node') throw Object.assign(new Error('libonnxruntime.so.1: cannot open shared object file'), { code: 'ERR_DLOPEN_FAILED' });
    return import(s);
  };
  await assert.rejects(setBackend('native', { importModule }), (e: Error) => {
    assert.ok(e instanceof BackendUnavailable);
    assert.match(e.message, /^the native engine cannot run here: onnxruntime-node failed to load its native library on linux-x64: libonnxruntime\.so\.1: cannot open/);
    assert.match(e.message, /Use --backend wasm \(or auto\) instead\.$/);
    return true;
  });
});

test('cpu selects and computes a matmul', async () => {
  assert.equal(await setBackend('cpu'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await checkMatmul();
});

test('tensorflow-gpu when the package is absent: actionable BackendUnavailable', async () => {
  await assert.rejects(setBackend('tensorflow-gpu'), (e: Error) => {
    assert.ok(e instanceof BackendUnavailable);
    assert.equal((e as BackendUnavailable).code, 'BACKEND_UNAVAILABLE');
    assert.match(e.message, /backend "tensorflow-gpu" needs the optional package @tensorflow\/tfjs-node-gpu, which is not installed/);
    assert.ok(e.message.includes('`npm install @tensorflow/tfjs-node-gpu`'), e.message);
    assert.match(e.message, /Linux x64/);
    assert.match(e.message, /CUDA and cuDNN/);
    assert.match(e.message, /downloads libtensorflow/);
    assert.match(e.message, /--backend auto, wasm or cpu/);
    return true;
  });
});

test('tensorflow when the package is absent: names the CPU package and its install command', async () => {
  await assert.rejects(setBackend('tensorflow'), (e: Error) => {
    assert.ok(e instanceof BackendUnavailable);
    assert.ok(e.message.includes('`npm install @tensorflow/tfjs-node`;'), e.message);
    assert.match(e.message, /downloads libtensorflow/);
    return true;
  });
});

test('an unknown backend name is refused', async () => {
  await assert.rejects(setBackend('webgpu' as never), /unknown backend "webgpu"; choose one of auto, native, wasm, cpu, tensorflow, tensorflow-gpu/);
});

test('tfjs-node-gpu installed but unable to load (missing CUDA library): the cause is in the message', async () => {
  const importModule = async () => {
    throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
  };
  await assert.rejects(
    setBackend('tensorflow-gpu', { importModule }),
    /@tensorflow\/tfjs-node-gpu is installed but failed to load: libcudart\.so\.11\.0: cannot open shared object file.*npm install @tensorflow\/tfjs-node-gpu/,
  );
});

test('tfjs-node-gpu loads but finds no GPU: clear error when asked for, CPU TensorFlow under auto', async () => {
  const cpuFactory = tf.findBackendFactory('cpu');
  const fakeNodeGpu = (gpu: boolean) => async () => {
    // What the real package does on import: register a "tensorflow" backend.
    tf.registerBackend('tensorflow', () => Object.assign(cpuFactory(), { isGPUPackage: true, isUsingGpuDevice: gpu }));
  };
  try {
    await assert.rejects(setBackend('tensorflow-gpu', { importModule: fakeNodeGpu(false) }), (e: Error) => {
      assert.ok(e instanceof BackendUnavailable);
      assert.match(e.message, /@tensorflow\/tfjs-node-gpu loaded, but TensorFlow found no usable GPU, so it would run on the CPU/);
      assert.match(e.message, /nvidia-smi/);
      assert.match(e.message, /--backend tensorflow \/ auto/);
      return true;
    });
    tf.removeBackend('tensorflow');
    assert.equal(await setBackend('auto', { importModule: fakeNodeGpu(false) }), 'tensorflow');
    await setBackend('cpu');
    tf.removeBackend('tensorflow');
    assert.equal(await setBackend('auto', { importModule: fakeNodeGpu(true) }), 'tensorflow-gpu');
  } finally {
    await setBackend('cpu');
    tf.removeBackend('tensorflow');
  }
});
