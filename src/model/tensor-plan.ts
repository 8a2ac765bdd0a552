// The tensors a Llama-family config.json implies, with their HF shapes, in state_dict order: what
// src/model/weights.ts reads, what the header check (weights-check.ts) compares a checkpoint with,
// and what tools/random-model.ts writes. `fields` names the config keys that set each dimension,
// so a mismatch can say which key disagrees with the weights.
import type { ModelConfig } from './config.ts';

export interface PlannedTensor {
  name: string;
  shape: number[];
  /** How a random model initialises it: matrices normal, norms ones, biases small normal. */
  init: 'normal' | 'ones' | 'bias';
  /** config.json keys behind each dimension, e.g. ['num_attention_heads × head_dim', 'hidden_size']. */
  fields: string[];
}

/** `base` is the module prefix ('model.'; '' for a bare LlamaModel checkpoint, llama-family-spec.md §2). */
export function tensorPlan(c: ModelConfig, base = 'model.'): PlannedTensor[] {
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numKvHeads: nkv, headDim: D, vocabSize: V } = c;
  const out: PlannedTensor[] = [];
  const q = 'num_attention_heads × head_dim';
  const kv = 'num_key_value_heads × head_dim';
  const linear = (name: string, o: number, i: number, bias: boolean, fo: string, fi: string) => {
    out.push({ name: `${name}.weight`, shape: [o, i], init: 'normal', fields: [fo, fi] });
    if (bias) out.push({ name: `${name}.bias`, shape: [o], init: 'bias', fields: [fo] });
  };
  out.push({ name: `${base}embed_tokens.weight`, shape: [V, H], init: 'normal', fields: ['vocab_size', 'hidden_size'] });
  for (let l = 0; l < c.numLayers; l++) {
    const p = `${base}layers.${l}.`;
    linear(`${p}self_attn.q_proj`, nh * D, H, c.qkvBias, q, 'hidden_size');
    linear(`${p}self_attn.k_proj`, nkv * D, H, c.qkvBias, kv, 'hidden_size');
    linear(`${p}self_attn.v_proj`, nkv * D, H, c.qkvBias, kv, 'hidden_size');
    linear(`${p}self_attn.o_proj`, H, nh * D, c.oBias, 'hidden_size', q);
    if (c.qkNorm) {
      out.push({ name: `${p}self_attn.q_norm.weight`, shape: [D], init: 'ones', fields: ['head_dim'] });
      out.push({ name: `${p}self_attn.k_norm.weight`, shape: [D], init: 'ones', fields: ['head_dim'] });
    }
    linear(`${p}mlp.gate_proj`, I, H, c.mlpBias, 'intermediate_size', 'hidden_size');
    linear(`${p}mlp.up_proj`, I, H, c.mlpBias, 'intermediate_size', 'hidden_size');
    linear(`${p}mlp.down_proj`, H, I, c.mlpBias, 'hidden_size', 'intermediate_size');
    out.push({ name: `${p}input_layernorm.weight`, shape: [H], init: 'ones', fields: ['hidden_size'] });
    out.push({ name: `${p}post_attention_layernorm.weight`, shape: [H], init: 'ones', fields: ['hidden_size'] });
  }
  out.push({ name: `${base}norm.weight`, shape: [H], init: 'ones', fields: ['hidden_size'] });
  // lm_head sits outside the base model prefix in *ForCausalLM files.
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [V, H], init: 'normal', fields: ['vocab_size', 'hidden_size'] });
  return out;
}
