// What one micro-batch's pass (src/model/grad.ts passOps, then the token table's backward) holds at each of its
// phase boundaries, in float32 elements beyond what was live before the pass, predicted from the shapes alone. The
// boundaries are exactly the pass's probe points (grad.ts PassPoint), so a test runs the real pass with a probe and
// compares every phase with this list (test/memory-plan-phases.test.ts): a tensor the pass starts keeping, or stops
// freeing, moves a boundary and fails it. step-memory.ts takes the step's peak from these phases.
//
// Per boundary, `live` is what is held there (exact: a function of the shapes alone); per phase, `peak` is the most
// held at once between the previous boundary and this one, from the modelled transients of a layer or of the head.
// Both include the gradient sink as a first micro-batch fills it (`sink`): later micro-batches add into a full one.
import { targetModuleNames, type LoraConfig } from '../model/lora.ts';
import type { EmbeddingMode } from '../model/modes.ts';
import { headChunk } from '../model/head.ts';
import { memoryPlan } from './memory-plan.ts';
import type { StepPlanInput } from './step-memory.ts';

export interface Phase {
  /** The probe point that ends the phase (grad.ts PassPoint). */
  at: 'embed' | 'forward' | 'head' | 'dh' | 'norm' | 'backward' | 'table';
  layer?: number;
  /** Elements held at the boundary; and the most held during the phase that ends there. */
  live: number;
  peak: number;
  /** Elements of the gradient sink at the boundary (included in live and peak). */
  sink: number;
}

export interface Dims {
  N: number;
  D: number;
  F: number;
  Q: number;
  Kd: number;
  /** Attention scores [B, nh, T, T]. */
  P: number;
  r: number;
}

type Shape = StepPlanInput['shape'];

/** Elements one layer's record keeps (layer.ts LayerSaved, its input included), given which linears carry LoRA. */
export function recordElements(d: Dims, s: Shape, lora: LoraConfig): number {
  const { N, D, F, Q, Kd, P, r } = d;
  const names = new Set(targetModuleNames(lora));
  let n = 2 * N * D + 2 * N + N * Q + 2 * N * Kd + P + 2 * N * F; // x, x2, their scales, qh, kh, vh, probs, gate, up
  if (s.qkNorm) n += N * (Q + Kd) + N * (s.numHeads + s.numKvHeads);
  const inputs: Record<string, number> = { q_proj: D, k_proj: D, v_proj: D, o_proj: Q, gate_proj: D, up_proj: D, down_proj: F };
  if (lora.dropout > 0) {
    for (const m of names) n += 2 * N * inputs[m] + N * r; // dropped-out input and its mask, and x·A
  } else {
    for (const m of names) n += N * r;
    // Without dropout an adapter keeps its input itself; q/k/v share one, as do gate/up.
    if (names.has('q_proj') || names.has('k_proj') || names.has('v_proj')) n += N * D;
    if (names.has('o_proj')) n += N * Q;
    if (names.has('gate_proj') || names.has('up_proj')) n += N * D;
    if (names.has('down_proj')) n += N * F;
  }
  return n;
}

/** Whether bmm (ops.ts) splits the attention products of this shape into one XNNPACK product per element. */
export function attentionSplits(s: Shape, B: number, T: number): boolean {
  const g = s.numHeads / s.numKvHeads;
  return B * s.numKvHeads > 1 && g * T * s.headDim * T >= 2 ** 21;
}

/** The widest moment of a layer's backward beyond its record and the incoming gradient: the MLP's [N, I] products, the attention's [B, nh, T, T] ones, or q/k/v's RoPE and projections. */
export function layerBackwardElements(d: Dims, split: boolean): number {
  const { N, D, F, Q, Kd, P } = d;
  return Math.max(4 * N * F + 3 * N * D, (split ? 3 : 2) * P + 5 * N * D, 10 * N * Q + 3 * N * Kd);
}

/** The same for a layer's forward, beyond its record and output. */
export function layerForwardElements(d: Dims): number {
  const { N, D, F, Q, P } = d;
  return Math.max(3 * N * F + 2 * N * D, P + 3 * N * D, 4 * N * Q + 2 * N * D);
}

/**
 * The head pass (head.ts) over M scored rows: hs, the softmax-weighted rows, the target rows and dh, plus one chunk:
 * its rows [c, D], logits and probabilities [M, c]. 'full' mode keeps every chunk's gradient and joins them: 2·V·D.
 */
export function headElements(M: number, N: number, D: number, c: number, fullV: number | null): number {
  const state = 3 * M * D + 2 * N * D + (2 * D >= M ? M * D : 0); // + hsᵀ when the chunks use it (head.ts)
  // The rows and their transpose while the logits are made, then the rows, logits and probabilities.
  const chunk = Math.max(2 * M * c + c * D, M * c + 2 * c * D);
  if (fullV === null) return state + chunk;
  return state + chunk + M * c + 2 * fullV * D;
}

export function stepDims(input: StepPlanInput): Dims {
  const s = input.shape;
  return { N: input.B * input.T, D: s.hiddenSize, F: s.intermediateSize, Q: s.numHeads * s.headDim, Kd: s.numKvHeads * s.headDim, P: input.B * s.numHeads * input.T * input.T, r: input.lora.r };
}

/** The phases of one micro-batch's pass, boundary by boundary in the order the pass reaches them. */
export function passPhases(input: StepPlanInput, mode: EmbeddingMode, recompute: boolean): Phase[] {
  const s = input.shape;
  const d = stepDims(input);
  const { N, D } = d;
  const L = s.numLayers;
  const V = s.vocabSize + input.newTokens;
  const X = N * D; // one [N, H] activation
  // The pass's context: the attention mask [B, 1, 1, T, T] and the RoPE tables cos, sin [N, headDim].
  const ctx = input.B * input.T * input.T + 2 * N * s.headDim;
  const R = recordElements(d, s, input.lora);
  // What a layer holds for its backward: its record, or (recomputing) its input until the record is rebuilt.
  const held = recompute ? X : R;
  // The head's answer beside dh: the extra rows' gradient [n, D], or in 'full' mode the whole head's [V, D].
  const rows = memoryPlan(input, 'trainable-tokens').counts;
  const E = mode === 'full' ? V * D : (s.tieWordEmbeddings ? rows.embedRows : rows.headRows) * D;
  const perLayer = memoryPlan(input, mode).counts.lora / L; // LoRA gradients a layer's backward adds to the sink
  const forward = layerForwardElements(d);
  const backward = layerBackwardElements(d, attentionSplits(s, input.B, input.T));
  const head = headElements(N, N, D, headChunk(N, V, D), mode === 'full' ? V : null);
  const dropDown = input.lora.dropout > 0 && targetModuleNames(input.lora).includes('down_proj');
  const out: Phase[] = [];
  const push = (p: Omit<Phase, 'sink'> & { sink?: number }) => out.push({ sink: 0, ...p });
  // The ids and the embedding output; a row table (not 'full') also gathers from the base and the new rows and joins them.
  push({ at: 'embed', live: ctx + X, peak: ctx + X + N + (mode === 'full' ? 0 : 3 * X + 2 * N) });
  for (let i = 0; i < L; i++) {
    const live = ctx + (i + 1) * held + X; // the layers' records (or inputs) so far and the output y
    // Recomputing, no record holds the gate and up products [N, I] (nor, with dropout on down_proj, its mask and
    // dropped input): they are made and freed inside the forward.
    push({ at: 'forward', layer: i, live, peak: live + forward + (recompute ? 2 * N * d.F * (dropDown ? 2 : 1) : 0) });
  }
  const atHead = ctx + L * held + 2 * X + N; // + the final norm's output and its scales [N]
  push({ at: 'head', live: atHead, peak: atHead + 2 * X + 2 * N });
  push({ at: 'dh', live: atHead + X + E, peak: atHead + head });
  const atNorm = ctx + L * held + X + E; // the final norm's input, output and dh freed; d [N, H] made
  push({ at: 'norm', live: atNorm, peak: atHead + X + E + 6 * X + N }); // the norm's backward: a few [N, H] products
  for (let i = L - 1; i >= 0; i--) {
    const sink = (L - i) * perLayer;
    const before = ctx + (i + 1) * held + X + E + (L - i - 1) * perLayer;
    push({ at: 'backward', layer: i, live: ctx + i * held + X + E + sink, peak: before + (recompute ? R - X : 0) + backward + perLayer, sink });
  }
  // The table's backward (the pass's context freed): dE and the head's answer routed to the table's gradients; a
  // tied table gets the head's share and the embedding's on the same rows.
  const all = memoryPlan(input, mode).counts.trainable;
  push({ at: 'table', live: all, peak: all + X + E * (s.tieWordEmbeddings ? 2 : 1) + 3 * N, sink: all });
  return out;
}
