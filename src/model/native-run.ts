// Running traced graphs (onnx-ops.ts) on ONNX Runtime: one session per graph structure, built on first use (the
// frozen tensors copied in once as initializers) and kept while the process lives, a few at most; every call feeds
// only its per-call inputs and reads back only the outputs the graph declares.
import { BackendUnavailable } from '../errors.ts';
import { encodeModel } from '../io/onnx-proto.ts';
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
  const bytes = encodeModel(g.toGraph());
  s = ort.InferenceSession.create(bytes, {
    executionProviders: device === 'cpu' ? ['cpu'] : [device, 'cpu'],
    // Errors come back as exceptions, explained below; ORT's own log line for them would only repeat them.
    logSeverityLevel: 4,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Constant folding would turn each Slice of the head (an initializer) into a chunk-sized copy: measured +200 MiB
    // RSS for a 256 MiB head. Unfolded, a chunk is copied per call, a few ms against its two products.
    extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } },
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
