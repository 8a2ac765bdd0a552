// Model weights as TF.js tensors, as Hugging Face stores them: linear weights [out, in], the embedding and the head
// [V, H]; one copy each, nothing transposed at load (src/model/ops.ts says how the products stay fast on wasm).
// f16/bf16 checkpoints are upcast to f32 on read.
import * as tf from '@tensorflow/tfjs';
import { ModelWeightsInvalid } from '../errors.ts';
import { WeightSet } from '../io/safetensors.ts';
import { loadModelConfig, type ModelConfig } from './config.ts';
import type { GradTokenTable } from './grad.ts';
import { headLogits, type HeadColumns } from './head.ts';
import type { ModelAdapters } from './layer.ts';
import { invFreq } from './rope.ts';
import { checkWeightsAgainstConfig } from './weights-check.ts';
import { heapTensor } from './wasm-backend.ts';
import { isDiskTensor, WeightsFile } from './weights-disk.ts';

/** One nn.Linear. `name` is the HF module path ('model.layers.0.self_attn.q_proj'), the key LoRA matches on. */
export interface Linear {
  name: string;
  /** [out, in], as the checkpoint stores it. */
  w: tf.Tensor2D;
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
 * with trainable rows (frozen base rows + appended/replaced rows) without touching the forward pass. Gradients
 * never flow through TF.js autodiff here (src/model/grad.ts routes them), so the frozen rows need no gradient kernel.
 */
export interface TokenTable {
  /** Rows of the embedding = columns of the logits. */
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** ids: int32 [N] → [N, H]. */
  embed(ids: tf.Tensor1D): tf.Tensor2D;
  /** The head as the chunked head reads it (src/model/head.ts): frozen base columns plus extra rows. */
  headColumns(): HeadColumns;
  dispose(): void;
}

/** The checkpoint's own embedding and head, frozen (no params: its backward routes nothing). A tied model holds the matrix once. */
export class FrozenTokenTable implements GradTokenTable {
  readonly trainsHead = false;

  readonly vocabSize: number;
  readonly hiddenSize: number;

  constructor(
    /** Head weight [V, H] (lm_head.weight); for a tied model also the embedding. */
    readonly head: tf.Tensor2D,
    /** Embedding rows [V, H] of an untied model; null when tied. */
    readonly rows: tf.Tensor2D | null,
  ) {
    [this.vocabSize, this.hiddenSize] = head.shape;
  }

  get tied(): boolean {
    return this.rows === null;
  }

  embed(ids: tf.Tensor1D): tf.Tensor2D {
    const t = this.rows ?? this.head;
    return isDiskTensor(t) ? gatherRows(t, ids.dataSync()) : tf.gather(t, ids, 0); // [N, H]
  }

  headColumns(): HeadColumns {
    return { head: this.head, masked: [], extra: null, extraIds: [] };
  }

  backward(): void {}

  dispose(): void {
    this.head.dispose();
    this.rows?.dispose();
  }
}

/** Logits [n, V] of a few rows (generation, tests): training and evaluation use the chunked head instead. */
export function tableLogits(table: TokenTable, h: tf.Tensor2D): tf.Tensor2D {
  return headLogits(h, table.headColumns(), table.vocabSize);
}

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
  /** LoRA of the adapted linears (src/model/layer.ts); undefined = plain frozen linears. */
  adapters?: ModelAdapters;
  /** Where the frozen weights lie when loaded for the native engine only (weights-disk.ts); undefined = TF.js tensors. */
  weightsFile?: WeightsFile;
}

export interface LoadOptions {
  /**
   * 'disk' (the native engine): the frozen weights go to one float32 file that every ONNX Runtime session maps,
   * none into TF.js; the model's weight fields hold DiskTensors. Default 'host': TF.js tensors, as wasm runs them.
   */
  frozen?: 'host' | 'disk';
}

/** Where a model's frozen weights go on `backend` (a TF.js backend name, or 'native'): LoadOptions.frozen. */
export function frozenFor(backend: string): 'host' | 'disk' {
  return backend === 'native' ? 'disk' : 'host';
}

/**
 * What loadModel would throw, without reading a weight: config.json parses and is supported,
 * the weight files are there, and their headers hold what the config implies (weights-check.ts).
 * For checks before a run starts.
 */
export async function checkModelFolder(dir: string): Promise<void> {
  const config = loadModelConfig(dir);
  const ws = await WeightSet.open(dir);
  try {
    checkWeightsAgainstConfig(config, ws, dir);
  } finally {
    await ws.close();
  }
}

/** Reads DIR/config.json and the weights (single file or shards). */
export async function loadModel(dir: string, o: LoadOptions = {}): Promise<LlamaModel> {
  const config = loadModelConfig(dir);
  const ws = await WeightSet.open(dir);
  try {
    // Headers first: a mismatch is named before gigabytes are read.
    checkWeightsAgainstConfig(config, ws, dir);
    if (o.frozen !== 'disk') return await fromWeightSet(dir, config, ws, (_, shape, fill) => heapTensor(shape, fill));
    const file = new WeightsFile();
    try {
      const model = await fromWeightSet(dir, config, ws, async (name, shape, fill) => (await file.append(name, shape, fill)).asTensor());
      return { ...model, weightsFile: file };
    } catch (e) {
      file.remove();
      throw e;
    }
  } finally {
    await ws.close();
  }
}

type MakeTensor = (name: string, shape: number[], fill: (write: (values: Float32Array, offset: number) => void) => Promise<void>) => Promise<tf.Tensor>;

async function fromWeightSet(dir: string, config: ModelConfig, ws: WeightSet, make: MakeTensor): Promise<LlamaModel> {
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numKvHeads: nkv, headDim: D, vocabSize: V } = config;
  // A bare LlamaModel checkpoint has no "model." prefix (llama-family-spec.md §2).
  const base = ws.has('model.embed_tokens.weight') || !ws.has('embed_tokens.weight') ? 'model.' : '';
  const made: tf.Tensor[] = [];
  const read = async (name: string, shape: number[]): Promise<tf.Tensor> => {
    if (!ws.has(name)) throw new ModelWeightsInvalid(dir, name, 'missing from the checkpoint');
    const got = ws.info(name).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new ModelWeightsInvalid(dir, name, `shape [${got}] but config.json implies [${shape}]`);
    }
    const t = await make(name, shape, (write) => ws.readF32Chunks(name, write));
    made.push(t);
    return t;
  };
  const vec = async (name: string, n: number) => (await read(name, [n])) as tf.Tensor1D;
  const linear = async (module: string, out: number, inp: number, bias: boolean): Promise<Linear> => {
    const w = (await read(`${module}.weight`, [out, inp])) as tf.Tensor2D; // [out, in]
    const name = base === '' ? `model.${module}` : module;
    return { name, w, bias: bias ? await vec(`${module}.bias`, out) : null };
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
    // A stray lm_head.weight in a tied checkpoint is ignored: transformers re-ties it to the embedding.
    // lm_head sits outside the base model prefix in *ForCausalLM files.
    const tokens = config.tieWordEmbeddings
      ? new FrozenTokenTable(embed, null)
      : new FrozenTokenTable((await read('lm_head.weight', [V, H])) as tf.Tensor2D, embed);
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
      lin.w.dispose();
      lin.bias?.dispose();
    }
  }
  model.weightsFile?.remove();
}

/** Rows `ids` of a [V, H] table, [ids.length, H]: gathered on TF.js, or read from the weights file (DiskTensor). */
export function gatherRows(t: tf.Tensor2D, ids: ArrayLike<number>): tf.Tensor2D {
  const H = t.shape[1];
  if (isDiskTensor(t)) return tf.tensor2d(t.rows(ids), [ids.length, H]);
  return tf.tidy(() => tf.gather(t, tf.tensor1d(Int32Array.from(ids), 'int32'), 0)); // [n, H]
}

/** A whole frozen tensor on TF.js: itself, or a copy read from the weights file (a 'full' table makes it trainable). */
export function hostCopy<T extends tf.Tensor>(t: T): T {
  return isDiskTensor(t) ? (tf.tensor(t.dataSync(), t.shape, 'float32') as T) : t;
}

/**
 * Rows of a [V, H] tensor for code that wants a few of them, or their mean, as plain arrays (new-token init):
 * gathered on demand, the mean streamed in slices and summed in float64, never the whole matrix in JS.
 */
export function tensorRows(t: tf.Tensor2D): { count: number; rows(ids: number[]): Float32Array; mean(): Float32Array } {
  const [V, H] = t.shape;
  return {
    count: V,
    rows: (ids) => (isDiskTensor(t) ? t.rows(ids) : tf.tidy(() => tf.gather(t, tf.tensor1d(ids, 'int32'), 0).dataSync() as Float32Array)),
    mean: () => {
      const acc = new Float64Array(H);
      const step = Math.max(1, Math.floor(2 ** 22 / H)); // ~16 MiB per slice
      for (let r = 0; r < V; r += step) {
        const n = Math.min(step, V - r);
        const part = isDiskTensor(t) ? t.slab(r, n) : tf.tidy(() => tf.slice(t, [r, 0], [n, H]).dataSync());
        for (let i = 0; i < part.length; i++) acc[i % H] += part[i];
      }
      return Float32Array.from(acc, (x) => x / V);
    },
  };
}
