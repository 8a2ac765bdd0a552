// Choosing the engine: the native engine (ONNX Runtime, src/model/native.ts) or a TensorFlow.js backend. The native
// engine runs what it has built on ONNX Runtime and everything else on TF.js wasm, its host backend. The TF.js native
// backends (@tensorflow/tfjs-node and
// @tensorflow/tfjs-node-gpu) are optional and usually absent: they are only ever reached through
// a dynamic import inside setBackend, so importing this module (or anything that imports it)
// never fails for want of them.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BackendUnavailable } from '../errors.ts';
import { nativeEngine } from './native.ts';

export const BACKEND_CHOICES = ['auto', 'native', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** What setBackend reports as actually in use. */
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface SetBackendOptions {
  /** Loads an optional package; injectable so tests can stand in for tfjs-node(-gpu). */
  importModule?: (specifier: string) => Promise<unknown>;
  /** Receives one line per backend that `auto` skipped, and why, and one saying what the native engine runs. */
  log?: (line: string) => void;
}

/**
 * The order `auto` tries: a TensorFlow GPU first (only where tfjs-node-gpu finds a device), then the native engine
 * (ONNX Runtime's CPU kernels, one graph per update: faster than TensorFlow's op-by-op CPU kernels and than wasm,
 * docs/benchmarks.md), then TensorFlow's CPU kernels, wasm (runs everywhere), cpu.
 */
export const AUTO_ORDER = ['tensorflow-gpu', 'native', 'tensorflow', 'wasm', 'cpu'] as const;

const NODE_PKG = '@tensorflow/tfjs-node';
const GPU_PKG = '@tensorflow/tfjs-node-gpu';

/**
 * Selects a backend and returns the one actually in use. 'auto' tries AUTO_ORDER and takes the first that loads.
 * 'native' needs onnxruntime-node's binding and uses wasm as its TF.js host. Asking for a specific backend that cannot be
 * used throws BackendUnavailable with what to install or check.
 */
export function setBackend(choice: BackendChoice, opts: SetBackendOptions = {}): Promise<BackendName> {
  // One at a time: tf.setBackend while another backend is still initialising reports failure,
  // so concurrent callers (several train-step nodes in one graph) fell back to 'cpu' and flipped
  // the global backend under each other.
  const result = queue.then(() => chooseBackend(choice, opts));
  queue = result.catch(() => undefined);
  return result;
}

let queue: Promise<unknown> = Promise.resolve();

const defaultImport = (s: string): Promise<unknown> => import(s);

async function chooseBackend(choice: BackendChoice, opts: SetBackendOptions): Promise<BackendName> {
  const importModule = opts.importModule ?? defaultImport;
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new BackendUnavailable(String(choice), `unknown backend "${String(choice)}"; choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  if (choice !== 'auto') return useBackend(choice, importModule, opts.log);
  for (const candidate of AUTO_ORDER) {
    try {
      return await useBackend(candidate, importModule, opts.log);
    } catch (e) {
      if (!(e instanceof BackendUnavailable)) throw e;
      // tfjs-node-gpu without a GPU leaves its "tensorflow" backend registered: 'tensorflow' below takes it if
      // the native engine cannot run.
      opts.log?.(`backend ${candidate} skipped: ${e.message}`);
    }
  }
  throw new BackendUnavailable('auto', `no backend could be initialised (tried ${AUTO_ORDER.join(', ')})`);
}

async function useBackend(name: BackendName, importModule: (s: string) => Promise<unknown>, log?: (line: string) => void): Promise<BackendName> {
  switch (name) {
    case 'native': {
      const ort = await nativeEngine(importModule === defaultImport ? undefined : importModule);
      if (!ort.ok) throw new BackendUnavailable('native', `the native engine cannot run here: ${ort.reason}. Use --backend wasm (or auto) instead.`);
      configureWasm();
      await activate('wasm', 'native');
      log?.(`backend native: onnxruntime-node ${ort.version} (execution providers: ${ort.providers.join(', ')}) runs each update's forward, loss and backward as one graph; eval and generate run as graphs too; the embedding lookup and AdamW run on TF.js wasm`);
      return 'native';
    }
    case 'cpu': {
      await activate('cpu', 'cpu');
      // The cpu backend's first write prints an "install tfjs-node" banner; choosing cpu here is
      // deliberate (and tfjs-node may not be installable), so mark it as already shown.
      const cpu = tf.backend() as { firstUse?: boolean };
      if (cpu.firstUse === true) cpu.firstUse = false;
      return 'cpu';
    }
    case 'wasm':
      configureWasm();
      await activate('wasm', 'wasm');
      return 'wasm';
    case 'tensorflow':
      await loadNative(NODE_PKG, 'tensorflow', importModule);
      await activate('tensorflow', 'tensorflow');
      return 'tensorflow';
    case 'tensorflow-gpu': {
      await loadNative(GPU_PKG, 'tensorflow-gpu', importModule);
      await activate('tensorflow', 'tensorflow-gpu');
      const b = tf.backend() as { isUsingGpuDevice?: boolean; isGPUPackage?: boolean };
      if (b.isUsingGpuDevice !== true) {
        // Both packages register as "tensorflow"; if the CPU one got there first, say so.
        const what = b.isGPUPackage === false ? `the "tensorflow" backend already loaded comes from ${NODE_PKG} (CPU only)` : `${GPU_PKG} loaded, but TensorFlow found no usable GPU, so it would run on the CPU`;
        throw new BackendUnavailable(
          'tensorflow-gpu',
          `${what}. ` +
            'Check that `nvidia-smi` lists a GPU, that the CUDA and cuDNN libraries libtensorflow was built for are on ' +
            'LD_LIBRARY_PATH, and that CUDA_VISIBLE_DEVICES does not hide the device; ' +
            'or use --backend tensorflow / auto to run on the CPU.',
        );
      }
      return 'tensorflow-gpu';
    }
  }
}

async function activate(tfName: string, asked: BackendName): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    throw new BackendUnavailable(asked, `TensorFlow.js backend "${tfName}" failed to initialise: ${(e as Error).message}`, { cause: e });
  }
  if (!ok) throw new BackendUnavailable(asked, `TensorFlow.js backend "${tfName}" failed to initialise (see the warning above)`);
  await tf.ready();
}

let wasmConfigured = false;

// The .wasm binaries sit next to the package's node entry (dist/); resolving it through Node makes
// the path independent of the working directory. In Node, tfjs never uses wasm threads
// (WASM_HAS_MULTITHREAD_SUPPORT is false under IS_NODE, tfjs issue #3830), so the wasm backend
// runs single-threaded with SIMD: parallelism comes from running several workers instead.
function configureWasm(): void {
  if (wasmConfigured) return;
  wasmConfigured = true;
  // setWasmPaths refuses once the backend is initialised; someone may have done that already.
  if ((tf.engine().registry as Record<string, unknown>)['wasm'] !== undefined) return;
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  setWasmPaths(path.dirname(entry) + path.sep);
}

async function loadNative(pkg: string, asked: 'tensorflow' | 'tensorflow-gpu', importModule: (s: string) => Promise<unknown>): Promise<void> {
  if (tf.findBackendFactory('tensorflow') != null) return; // already loaded (this call or an earlier one)
  try {
    await importModule(pkg);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const missing = (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') && String(err.message).includes(pkg);
    throw new BackendUnavailable(
      asked,
      missing
        ? `backend "${asked}" needs the optional package ${pkg}, which is not installed. ${installHint(pkg)}`
        : `${pkg} is installed but failed to load: ${err.message ?? String(e)}. ${installHint(pkg)}`,
      { cause: e },
    );
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new BackendUnavailable(
      asked,
      `${pkg} loaded but did not register the "tensorflow" backend with this copy of @tensorflow/tfjs-core ` +
        `(${tf.version_core}); it probably brought its own tfjs version. Install the matching release: ` +
        `\`npm install ${pkg}@${tf.version_core}\`.`,
    );
  }
}

function installHint(pkg: string): string {
  const platform = `${process.platform}-${process.arch}`;
  if (pkg === GPU_PKG) {
    return (
      `Install it with \`npm install ${GPU_PKG}\`. It needs a Linux x64 machine (this is ${platform}) with an NVIDIA GPU, ` +
      'CUDA and cuDNN installed in the versions its libtensorflow build expects; its install script downloads ' +
      'libtensorflow, so it needs network access. Otherwise use --backend auto, wasm or cpu.'
    );
  }
  return (
    `Install it with \`npm install ${NODE_PKG}\`; its install script downloads libtensorflow (prebuilt for ` +
    `Linux x64, macOS and Windows x64; this is ${platform}), so it needs network access. Otherwise use --backend auto, wasm or cpu.`
  );
}

/** The wasm backend's heap can grow to 4 GiB less one 64 KiB page (emscripten's getHeapMax for wasm32). */
export const WASM_HEAP_MAX = 4294901760;

/**
 * Bytes of tensors a backend can hold: the wasm heap's ceiling, the machine's memory for the JS and native CPU
 * backends; null for the GPU backend, whose device memory is not known here.
 */
export function backendMemoryLimit(backend: BackendName, totalMemory: number): number | null {
  // The native engine's limit is the machine's: its plan (step-memory-native.ts) checks the wasm host's heap itself.
  if (backend === 'wasm') return WASM_HEAP_MAX;
  if (backend === 'tensorflow-gpu') return null;
  return totalMemory;
}

/**
 * One line naming the engine in use and why (for the run record and the summary): the choice that led to it and,
 * under `auto`, the first sentence of each reason a faster engine was passed over. `lines` are what setBackend logged.
 */
export function engineLine(choice: BackendChoice, used: BackendName, lines: string[]): string {
  const why = lines
    .map((l) => {
      const absent = /^backend (\S+) skipped: .*which is not installed/.exec(l);
      return absent ? `${absent[1]} not installed` : l.replace(/^backend /, '').split(/\.\s|; /)[0].replace(/\.$/, '');
    })
    .join('; ');
  const how = choice === 'auto' ? 'chosen by auto' : 'asked for';
  return `${used} (${how}${why ? `; ${why}` : ''})`;
}
