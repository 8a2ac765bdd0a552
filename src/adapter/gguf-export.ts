// The merged model (src/adapter/merged.ts) as one GGUF file llama.cpp loads unchanged: the
// architecture keys and tensor names of llama.cpp's convert_hf_to_gguf.py (LlamaModel for llama and
// mistral, Qwen2Model, Qwen3Model), the tokenizer from src/tokenizer/gguf-vocab.ts.
//
// - llama.cpp's "llama" architecture rotates adjacent pairs (x0,x1), Hugging Face the two halves
//   (x_j, x_{j+D/2}); like convert_hf_to_gguf.py, q_proj and k_proj rows (and biases) are permuted per
//   head so that the same dot products come out. qwen2/qwen3 use NEOX RoPE (halves): no permutation.
// - llama3 RoPE scaling is the rope_freqs tensor: per frequency, the divisor llama.cpp applies.
// - 1-D tensors (norms, biases) stay F32; with --dtype q8_0, a matrix whose rows are not a multiple
//   of 32 values falls back to F16, as gguf-py does.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { GgufExportUnsupported } from '../errors.ts';
import { gv, writeGguf, type GgufTensor, type GgufValue } from '../io/gguf-write.ts';
import { Q8_0_BLOCK, type GgufDType } from '../io/gguf-quant.ts';
import type { ModelConfig } from '../model/config.ts';
import { invFreq } from '../model/rope.ts';
import { loadTokenizer } from '../tokenizer/load.ts';
import { ggufTokenizerMetadata } from '../tokenizer/gguf-vocab.ts';
import { openMerged } from './merged.ts';

export const EXPORT_DTYPES = ['f32', 'f16', 'bf16', 'q8_0'] as const;
export type ExportDType = (typeof EXPORT_DTYPES)[number];

const MATRIX_DTYPE: Record<ExportDType, GgufDType> = { f32: 'F32', f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0' };
/** llama_ftype (general.file_type): ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0. */
const FILE_TYPE: Record<ExportDType, number> = { f32: 0, f16: 1, bf16: 32, q8_0: 7 };
const GGML_QUANT_VERSION = 2;

const LAYER_NAMES: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
  'mlp.gate_proj.bias': 'ffn_gate.bias',
  'mlp.up_proj.bias': 'ffn_up.bias',
  'mlp.down_proj.bias': 'ffn_down.bias',
};
for (const [hf, gg] of [['q_proj', 'attn_q'], ['k_proj', 'attn_k'], ['v_proj', 'attn_v'], ['o_proj', 'attn_output']]) {
  for (const k of ['weight', 'bias']) LAYER_NAMES[`self_attn.${hf}.${k}`] = `${gg}.${k}`;
}

/** The GGUF name of a Hugging Face tensor; null for buffers llama.cpp does not read (rotary inv_freq), '' for one it has no slot for. */
export function ggufTensorName(hf: string): string | null {
  const name = hf.replace(/^model\./, '');
  if (name === 'embed_tokens.weight') return 'token_embd.weight';
  if (name === 'norm.weight') return 'output_norm.weight';
  if (name === 'lm_head.weight') return 'output.weight';
  if (name.endsWith('rotary_emb.inv_freq')) return null;
  const m = /^layers\.(\d+)\.(.+)$/.exec(name);
  const sub = m ? LAYER_NAMES[m[2]] : undefined;
  return m && sub ? `blk.${m[1]}.${sub}` : '';
}

export function ggufArch(c: ModelConfig): 'llama' | 'qwen2' | 'qwen3' {
  if (c.modelType === 'llama' || c.modelType === 'mistral') return 'llama';
  if (c.modelType === 'qwen3' && (c.qkvBias || c.oBias || c.mlpBias)) throw new GgufExportUnsupported(c.source, 'attention_bias / mlp_bias on qwen3: llama.cpp\'s qwen3 graph has no bias tensors');
  if (c.modelType === 'qwen2' && c.mlpBias) throw new GgufExportUnsupported(c.source, 'mlp_bias on qwen2: llama.cpp\'s qwen2 graph has no MLP biases');
  return c.modelType;
}

/**
 * Rows of a q/k projection [heads·D, in] (or its bias [heads·D]) from HF's half-split RoPE order to
 * llama.cpp's interleaved one: within each head, row j < D/2 goes to 2j and row D/2 + j to 2j + 1
 * (convert_hf_to_gguf.py's permute: reshape(heads, 2, D/2, in).swapaxes(1, 2)).
 */
export function permuteRopeRows(w: Float32Array, heads: number, cols: number): Float32Array {
  const D = w.length / heads / cols;
  const half = D / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (const [from, to] of [[j, 2 * j], [half + j, 2 * j + 1]]) {
        const src = (h * D + from) * cols;
        out.set(w.subarray(src, src + cols), (h * D + to) * cols);
      }
    }
  }
  return out;
}

/** llama3 rope_freqs: inv_freq unscaled / inv_freq scaled, per frequency (what llama.cpp divides by). */
export function ropeFactors(c: ModelConfig): Float32Array | null {
  if (c.rope.type !== 'llama3') return null;
  const scaled = invFreq(c.rope, c.headDim);
  const plain = invFreq({ type: 'default', theta: c.rope.theta }, c.headDim);
  return Float32Array.from(plain, (p, j) => p / scaled[j]);
}

export interface ExportOptions {
  modelDir: string;
  adapterDir: string | null;
  out: string;
  dtype: ExportDType;
  /** general.name (default: the adapter's or model's folder name). */
  name?: string;
}

export interface ExportResult {
  bytes: number;
  tensors: number;
  vocabSize: number;
  loraModules: number;
  /** Matrices written F16 because their rows do not fill Q8_0 blocks. */
  fallbackF16: string[];
}

export async function exportGguf(opts: ExportOptions): Promise<ExportResult> {
  const m = await openMerged(opts.modelDir, opts.adapterDir);
  try {
    const c = m.config;
    const arch = ggufArch(c);
    const tokDir = opts.adapterDir ?? opts.modelDir;
    if (!m.tokenizer && !existsSync(path.join(opts.modelDir, 'tokenizer.json'))) {
      throw new GgufExportUnsupported(opts.modelDir, 'no tokenizer.json: a GGUF file carries its tokenizer');
    }
    const tokenizer = m.tokenizer ? loadTokenizer({ ...m.tokenizer, source: tokDir }) : loadTokenizer(opts.modelDir);
    const meta: Array<[string, GgufValue]> = [
      ['general.architecture', gv.str(arch)],
      ['general.name', gv.str(opts.name ?? path.basename(path.resolve(tokDir)))],
      ['general.file_type', gv.u32(FILE_TYPE[opts.dtype])],
      ['general.quantization_version', gv.u32(GGML_QUANT_VERSION)],
      [`${arch}.vocab_size`, gv.u32(m.vocabSize)],
      [`${arch}.context_length`, gv.u32(c.maxPositionEmbeddings)],
      [`${arch}.embedding_length`, gv.u32(c.hiddenSize)],
      [`${arch}.block_count`, gv.u32(c.numLayers)],
      [`${arch}.feed_forward_length`, gv.u32(c.intermediateSize)],
      [`${arch}.attention.head_count`, gv.u32(c.numHeads)],
      [`${arch}.attention.head_count_kv`, gv.u32(c.numKvHeads)],
      [`${arch}.attention.key_length`, gv.u32(c.headDim)],
      [`${arch}.attention.value_length`, gv.u32(c.headDim)],
      [`${arch}.attention.layer_norm_rms_epsilon`, gv.f32(c.rmsNormEps)],
      [`${arch}.rope.freq_base`, gv.f32(c.rope.theta)],
      [`${arch}.rope.dimension_count`, gv.u32(c.headDim)],
    ];
    if (c.rope.type === 'linear') meta.push([`${arch}.rope.scaling.type`, gv.str('linear')], [`${arch}.rope.scaling.factor`, gv.f32(c.rope.factor)]);
    meta.push(...ggufTokenizerMetadata(tokenizer, {
      vocabSize: m.vocabSize,
      bosTokenId: c.bosTokenId,
      eosTokenId: c.eosTokenIds[0] ?? null,
      padTokenId: c.padTokenId,
    }));

    const tensors: GgufTensor[] = [];
    const fallbackF16: string[] = [];
    const factors = ropeFactors(c);
    if (factors) tensors.push({ name: 'rope_freqs.weight', shape: [factors.length], dtype: 'F32', data: factors });
    for (const t of m.tensors) {
      if (t.name === 'lm_head.weight' && c.tieWordEmbeddings) continue; // llama.cpp reuses token_embd
      const name = ggufTensorName(t.name);
      if (name === null) continue;
      if (name === '') throw new GgufExportUnsupported(`${opts.modelDir}`, `tensor "${t.name}" has no llama.cpp counterpart`);
      let dtype: GgufDType = t.shape.length === 1 ? 'F32' : MATRIX_DTYPE[opts.dtype];
      if (dtype === 'Q8_0' && t.shape[t.shape.length - 1] % Q8_0_BLOCK !== 0) {
        dtype = 'F16';
        fallbackF16.push(name);
      }
      const heads = /\.attn_q\./.test(name) ? c.numHeads : /\.attn_k\./.test(name) ? c.numKvHeads : 0;
      const permute = arch === 'llama' && heads > 0;
      const cols = t.shape.length === 2 ? t.shape[1] : 1;
      const data = permute ? async () => permuteRopeRows(await t.f32(), heads, cols) : () => t.f32();
      tensors.push({ name, shape: t.shape, dtype, data });
    }
    const w = await writeGguf(opts.out, meta, tensors);
    return { bytes: w.bytes, tensors: tensors.length, vocabSize: m.vocabSize, loraModules: m.loraModules, fallbackF16 };
  } finally {
    await m.close();
  }
}
