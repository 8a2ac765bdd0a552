// One shape + embedding mode of the train and memory benches, in a process of its own so a crash or a
// wasm heap that only grows cannot touch the next one. Spawned by bench/children.ts:
//
//   node --import tsx bench/step-child.ts --model DIR --mode M --batch B --seq T [--accum A] [--steps K] [--warmup W]
//                                         [--threads N] [--engine wasm|native] [--packed CACHE_DIR]
//
// The update is the train node's (bench/harness.ts): trainStepParallel, with DataParallel over N threads when N > 1,
// recomputation as the node's step plan picks it. Memory figures are the main thread's (its TF.js engine and heap);
// with N > 1 every worker holds its own copy of the model on top (the RSS counts the whole process).
//
// Writes one JSON object per line on stdout as it goes (so a parent that kills it on a timeout, or sees it
// crash, still has what was measured): `loaded`, then `step` per update, then `done` with the median;
// every 2 s a `memory` line with the high-water marks so far, even in the middle of an update.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BenchOptionInvalid } from './errors.ts';
import { EMBEDDING_MODES, openTrainer, packedBatches, randomBatch, setBackend, update, type EmbeddingMode, type StepBatch } from './harness.ts';
import { median } from './stats.ts';
import { maxRssBytes, reportPeakEvery, trackTensorPeak, wasmHeapBytes } from './tensor-peak.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    mode: { type: 'string', default: 'trainable-tokens' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '128' },
    accum: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'new-tokens': { type: 'string', default: '16' },
    seed: { type: 'string', default: '0' },
    threads: { type: 'string', default: '1' },
    /** wasm, or native (each pass one ONNX Runtime graph with --threads intra-op threads, one trainer). */
    engine: { type: 'string', default: 'wasm' },
    /** A batch-packer cache folder: update k trains on its k-th batch instead of random ids (accum 1). */
    packed: { type: 'string' },
  },
});
if (!a.model) throw new BenchOptionInvalid('step-child: --model DIR is required');
const mode = a.mode as EmbeddingMode;
if (!EMBEDDING_MODES.includes(mode)) throw new BenchOptionInvalid(`step-child: unknown mode ${a.mode}`);
const [B, T, accum, steps, warmup, newTokens, seed, threads] = [a.batch, a.seq, a.accum, a.steps, a.warmup, a['new-tokens'], a.seed, a.threads].map(Number);

const emit = (event: string, fields: Record<string, unknown>) =>
  process.stdout.write(JSON.stringify({ event, ...fields, peakTensorBytes: peak.peak(), maxRssBytes: maxRssBytes(), wasmHeapBytes: wasmHeapBytes() }) + '\n');

const engine = a.engine === 'native' ? 'native' : 'wasm';
await setBackend(engine);
const peak = trackTensorPeak();
reportPeakEvery(2000);
try {
  await measure();
} catch (e) {
  // A wasm abort or out-of-bounds access is a JS exception: report how far memory got before dying.
  emit('crashed', { error: e instanceof Error ? e.message : String(e) });
  console.error(e);
  process.exitCode = 1;
}

async function measure(): Promise<void> {
  let t0 = performance.now();
  const t = await openTrainer(a.model!, mode, { newTokens, gradAccumulation: accum, seed, B, T, threads, engine });
  const plan = t.plan;
  emit('loaded', {
    seconds: (performance.now() - t0) / 1000, tensorBytes: tf.memory().numBytes, threads,
    plan: { recompute: plan.recompute, peakTensorBytes: plan.recompute ? plan.bytes.peak.recompute : plan.bytes.peak.kept, heapBytes: plan.heap, weightsBytes: plan.bytes.weights },
  });
  const loadPeak = peak.peak();
  peak.reset();
  const packed = a.packed ? await packedBatches(a.packed, warmup + steps) : null;
  if (packed && packed.length < warmup + steps) throw new BenchOptionInvalid(`${a.packed} holds ${packed.length} train batches, ${warmup + steps} needed`);
  const times: number[] = [];
  let loss = NaN;
  for (let k = 0; k < warmup + steps; k++) {
    const micro: StepBatch[] = packed
      ? [packed[k]]
      : Array.from({ length: accum }, (_, m) => randomBatch(t.vocabSize, B, T, seed * 1_000_003 + k * 101 + m));
    t0 = performance.now();
    loss = (await update(t, micro)).loss;
    const seconds = (performance.now() - t0) / 1000;
    if (k >= warmup) times.push(seconds);
    emit('step', { index: k + 1, of: warmup + steps, warmup: k < warmup, seconds, loss });
  }
  const secondsPerStep = median(times);
  emit('done', {
    mode, B, T, accum, threads, steps, warmup, secondsPerStep, tokensPerSec: (B * T * accum) / secondsPerStep, stepSeconds: times, loss,
    loadPeakTensorBytes: loadPeak, stepPeakTensorBytes: peak.peak(), tensorsAlive: tf.memory().numTensors,
  });
  await t.dispose();
}
