// Folds an adapter into its base model and writes a plain Hugging Face folder, for servers that
// do not take adapters: vocabulary resized (new rows that the adapter does not store get the
// mean of the old rows, as resize_token_embeddings does), token rows written, every LoRA folded
// in as W + scaling·B·A, weights kept in the base's dtype, tokenizer files from the adapter.
// The folder is assembled under a temp name and renamed into place.
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AdapterMismatch } from '../errors.ts';
import { loadAdapter, type TokenRows } from './peft.ts';
import { replaceDir } from '../io/owned-dir.ts';
import { WeightSet, writeShardedSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { tempPath, writeFileAtomic } from '../io/atomic.ts';
import { loadModelConfig } from '../model/config.ts';
import { loraScaling } from '../model/lora.ts';

export interface MergeOptions {
  /** Largest shard in bytes (default 5 GB, like save_pretrained). */
  maxShardBytes?: number;
}

/** Old rows [V0, H] grown to [V, H]: appended rows = mean of the old rows, then `set` rows replaced. */
function resizedRows(old: Float32Array, V0: number, V: number, H: number, set: TokenRows | undefined): Float32Array {
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

export async function mergeAdapter(modelDir: string, adapterDir: string, outDir: string, opts: MergeOptions = {}): Promise<{ vocabSize: number; merged: number }> {
  const cfg = loadModelConfig(modelDir);
  const H = cfg.hiddenSize;
  const V0 = cfg.vocabSize;
  const a = await loadAdapter(adapterDir);
  const ids = [...(a.tokenRows?.embed?.ids ?? []), ...(a.tokenRows?.lmHead?.ids ?? [])];
  const V = a.fullRows?.vocabSize ?? Math.max(a.info?.vocabSize ?? V0, V0, ...ids.map((i) => i + 1));
  const ws = await WeightSet.open(modelDir);
  const tensors: TensorToWrite[] = [];
  const used = new Set<string>();
  try {
    const prefix = ws.has('model.embed_tokens.weight') ? 'model.' : '';
    for (const name of ws.names()) {
      const info = ws.info(name);
      const keepDtype = info.dtype === 'F32' || info.dtype === 'F16' || info.dtype === 'BF16' ? info.dtype : null;
      const bare = name.replace(/\.weight$/, '');
      const module = prefix === '' ? `model.${bare}` : bare; // adapter paths always carry "model."
      const lora = a.lora.get(module);
      if (name === `${prefix}embed_tokens.weight` || name === 'lm_head.weight') {
        const isHead = name === 'lm_head.weight';
        if (isHead && cfg.tieWordEmbeddings) continue; // tied: transformers re-ties it to the embedding
        const old = await ws.readF32(name);
        const data = a.fullRows
          ? isHead ? a.fullRows.lmHead ?? a.fullRows.embed : a.fullRows.embed
          : resizedRows(old, V0, V, H, isHead ? a.tokenRows?.lmHead : a.tokenRows?.embed);
        tensors.push({ name, dtype: keepDtype ?? 'F32', shape: [V, H], data });
      } else if (lora && name.endsWith('.weight')) {
        const [outF, inF] = info.shape;
        if (outF !== lora.outF || inF !== lora.inF) throw new AdapterMismatch(`${adapterDir}: ${module} is [${lora.outF}, ${lora.inF}] in the adapter, [${outF}, ${inF}] in the model`);
        const W = await ws.readF32(name); // [out, in]
        const r = a.loraConfig.r;
        const s = loraScaling(a.loraConfig);
        const row = new Float64Array(inF);
        for (let o = 0; o < outF; o++) {
          row.fill(0);
          for (let k = 0; k < r; k++) {
            const b = lora.B[o * r + k] * s;
            if (b !== 0) for (let i = 0; i < inF; i++) row[i] += b * lora.A[k * inF + i];
          }
          for (let i = 0; i < inF; i++) W[o * inF + i] += row[i];
        }
        used.add(module);
        tensors.push({ name, dtype: keepDtype ?? 'F32', shape: info.shape, data: W });
      } else {
        tensors.push({ name, dtype: info.dtype, shape: info.shape, data: await ws.readRaw(name) });
      }
    }
  } finally {
    await ws.close();
  }
  const missing = [...a.lora.keys()].filter((m) => !used.has(m));
  if (missing.length) throw new AdapterMismatch(`${adapterDir}: LoRA modules not found in ${modelDir}: ${missing.join(', ')}`);

  const tmp = tempPath(outDir);
  await mkdir(tmp, { recursive: true });
  try {
    await writeShardedSafetensors(tmp, tensors, { maxShardBytes: opts.maxShardBytes ?? 5e9, metadata: { format: 'pt' } });
    const config = JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8'));
    config.vocab_size = V;
    await writeFileAtomic(path.join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    if (a.tokenizer) {
      await writeFileAtomic(path.join(tmp, 'tokenizer.json'), JSON.stringify(a.tokenizer.tokenizerJson, null, 2) + '\n');
      await writeFileAtomic(path.join(tmp, 'tokenizer_config.json'), JSON.stringify(a.tokenizer.tokenizerConfig, null, 2) + '\n');
    }
    for (const f of ['generation_config.json', 'special_tokens_map.json', ...(a.tokenizer ? [] : ['tokenizer.json', 'tokenizer_config.json'])]) {
      if (existsSync(path.join(modelDir, f))) await copyFile(path.join(modelDir, f), path.join(tmp, f));
    }
    await replaceDir(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { vocabSize: V, merged: used.size };
}
