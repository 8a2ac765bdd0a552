// Model weights as TF.js tensors, in the layout the forward pass wants: every frozen linear weight is transposed
// once at load from HF [out, in] to [in, out], because matMul(x, W, false, true) is several times slower than
// matMul(x, Wt) on the wasm backend (architecture.md §3). f16/bf16 checkpoints are upcast to f32 on read.
import * as tf from '@tensorflow/tfjs';
import { ModelWeightsInvalid } from '../errors.ts';
import { WeightSet } from '../io/safetensors.ts';
import { loadModelConfig, type ModelConfig } from './config.ts';
import { frozenMatMul } from './ops.ts';
import { invFreq } from './rope.ts';

/** One nn.Linear. `name` is the HF module path ('model.layers.0.self_attn.q_proj'), the key LoRA matches on. */
export interface Linear {
  name: string;
  /** [in, out] (transposed from the checkpoint's [out, in]). */
  wT: tf.Tensor2D;
  /** [out], or null. */
  bias: tf.Tensor1D | null;
}

export interface LayerWeights {
  inputNorm: tf.Tensor1D; // [H]
  postNorm: tf.Tensor1D; // [H]
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  /** Qwen3 per-head norms, [D]; null otherwise. */
  qNorm: tf.Tensor1D | null;
  kNorm: tf.Tensor1D | null;
  gate: Linear;
  up: Linear;
  down: Linear;
}

/**
 * The embedding lookup and the output head, behind one replaceable object. The training code swaps in a table
 * with trainable rows (frozen base rows + appended/replaced rows) without touching the forward pass.
 * `embed` must not need a gradient through the frozen rows: tf.gather's gradient needs UnsortedSegmentSum,
 * which the wasm backend lacks.
 */
export interface TokenTable {
  /** Rows of the embedding = columns of the logits. */
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** ids: int32 [N] → [N, H]. */
  embed(ids: tf.Tensor1D): tf.Tensor2D;
  /** Final-normed hidden states [N, H] → logits [N, V]. */
  logits(h: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** The checkpoint's own embedding and head, frozen. A tied model holds the matrix once, as [H, V]. */
export class FrozenTokenTable implements TokenTable {
  readonly vocabSize: number;
  readonly hiddenSize: number;

  constructor(
    /** Head weight transposed, [H, V]; for a tied model this is also the only copy of the embedding. */
    readonly headT: tf.Tensor2D,
    /** Embedding rows [V, H] of an untied model; null when tied (rows are gathered from headT). */
    readonly rows: tf.Tensor2D | null,
  ) {
    [this.hiddenSize, this.vocabSize] = headT.shape;
  }

  get tied(): boolean {
    return this.rows === null;
  }

  embed(ids: tf.Tensor1D): tf.Tensor2D {
    if (this.rows !== null) return tf.gather(this.rows, ids, 0); // [N, H]
    return tf.tidy(() => tf.transpose(tf.gather(this.headT, ids, 1))); // [H, N] → [N, H]
  }

  logits(h: tf.Tensor2D): tf.Tensor2D {
    return frozenMatMul(h, this.headT); // [N, H] x [H, V] → [N, V]
  }

  dispose(): void {
    this.headT.dispose();
    this.rows?.dispose();
  }
}

/** Called for every linear with its input and frozen output; returns the output to use (e.g. plus a LoRA delta). */
export type LinearHook = (name: string, x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D;

export interface LlamaModel {
  config: ModelConfig;
  /** Model folder it came from. */
  dir: string;
  tokens: TokenTable;
  layers: LayerWeights[];
  /** Final norm, [H]. */
  norm: tf.Tensor1D;
  /** RoPE inverse frequencies, [D/2], scaling applied. */
  invFreq: Float64Array;
  /** Hook applied to every linear's output (LoRA); undefined = plain frozen linears. */
  linearHook?: LinearHook;
}

/** Reads DIR/config.json and the weights (single file or shards). */
export async function loadModel(dir: string): Promise<LlamaModel> {
  const config = loadModelConfig(dir);
  const ws = await WeightSet.open(dir);
  try {
    return await fromWeightSet(dir, config, ws);
  } finally {
    await ws.close();
  }
}

async function fromWeightSet(dir: string, config: ModelConfig, ws: WeightSet): Promise<LlamaModel> {
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numKvHeads: nkv, headDim: D, vocabSize: V } = config;
  // A bare LlamaModel checkpoint has no "model." prefix (spec §2).
  const base = ws.has('model.embed_tokens.weight') || !ws.has('embed_tokens.weight') ? 'model.' : '';
  const made: tf.Tensor[] = [];
  const read = async (name: string, shape: number[]): Promise<tf.Tensor> => {
    if (!ws.has(name)) throw new ModelWeightsInvalid(dir, name, 'missing from the checkpoint');
    const got = ws.info(name).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new ModelWeightsInvalid(dir, name, `shape [${got}] but config.json implies [${shape}]`);
    }
    const t = tf.tensor(await ws.readF32(name), shape);
    made.push(t);
    return t;
  };
  const vec = async (name: string, n: number) => (await read(name, [n])) as tf.Tensor1D;
  const linear = async (module: string, out: number, inp: number, bias: boolean): Promise<Linear> => {
    const w = await read(`${module}.weight`, [out, inp]);
    const wT = tf.transpose(w) as tf.Tensor2D; // [out, in] → [in, out]
    w.dispose();
    made.push(wT);
    const name = base === '' ? `model.${module}` : module;
    return { name, wT, bias: bias ? await vec(`${module}.bias`, out) : null };
  };
  try {
    const layers: LayerWeights[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `${base}layers.${i}.`;
      layers.push({
        inputNorm: await vec(`${p}input_layernorm.weight`, H),
        postNorm: await vec(`${p}post_attention_layernorm.weight`, H),
        q: await linear(`${p}self_attn.q_proj`, nh * D, H, config.qkvBias),
        k: await linear(`${p}self_attn.k_proj`, nkv * D, H, config.qkvBias),
        v: await linear(`${p}self_attn.v_proj`, nkv * D, H, config.qkvBias),
        o: await linear(`${p}self_attn.o_proj`, H, nh * D, config.oBias),
        qNorm: config.qkNorm ? await vec(`${p}self_attn.q_norm.weight`, D) : null,
        kNorm: config.qkNorm ? await vec(`${p}self_attn.k_norm.weight`, D) : null,
        gate: await linear(`${p}mlp.gate_proj`, I, H, config.mlpBias),
        up: await linear(`${p}mlp.up_proj`, I, H, config.mlpBias),
        down: await linear(`${p}mlp.down_proj`, H, I, config.mlpBias),
      });
    }
    const norm = await vec(`${base}norm.weight`, H);
    const embed = (await read(`${base}embed_tokens.weight`, [V, H])) as tf.Tensor2D;
    let tokens: FrozenTokenTable;
    if (config.tieWordEmbeddings) {
      // A stray lm_head.weight in a tied checkpoint is ignored: transformers re-ties it to the embedding.
      tokens = new FrozenTokenTable(tf.transpose(embed) as tf.Tensor2D, null); // [H, V]
      embed.dispose();
    } else {
      // lm_head sits outside the base model prefix in *ForCausalLM files.
      const head = await read('lm_head.weight', [V, H]);
      tokens = new FrozenTokenTable(tf.transpose(head) as tf.Tensor2D, embed);
      head.dispose();
    }
    return { config, dir, tokens, layers, norm, invFreq: invFreq(config.rope, D) };
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}

/** Frees every tensor of the model (token table included). */
export function disposeModel(model: LlamaModel): void {
  model.tokens.dispose();
  model.norm.dispose();
  for (const l of model.layers) {
    for (const t of [l.inputNorm, l.postNorm, l.qNorm, l.kNorm]) t?.dispose();
    for (const lin of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) {
      lin.wT.dispose();
      lin.bias?.dispose();
    }
  }
}
