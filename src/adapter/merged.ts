// The merged model as a list of tensors read on demand: an adapter folded into its base model
// (vocabulary resized, new token rows in place, every LoRA folded in as W + scaling·B·A), or a plain
// model folder as it is. `pipe merge` writes it as a Hugging Face folder, `pipe export` as GGUF;
// reading tensor by tensor keeps one merged matrix alive at a time, not the model.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AdapterMismatch } from '../errors.ts';
import { loadAdapter, type LoadedAdapter, type TokenRows } from './peft.ts';
import { WeightSet, type AnyDType } from '../io/safetensors.ts';
import { loadModelConfig, type ModelConfig } from '../model/config.ts';
import { loraScaling } from '../model/lora.ts';

export interface MergedTensor {
  /** The Hugging Face name (e.g. model.layers.0.self_attn.q_proj.weight). */
  name: string;
  shape: number[];
  /** dtype in the base model's file. */
  dtype: AnyDType;
  /** True when the adapter changes it (LoRA folded, rows resized or replaced). */
  changed: boolean;
  /** float32 values, merged. */
  f32(): Promise<Float32Array>;
  /** The base file's bytes (meaningful only when !changed). */
  raw(): Promise<Uint8Array>;
}

export interface MergedModel {
  modelDir: string;
  adapterDir: string | null;
  config: ModelConfig;
  /** config.json as written, vocab_size set to the merged vocabulary. */
  configJson: Record<string, unknown>;
  vocabSize: number;
  tensors: MergedTensor[];
  /** The adapter's extended tokenizer files, when it has them. */
  tokenizer: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } | null;
  /** Number of LoRA modules folded in. */
  loraModules: number;
  close(): Promise<void>;
}

/** Old rows [V0, H] grown to [V, H]: appended rows = mean of the old rows, then `set` rows replaced. */
export function resizedRows(old: Float32Array, V0: number, V: number, H: number, set: TokenRows | undefined): Float32Array {
  const out = new Float32Array(V * H);
  out.set(old.subarray(0, Math.min(V0, V) * H));
  if (V > V0) {
    const mean = new Float64Array(H);
    for (let v = 0; v < V0; v++) for (let h = 0; h < H; h++) mean[h] += old[v * H + h] / V0;
    for (let v = V0; v < V; v++) out.set(Float32Array.from(mean), v * H);
  }
  set?.ids.forEach((id, k) => out.set(set.rows.subarray(k * H, (k + 1) * H), id * H));
  return out;
}

/** W [out, in] += scaling · B [out, r] · A [r, in], in place. */
function foldLora(W: Float32Array, outF: number, inF: number, A: Float32Array, B: Float32Array, r: number, s: number): void {
  const row = new Float64Array(inF);
  for (let o = 0; o < outF; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const b = B[o * r + k] * s;
      if (b !== 0) for (let i = 0; i < inF; i++) row[i] += b * A[k * inF + i];
    }
    for (let i = 0; i < inF; i++) W[o * inF + i] += row[i];
  }
}

/** Opens the model (and adapter) and lists the merged tensors; nothing heavy is read yet. Call close(). */
export async function openMerged(modelDir: string, adapterDir: string | null): Promise<MergedModel> {
  const config = loadModelConfig(modelDir);
  const H = config.hiddenSize;
  const V0 = config.vocabSize;
  const a: LoadedAdapter | null = adapterDir === null ? null : await loadAdapter(adapterDir);
  const ids = [...(a?.tokenRows?.embed?.ids ?? []), ...(a?.tokenRows?.lmHead?.ids ?? [])];
  const V = a === null ? V0 : a.fullRows?.vocabSize ?? Math.max(a.info?.vocabSize ?? V0, V0, ...ids.map((i) => i + 1));
  const ws = await WeightSet.open(modelDir);
  const tensors: MergedTensor[] = [];
  const used = new Set<string>();
  const prefix = ws.has('model.embed_tokens.weight') ? 'model.' : '';
  for (const name of ws.names()) {
    const info = ws.info(name);
    const raw = () => ws.readRaw(name);
    const bare = name.replace(/\.weight$/, '');
    const module = prefix === '' ? `model.${bare}` : bare; // adapter paths always carry "model."
    const lora = a?.lora.get(module);
    if (a && (name === `${prefix}embed_tokens.weight` || name === 'lm_head.weight')) {
      const isHead = name === 'lm_head.weight';
      const rows = isHead ? a.tokenRows?.lmHead : a.tokenRows?.embed;
      const f32 = async () => {
        if (a.fullRows) return isHead ? a.fullRows.lmHead ?? a.fullRows.embed : a.fullRows.embed;
        return resizedRows(await ws.readF32(name), V0, V, H, rows);
      };
      tensors.push({ name, shape: [V, H], dtype: info.dtype, changed: true, f32, raw });
    } else if (lora && name.endsWith('.weight')) {
      const [outF, inF] = info.shape;
      if (outF !== lora.outF || inF !== lora.inF) throw new AdapterMismatch(`${adapterDir}: ${module} is [${lora.outF}, ${lora.inF}] in the adapter, [${outF}, ${inF}] in the model`);
      used.add(module);
      const f32 = async () => {
        const W = await ws.readF32(name); // [out, in]
        foldLora(W, outF, inF, lora.A, lora.B, a!.loraConfig.r, loraScaling(a!.loraConfig));
        return W;
      };
      tensors.push({ name, shape: info.shape, dtype: info.dtype, changed: true, f32, raw });
    } else {
      tensors.push({ name, shape: info.shape, dtype: info.dtype, changed: false, f32: () => ws.readF32(name), raw });
    }
  }
  const missing = a ? [...a.lora.keys()].filter((m) => !used.has(m)) : [];
  if (missing.length) {
    await ws.close();
    throw new AdapterMismatch(`${adapterDir}: LoRA modules not found in ${modelDir}: ${missing.join(', ')}`);
  }
  const configJson = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
  configJson.vocab_size = V;
  return {
    modelDir, adapterDir, config: { ...config, vocabSize: V }, configJson, vocabSize: V, tensors,
    tokenizer: a?.tokenizer ?? null, loraModules: used.size, close: () => ws.close(),
  };
}
