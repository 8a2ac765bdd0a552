// config.json of a Hugging Face Llama-family folder (llama, mistral, qwen2, qwen3) → one resolved ModelConfig.
// Defaults and derivations follow llama-family-spec.md §1 per model_type; both RoPE forms are read (legacy
// rope_theta + rope_scaling, v5 rope_parameters). Anything we do not implement fails here, naming the field.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ModelConfigInvalid, ModelNotFound, ModelUnsupported } from '../errors.ts';

const posInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

const RopeDictSchema = z.looseObject({
  rope_type: z.string().optional(),
  /** Old files say "type"; transformers treats it as rope_type. */
  type: z.string().optional(),
  rope_theta: z.number().positive().optional(),
  factor: z.number().positive().optional(),
  low_freq_factor: z.number().positive().optional(),
  high_freq_factor: z.number().positive().optional(),
  original_max_position_embeddings: posInt.optional(),
  partial_rotary_factor: z.number().positive().optional(),
});

/** The keys of config.json we read; others (architectures, initializer_range, ...) pass through unchecked. */
export const HfConfigSchema = z.looseObject({
  model_type: z.string(),
  vocab_size: posInt.optional(),
  hidden_size: posInt.optional(),
  intermediate_size: posInt.optional(),
  num_hidden_layers: posInt.optional(),
  num_attention_heads: posInt.optional(),
  num_key_value_heads: posInt.nullable().optional(),
  head_dim: posInt.nullable().optional(),
  hidden_act: z.string().optional(),
  max_position_embeddings: posInt.optional(),
  rms_norm_eps: z.number().positive().optional(),
  rope_theta: z.number().positive().optional(),
  rope_scaling: RopeDictSchema.nullable().optional(),
  rope_parameters: RopeDictSchema.nullable().optional(),
  partial_rotary_factor: z.number().positive().optional(),
  attention_bias: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  tie_word_embeddings: z.boolean().optional(),
  bos_token_id: tokenId.nullable().optional(),
  eos_token_id: z.union([tokenId, z.array(tokenId)]).nullable().optional(),
  pad_token_id: tokenId.nullable().optional(),
  sliding_window: posInt.nullable().optional(),
  use_sliding_window: z.boolean().optional(),
  max_window_layers: z.number().int().nonnegative().optional(),
  layer_types: z.array(z.string()).nullable().optional(),
  torch_dtype: z.string().nullable().optional(),
  dtype: z.string().nullable().optional(),
});
export type HfConfig = z.infer<typeof HfConfigSchema>;

/** generation_config.json: only the ids generate() needs. */
export const GenerationConfigSchema = z.looseObject({
  bos_token_id: tokenId.nullable().optional(),
  eos_token_id: z.union([tokenId, z.array(tokenId)]).nullable().optional(),
  pad_token_id: tokenId.nullable().optional(),
});

export const MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export type RopeConfig =
  | { type: 'default'; theta: number }
  | { type: 'linear'; theta: number; factor: number }
  | {
      type: 'llama3';
      theta: number;
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

/** Everything the forward pass needs, resolved (no nulls standing for "derive it"). */
export interface ModelConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  rope: RopeConfig;
  /** Bias on q/k/v projections (Qwen2 always; Llama/Qwen3 with attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama/Qwen3 attention_bias; never Qwen2). */
  oBias: boolean;
  /** Bias on gate/up/down (Llama mlp_bias). */
  mlpBias: boolean;
  /** Qwen3 per-head RMSNorm of q and k before RoPE. */
  qkNorm: boolean;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  /** From generation_config.json when it names any, else config.json; possibly several. */
  eosTokenIds: number[];
  padTokenId: number | null;
  /** Window of sliding-window attention when some layer uses one, else null; the forward refuses longer inputs. */
  slidingWindow: number | null;
  /** Storage dtype as declared (torch_dtype or dtype); informational. */
  storageDtype: string | null;
  /** config.json path, for messages. */
  source: string;
}

interface TypeDefaults {
  vocab: number; hidden: number; inter: number; layers: number; heads: number; maxPos: number;
  /** num_key_value_heads when the key is absent (null: same as heads). */
  kvHeads: number | null;
  /** head_dim when the key is absent (null: hidden / heads). */
  headDim: number | null;
}

// llama-family-spec.md §1 table (v4 __init__ defaults).
const DEFAULTS: Record<ModelType, TypeDefaults> = {
  llama: { vocab: 32000, hidden: 4096, inter: 11008, layers: 32, heads: 32, maxPos: 2048, kvHeads: null, headDim: null },
  mistral: { vocab: 32000, hidden: 4096, inter: 14336, layers: 32, heads: 32, maxPos: 131072, kvHeads: 8, headDim: null },
  qwen2: { vocab: 151936, hidden: 4096, inter: 22016, layers: 32, heads: 32, maxPos: 32768, kvHeads: 32, headDim: null },
  qwen3: { vocab: 151936, hidden: 4096, inter: 22016, layers: 32, heads: 32, maxPos: 32768, kvHeads: 32, headDim: 128 },
};

/** Parses and resolves a config.json object; `file` is named in every error. */
export function parseModelConfig(json: unknown, file: string, generation?: unknown): ModelConfig {
  const parsed = HfConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelConfigInvalid(file, issue.path.join('.') || '(root)', issue.message);
  }
  const c = parsed.data;
  if (!(MODEL_TYPES as readonly string[]).includes(c.model_type)) {
    throw new ModelUnsupported(file, 'model_type', `"${c.model_type}" is not supported (supported: ${MODEL_TYPES.join(', ')})`);
  }
  const modelType = c.model_type as ModelType;
  const d = DEFAULTS[modelType];
  const hiddenSize = c.hidden_size ?? d.hidden;
  const numHeads = c.num_attention_heads ?? d.heads;
  const numKvHeads = (c.num_key_value_heads === undefined ? d.kvHeads : c.num_key_value_heads) ?? numHeads;
  const headDim = (c.head_dim === undefined ? d.headDim : c.head_dim) ?? Math.floor(hiddenSize / numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ModelConfigInvalid(file, 'num_key_value_heads', `${numKvHeads} does not divide num_attention_heads ${numHeads}`);
  }
  if (headDim % 2 !== 0) throw new ModelConfigInvalid(file, 'head_dim', `RoPE needs an even head_dim, got ${headDim}`);
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') {
    throw new ModelUnsupported(file, 'hidden_act', `"${c.hidden_act}" is not supported (only "silu")`);
  }
  const ab = c.attention_bias ?? false;
  const bias = {
    llama: { qkvBias: ab, oBias: ab, mlpBias: c.mlp_bias ?? false },
    mistral: { qkvBias: false, oBias: false, mlpBias: false },
    qwen2: { qkvBias: true, oBias: false, mlpBias: false },
    qwen3: { qkvBias: ab, oBias: ab, mlpBias: false },
  }[modelType];
  const numLayers = c.num_hidden_layers ?? d.layers;
  const gen = parseGeneration(generation, file);
  // Absent keys take the class default (Llama/Mistral: bos 1, eos 2); an explicit null means none.
  const llamaLike = modelType === 'llama' || modelType === 'mistral';
  const cfgBos = c.bos_token_id === undefined ? (llamaLike ? 1 : null) : c.bos_token_id;
  const cfgEos = c.eos_token_id === undefined ? (llamaLike ? 2 : null) : c.eos_token_id;
  const eos = gen?.eos_token_id ?? cfgEos;
  return {
    modelType,
    vocabSize: c.vocab_size ?? d.vocab,
    hiddenSize,
    intermediateSize: c.intermediate_size ?? d.inter,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    maxPositionEmbeddings: c.max_position_embeddings ?? d.maxPos,
    rope: resolveRope(c, file),
    ...bias,
    qkNorm: modelType === 'qwen3',
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    bosTokenId: gen?.bos_token_id ?? cfgBos,
    eosTokenIds: eos === null ? [] : Array.isArray(eos) ? eos : [eos],
    padTokenId: c.pad_token_id ?? null,
    slidingWindow: resolveSlidingWindow(c, modelType, numLayers),
    storageDtype: c.torch_dtype ?? c.dtype ?? null,
    source: file,
  };
}

function parseGeneration(generation: unknown, file: string): z.infer<typeof GenerationConfigSchema> | undefined {
  if (generation === undefined) return undefined;
  const genFile = path.join(path.dirname(file), 'generation_config.json');
  const parsed = GenerationConfigSchema.safeParse(generation);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelConfigInvalid(genFile, issue.path.join('.') || '(root)', issue.message);
  }
  return parsed.data;
}

function resolveRope(c: HfConfig, file: string): RopeConfig {
  // v5 moves rope_theta and the scaling keys into rope_parameters; when present it wins.
  const v5 = c.rope_parameters != null;
  const field = v5 ? 'rope_parameters' : 'rope_scaling';
  const rp = (v5 ? c.rope_parameters : c.rope_scaling) ?? {};
  const theta = (v5 ? rp.rope_theta : undefined) ?? c.rope_theta ?? 10000;
  const partial = rp.partial_rotary_factor ?? c.partial_rotary_factor ?? 1;
  if (partial !== 1) throw new ModelUnsupported(file, 'partial_rotary_factor', `${partial} is not supported (only 1)`);
  const type = rp.rope_type ?? rp.type ?? 'default';
  const need = (key: 'factor' | 'low_freq_factor' | 'high_freq_factor' | 'original_max_position_embeddings'): number => {
    const v = rp[key];
    if (v === undefined) throw new ModelConfigInvalid(file, `${field}.${key}`, `required for rope_type "${type}"`);
    return v;
  };
  switch (type) {
    case 'default':
      return { type, theta };
    case 'linear':
      return { type, theta, factor: need('factor') };
    case 'llama3': {
      const r = {
        type,
        theta,
        factor: need('factor'),
        lowFreqFactor: need('low_freq_factor'),
        highFreqFactor: need('high_freq_factor'),
        originalMaxPositionEmbeddings: need('original_max_position_embeddings'),
      } as const;
      if (r.highFreqFactor <= r.lowFreqFactor) {
        throw new ModelConfigInvalid(file, `${field}.high_freq_factor`, `must exceed low_freq_factor (${r.lowFreqFactor})`);
      }
      return r;
    }
    default:
      throw new ModelUnsupported(file, `${field}.rope_type`, `"${type}" is not supported (supported: default, linear, llama3)`);
  }
}

function resolveSlidingWindow(c: HfConfig, modelType: ModelType, numLayers: number): number | null {
  if (modelType === 'llama') return null;
  if (modelType === 'mistral') return c.sliding_window === undefined ? 4096 : c.sliding_window;
  // Qwen2/3: sliding_window is forced to None unless use_sliding_window; layer i slides iff i >= max_window_layers.
  if (!c.use_sliding_window) return null;
  const window = c.sliding_window === undefined ? 4096 : c.sliding_window;
  if (window === null) return null;
  const types = c.layer_types ?? Array.from({ length: numLayers }, (_, i) => (i >= (c.max_window_layers ?? 28) ? 'sliding_attention' : 'full_attention'));
  return types.includes('sliding_attention') ? window : null;
}

/** Reads DIR/config.json (and DIR/generation_config.json when present). */
export function loadModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) throw new ModelNotFound(dir, existsSync(dir) ? 'no config.json in it' : 'no such folder');
  const json = readJson(file, true);
  const genFile = path.join(dir, 'generation_config.json');
  return parseModelConfig(json, file, readJson(genFile, false));
}

function readJson(file: string, required: boolean): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelConfigInvalid(file, '(file)', `cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelConfigInvalid(file, '(file)', `not valid JSON: ${(e as Error).message}`);
  }
}
