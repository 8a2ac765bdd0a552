// The wasm backend's matmul rate on the products a real-shape step is made of, measured in the same run
// as the steps so the step's achieved GFLOP/s has a yardstick from the same machine and load:
//   head forward [1024,256]x[256,32000]: one call, and in column chunks (architecture.md §4 measured
//   chunks of 2000-8000 columns 1.7-1.9x faster than one call);
//   a SmolLM2 MLP product [1024,576]x[576,1536], the size of the layers' matmuls.
import * as tf from '@tensorflow/tfjs';
import { median } from './stats.ts';

export interface MatmulRate {
  name: string;
  gflops: number;
  seconds: number;
}

/** Median seconds of `f` over `reps` runs after one warm-up; `f` returns the tensors to wait on and free. */
function time(f: () => tf.Tensor[], reps: number): number {
  const run = () => {
    const t0 = performance.now();
    const outs = f();
    for (const o of outs) o.dataSync(); // wasm is synchronous, but read back anyway: the result must exist
    const s = (performance.now() - t0) / 1000;
    for (const o of outs) o.dispose();
    return s;
  };
  run();
  return median(Array.from({ length: reps }, run));
}

export function measureMatmulRates(reps = 3, chunk = 4000): MatmulRate[] {
  const rates: MatmulRate[] = [];
  const add = (name: string, flops: number, seconds: number) => rates.push({ name, gflops: flops / seconds / 1e9, seconds });
  const [M, K, V] = [1024, 256, 32000];
  const x = tf.randomNormal([M, K]) as tf.Tensor2D;
  const w = tf.randomNormal([K, V]) as tf.Tensor2D;
  // Chunks cut once, outside the timing: a kernel that wants column chunks keeps its weight that way.
  const parts = tf.split(w, Array.from({ length: Math.ceil(V / chunk) }, (_, i) => Math.min(chunk, V - i * chunk)), 1) as tf.Tensor2D[];
  add(`[${M},${K}]x[${K},${V}] one call`, 2 * M * K * V, time(() => [tf.matMul(x, w)], reps));
  add(`[${M},${K}]x[${K},${V}] in ${parts.length} column chunks of ${chunk}`, 2 * M * K * V, time(() => parts.map((p) => tf.matMul(x, p)), reps));
  const [K2, N2] = [576, 1536];
  const a = tf.randomNormal([M, K2]) as tf.Tensor2D;
  const b = tf.randomNormal([K2, N2]) as tf.Tensor2D;
  add(`[${M},${K2}]x[${K2},${N2}]`, 2 * M * K2 * N2, time(() => [tf.matMul(a, b)], reps));
  for (const t of [x, w, a, b, ...parts]) t.dispose();
  return rates;
}
