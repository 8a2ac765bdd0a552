// High-water mark of TF.js tensor bytes (what tf.memory().numBytes reports), caught at every change.
// A train step is one synchronous stretch, so sampling from a timer sees nothing; tf.profile's peakBytes
// only looks after each kernel and keeps a record per kernel. Instead the engine's `numBytes` counter
// becomes an accessor that remembers its largest value: exact and free. Wasm kernels' scratch memory
// outside tensors is not counted (process RSS, reported beside it, includes it).
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
      if (v > peak) peak = v;
    },
  });
  return {
    peak: () => peak,
    reset: () => void (peak = current),
    stop: () => Object.defineProperty(state, 'numBytes', { value: current, writable: true, configurable: true, enumerable: true }),
  };
}

/** Peak resident set size of this process so far, in bytes. */
export function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
