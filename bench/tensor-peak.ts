// High-water mark of TF.js tensor bytes (what tf.memory().numBytes reports), caught at every change.
// A train step is one synchronous stretch, so sampling from a timer sees nothing; tf.profile's peakBytes
// only looks after each kernel and keeps a record per kernel. Instead the engine's `numBytes` counter
// becomes an accessor that remembers its largest value: exact and free. Wasm kernels' scratch memory
// outside tensors is not counted (process RSS, reported beside it, includes it).
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';

export interface TensorPeak {
  /** Largest numBytes since start or the last reset. */
  peak(): number;
  /** Restarts the high-water mark at the current value. */
  reset(): void;
  stop(): void;
}

export function trackTensorPeak(): TensorPeak {
  const state = (tf.engine() as unknown as { state: { numBytes: number } }).state;
  let current = state.numBytes;
  let peak = current;
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (v: number) => {
      current = v;
      if (v > peak) peak = shared[0] = v;
    },
  });
  shared[0] = peak;
  return {
    peak: () => peak,
    reset: () => void (peak = shared[0] = current),
    stop: () => Object.defineProperty(state, 'numBytes', { value: current, writable: true, configurable: true, enumerable: true }),
  };
}

/** The current high-water mark, readable from another thread. */
const shared = new Float64Array(new SharedArrayBuffer(8));

/**
 * Prints `{"event":"memory", peakTensorBytes, maxRssBytes}` on stdout every `everyMs` from a worker
 * thread, which runs while the main thread is inside a step and writes with fs.writeSync (a worker's
 * process.stdout would wait for the blocked main thread). A parent that stops this process on a time
 * limit thus still knows how far memory got. Lines under 4 KiB are written atomically to a pipe.
 */
export function reportPeakEvery(everyMs: number): void {
  const code = `
    const { workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const peak = new Float64Array(workerData.buffer);
    setInterval(() => fs.writeSync(1, JSON.stringify({ event: 'memory', peakTensorBytes: peak[0], maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\\n'), workerData.everyMs);`;
  new Worker(code, { eval: true, workerData: { buffer: shared.buffer, everyMs } }).unref();
}

/** Peak resident set size of this process so far, in bytes. */
export function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Size of the wasm backend's heap (its WebAssembly.Memory), or null on another backend. The heap only grows, so
 * this is also its high-water mark: what the step plan's `heap` predicts.
 */
export function wasmHeapBytes(): number | null {
  const w = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return w?.HEAPU8 ? w.HEAPU8.buffer.byteLength : null;
}
