// What one training update holds at its peak, predicted from the shapes alone (before any weight is loaded), so a
// run that would not fit is refused with numbers instead of dying with `Aborted()` in the wasm heap.
//
// The pass's part comes from its phases (step-phases.ts), one per boundary of src/model/grad.ts's pass, and each is
// tested against the pass itself, probed at that boundary (test/memory-plan-phases.test.ts, docs/memory-plan.md):
//   forward    each layer keeps a record (its input, norms' scales, rotated q/k, v, softmax probs, gate/up, LoRA
//              inputs); with recomputation only each layer's input is kept and one record is rebuilt at a time
//   head       the hidden states of the scored rows, the online-softmax state and one [rows, chunk] logits chunk
//   backward   the gradient sink, and the widest temporaries of a layer (the MLP's [N, I] products, the
//              attention's [B, nh, T, T] ones)
// then the update: all gradients, and AdamW's temporaries for one parameter at a time. The peak is the largest phase
// on top of the frozen weights and the trainable state. The whole peak is checked against measured ones on varied
// shapes (test/memory-plan-peak.test.ts) and on the real ones (bench memory); the heap adds XNNPACK's packed operands
// and allocator slack.
import type { EmbeddingMode } from '../model/modes.ts';
import { headChunk } from '../model/head.ts';
import { loraTargets, type ModelShape } from '../model/lora.ts';
import { memoryPlan, type PlanInput } from './memory-plan.ts';
import { headElements, headMasks, layerBackwardElements, layerForwardElements, passPhases, recordElements, stepDims } from './step-phases.ts';

/** Shape fields the activation count needs beyond ModelShape. */
export type StepModelShape = ModelShape & { qkNorm?: boolean; qkvBias?: boolean; oBias?: boolean; mlpBias?: boolean };

export interface StepPlanInput extends PlanInput {
  shape: StepModelShape;
  /** Rows and tokens per micro-batch. */
  B: number;
  T: number;
  recompute: 'auto' | 'always' | 'never';
  /** Heap bytes the backend can hold (wasm: 4 GiB); null = no known limit. */
  limit: number | null;
}

export interface StepPlan {
  mode: EmbeddingMode;
  trainable: number;
  bytes: {
    /** Frozen tensors as loaded (float32), the trainable copies of 'full' mode included. */
    weights: number;
    params: number;
    grads: number;
    optimizer: number;
    /** Activations kept for the backward: every layer's record, or (recompute) the layers' inputs plus one record. */
    activations: { kept: number; recompute: number };
    /** The largest transient of the step: a logits chunk of the head, or a layer's backward. */
    temporary: { head: number; layer: number; update: number };
    /** Predicted peak of tensor bytes, without and with recomputation. */
    peak: { kept: number; recompute: number };
  };
  /** The resolved choice ('auto': recompute only when keeping the activations would not fit). */
  recompute: boolean;
  /** Predicted peak of the wasm heap for the chosen option: tensors plus packed operands and allocator slack. */
  heap: number;
  limit: number | null;
  fits: boolean;
  /** Logits chunk width [rows, chunk] of the head. */
  headChunk: number;
  /** On the native engine (step-memory-native.ts): `heap` is then the predicted peak RSS of the process. */
  native?: NativeMemory;
}

/** The native engine's peak, in bytes of resident memory: the host's, ONNX Runtime's, the process's own. */
export interface NativeMemory {
  /** Node, TF.js and ONNX Runtime loaded, before any model. */
  process: number;
  /** The TF.js wasm host: the trainable state, AdamW, the looked-up rows, the loader's leftovers (no frozen weight). */
  host: number;
  /** The host's wasm heap alone, under its own 4 GiB ceiling. */
  hostHeap: number;
  hostHeapLimit: number;
  /** The frozen weights once, as the session's initializers (mapped from the weights file, or packed from it). */
  initializers: number;
  /** The layers' linear weights packed a second time, for the backward's products (see step-memory-native.ts). */
  packed: number;
  /** ONNX Runtime's working set during a run: the activations kept for the backward, the head's logits, fixed costs. */
  working: number;
}

const F32 = 4;
/** dlmalloc's bookkeeping and fragmentation in the wasm heap, measured on the bench shapes (bench/memory.bench.ts). */
export const HEAP_SLACK = 1.05;
/** What the wasm heap holds before any tensor (emscripten's initial memory). */
export const HEAP_BASE = 16 * 2 ** 20;

/** Float32 elements of the frozen model as src/model/weights.ts loads it. */
export function weightElements(s: StepModelShape): number {
  const D = s.hiddenSize, F = s.intermediateSize, Q = s.numHeads * s.headDim, Kd = s.numKvHeads * s.headDim;
  const perLayer = D * Q + 2 * D * Kd + Q * D + 3 * D * F + 2 * D // projections and the two norms
    + (s.qkvBias ? Q + 2 * Kd : 0) + (s.oBias ? D : 0) + (s.mlpBias ? 2 * F + D : 0) + (s.qkNorm ? 2 * s.headDim : 0);
  return s.numLayers * perLayer + D + s.vocabSize * D * (s.tieWordEmbeddings ? 1 : 2);
}

export function stepPlan(input: StepPlanInput, mode: EmbeddingMode): StepPlan {
  const s = input.shape;
  const base = memoryPlan(input, mode);
  const trainable = base.counts.trainable;
  const N = input.B * input.T;
  const D = s.hiddenSize;
  const d = stepDims(input);
  const L = s.numLayers;
  const V = s.vocabSize + input.newTokens;
  // 'full' keeps the vocabulary matrices as trainable variables in place of the frozen ones.
  const frozenVocab = mode === 'full' ? 0 : s.vocabSize * D * (s.tieWordEmbeddings ? 1 : 2);
  // Row tables keep a [V] position lookup per row set, and in 'frozen' mode the new rows as constants.
  const sets = s.tieWordEmbeddings ? 1 : 2;
  const rowTables = mode === 'full' ? 0 : sets * V + (mode === 'frozen' ? (base.counts.embedRows || input.newTokens) * D * sets : 0);
  const weights = weightElements(s) - s.vocabSize * D * sets + frozenVocab + rowTables;
  const record = recordElements(s, input.lora, input.B, input.T);
  // Activations alive during the backward (reported): every record (+ the final norm's input and output), or,
  // recomputing, every layer's input and one rebuilt record.
  const kept = L * record + 2 * N * D;
  const rebuilt = (L + 1) * N * D + record;
  const c = headChunk(N, V, D);
  const head = headElements(N, N, D, c, V, mode === 'full', headMasks(input, mode));
  const layer = Math.max(layerBackwardElements(d, s, input.B, input.T), layerForwardElements(d, input.lora, input.B, false));
  // AdamW updates one parameter at a time (optimizer.ts): a few copies of the largest one exist at once.
  const largest = mode === 'full' ? V * D : Math.max(...loraTargets(s, input.lora).map((t) => input.lora.r * Math.max(t.inF, t.outF)), (input.newTokens + 1) * D);
  const update = 4 * largest;
  const state = 3 * trainable; // params and the two moments, always there
  // The pass's phases (step-phases.ts, tested against the pass itself). A first micro-batch fills the gradient sink
  // as it goes; a later one (accumulation) runs beside a full sink.
  const accumulating = (input.gradAccumulation ?? 1) > 1;
  const passPeak = (recompute: boolean) => Math.max(...passPhases(input, mode, recompute).map((p) => p.peak + (accumulating ? trainable - p.sink : 0)));
  const peakOf = (recompute: boolean) => (weights + state + Math.max(passPeak(recompute), trainable + update)) * F32;
  const peak = { kept: peakOf(false), recompute: peakOf(true) };
  // XNNPACK packs each product's right operand for the call: the largest is a transposed MLP weight or a head chunk.
  const packed = Math.max(D * s.intermediateSize, c * D) * F32;
  const heapOf = (p: number) => Math.round((p + packed) * HEAP_SLACK + HEAP_BASE);
  const limit = input.limit;
  const useRecompute = input.recompute === 'always' || (input.recompute === 'auto' && limit !== null && heapOf(peak.kept) > limit);
  const heap = heapOf(useRecompute ? peak.recompute : peak.kept);
  return {
    mode, trainable,
    bytes: {
      weights: weights * F32, params: base.bytes.params, grads: base.bytes.grads, optimizer: base.bytes.optimizer,
      activations: { kept: kept * F32, recompute: rebuilt * F32 },
      temporary: { head: head * F32, layer: layer * F32, update: update * F32 },
      peak,
    },
    recompute: useRecompute, heap, limit, fits: limit === null || heap <= limit, headChunk: c,
  };
}

const MiB = 2 ** 20;
const size = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / MiB).toFixed(1)} MiB`);

/** The plan as the lines --dry-run prints and memory-plan.txt keeps. */
export function formatStepPlan(p: StepPlan, what: { node: string; backend: string; B: number; T: number; threads: number }): string[] {
  const b = p.bytes;
  const per = what.threads > 1 ? ` per thread (${what.threads} threads, each holding the frozen model)` : '';
  return [
    `${what.node}: ${p.mode}, ${what.backend}, micro-batch ${what.B} x ${what.T} tokens${per}`,
    `  frozen weights     ${size(b.weights)}`,
    `  trainable          ${size(b.params)} (${p.trainable.toLocaleString('en-US')} params); gradients ${size(b.grads)}; AdamW moments ${size(b.optimizer)}`,
    `  activations        ${size(b.activations.kept)} kept, ${size(b.activations.recompute)} recomputing (${p.recompute ? 'recomputing' : 'kept'})`,
    `  largest temporary  ${size(Math.max(b.temporary.head, b.temporary.layer, b.temporary.update))} (head: [rows, ${p.headChunk}] logits chunks ${size(b.temporary.head)}; a layer ${size(b.temporary.layer)})`,
    `  predicted peak     ${size(p.recompute ? b.peak.recompute : b.peak.kept)} of tensors, ${size(p.heap)} of heap${p.limit === null ? '' : ` (limit ${size(p.limit)})`}`,
  ];
}

/** Why a run does not fit and what to change: the message of MemoryPlanExceeded. */
export function planRefusal(p: StepPlan, what: { node: string; backend: string; B: number; T: number; gradAccumulation: number }): string {
  const b = p.bytes;
  return (
    `${what.node}: one training update needs about ${size(p.heap)} of ${what.backend} memory, more than its ${size(p.limit ?? 0)}: ` +
    `frozen weights ${size(b.weights)}, activations ${size(b.activations.kept)} kept (${size(b.activations.recompute)} recomputing), ` +
    `largest temporary ${size(Math.max(b.temporary.head, b.temporary.layer))}; peak ${size(b.peak.kept)} of tensors kept, ${size(b.peak.recompute)} recomputing. ` +
    `Lower the batch packer's seqLen (${what.T}) or batchSize (${what.B}) and raise train gradAccumulation (${what.gradAccumulation}) to keep the update size` +
    (p.recompute ? '' : ", or set train recompute: always (or 'auto')") +
    (b.weights > (p.limit ?? Infinity) * 0.8 ? '; the frozen weights alone nearly fill it: this model needs a backend with more memory' : '') + '.'
  );
}
