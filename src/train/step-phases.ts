// What one micro-batch's pass (src/model/grad.ts passOps, then the token table's backward) holds at each of its
// phase boundaries, in float32 elements beyond what was live before the pass, predicted from the shapes alone. The
// boundaries are exactly the pass's probe points (grad.ts PassPoint), so a test runs the real pass with a probe and
// compares every phase with this list (test/memory-plan-phases.test.ts): a tensor the pass starts keeping, or stops
// freeing, moves a boundary and fails it. step-memory.ts takes the step's peak from these phases.
//
// What a layer keeps for its backward (its record, the largest term) is not written here: it is read off layer.ts by
// running the layer's training forward on shapes alone (shape-ops.ts), so a change to the record changes the plan.
// Per boundary, `live` is what is held there (exact: a function of the shapes alone); per phase, `peak` is the most
// held at once between the previous boundary and this one, from the modelled transients of a layer or of the head.
// Both include the gradient sink as a first micro-batch fills it (`sink`): later micro-batches add into a full one.
import { recordParts } from '../model/grad.ts';
import { decoderLayerOps, type LayerContext } from '../model/layer.ts';
import { loraTargets, targetModuleNames, type LoraConfig } from '../model/lora.ts';
import type { RopeTables } from '../model/rope.ts';
import { shaped, shapeOps } from '../model/shape-ops.ts';
import type { LlamaModel } from '../model/weights.ts';
import type { EmbeddingMode } from '../model/modes.ts';
import { headChunk } from '../model/head.ts';
import { bmmSplits } from '../model/ops.ts';
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
}

type Shape = StepPlanInput['shape'];

/** A one-layer model of this shape with adapters where `lora` puts them, as shape-ops stand-ins (nothing allocated). */
function shapeModel(s: Shape, lora: LoraConfig): LlamaModel {
  const D = s.hiddenSize, hd = s.headDim, Q = s.numHeads * hd, Kd = s.numKvHeads * hd, F = s.intermediateSize;
  const lin = (name: string, inF: number, outF: number, bias = false) => ({ name: `model.layers.0.${name}`, w: shaped([outF, inF]), bias: bias ? shaped([outF]) : null });
  const layer = {
    inputNorm: shaped([D]), postNorm: shaped([D]), qNorm: s.qkNorm ? shaped([hd]) : null, kNorm: s.qkNorm ? shaped([hd]) : null,
    q: lin('self_attn.q_proj', D, Q, s.qkvBias), k: lin('self_attn.k_proj', D, Kd, s.qkvBias), v: lin('self_attn.v_proj', D, Kd, s.qkvBias),
    o: lin('self_attn.o_proj', Q, D, s.oBias), gate: lin('mlp.gate_proj', D, F, s.mlpBias), up: lin('mlp.up_proj', D, F, s.mlpBias), down: lin('mlp.down_proj', F, D, s.mlpBias),
  };
  const targets = loraTargets({ ...s, numLayers: 1 }, lora);
  const adapters = new Map(targets.map((t, index) => [t.path, { A: shaped([t.inF, lora.r]), B: shaped([lora.r, t.outF]), scaling: 1, dropout: lora.dropout, index }]));
  return { config: { numHeads: s.numHeads, numKvHeads: s.numKvHeads, headDim: hd, rmsNormEps: 1e-6 }, layers: [layer], adapters } as unknown as LlamaModel;
}

/**
 * Elements one layer's record keeps (layer.ts LayerSaved, its input included): read off the layer itself, its
 * training forward run on shapes alone (shape-ops.ts) and every tensor of its record (grad.ts recordParts) sized.
 */
export function recordElements(s: Shape, lora: LoraConfig, B: number, T: number): number {
  const N = B * T;
  const hd = s.headDim;
  const ctx: LayerContext = { B, T, rope: { cos: shaped([N, 1, hd]), sinSigned: shaped([N, 1, hd]) } as RopeTables, mask: shaped([B, 1, 1, T, T]), dropoutSeed: 0 };
  const { saved } = decoderLayerOps(shapeOps, shapeModel(s, lora), 0, { shape: [N, s.hiddenSize] }, ctx, true);
  return recordParts(saved!).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** Whether bmm (ops.ts) splits the attention products of this shape into one plain product per element (the same rule). */
export function attentionSplits(s: Shape, B: number, T: number): boolean {
  const g = s.numHeads / s.numKvHeads;
  return bmmSplits(B * s.numKvHeads, T, g * T, s.headDim);
}

/**
 * The widest moment of a layer's backward beyond its record and the incoming gradient: the MLP's [N, I] products;
 * the attention's [B, nh, T, T] ones (dS and its transpose, which the product reshapes; split per element, also one
 * element's slices of both operands, and the pieces joined); or q/k/v's RoPE backward and projections. Counted as
 * TF.js counts tensor bytes: a reshape is a tensor of its own.
 */
export function layerBackwardElements(d: Dims, s: Shape, B: number, T: number): number {
  const { N, D, F, Q, Kd, P } = d;
  const attention = attentionSplits(s, B, T) ? (3 + 2 / (B * s.numKvHeads)) * P + 8 * N * Q + 4 * N * Kd : 3 * P + N * Q + 2 * N * Kd;
  return Math.max(4 * N * F + 3 * N * D, attention, 13 * N * Q + 2 * N * Kd);
}

/**
 * The same for a layer's forward, beyond its output and what its record keeps. The MLP: σ(g), g·σ(g) and m [N, I],
 * unless down_proj's adapter keeps m itself; with dropout on down_proj, its mask is drawn per row ([T, I] each,
 * joined), compared and cast beside m. Without a record (recomputing), the gate and up products (and down_proj's
 * mask and dropped input) and the softmax probabilities beside the scores are made and freed inside it too.
 */
export function layerForwardElements(d: Dims, lora: LoraConfig, B: number, recordless: boolean): number {
  const { N, D, F, Q, P } = d;
  const down = targetModuleNames(lora).includes('down_proj');
  const dropDown = down && lora.dropout > 0;
  const keepsM = !recordless && down && !dropDown;
  let mlp = keepsM ? 2 * N * F : (dropDown ? (B > 1 ? 4.25 : 3.25) : 3) * N * F + N * D;
  if (recordless) mlp += N * D + 2 * N * F * (dropDown ? 2 : 1);
  return Math.max(mlp, (recordless ? 3 : 1) * P + 3 * N * D, 4 * N * Q + 2 * N * D);
}

/**
 * The most the head (head-loss.ts) holds at once over M scored rows, beyond its input. Its state: hs [M, D], the
 * online-softmax L [M, 1] and acc (or 'full': dhs) [M, D], and hsᵀ [D, M] when the chunks' products use it (2D ≥ M;
 * 'full' always makes it). A chunk of c columns: its rows Wc [c, D], the logits z [M, c] (made through a [c, M]
 * product and a transpose, or without hsᵀ through Wcᵀ [D, c]) and the probabilities beside z; masked base columns
 * (retrained existing ids) add a masked copy of z. 'full' mode's second pass also holds, per chunk, the scaled
 * probabilities, the one-hot targets (int32, then float32, then weighted), and the head's gradient [D, c] and its
 * transpose [c, D]; every earlier chunk's gradient stays until all are joined (2·V·D).
 */
export function headElements(M: number, N: number, D: number, c: number, V: number, full: boolean, masked: boolean): number {
  const t = 2 * D >= M;
  const state = (2 + (t || full ? 1 : 0)) * M * D + M;
  const z = (masked ? 2 : 1) * M * c;
  const logits = Math.max(c * D + M * c + z, t ? 0 : 2 * c * D + z);
  if (full) return state + Math.max((V - c) * D + Math.max(logits, c * D + 4 * M * c, 3 * c * D + M * c), 2 * V * D);
  // After the chunks: the target rows, weight·(acc − rows) and dh scattered to [N, D].
  return state + Math.max(logits, 3 * M * D + N * D);
}

/** Whether the head masks base columns: existing ids retrained (or, 'frozen', replaced) as extra rows. */
export function headMasks(input: StepPlanInput, mode: EmbeddingMode): boolean {
  return mode !== 'full' && ((input.shape.tieWordEmbeddings ? input.extraEmbedRows : input.extraHeadRows) ?? 0) > 0;
}

export function stepDims(input: StepPlanInput): Dims {
  const s = input.shape;
  return { N: input.B * input.T, D: s.hiddenSize, F: s.intermediateSize, Q: s.numHeads * s.headDim, Kd: s.numKvHeads * s.headDim, P: input.B * s.numHeads * input.T * input.T };
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
  const R = recordElements(s, input.lora, input.B, input.T);
  // What a layer holds for its backward: its record, or (recomputing) its input until the record is rebuilt.
  const held = recompute ? X : R;
  // The head's answer beside dh: the extra rows' gradient [n, D], or in 'full' mode the whole head's [V, D].
  const rows = memoryPlan(input, 'trainable-tokens').counts;
  const E = mode === 'full' ? V * D : (s.tieWordEmbeddings ? rows.embedRows : rows.headRows) * D;
  const perLayer = memoryPlan(input, mode).counts.lora / L; // LoRA gradients a layer's backward adds to the sink
  const backward = layerBackwardElements(d, s, input.B, input.T);
  const head = headElements(N, N, D, headChunk(N, V, D), V, mode === 'full', headMasks(input, mode));
  const forward = layerForwardElements(d, input.lora, input.B, recompute);
  const out: Phase[] = [];
  const push = (p: Omit<Phase, 'sink'> & { sink?: number }) => out.push({ sink: 0, ...p });
  // The ids and the embedding output; a row table (not 'full') also gathers from the base and the new rows and joins them.
  push({ at: 'embed', live: ctx + X, peak: ctx + X + N + (mode === 'full' ? 0 : 3 * X + 2 * N) });
  for (let i = 0; i < L; i++) {
    const live = ctx + (i + 1) * held + X; // the layers' records (or inputs) so far and the output y
    push({ at: 'forward', layer: i, live, peak: live + forward });
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
