// The Llama-family forward pass on the TF.js op API only, so one code path serves every backend
// (llama-family-spec.md §3.6): embed → L × (x + attn(norm x), x + mlp(norm x)) → final norm → head.
import * as tf from '@tensorflow/tfjs';
import { ModelInputInvalid, ModelUnsupported } from '../errors.ts';
import { buildMask, segmentIds } from './attention.ts';
import type { KVCache } from './kv-cache.ts';
import { decoderLayerOps, type LayerContext } from './layer.ts';
import { rmsNormOps } from './norm.ts';
import { ropeTables } from './rope.ts';
import { tfOps, type Ops } from './tensor-ops.ts';
import { tableLogits, type LlamaModel } from './weights.ts';

/** Token ids, row-major [B*T]. */
export type TokenIds = Int32Array;

export interface ForwardInput {
  /** [B*T] */
  inputIds: TokenIds;
  B: number;
  T: number;
  /** [B*T]; default past..past+T-1 in every row. Packed rows restart at 0 for each document. */
  positionIds?: Int32Array;
  /**
   * [B*T] document id per token; tokens attend only within their document. Default: derived from positionIds
   * (a document starts wherever the position does not go up by one), as HF does for packed rows.
   */
  documentIds?: Int32Array;
  /** Incremental decoding: attends to the cached tokens and appends this step's keys/values. */
  cache?: KVCache;
  /** 'logits' (default): [B, T', V]; 'hidden': final-normed hidden states [B, T', H]. */
  output?: 'logits' | 'hidden';
  /** Only the last position of each row (T' = 1), as generation needs; default all positions (T' = T). */
  lastOnly?: boolean;
}

/** Runs the model; the result is the only tensor left behind (and the cache's, when given). */
export function forward(model: LlamaModel, input: ForwardInput): tf.Tensor3D {
  const { B, T, inputIds, cache } = input;
  const cfg = model.config;
  checkInput(model, input);
  const past = cache?.length ?? 0;
  const positions = input.positionIds ?? defaultPositions(B, T, past);
  if (cache && input.documentIds) throw new ModelInputInvalid('documentIds cannot be combined with a KV cache');
  if (cfg.slidingWindow !== null && past + T > cfg.slidingWindow) {
    throw new ModelUnsupported(cfg.source, 'sliding_window',
      `window ${cfg.slidingWindow} is in effect for ${past + T} tokens; sliding-window attention is not supported (use sequences of at most ${cfg.slidingWindow} tokens)`);
  }
  const documents = cache ? null : (input.documentIds ?? segmentIds(positions, B, T));
  const out = tf.tidy(() => {
    const rope = ropeTables(positions, model.invFreq);
    const ctx: LayerContext = { B, T, rope, mask: buildMask(B, T, past, documents), cache };
    const H = cfg.hiddenSize;
    const last = input.lastOnly && T > 1;
    const x = model.tokens.embed(tf.tensor1d(inputIds, 'int32')); // [N, H]
    const pick = last ? (h: tf.Tensor) => h.reshape([B, T, H]).slice([0, T - 1, 0], [B, 1, H]).reshape([B, H]) : undefined; // [B, H]
    const rows = last ? 1 : T;
    const h = hiddenOps(tfOps, model, x, ctx, pick) as tf.Tensor2D;
    if (input.output === 'hidden') return h.reshape([B, rows, H]) as tf.Tensor3D;
    const logits = tableLogits(model.tokens, h); // [B·T', V]: callers with many rows use the chunked head
    return logits.reshape([B, rows, logits.shape[1]]) as tf.Tensor3D; // [B, T', V]
  });
  cache?.advance(T);
  return out;
}

/**
 * The embedding output x [N, H] → the final-normed hidden states [N, H], written once for both engines (TF.js
 * eagerly, the native engine's eval and generate graphs); `pick` selects rows before the final norm (the last
 * position, for generation). Frees each layer's input as it goes (x too).
 */
export function hiddenOps<T>(o: Ops<T>, model: LlamaModel, x: T, ctx: LayerContext, pick?: (h: T) => T): T {
  let h = x;
  for (let i = 0; i < model.layers.length; i++) {
    const next = decoderLayerOps(o, model, i, h, ctx).y;
    o.dispose(h); // one layer's activations at a time
    h = next;
  }
  if (pick) h = pick(h);
  return rmsNormOps(o, h, o.frozen(model.norm), model.config.rmsNormEps).y;
}

export function defaultPositions(B: number, T: number, past: number): Int32Array {
  const p = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = past + t;
  return p;
}

function checkInput(model: LlamaModel, input: ForwardInput): void {
  const { B, T, inputIds } = input;
  if (!(Number.isInteger(B) && B > 0 && Number.isInteger(T) && T > 0)) {
    throw new ModelInputInvalid(`B and T must be positive integers, got B=${B} T=${T}`);
  }
  for (const [name, a] of [['inputIds', inputIds], ['positionIds', input.positionIds], ['documentIds', input.documentIds]] as const) {
    if (a !== undefined && a.length !== B * T) throw new ModelInputInvalid(`${name} has ${a.length} entries, expected B*T = ${B * T}`);
  }
  const V = model.tokens.vocabSize;
  for (let i = 0; i < inputIds.length; i++) {
    const id = inputIds[i];
    if (id < 0 || id >= V) throw new ModelInputInvalid(`inputIds[${i}] = ${id} is outside the vocabulary [0, ${V})`);
  }
  if (input.cache && input.cache.numLayers !== model.layers.length) {
    throw new ModelInputInvalid(`cache has ${input.cache.numLayers} layers, model has ${model.layers.length}`);
  }
}
