// The native engine: ONNX Runtime through onnxruntime-node (architecture.md §4a). Its binding (a native library
// shipped inside the npm package for Linux x64/arm64, macOS arm64 and Windows) is loaded on first use only, through
// a dynamic import, so importing this module never fails on a platform without it; nativeEngine() says why not.
import { createRequire } from 'node:module';

/** The loaded binding: the parts of onnxruntime-node tokenpipe uses. */
export type Ort = typeof import('onnxruntime-node');

export type NativeProbe = { ok: true; ort: Ort; version: string; providers: string[] } | { ok: false; reason: string };

let probed: Promise<NativeProbe> | null = null;

/**
 * Loads onnxruntime-node once and reports whether it runs here: its version and the execution providers the
 * build carries (cpu always; webgpu, cuda where bundled), or why it cannot load. `importModule` stands in for
 * the import in tests.
 */
export function nativeEngine(importModule?: (s: string) => Promise<unknown>): Promise<NativeProbe> {
  if (importModule) return probe(importModule);
  probed ??= probe((s) => import(s));
  return probed;
}

async function probe(importModule: (s: string) => Promise<unknown>): Promise<NativeProbe> {
  let mod: Ort;
  try {
    const m = (await importModule('onnxruntime-node')) as Ort & { default?: Ort };
    mod = m.InferenceSession ? m : (m.default as Ort);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const missing = err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND';
    return {
      ok: false,
      reason: missing
        ? 'the package onnxruntime-node is not installed (`npm install` brings it)'
        : `onnxruntime-node failed to load its native library on ${process.platform}-${process.arch}: ${err.message ?? String(e)}`,
    };
  }
  if (!mod?.InferenceSession) return { ok: false, reason: 'onnxruntime-node loaded without an InferenceSession (a broken install?)' };
  // ORT's own log would print each failure tokenpipe reports (as an exception with ORT's message) a second time.
  if (mod.env) mod.env.logLevel = 'fatal';
  const providers = (mod.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }]).filter((b) => b.bundled).map((b) => b.name);
  return { ok: true, ort: mod, version: mod.env?.versions?.node ?? packageVersion(), providers };
}

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
