// The native engine's memory plan: what the process holds at the peak of an update when each pass runs as one
// ONNX Runtime graph (src/model/grad-native.ts), predicted from the shapes alone, before anything is loaded. It
// reuses the wasm plan's counts (step-memory.ts: the frozen weights, the trainable state, the activations a layer
// keeps for its backward, which the graph keeps too since it never recomputes) and adds what ORT holds:
//   process       node, TF.js wasm and ORT's library, loaded (measured: 190 MiB)
//   host          the TF.js wasm heap (the trainable state, AdamW's temporaries, the looked-up embedding rows and
//                 their gradient) and the loader's JS leftovers; no frozen weight (weights-disk.ts)
//   initializers  the frozen weights, once: the float32 file every session maps as external data. ORT packs the
//                 right operand of every MatMul/Gemm that is an initializer into its own layout (anonymous memory)
//                 and drops the mapping; the token table (Gather, Slice) stays mapped.
//   packed        each layer linear is the right operand of two products in the train graph (the forward's
//                 x·Wᵀ, the backward's dy·W), so it is packed twice: PACKED_EXTRA times the linears on top of the
//                 weights once (measured on SmolLM2-135M: 0.78 GB of packs for 0.42 GB of linears; none with
//                 ORT's session.disable_prepacking, which keeps every weight mapped from the file instead)
//   working       ORT's working set for one run, its CPU arena off (native-run.ts): the activations kept for the
//                 backward (KEPT_FACTOR times the wasm record's), and the head's logits (every chunk's [M, c] stays
//                 alive to the backward: M·V in all, times HEAD_LIVE for its exponentials and gradients)
// The constants are fitted (least largest relative error) on eight measured peaks: reference, reference-128k,
// SmolLM2-135M, Qwen2.5-0.5B and Llama-3.2-1B at B=8 T=128, reference-128k at B=4, SmolLM2-135M and Qwen2.5-0.5B at
// B=2 (trainable-tokens, LoRA q/v, peak RSS after the warm-up update and one more, ORT's memory pattern off:
// native-run.ts); the largest error 7.2%. docs/native-engine.md has the table.
import { WASM_HEAP_MAX } from '../model/backend.ts';
import type { EmbeddingMode } from '../model/modes.ts';
import { HEAP_BASE, HEAP_SLACK, stepPlan, type StepPlan, type StepPlanInput } from './step-memory.ts';

const MiB = 2 ** 20;
const F32 = 4;
/** RSS of a process with the native engine loaded and no model (measured on Linux x64, Node 20, ORT 1.30). */
export const NATIVE_PROCESS_RSS = 190 * MiB;
/** The loader's JS-side leftovers next to the wasm heap after a model is loaded (measured 100-150 MiB). */
const HOST_JS = 100 * MiB;
/**
 * ORT's working set per byte of the activations the TF.js record keeps (fitted: 1.35): the graph keeps every
 * intermediate its backward reads, not the record's selection, and malloc keeps the pages it was given.
 */
const KEPT_FACTOR = 1.35;
/** Bytes the head's graph keeps per logit of the whole vocabulary [M, V] (fitted: 0.95 float32s). */
const HEAD_LIVE = 0.95 * F32;
/** The layers' linear weights packed again, per byte of them (fitted: 1.3; see `packed` above). */
const PACKED_EXTRA = 1.3;
/** What a session and its traced graph cost whatever the shape (fitted: 88 MiB). */
const SESSION_FIXED = 88 * MiB;

/** The plan on the native engine: `limit` is the machine's memory; the host's wasm heap has its own ceiling. */
export function nativeStepPlan(input: StepPlanInput, mode: EmbeddingMode): StepPlan {
  const wasm = stepPlan({ ...input, recompute: 'never', limit: null }, mode);
  const b = wasm.bytes;
  const N = input.B * input.T;
  const V = input.shape.vocabSize + input.newTokens;
  const D = input.shape.hiddenSize;
  const state = b.params + b.optimizer + b.grads;
  // The host runs the embedding lookup (its [N, D] rows read from the weights file) and its backward (dE out) and
  // AdamW over the trainable state. The frozen weights are not on it (loaded for ONNX Runtime only).
  const hostHeap = Math.round((state + b.temporary.update + 2 * N * D * F32) * HEAP_SLACK + HEAP_BASE);
  // 'full' mode feeds the trainable head each call and its gradient [V, D] comes back.
  const fullHead = mode === 'full' ? 2 * V * D * F32 : 0;
  const working = SESSION_FIXED + KEPT_FACTOR * b.activations.kept + N * V * HEAD_LIVE + fullHead;
  const native = {
    process: NATIVE_PROCESS_RSS, host: hostHeap + HOST_JS, hostHeap, hostHeapLimit: WASM_HEAP_MAX,
    initializers: b.weights, packed: Math.round(PACKED_EXTRA * linearBytes(input.shape)), working,
  };
  const rss = native.process + native.host + native.initializers + native.packed + native.working;
  const limit = input.limit;
  return { ...wasm, recompute: false, heap: rss, limit, fits: (limit === null || rss <= limit) && hostHeap <= WASM_HEAP_MAX, native };
}

/** Float32 bytes of the layers' frozen linear weights (q, k, v, o, gate, up, down). */
function linearBytes(s: StepPlanInput['shape']): number {
  const D = s.hiddenSize, Q = s.numHeads * s.headDim, Kd = s.numKvHeads * s.headDim;
  return s.numLayers * (2 * D * Q + 2 * D * Kd + 3 * D * s.intermediateSize) * F32;
}

const size = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / MiB).toFixed(1)} MiB`);

/** The native plan's lines for --dry-run and memory-plan.txt. */
export function formatNativePlan(p: StepPlan, what: { node: string; B: number; T: number }): string[] {
  const n = p.native!;
  const b = p.bytes;
  return [
    `${what.node}: ${p.mode}, native (ONNX Runtime), micro-batch ${what.B} x ${what.T} tokens`,
    `  frozen weights     ${size(b.weights)} once, in the float32 file the ONNX Runtime sessions map (none in the TF.js host)`,
    `  trainable          ${size(b.params)} (${p.trainable.toLocaleString('en-US')} params); gradients ${size(b.grads)}; AdamW moments ${size(b.optimizer)}`,
    `  host (TF.js wasm)  ${size(n.host)} (heap ${size(n.hostHeap)} of its ${size(n.hostHeapLimit)})`,
    `  ONNX Runtime       ${size(n.initializers)} initializers, ${size(n.packed)} linears packed again for the backward, ${size(n.working)} working set (activations kept ${size(b.activations.kept)})`,
    `  predicted peak     ${size(p.heap)} resident${p.limit === null ? '' : ` (machine memory ${size(p.limit)})`}`,
  ];
}

/** Why a native run does not fit and what to change. */
export function nativePlanRefusal(p: StepPlan, what: { node: string; B: number; T: number; gradAccumulation: number }): string {
  const n = p.native!;
  if (n.hostHeap > n.hostHeapLimit) {
    return (
      `${what.node}: on the native engine the TF.js wasm host holds the trainable state and AdamW (${size(p.bytes.params + p.bytes.optimizer + p.bytes.grads)}), and its heap ` +
      `would need ${size(n.hostHeap)}, more than its ${size(n.hostHeapLimit)}: train fewer rows (embedding trainable-tokens rather than full) or lower the batch packer's seqLen (${what.T}) or batchSize (${what.B}).`
    );
  }
  return (
    `${what.node}: one training update on the native engine needs about ${size(p.heap)} of memory, more than this machine's ${size(p.limit ?? 0)}: ` +
    `host ${size(n.host)}, ONNX Runtime initializers ${size(n.initializers)}, the linears packed again ${size(n.packed)} and working set ${size(n.working)} (activations kept ${size(p.bytes.activations.kept)}). ` +
    `Lower the batch packer's seqLen (${what.T}) or batchSize (${what.B}) and raise train gradAccumulation (${what.gradAccumulation}) to keep the update size.`
  );
}
