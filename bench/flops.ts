// Matmul FLOPs of one training update, counted from the shape (2·m·k·n per [m,k]x[k,n] product), so a
// step's time turns into an achieved GFLOP/s comparable with the wasm matmul rate of the same run.
// Counted: the forward (every linear, attention scores and values, LoRA factors, the head over V+new
// columns), and the backward products the update needs: dx through every frozen linear, the attention
// and the head; LoRA's dA, dB and its dx; the token-row grads (the new head columns in trainable-tokens,
// the whole head in full; embedding rows are a gather/scatter, not a matmul). No dW of frozen weights.
import type { ModelConfig } from '../src/model/config.ts';

export type FlopShape = Pick<ModelConfig, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim'>;

export interface StepWork {
  B: number;
  T: number;
  /** Micro-batches per update. */
  accum: number;
  mode: 'trainable-tokens' | 'full' | 'frozen';
  newTokens: number;
  /** LoRA rank on q_proj and v_proj. */
  r: number;
}

export function stepFlops(c: FlopShape, w: StepWork): { forward: number; backward: number; total: number } {
  const { B, T, r } = w;
  const N = B * T;
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numKvHeads: nkv, headDim: D } = c;
  const V = c.vocabSize + w.newTokens;
  const mm = (m: number, k: number, n: number) => 2 * m * k * n;
  const linears = mm(N, H, nh * D) + 2 * mm(N, H, nkv * D) + mm(N, nh * D, H) + 2 * mm(N, H, I) + mm(N, I, H);
  const attention = 2 * B * nh * mm(T, D, T); // Q·Kᵀ and P·V per head
  const loraFwd = mm(N, H, r) + mm(N, r, nh * D) + mm(N, H, r) + mm(N, r, nkv * D);
  const forward = c.numLayers * (linears + attention + loraFwd) + mm(N, H, V);
  // LoRA backward per adapted layer: dB = uᵀ·dy, du = dy·Bᵀ, dA = xᵀ·du, dx = du·Aᵀ.
  const loraBwd = 2 * (mm(N, r, nh * D) + mm(N, H, r)) + 2 * (mm(N, r, nkv * D) + mm(N, H, r));
  const attentionBwd = 2 * attention; // dQ, dK, dP, dV
  const headRows = w.mode === 'full' ? V : w.mode === 'trainable-tokens' ? w.newTokens : 0;
  const backward = c.numLayers * (linears + attentionBwd + loraBwd) + mm(N, V, H) + mm(H, N, headRows);
  return { forward: forward * w.accum, backward: backward * w.accum, total: (forward + backward) * w.accum };
}
