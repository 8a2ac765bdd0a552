// The model folder's weights against its config.json, from the safetensors headers alone (names,
// dtypes, shapes: a few KB per file, however many GB the data), so `pipe validate` and the loader
// refuse a folder that cannot work before any work: every tensor the config implies is there with
// the implied shape and a float dtype, the layer count and the embedding match, no bias or q/k norm
// sits in the weights that the config would silently ignore, and no config value is absurd.
// The coarse checks (embedding, layer count) run first, so a config such as num_hidden_layers:
// 100000 is named at once rather than expanded into a million expected tensors.
import { ModelConfigMismatch, ModelWeightsInvalid } from '../errors.ts';
import type { WeightSet } from '../io/safetensors.ts';
import type { ModelConfig } from './config.ts';
import { tensorPlan } from './tensor-plan.ts';

/** Dtypes the loader upcasts to float32 (safetensors-file readF32). */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

/**
 * Bounds past every released Llama-family model by a wide margin (Llama 3.1 405B: 126 layers,
 * hidden 16384, intermediate 53248; the largest vocabularies ~262k): a value past one is a typo.
 */
export const SANE_LIMITS: Record<string, number> = {
  num_hidden_layers: 1024,
  vocab_size: 4_194_304,
  hidden_size: 65_536,
  intermediate_size: 524_288,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 2048,
};

const bias = /\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.bias$/;
const qkNorm = /\.(q_norm|k_norm)\.weight$/;

/** Throws a named error for the first disagreement between `config` and the weights' headers. */
export function checkWeightsAgainstConfig(config: ModelConfig, ws: WeightSet, dir: string): void {
  const file = config.source;
  const values: Record<string, number> = {
    num_hidden_layers: config.numLayers, vocab_size: config.vocabSize, hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize, num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads, head_dim: config.headDim,
  };
  const absurd = (field: string) => (values[field] > SANE_LIMITS[field] ? ` (beyond any real model: at most ${SANE_LIMITS[field]})` : '');
  const mismatch = (field: string, weights: string) =>
    new ModelConfigMismatch(file, field, `${values[field]}${absurd(field)} but ${weights}: config.json and the weights disagree`);

  // A bare LlamaModel checkpoint has no "model." prefix (llama-family-spec.md §2).
  const base = ws.has('model.embed_tokens.weight') || !ws.has('embed_tokens.weight') ? 'model.' : '';
  const embedName = `${base}embed_tokens.weight`;
  if (!ws.has(embedName)) throw new ModelWeightsInvalid(dir, embedName, 'missing from the checkpoint (every Llama-family model has one)');
  const embed = ws.info(embedName).shape;
  if (embed.length === 2 && embed[0] !== config.vocabSize) throw mismatch('vocab_size', `${embedName} has ${embed[0]} rows ([${embed}])`);
  if (embed.length === 2 && embed[1] !== config.hiddenSize) throw mismatch('hidden_size', `${embedName} is [${embed}] (hidden size ${embed[1]})`);

  const layerOf = new RegExp(`^${base.replace('.', '\\.')}layers\\.(\\d+)\\.`);
  let layers = 0;
  for (const n of ws.names()) {
    const m = layerOf.exec(n);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (layers !== config.numLayers) throw mismatch('num_hidden_layers', `the weights hold ${layers} layer(s) (${base}layers.0 … ${base}layers.${layers - 1})`);

  // Whatever the weights could not confirm above, bounded before the per-tensor walk.
  for (const field of Object.keys(SANE_LIMITS)) {
    if (absurd(field)) throw new ModelConfigMismatch(file, field, `${values[field]}${absurd(field)}`);
  }

  const plan = tensorPlan(config, base);
  const planned = new Set(plan.map((t) => t.name));
  for (const t of plan) {
    if (!ws.has(t.name)) {
      const why = t.name === 'lm_head.weight' ? ' (tie_word_embeddings is false: an untied head)' : t.name.endsWith('.bias') ? ` (${biasKey(config, t.name)} implies biases)` : '';
      throw new ModelWeightsInvalid(dir, t.name, `missing from the checkpoint; config.json implies it${why}`);
    }
    const info = ws.info(t.name);
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new ModelWeightsInvalid(dir, t.name, `dtype ${info.dtype}: only float weights (F32, F16, BF16) can be trained; ${info.file}`);
    }
    const got = info.shape;
    // Another rank is a malformed checkpoint; another size on one axis, a config key that disagrees.
    if (got.length !== t.shape.length) throw new ModelWeightsInvalid(dir, t.name, `shape [${got}] but config.json implies [${t.shape}]`);
    const i = got.findIndex((d, k) => d !== t.shape[k]);
    if (i >= 0) {
      throw new ModelConfigMismatch(file, t.fields[i], `${t.name} is [${got}] in the weights but ${t.fields[i]} gives ${t.shape[i]} where the weights have ${got[i]}: config.json and the weights disagree`);
    }
  }
  // A bias or q/k norm the config does not expect would be ignored: a different model, silently.
  for (const n of ws.names()) {
    if ((bias.test(n) || qkNorm.test(n)) && !planned.has(n)) {
      const field = qkNorm.test(n) ? 'model_type' : biasKey(config, n);
      throw new ModelConfigMismatch(file, field, `the weights hold ${n}, which config.json (model_type ${config.modelType}) does not use: config.json and the weights disagree`);
    }
  }
}

/** The config key that decides whether the tensor `name` (a bias) exists. */
function biasKey(c: ModelConfig, name: string): string {
  if (name.includes('.mlp.')) return 'mlp_bias';
  return c.modelType === 'qwen2' || c.modelType === 'mistral' ? 'model_type' : 'attention_bias';
}
