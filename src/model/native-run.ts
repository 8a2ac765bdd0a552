// Running traced graphs (onnx-ops.ts) on ONNX Runtime: one session per graph structure, built on first use (the
// frozen tensors copied in once as initializers) and kept while the process lives, a few at most; every call feeds
// only its per-call inputs and reads back only the outputs the graph declares.
import { BackendUnavailable } from '../errors.ts';
import { writeModelFiles } from '../io/onnx-external.ts';
import { encodeModel, type OnnxGraph } from '../io/onnx-proto.ts';
import { nativeEngine, type Ort } from './native.ts';
import type { GraphOps } from './onnx-ops.ts';

type Session = import('onnxruntime-node').InferenceSession;

export const NATIVE_DEVICES = ['cpu', 'webgpu', 'cuda'] as const;
export type NativeDevice = (typeof NATIVE_DEVICES)[number];

export interface NativeOptions {
  /** ONNX Runtime's intra-op threads (default: ORT's own choice, one per core). */
  threads?: number;
  /** Execution provider (default cpu); a GPU one runs what it supports and leaves the rest to the CPU provider. */
  device?: NativeDevice;
  /**
   * Bytes of initializers past which the model goes to ONNX Runtime as files, its tensors of 64 KiB and more as
   * external data beside it (default 64 MiB; past 2 GB it must: protobuf caps one serialized model there). Read
   * from files, a session costs less memory to build than from one serialized buffer (measured on reference-128k:
   * 126 MiB less at the peak, half its weights). A limit under 64 KiB is
   * also the size from which a tensor goes out: 0 sends every initializer of every model as external data.
   */
  inlineLimit?: number;
}

export const DEFAULT_INLINE_LIMIT = 64 * 2 ** 20;
const EXTERNAL_MIN_BYTES = 64 * 1024;
const DTYPE_BYTES = { float32: 4, int32: 4, int64: 8, bool: 1 } as const;

function initializerBytes(g: OnnxGraph): number {
  return g.initializers.reduce((n, t) => n + t.dims.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype], 0);
}

/** Folders of external data not yet removed (a system that refuses to remove a mapped file): tried again at exit. */
const leftFolders = new Set<() => void>();
process.once('exit', () => leftFolders.forEach((remove) => { try { remove(); } catch { /* nothing more to do */ } }));

/** Builds a session for `graph`: inline under `inlineLimit`, else from files in a temp folder, removed once built. */
async function createSession(ort: Ort, graph: OnnxGraph, inlineLimit: number, options: import('onnxruntime-node').InferenceSession.SessionOptions): Promise<Session> {
  if (initializerBytes(graph) <= inlineLimit) return ort.InferenceSession.create(encodeModel(graph), options);
  const files = writeModelFiles(graph, { minBytes: Math.min(EXTERNAL_MIN_BYTES, inlineLimit) });
  builtFromFiles++;
  try {
    return await ort.InferenceSession.create(files.modelPath, options);
  } finally {
    try {
      files.remove();
    } catch {
      leftFolders.add(files.remove);
    }
  }
}

/** What a GPU execution provider needs, for the message when it cannot start. */
const DEVICE_NEEDS: Record<NativeDevice, string> = {
  cpu: '',
  webgpu: 'webgpu is built into onnxruntime-node; it needs libvulkan1 and a Vulkan driver with a usable GPU adapter',
  cuda:
    "cuda needs onnxruntime-node's CUDA 12 provider libraries, which its install script downloads (tokenpipe skips it: " +
    'reinstall with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, online), and CUDA 12 with cuDNN 9 on the library path',
};

/** Sessions by graph key, most recently used last. */
const sessions = new Map<string, Promise<Session>>();
const MAX_SESSIONS = 8;
let built = 0;
let builtFromFiles = 0;

/** Sessions built from model files with external data so far in this process. */
export function sessionsFromFiles(): number {
  return builtFromFiles;
}

/** Sessions built so far in this process (a graph whose key was seen before reuses its session). */
export function sessionsBuilt(): number {
  return built;
}

async function loadOrt(): Promise<Ort> {
  const p = await nativeEngine();
  if (!p.ok) throw new BackendUnavailable('native', `the native engine cannot run here: ${p.reason}`);
  return p.ort;
}

async function sessionFor(g: GraphOps, o: NativeOptions): Promise<Session> {
  const device = o.device ?? 'cpu';
  const key = `${g.key()}|${o.threads ?? 0}|${device}`;
  let s = sessions.get(key);
  if (s) {
    sessions.delete(key); // move to the most recent end
    sessions.set(key, s);
    return s;
  }
  const ort = await loadOrt();
  s = createSession(ort, g.toGraph(), o.inlineLimit ?? DEFAULT_INLINE_LIMIT, {
    executionProviders: device === 'cpu' ? ['cpu'] : [device, 'cpu'],
    // Errors come back as exceptions, explained below; ORT's own log line for them would only repeat them.
    logSeverityLevel: 4,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // ORT's CPU arena keeps every size class it ever served: peak RSS at B=8 T=128 (models sent as files) on
    // reference-128k 2.26 GiB with it, 1.81 GiB without; SmolLM2-135M 5.0 GiB (still growing) against 4.3 GiB; no
    // slower on the (loaded) shared machine. docs/native-engine.md has the figures.
    enableCpuMemArena: false,
    // ORT's memory pattern puts every planned intermediate of a run in one block; without the arena that block is
    // allocated (mmap, past glibc's threshold) and its pages faulted in anew each run. Measured on SmolLM2-135M at
    // B=8 T=128, 1 thread: system time 0.78 -> 0.2 s per update, CPU 6.4 -> 5.9 s, peak RSS 4.26 -> 3.25 GiB.
    enableMemPattern: false,
    // Constant folding would turn each Slice of the head (an initializer) into a chunk-sized copy: measured +200 MiB
    // RSS for a 256 MiB head. Unfolded, a chunk is copied per call, a few ms against its two products.
    // Intra-op threads wait on the OS, not spinning: with other work on the cores (node's own threads, other
    // processes) a spinning pool thread holds a core its partner needs. SmolLM2-135M B=8 T=128 at 2 threads on the
    // shared 2-core machine (load 5-8), alternating: 3.2-3.9 s per update without spinning, 9-25 s with it
    // (reference shape 1.1-1.6 s against 2.4-2.8 s); CPU time 5.9-6.9 s against 8.7-12.9 s.
    extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' }, session: { 'intra_op.allow_spinning': '0' } },
    ...(o.threads ? { intraOpNumThreads: o.threads, interOpNumThreads: 1 } : {}),
  });
  s = s.catch((e: Error) => {
    if (device === 'cpu') throw e;
    throw new BackendUnavailable('native', `ONNX Runtime's ${device} execution provider cannot start here: ${e.message.split('\n')[0]}. ${DEVICE_NEEDS[device]}; or use device cpu.`, { cause: e });
  });
  built++;
  sessions.set(key, s);
  s.catch(() => sessions.delete(key));
  while (sessions.size > MAX_SESSIONS) {
    const [oldest, p] = sessions.entries().next().value as [string, Promise<Session>];
    sessions.delete(oldest);
    void p.then((x) => x.release()).catch(() => {});
  }
  return s;
}

/** Runs `g` (traced with its outputs marked) and returns each output's values and dims. */
export async function runGraph(g: GraphOps, o: NativeOptions = {}): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const ort = await loadOrt();
  const session = await sessionFor(g, o);
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  for (const [name, f] of g.feeds) feeds[name] = new ort.Tensor(f.dtype, f.data, f.shape);
  const out = await session.run(feeds);
  const result: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const { name } of g.outputs) result[name] = { data: out[name].data as Float32Array, dims: [...out[name].dims] };
  return result;
}

/** Releases every session (tests, and a trainer that is done). */
export async function releaseSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.all(all.map((p) => p.then((s) => s.release()).catch(() => {})));
}
